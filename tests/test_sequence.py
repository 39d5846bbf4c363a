"""Sequence end to end on real actor systems (both bases), and nesting with Buffer."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.primitives import (
    BufferComplete,
    BufferStart,
    SequenceComplete,
    SequenceError,
    SequenceStart,
    parse_results,
)
from actors.testing import RuntimeFactory, wait_for_statistics
from tests import listeners as L


def _runtime(factory: RuntimeFactory):  # type: ignore[no-untyped-def]
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add)
    rt.register("double", L.double, L.Sum)
    rt.register("show", L.show, L.Sum)
    rt.register("crash", L.crash, L.Echo)
    rt.register("w", L.work, L.Work)
    return rt


def test_each_output_feeds_the_next_step(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="calculator.add,double,show", payload=L.Add(3, 1).to_xml())
    done = rt.ask("system.sequence", start, timeout=30)
    assert isinstance(done, SequenceComplete)
    assert done.step_count == 3
    assert L.Echo.from_xml(done.final_result) == L.Echo("Result: 8")
    wait_for_statistics(rt, lambda s: s.active_sequences == 0)


def test_steps_may_be_given_as_a_list(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps=["calculator.add", "double", "double"], payload=L.Add(1, 1))
    done = rt.ask("system.sequence", start, timeout=30)
    assert L.Sum.from_xml(done.final_result) == L.Sum(8)


def test_no_steps_is_refused(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    reply = rt.ask("system.sequence", SequenceStart(steps="", payload="<Add/>"), timeout=30)
    assert reply == SequenceError("unknown", "", 0, "No steps specified")


def test_an_unknown_step_is_named_with_its_index(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="calculator.add,nowhere,show", payload=L.Add().to_xml(),
                          sequence_id="s1")
    reply = rt.ask("system.sequence", start, timeout=30)
    assert reply == SequenceError("s1", "nowhere", 1, "Unknown listener: nowhere")
    assert rt.statistics().handled == 0  # no step ran


def test_a_raising_step_stops_the_run_at_its_index(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="crash,show", payload=L.Echo("x").to_xml())
    reply = rt.ask("system.sequence", start, timeout=30)
    assert isinstance(reply, SequenceError)
    assert (reply.failed_step, reply.step_index) == ("crash", 0)
    assert reply.error == "Handler crash crashed: ValueError: bad input x"


def test_an_output_the_next_step_cannot_take_fails_that_step(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="calculator.add,show,double", payload=L.Add(1, 2).to_xml())
    reply = rt.ask("system.sequence", start, timeout=30)
    assert (reply.failed_step, reply.step_index) == ("double", 2)
    assert "expects <Sum> but got <Echo>" in reply.error
    assert rt.statistics().handled == 3  # the third step's worker refused it; nothing ran twice


def test_a_hanging_step_times_out(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="w,double", payload=L.Work(hang=True).to_xml(), timeout=0.5)
    reply = rt.ask("system.sequence", start, timeout=30)
    assert (reply.failed_step, reply.step_index) == ("w", 0)
    assert "timed out" in reply.error
    wait_for_statistics(rt, lambda s: s.active_sequences == 0)


def test_a_buffer_of_sequences_runs_one_sequence_per_item(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    items = [SequenceStart(steps="calculator.add,double", payload=L.Add(i, 0)) for i in range(4)]
    items.append(SequenceStart(steps="crash", payload=L.Echo("boom")))
    done = rt.ask("system.buffer", BufferStart(target="system.sequence", items=items), timeout=60)
    assert isinstance(done, BufferComplete)
    assert (done.successful, done.failed) == (4, 1)
    results = parse_results(done.results.encode())
    finals = [SequenceComplete.from_xml(r.payload).final_result for r in results[:4]]
    assert [L.Sum.from_xml(f).value for f in finals] == [0, 2, 4, 6]
    assert results[4].reason == "error" and b"<SequenceError>" in results[4].payload
    wait_for_statistics(rt, lambda s: s.active_sequences == 0 and s.active_buffers == 0)


def test_a_sequence_may_contain_a_buffer(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    rt.register("fan", L.fan_out_adds, L.Echo)
    rt.register("count", L.count_successes, BufferComplete)
    start = SequenceStart(steps="fan,system.buffer,count,double", payload=L.Echo("5"))
    done = rt.ask("system.sequence", start, timeout=60)
    assert L.Sum.from_xml(done.final_result) == L.Sum(10)


@pytest.mark.parametrize("bad", ["<SequenceStart><Steps>a</Steps>", "<Add/>"])
def test_an_unreadable_start_is_refused_with_a_sequence_error(
    factory: RuntimeFactory, bad: str
) -> None:
    rt = _runtime(factory)
    reply = rt.ask("system.sequence", bad, timeout=30)
    assert isinstance(reply, SequenceError) and "system.sequence" in reply.error


def test_a_negative_timeout_is_refused_at_admission(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    start = SequenceStart(steps="calculator.add", payload=L.Add(), sequence_id="s1", timeout=-1)
    refused = rt.ask("system.sequence", start, timeout=30)
    assert isinstance(refused, SequenceError) and refused.sequence_id == "s1"
    assert refused.error.startswith("timeout must be a finite number of seconds >= 0")


def test_two_runs_with_one_sequence_id_never_both_run(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = _runtime(factory)
    log = tmp_path / "ran.log"
    twins = [SequenceStart(steps=["w"], payload=L.Work(value=i, sleep_ms=200, log_path=str(log)),
                           sequence_id="dup") for i in range(2)]
    done = rt.ask("system.buffer", BufferStart(target="system.sequence", items=twins), timeout=60)
    assert (done.successful, done.failed) == (1, 1)
    failure = next(r for r in parse_results(done.results) if r is not None and not r.success)
    assert SequenceError.from_xml(failure.payload).error == "Sequence dup is already active"
    assert len(log.read_text().split()) == 1  # the step ran once
    wait_for_statistics(rt, lambda s: s.active_sequences == 0 and s.active_buffers == 0)


def test_progress_of_a_buffer_step_is_not_its_answer(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    fan = BufferStart(target="calculator.add", items=[L.Add(i, 1) for i in range(30)],
                      progress=True)
    done = rt.ask("system.sequence", SequenceStart(steps=["system.buffer"], payload=fan),
                  timeout=60)
    assert isinstance(done, SequenceComplete)
    assert BufferComplete.from_xml(done.final_result).successful == 30
