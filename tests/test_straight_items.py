"""Buffer items sent straight to their target's workers on ``multiprocTCPBase``
(``actors.primitives.item_routes``): the listener is off the items' path, still counts them,
and a worker that dies fails exactly the items it held, each once."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from actors import Runtime
from actors.primitives import BufferStart, parse_results
from actors.testing import RuntimeFactory
from tests import listeners as L
from tests.test_supervision import _until

pytestmark = pytest.mark.multiproc


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocTCPBase"


def _buffer(rt: Runtime, target: str, items: list[Any], **fields: Any) -> Any:
    start = BufferStart(target=target, items=items, timeout=30, **fields)
    return rt.ask("system.buffer", start, timeout=60)


def _routed(rt: Runtime, target: str, item: Any) -> None:
    """Run a Buffer of ``item`` to ``target`` and wait until ``system.buffer`` knows its workers."""
    assert _buffer(rt, target, [item]).successful == 1
    assert _until(lambda: rt.counters()["system.buffer"].get("routed") == 1)


def test_items_reach_the_workers_while_their_listener_cannot_run(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("w", L.work, L.Work, workers=2)
    _routed(rt, "w", L.Work(value=0))
    pids = rt.processes()
    os.kill(pids["w"], signal.SIGSTOP)  # the listener is off every item's path
    try:
        done = _buffer(rt, "w", [L.Work(value=i) for i in range(6)])
    finally:
        os.kill(pids["w"], signal.SIGCONT)
    results = [L.Done.from_xml(r.payload) for r in parse_results(done.results.encode())]
    assert done.successful == 6 and [r.value for r in results] == [0, 2, 4, 6, 8, 10]
    assert {r.pid for r in results} == {pids["w/worker/0"], pids["w/worker/1"]}
    counts = _until(lambda: (c := rt.counters()["w"])["handled"] == 7 and c)
    assert (counts["handled"], counts["in_flight"], counts["failed"]) == (7, 0, 0)


def test_a_worker_killed_with_items_in_flight_fails_exactly_those_once(
    factory: RuntimeFactory, tmp_path: Path,
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("nap", L.nap_blocking, L.Nap, workers=2, concurrency=3)
    _routed(rt, "nap", L.Nap(index=0))
    pids = rt.processes()
    log = str(tmp_path / "naps.log")
    items = [L.Nap(index=i, ms=3000, log_path=log) for i in range(6)]
    answer: list[Any] = []
    run = threading.Thread(target=lambda: answer.append(_buffer(rt, "nap", items)))
    run.start()
    try:
        assert _until(lambda: len(L.started(log)) == 6), L.started(log)  # 3 at each worker
        victim = pids["nap/worker/0"]
        held = sorted(index for index, pid in L.started(log) if pid == victim)
        os.kill(victim, signal.SIGKILL)
    finally:
        run.join(60)
    (done,) = answer
    results = parse_results(done.results.encode())
    failed = [i for i, r in enumerate(results) if not r.success]
    assert len(held) == 3 and failed == held
    assert {results[i].reason for i in failed} == {"exited"}
    assert all(L.Napped.from_xml(results[i].payload).pid == pids["nap/worker/1"]
               for i in range(6) if i not in held)
    assert (done.successful, done.failed, done.missing) == (3, 3, 0)
    assert _buffer(rt, "nap", [L.Nap(index=i) for i in range(4)]).successful == 4  # replaced


def test_items_past_what_the_workers_may_hold_wait_in_the_run_not_at_a_worker_that_dies(
    factory: RuntimeFactory, tmp_path: Path,
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("nap", L.nap_blocking, L.Nap, workers=2, concurrency=1)
    _routed(rt, "nap", L.Nap(index=0))
    pids = rt.processes()
    log = str(tmp_path / "naps.log")
    items = [L.Nap(index=i, ms=800, log_path=log) for i in range(6)]
    answer: list[Any] = []
    run = threading.Thread(target=lambda: answer.append(_buffer(rt, "nap", items, max_in_flight=6)))
    run.start()
    try:
        assert _until(lambda: len(L.started(log)) == 2), L.started(log)  # one at each worker
        victim = pids["nap/worker/0"]
        (held,) = [index for index, pid in L.started(log) if pid == victim]
        os.kill(victim, signal.SIGKILL)
    finally:
        run.join(60)
    (done,) = answer
    results = parse_results(done.results.encode())
    assert [i for i, r in enumerate(results) if not r.success] == [held]  # not the 2 behind it
    assert (done.successful, done.failed, results[held].reason) == (5, 1, "exited")
