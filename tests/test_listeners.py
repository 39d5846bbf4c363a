"""Listeners end to end on real actor systems: asks, forwards, errors, workers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lxml import etree

from actors import (
    AskTimeoutError,
    DuplicateListenerError,
    ListenerError,
    NotImportableError,
    PayloadError,
    UnknownListenerError,
)
from actors.testing import RuntimeFactory
from tests import listeners as L


def test_ask_returns_the_reply_decoded_to_its_class(factory: RuntimeFactory) -> None:
    rt = factory()
    rt.register("calculator.add", L.add, L.Add, description="Adds two integers")
    with rt:
        assert rt.ask("calculator.add", L.Add(2, 3), timeout=10) == L.Sum(5)


def test_async_handlers_answer_like_plain_ones(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("calculator.add", L.add_async, L.Add)
    assert rt.ask("calculator.add", "<Add><A>40</A><B>2</B></Add>", timeout=10) == L.Sum(42)


def test_an_unknown_listener_is_refused_at_once(factory: RuntimeFactory) -> None:
    rt = factory.started()
    with pytest.raises(UnknownListenerError, match=r"nobody\.here"):
        rt.ask("nobody.here", L.Echo("x"), timeout=10)
    with pytest.raises(LookupError):
        rt.tell("nobody.here", L.Echo("x"))


def test_a_raising_handler_runs_once_and_its_caller_gets_huh(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("w", L.work, L.Work)
    log = tmp_path / "runs.log"
    with pytest.raises(ListenerError) as caught:
        rt.ask("w", L.Work(value=7, crash=True, log_path=str(log)), timeout=10)
    assert str(caught.value) == "Handler w crashed: RuntimeError: item 7 failed"
    assert rt.ask("w", L.Work(value=8, log_path=str(log)), timeout=10).value == 16
    assert log.read_text().split() == ["7", "8"]  # the crashed one ran exactly once


def test_respond_returns_to_the_previous_hop(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add)
    rt.register("front", L.front, (L.Add, L.Sum))
    # front forwards to calculator.add; its Sum(5) comes back to front, which answers Sum(50).
    assert rt.ask("front", L.Add(2, 3), timeout=10) == L.Sum(50)


def test_the_sender_is_stamped_by_the_runtime(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("who", L.whoami, L.Echo)
    rt.register("relay", L.forward_to_named, L.Echo)
    assert rt.ask("who", L.Echo(), timeout=10) == L.Echo("who from outside")
    # relay forwards to who: who sees relay as the sender; its answer comes back through relay.
    assert rt.ask("relay", L.Echo("who"), timeout=10) == L.Echo("who from relay")


def test_a_forward_to_an_unknown_listener_tells_the_caller(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("relay", L.forward_to_named, L.Echo)
    with pytest.raises(ListenerError, match="Unknown listener: ghost"):
        rt.ask("relay", L.Echo("ghost"), timeout=10)


def test_the_wrong_payload_class_is_named_in_the_error(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add)
    with pytest.raises(ListenerError, match=r"'calculator.add' expects <Add> but got <Sum>"):
        rt.ask("calculator.add", L.Sum(1), timeout=10)
    with pytest.raises(ListenerError, match=r"calculator\.add"):
        rt.ask("calculator.add", "<Add><A>two</A></Add>", timeout=10)
    assert rt.ask("calculator.add", L.Add(1, 1), timeout=10) == L.Sum(2)


HOSTILE = {
    "malformed": b"<Echo><Text>x</Echo>",
    "two roots": b"<Echo/><Echo/>",
    "xxe entity": b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<Echo><Text>&x;</Text></Echo>",
    "external dtd": b'<!DOCTYPE Echo SYSTEM "http://127.0.0.1:1/x.dtd"><Echo/>',
    "billion laughs": b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;'
    b'&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Echo><Text>&c;</Text></Echo>',
    "too deep": b"<Echo>" + b"<d>" * 200 + b"</d>" * 200 + b"</Echo>",
    "too big": b"<Echo><Text>" + b"x" * 1_100_000 + b"</Text></Echo>",
    "utf-7": b'<?xml version="1.0" encoding="UTF-7"?><Echo><Text>+ADw-</Text></Echo>',
    "nul byte": b"<Echo><Text>a\x00b</Text></Echo>",
    "control char": b"<Echo><Text>a\x07b</Text></Echo>",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gets_a_clear_error_and_the_listener_keeps_serving(
    factory: RuntimeFactory, name: str
) -> None:
    rt = factory.started()
    rt.register("echo", L.echo, L.Echo)
    refused = PayloadError if name == "too big" else ListenerError  # too big: before sending
    with pytest.raises(refused, match="echo") as caught:
        rt.ask("echo", HOSTILE[name], timeout=10)
    assert "root:" not in str(caught.value)  # never the content of a local file
    assert rt.ask("echo", L.Echo("still here"), timeout=10) == L.Echo("still here")


def test_a_handler_returning_something_else_is_an_error(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("odd", L.wrong_output, L.Echo)
    with pytest.raises(ListenerError, match="returned int; expected HandlerResponse or None"):
        rt.ask("odd", L.Echo(), timeout=10)


def test_an_ask_without_answer_times_out_naming_target_and_timeout(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started()
    rt.register("quiet", L.silent, L.Echo)
    with pytest.raises(AskTimeoutError, match=r"'quiet' within 0.5 s"):
        rt.ask("quiet", L.Echo(), timeout=0.5)
    with pytest.raises(TimeoutError):
        rt.ask("quiet", L.Echo(), timeout=0.2)


def test_an_unknown_root_tag_comes_back_as_an_element(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("relay", L.echo, L.Echo)
    rt.register("raw", L.raw_reply, L.Echo)
    reply = rt.ask("relay", L.Echo("<b>&amp;</b>"), timeout=10)
    assert reply.text == "<b>&amp;</b>"  # markup in a string field survives as text
    assert isinstance(rt.ask("relay", "<Echo><Text>t</Text></Echo>", timeout=10), L.Echo)
    element = rt.ask("raw", L.Echo("x"), timeout=10)
    assert isinstance(element, etree._Element)
    assert (element.tag, element.get("said")) == ("NoClass", "x")


def test_tell_delivers_without_waiting(factory: RuntimeFactory, tmp_path: Path) -> None:
    rt = factory.started()
    rt.register("w", L.work, L.Work)
    log = tmp_path / "told.log"
    rt.tell("w", L.Work(value=1, log_path=str(log)))
    # An ask behind the tell on the same worker is answered after the tell ran (FIFO).
    rt.ask("w", L.Work(value=2, log_path=str(log)), timeout=10)
    assert log.read_text().split() == ["1", "2"]


def test_registering_a_name_twice_is_refused(factory: RuntimeFactory) -> None:
    rt = factory()
    rt.register("echo", L.echo, L.Echo)
    with pytest.raises(DuplicateListenerError, match="'echo' is already registered"):
        rt.register("echo", L.echo, L.Echo)
    with pytest.raises(DuplicateListenerError):
        rt.register("system.buffer", L.echo, L.Echo)


def test_a_handler_that_cannot_be_imported_by_name_is_refused(factory: RuntimeFactory) -> None:
    rt = factory()
    with pytest.raises(NotImportableError, match="module level"):
        rt.register("anon", L.make_lambda_handler(), L.Echo)


def test_listeners_registered_after_start_answer(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("late", L.echo, L.Echo)
    assert rt.ask("late", L.Echo("hi"), timeout=10) == L.Echo("hi")
    assert rt.statistics().listeners == 1


def test_each_thread_gets_its_own_replies(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add, workers=2)
    results: dict[tuple[int, int], int] = {}

    def ask(n: int) -> None:
        for k in range(25):
            results[n, k] = rt.ask("calculator.add", L.Add(n, k), timeout=20).value

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {(n, k): n + k for n in range(8) for k in range(25)}


def test_a_payload_that_fails_to_encode_is_an_error_reply(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("bad", L.explode_on_encode, L.Echo)
    for _ in range(2):  # and the listener goes on answering
        with pytest.raises(ListenerError, match="failed to encode: RuntimeError: boom"):
            rt.ask("bad", L.Echo(), timeout=10)
