"""Bad input stops at the door (issue #16).

A payload over the runtime's size limit is refused by ``ask``/``tell`` (and
the command line's ask) before anything is sent, with a ``PayloadError``
naming the target and the limit; depth and size refusals of the parser read
as ours, with the limit, never as libxml2's own message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from actors import ListenerError, ParseLimits, PayloadError, Runtime
from actors.bases import free_port
from actors.envelope import Envelope
from actors.parsing import parse, parse_items
from actors.testing import RuntimeFactory
from examples.two_members import Served
from tests import listeners as L
from tests.processes import ROOT, WAIT, command, serve

SMALL = ParseLimits(max_bytes=1_000, max_run_bytes=3_000)


def _refusal(call: object) -> str:
    with pytest.raises(PayloadError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


def _count_sends(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every message the runtime's mailbox sends from now on."""
    sent: list[object] = []
    mailbox = rt._mailbox()
    for name in ("send", "post"):
        original = getattr(mailbox, name)

        def counting(address: object, message: object, _original: object = original) -> None:
            sent.append(message)
            _original(address, message)  # type: ignore[operator]

        monkeypatch.setattr(mailbox, name, counting)
    return sent


# -- the size, at the door --------------------------------------------------------------------


def test_an_oversized_ask_or_tell_is_refused_before_anything_is_sent(
    factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = factory.started(limits=SMALL)
    rt.register("echo", L.echo, L.Echo)
    sent = _count_sends(rt, monkeypatch)
    big = L.Echo("x" * 2_000)
    text = _refusal(lambda: rt.ask("echo", big, timeout=WAIT))
    assert text.startswith("the payload for 'echo' was refused before sending:")
    assert "2,0" in text and "over the 1,000-byte limit (ParseLimits.max_bytes)" in text
    told = _refusal(lambda: rt.tell("echo", big.to_bytes().decode()))
    assert told == text  # the same bytes, the same words
    assert sent == []
    assert rt.ask("echo", L.Echo("fits"), timeout=WAIT).text == "fits"  # the door is open
    counters = rt.counters(timeout=10)["echo"]
    assert counters["handled"] == 1 and counters["failed"] == 0


def test_fifty_megabytes_with_the_default_limits_never_leave_the_process(
    factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = factory.started()
    rt.register("echo", L.echo, L.Echo)
    sent = _count_sends(rt, monkeypatch)
    payload = b"<Echo><Text>" + b"x" * 50_000_000 + b"</Text></Echo>"
    text = _refusal(lambda: rt.ask("echo", payload, timeout=WAIT))
    assert "'echo'" in text and f"{len(payload):,} bytes is over the 1,000,000-byte limit" in text
    assert sent == [] and rt.counters(timeout=10)["echo"]["handled"] == 0


def test_a_run_over_the_run_limit_is_refused_before_it_starts(
    factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = factory.started(limits=SMALL)
    rt.register("echo", L.echo, L.Echo)
    sent = _count_sends(rt, monkeypatch)
    items = [L.Echo("x" * 500) for _ in range(10)]  # each fits, all together do not
    text = _refusal(lambda: rt.map("echo", items))
    assert "'system.buffer'" in text and "3,000-byte limit (ParseLimits.max_run_bytes)" in text
    assert "'system.sequence'" in _refusal(
        lambda: rt.sequence(["echo"], L.Echo("x" * 4_000)))
    assert sent == []
    counted = rt.counters(timeout=10)
    assert counted["system.buffer"]["started"] == counted["system.buffer"]["rejected"] == 0
    assert rt.map("echo", items[:2]) == items[:2]  # a run within the limit starts


def test_an_oversized_envelope_is_refused_naming_its_target(
    factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = factory.started(limits=SMALL)
    rt.register("echo", L.echo, L.Echo)
    sent = _count_sends(rt, monkeypatch)
    envelope = Envelope("me", "echo", "thread-1", L.Echo("x" * 2_000).to_bytes())
    text = _refusal(lambda: rt.ask("echo", envelope.to_bytes(), timeout=WAIT))
    assert "envelope for 'echo' was refused before sending" in text and "1,000-byte limit" in text
    object_text = _refusal(lambda: rt.ask("echo", envelope, timeout=WAIT))
    assert "the payload for 'echo'" in object_text and "1,000-byte limit" in object_text
    assert sent == []


# -- depth, in our own words ------------------------------------------------------------------


def test_a_ten_thousand_deep_document_is_refused_in_our_words_with_the_limit(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started()
    rt.register("echo", L.echo, L.Echo)
    deep = b"<Echo>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Echo>"
    with pytest.raises(ListenerError) as caught:
        rt.ask("echo", deep, timeout=WAIT)
    assert "XML refused: nesting deeper than 100 levels (line 1)" in caught.value.huh
    assert "Excessive" not in caught.value.huh and "XML_PARSE_HUGE" not in caught.value.huh


@pytest.mark.parametrize(("limits", "said"), [
    (ParseLimits(), "nesting deeper than 100 levels (line 257)"),
    (ParseLimits(max_depth=1_000), "nesting deeper than 256 levels (line 257)"),  # libxml2's
])
def test_libxml2s_depth_refusal_is_reworded_with_the_limit(limits: ParseLimits, said: str) -> None:
    deep = b"<a>\n" * 10_000 + b"</a>" * 10_000
    assert _refusal(lambda: parse(deep, limits)) == f"XML refused: {said}"
    items = b"<x/>\n" + deep
    assert _refusal(lambda: parse_items(items, limits)).startswith("item 1: XML refused: nesting deeper than")


def test_libxml2s_size_refusals_are_reworded_with_its_limit() -> None:
    roomy = ParseLimits(max_bytes=30_000_000, max_elements=10**9)
    text = _refusal(lambda: parse(b"<a>" + b"x" * 11_000_000 + b"</a>", roomy))
    assert text == (
        "XML refused: one text, attribute value, CDATA section, comment or processing"
        " instruction is over the 10,000,000-byte limit of a single node (line 1)"
    )
    assert _refusal(lambda: parse(b"<a><!--" + b"x" * 11_000_000 + b"--></a>", roomy)) == text
    assert _refusal(lambda: parse(b"<" + b"n" * 60_000 + b"/>", roomy)) == (
        "XML refused: a name longer than the 50,000-byte limit (line 1)"
    )
    assert "malformed XML" in _refusal(lambda: parse(b"<a><b></a>"))  # other errors unchanged


# -- the command line -------------------------------------------------------------------------

ECHO_ORGANISM = """\
<organism name="echo">
  <listener name="echo" handler="tests.listeners:echo" payload="tests.listeners:Echo"/>
</organism>
"""

BIG = b"<Echo><Text>" + b"x" * 1_100_000 + b"</Text></Echo>"


def test_the_command_lines_ask_refuses_an_oversized_payload_with_exit_1(tmp_path: Path) -> None:
    organism = tmp_path / "echo.xml"
    organism.write_text(ECHO_ORGANISM)
    (tmp_path / "big.xml").write_bytes(BIG)
    result = subprocess.run(
        [*command(), "run", str(organism), "--ask", "echo", str(tmp_path / "big.xml")],
        capture_output=True, text=True, cwd=ROOT, timeout=WAIT, check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "the payload for 'echo' was refused before sending" in result.stderr
    assert "1,000,000-byte limit" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.multiproc
def test_xmlactors_ask_refuses_an_oversized_payload_before_the_served_system_sees_it(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    organism = tmp_path / "echo.xml"
    organism.write_text(ECHO_ORGANISM)
    port = free_port()
    served = serve(serving, marked_env, tmp_path / "serve.log", str(organism),
                   "--admin-port", str(port))
    served.wait_for_line("serving", WAIT)
    result = subprocess.run(
        [*command(), "ask", "--admin-port", str(port), "echo", "-"], input=BIG.decode(),
        capture_output=True, text=True, cwd=ROOT, env=marked_env, timeout=WAIT, check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "the payload for 'echo' was refused before sending" in result.stderr
    assert "1,000,000-byte limit" in result.stderr
    with Runtime.connect(port) as attached:
        assert attached.ask("echo", L.Echo("after"), timeout=WAIT).text == "after"
        assert attached.counters(timeout=10)["echo"]["handled"] == 1  # that ask only
