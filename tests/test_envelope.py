"""The envelope: the original bus's wire form, for what leaves the process."""

from __future__ import annotations

import pytest

from actors import PayloadError
from actors.envelope import ENVELOPE_NS, Envelope, looks_like_envelope
from actors.testing import RuntimeFactory
from tests import listeners as L

ORIGINAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<message xmlns="{ENVELOPE_NS}">
  <meta>
    <from>console</from>
    <to>calculator.add</to>
    <thread>t-42</thread>
  </meta>
  <Add xmlns=""><A>2</A><B>3</B></Add>
</message>"""


def test_an_envelope_in_the_original_form_parses() -> None:
    envelope = Envelope.from_bytes(ORIGINAL.encode())
    assert (envelope.sender, envelope.target, envelope.thread) == ("console", "calculator.add", "t-42")
    assert L.Add.from_xml(envelope.payload) == L.Add(2, 3)


def test_an_envelope_round_trips_through_its_bytes() -> None:
    envelope = Envelope("a & b", "c.d", "thread <1>", L.Echo("x ]]> y").to_bytes())
    data = envelope.to_bytes()
    assert data.startswith(f'<message xmlns="{ENVELOPE_NS}"><meta><from>a &amp; b</from>'.encode())
    assert Envelope.from_bytes(data) == envelope


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<Add/>", "expected an envelope <message"),
        (f'<message xmlns="{ENVELOPE_NS}"><Add/></message>', "envelope without <meta>"),
        (f'<message xmlns="{ENVELOPE_NS}"><meta/></message>', "exactly one payload element, got 0"),
        (f'<message xmlns="{ENVELOPE_NS}"><meta/><A/><B/></message>', "exactly one payload element, got 2"),
        (f'<!DOCTYPE m [<!ENTITY e "x">]><message xmlns="{ENVELOPE_NS}"/>', "DOCTYPE"),
    ],
)
def test_a_broken_envelope_is_refused_with_the_reason(document: str, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        Envelope.from_bytes(document)


def test_only_envelope_text_looks_like_an_envelope() -> None:
    assert looks_like_envelope(ORIGINAL)
    assert not looks_like_envelope("<message><meta/></message>")
    assert not looks_like_envelope(L.Add(1, 2).to_bytes())


def test_asking_with_an_envelope_unwraps_it_and_stamps_the_sender(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add)
    rt.register("who", L.whoami, L.Echo)
    assert rt.ask("calculator.add", ORIGINAL, timeout=10) == L.Sum(5)
    forged = Envelope("calculator.add", "who", "t-1", L.Echo().to_bytes())
    assert rt.ask("who", forged, timeout=10) == L.Echo("who from outside")


def test_a_payload_in_the_envelope_namespace_is_the_same_payload() -> None:
    inherited = ORIGINAL.replace('<Add xmlns="">', "<Add>")
    assert Envelope.from_bytes(inherited) == Envelope.from_bytes(ORIGINAL)
