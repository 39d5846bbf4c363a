"""Supervision on ``multiprocTCPBase``: components SIGKILLed as an operator (or the kernel)
would, and what the callers of the dead see: never their own timeout."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from typing import Any

import pytest

from actors import ComponentDiedError, Runtime, SequenceFailedError, processes
from actors.testing import RuntimeFactory
from tests import listeners as L
from tests.test_supervision import COMPONENTS, QUICK, _everything_answers, _runtime, _until

pytestmark = pytest.mark.multiproc


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocTCPBase"


def _replaced(rt: Runtime, name: str, old: int) -> bool:
    now = rt.processes()
    return name in now and now[name] != old


@pytest.mark.parametrize("name", COMPONENTS)
def test_after_the_sigkill_of_a_component_everything_answers_within_seconds(
    factory: RuntimeFactory, name: str
) -> None:
    rt = _runtime(factory)
    before = rt.processes()
    os.kill(before[name], signal.SIGKILL)
    started = time.monotonic()
    after = _until(lambda: _replaced(rt, name, before[name]))
    assert after, f"{name} was not replaced"
    replaced = time.monotonic() - started
    took = _everything_answers(rt)
    assert time.monotonic() - started < QUICK, f"replaced after {replaced:.1f} s, then {took}"
    assert rt.statistics().restarts == 1


def test_components_killed_together_are_each_restarted_and_everything_answers(
    factory: RuntimeFactory,
) -> None:
    # Thespian tells the root of one of several children that die at once; a service
    # restarted with the registry kept the dead registry's address (every run it admitted
    # waited for a lookup nobody answered), and the shutdown waited 13 s for the missed ones.
    rt = _runtime(factory)
    before = rt.processes()
    names = ["registry", "system.buffer", "system.sequence"]
    for name in names:
        os.kill(before[name], signal.SIGKILL)
    started = time.monotonic()
    assert _until(lambda: all(_replaced(rt, name, before[name]) for name in names)), (
        f"not all of {names} were replaced: {rt.processes()}")
    replaced = time.monotonic() - started
    took = _everything_answers(rt)
    assert time.monotonic() - started < QUICK, f"replaced after {replaced:.1f} s, then {took}"
    assert rt.statistics().restarts == 3
    session, began = rt.session_id, time.monotonic()
    rt.shutdown()
    assert time.monotonic() - began < 6.0  # 13 s when a death was missed
    assert processes.session_pids(session) == []


def test_a_buffer_in_flight_when_its_service_dies_ends_with_a_clear_error_at_once(
    factory: RuntimeFactory
) -> None:
    rt = _runtime(factory)
    pid = rt.processes()["system.buffer"]
    outcome: list[Any] = []
    started = threading.Event()

    def run() -> None:
        started.set()
        try:
            outcome.append(rt.map("w", [L.Work(value=i, sleep_ms=300) for i in range(20)],
                                  timeout=60, max_in_flight=2))
        except Exception as exc:  # noqa: BLE001 - what the caller gets is the point
            outcome.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    started.wait(5)
    _until(lambda: rt.statistics().active_buffers == 1)
    os.kill(pid, signal.SIGKILL)
    caller.join(QUICK)
    assert not caller.is_alive(), "the caller waited for its timeout"
    assert len(outcome) == 1 and isinstance(outcome[0], ComponentDiedError)
    assert "system.buffer died before answering" in str(outcome[0])
    assert rt.map("w", [L.Work(value=1)], timeout=QUICK)[0].value == 2  # the new service


def test_a_buffer_whose_listener_dies_fails_what_it_held_and_completes_the_rest(
    factory: RuntimeFactory
) -> None:
    rt = _runtime(factory)
    pid = rt.processes()["w"]
    box: list[Any] = []
    caller = threading.Thread(target=lambda: box.append(
        rt.buffer("w", [L.Work(value=i, sleep_ms=200) for i in range(20)], timeout=60,
                  max_in_flight=4)))
    caller.start()
    _until(lambda: rt.statistics().handled >= 4)
    os.kill(pid, signal.SIGKILL)
    caller.join(QUICK + 10)
    assert not caller.is_alive() and box
    outcome = box[0]
    assert outcome.total == 20 and outcome.missing == 0
    assert 1 <= outcome.failed <= 4
    assert {f.reason for f in outcome.failures} == {"exited"}
    assert all("died while it held this item" in f.text for f in outcome.failures)


def test_a_sequence_whose_current_step_dies_fails_naming_it_at_once(
    factory: RuntimeFactory
) -> None:
    rt = _runtime(factory)
    rt.register("slow", L.work, L.Work)
    rt.register("after", L.work, L.Work)
    pid = rt.processes()["slow"]
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(rt.sequence(["slow", "after"], L.Work(value=1, sleep_ms=3000), timeout=60))
        except SequenceFailedError as exc:
            box.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    _until(lambda: rt.statistics().active_sequences == 1)
    os.kill(pid, signal.SIGKILL)
    caller.join(QUICK)
    assert not caller.is_alive() and len(box) == 1
    assert isinstance(box[0], SequenceFailedError) and box[0].failed_step == "slow"
    assert "died while handling this step" in box[0].error




def test_workers_killed_at_once_are_each_noticed_and_replaced(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("w3", L.work, L.Work, workers=3)
    workers = [f"w3/worker/{slot}" for slot in range(3)]
    before = _until(lambda: (p := rt.processes()) and all(w in p for w in workers) and p)
    assert before, "the workers did not report their processes"
    box: list[Any] = []
    caller = threading.Thread(target=lambda: box.append(
        rt.buffer("w3", [L.Work(value=i, sleep_ms=1000) for i in range(9)], timeout=60)))
    caller.start()
    assert _until(lambda: rt.counters()["w3"].get("in_flight", 0) >= 3)
    for slot in range(3):
        os.kill(before[f"w3/worker/{slot}"], signal.SIGKILL)
    caller.join(QUICK + 10)  # 6 more items of 1 s on 3 new workers; not the 60 s deadline
    assert not caller.is_alive() and box
    outcome = box[0]
    assert (outcome.successful, outcome.failed, outcome.missing) == (6, 3, 0)
    assert {f.reason for f in outcome.failures} == {"exited"}
    assert rt.statistics().replaced_workers == 3
    after = rt.processes()
    assert all(after[f"w3/worker/{s}"] != before[f"w3/worker/{s}"] for s in range(3))


def test_a_runtime_whose_workers_died_at_once_shuts_down_at_once(factory: RuntimeFactory) -> None:
    # Thespian notices one of several children that die at once, and an actor waits at its
    # exit for every child it lists: the listener's exit (and the shutdown) hung 13 s.
    rt = factory.started()
    rt.register("w2", L.work, L.Work, workers=4)  # the more at once, the likelier one is missed
    workers = [f"w2/worker/{slot}" for slot in range(4)]
    before = _until(lambda: (p := rt.processes()) and all(w in p for w in workers) and p)
    assert before, "the workers did not report their processes"
    for name in workers:
        os.kill(before[name], signal.SIGKILL)
    assert _until(lambda: rt.statistics().replaced_workers == 4)
    assert rt.ask("w2", L.Work(value=4)).value == 8  # served by the replacements (doubled)
    session, began = rt.session_id, time.monotonic()
    rt.shutdown()
    took = time.monotonic() - began
    assert took < 6.0, f"shutdown took {took:.1f} s"  # 13 s before; ~0.1 s now
    assert processes.session_pids(session) == []


def test_a_worker_whose_listener_died_mid_call_ends_within_seconds(
    factory: RuntimeFactory, tmp_path: Any
) -> None:
    # The worker's own parent check waits for its thread, which this call holds for 60 s:
    # before its guard thread, the orphan lived until the system ended.
    rt = factory.started(default_timeout=30)
    rt.register("slow", L.work, L.Work)
    log = tmp_path / "calls.log"
    box: list[Any] = []

    def call() -> None:
        try:
            box.append(rt.ask("slow", L.Work(value=1, sleep_ms=60_000, log_path=str(log)),
                              timeout=60))
        except Exception as exc:  # noqa: BLE001 - the test looks at what the caller got
            box.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert _until(lambda: log.exists() and log.read_text() == "1\n"), "the call did not start"
    pids = rt.processes()  # after the call started: its worker is up (register does not wait)
    worker = os.pidfd_open(pids["slow/worker/0"])
    try:
        os.kill(pids["slow"], signal.SIGKILL)
        ended = select.select([worker], [], [], QUICK)[0]
    finally:
        os.close(worker)
    assert ended, "the orphaned worker outlived its listener by more than 10 s"
    caller.join(QUICK)
    assert not caller.is_alive() and isinstance(box[0], ComponentDiedError), box
