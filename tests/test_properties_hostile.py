"""Hostile XML, written with the kit's ``hostile_xml``: always refused, never a crash or a hang.

- The hardened parser refuses every kind of hostile document, quickly, with a
  ``PayloadError`` (never another exception, never an entity expansion).
- A listener, and the system listeners ``system.buffer`` and ``system.sequence``,
  answer every hostile document with an error reply within a timeout (``<huh>``,
  raised by ``ask`` as ``ListenerError``; ``BufferError`` / ``SequenceError`` from
  the system listeners; a document too big to send is refused by ``ask`` itself, with a
  ``PayloadError``), and answer a good message right after.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import ListenerError, Runtime
from actors.errors import PayloadError
from actors.parsing import ParseLimits, parse, parse_items
from actors.primitives import BufferError, SequenceError
from actors.testing import RuntimeFactory, wait_until_idle
from actors.testing.strategies import HOSTILE_KINDS, hostile_xml, payloads
from tests import listeners as L

TARGETS = ["echo", "system.buffer", "system.sequence"]
# Several elements one after another, or none, are what Buffer items are made of.
_VALID_AS_ITEMS = {"two_roots", "empty"}
echo_documents = payloads(L.Echo).map(L.Echo.to_bytes)


@pytest.fixture
def xmlactors_base() -> str:
    return "simpleSystemBase"  # the multiprocess test below picks its base itself


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
@settings(max_examples=10)
@given(data=st.data())
def test_the_parser_refuses_every_kind_of_hostile_document_quickly(kind: str, data: st.DataObject) -> None:
    doc = data.draw(hostile_xml([kind], documents=echo_documents | hostile_roots))
    started = time.perf_counter()
    with pytest.raises(PayloadError):
        parse(doc)
    if kind not in _VALID_AS_ITEMS:
        with pytest.raises(PayloadError):
            parse_items(doc)
    assert time.perf_counter() - started < 1.0


hostile_roots = st.sampled_from([b"<a/>", b"<BufferStart/>", b"<\xc3\xa9t\xc3\xa9>x</\xc3\xa9t\xc3\xa9>"])


@given(hostile_xml(limits=ParseLimits(max_bytes=5_000, max_depth=10, max_elements=50)))
def test_the_size_limits_of_hostile_documents_follow_the_limits_given(doc: bytes) -> None:
    with pytest.raises(PayloadError):
        parse(doc, ParseLimits(max_bytes=5_000, max_depth=10, max_elements=50))


def _hostile_runtime(rt: Runtime) -> Runtime:
    rt.register("echo", L.echo, L.Echo)
    return rt


def _refused_then_serving(rt: Runtime, target: str, doc: bytes) -> None:
    """``doc`` gets an error reply (never a hang), and ``echo`` then answers a good message.

    The error reply of a listener is ``<huh>`` (``ask`` raises ``ListenerError``); the
    system listeners answer their own error payloads, ``BufferError`` and ``SequenceError``.
    A document over the size limit is refused by ``ask`` before it is sent (``PayloadError``).
    """
    try:
        reply = rt.ask(target, doc, timeout=20)
    except ListenerError as exc:
        assert "refused" in str(exc) or "expects" in str(exc), exc
    except PayloadError as exc:
        assert f"the payload for {target!r} was refused before sending" in str(exc), exc
    else:
        assert isinstance(reply, (BufferError, SequenceError)), f"{target} answered {reply!r}"
        assert "could not read its payload" in reply.error
    assert rt.ask("echo", L.Echo("still here"), timeout=20) == L.Echo("still here")


def test_listeners_answer_hostile_input_with_an_error_and_keep_serving(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = _hostile_runtime(runtime_factory.started())

    @settings(max_examples=40)
    @given(st.sampled_from(TARGETS), hostile_xml(documents=echo_documents) | hostile_xml())
    def refused_then_serving(target: str, doc: bytes) -> None:
        _refused_then_serving(rt, target, doc)
        stats = wait_until_idle(rt)
        assert stats.replaced_workers == 0

    refused_then_serving()


@pytest.mark.multiproc
def test_listeners_in_their_own_processes_survive_hostile_input(runtime_factory: RuntimeFactory) -> None:
    rt = _hostile_runtime(runtime_factory.started("multiprocTCPBase"))
    rt.ask("echo", L.Echo(), timeout=20)  # its worker starts with the first message
    pids = rt.pids()

    @settings(max_examples=12)
    @given(st.sampled_from(TARGETS), hostile_xml(documents=echo_documents))
    def refused_then_serving(target: str, doc: bytes) -> None:
        _refused_then_serving(rt, target, doc)

    refused_then_serving()
    assert rt.pids() == pids, "a hostile document ended an actor's process"
    assert rt.statistics().replaced_workers == 0
