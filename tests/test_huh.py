"""The ``<huh>`` error payload and how a reply is judged (pure)."""

from __future__ import annotations

import pytest

from actors.huh import is_huh, is_progress, make_huh, reply_outcome
from actors.parsing import parse


def test_make_huh_builds_an_escaped_huh_element() -> None:
    assert make_huh("a < b & c") == b"<huh>a &lt; b &amp; c</huh>"
    assert make_huh("worker died", reason="exited") == b'<huh reason="exited">worker died</huh>'


def test_make_huh_never_raises_on_text_xml_cannot_carry() -> None:
    huh = parse(make_huh("bad \x00 and \x01 and \ud800"))
    assert huh.text == "bad \\x00 and \\x01 and \\ud800"


@pytest.mark.parametrize(
    ("payload", "huh"),
    [(b"<huh>x</huh>", True), (b"<huh/>", True), (b'<huh reason="exited">x</huh>', True),
     (b"<huhu/>", False), (b"<Sum/>", False), (b"", False)],
)
def test_only_a_huh_root_is_a_huh(payload: bytes, huh: bool) -> None:
    assert is_huh(payload) is huh


@pytest.mark.parametrize(
    ("payload", "outcome"),
    [
        (b"<Sum><Value>1</Value></Sum>", (True, "")),
        (b"<huh>Handler x crashed</huh>", (False, "error")),
        (b'<huh reason="exited">its worker exited</huh>', (False, "exited")),
        (b"<BufferError><Error>no</Error></BufferError>", (False, "error")),
        (b"<SequenceError/>", (False, "error")),
        (b"<BufferErrors/>", (True, "")),
    ],
)
def test_a_reply_is_judged_by_its_root(payload: bytes, outcome: tuple[bool, str]) -> None:
    assert reply_outcome(payload) == outcome


def test_progress_is_recognized_by_its_root() -> None:
    assert is_progress(b"<BufferProgress><Done>1</Done></BufferProgress>")
    assert not is_progress(b"<BufferComplete/>")
