"""Buffer behaviours only a multiprocess base shows: parallel workers, dying processes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from actors.primitives import BufferError, BufferStart, parse_results
from actors.primitives.run_pool import MOST
from actors.primitives.service import WARM_RUNS
from actors.processes import session_pids
from actors.testing import RuntimeFactory, wait_for_statistics
from tests import listeners as L

pytestmark = pytest.mark.multiproc


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocTCPBase"


def test_items_spread_over_four_worker_processes(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started()
    rt.register("w", L.work, L.Work, workers=4)
    items = [L.Work(value=i, sleep_ms=150) for i in range(8)]
    done = rt.ask("system.buffer", BufferStart(target="w", items=items, timeout=30), timeout=60)
    pids = {L.Done.from_xml(r.payload).pid for r in parse_results(done.results.encode())}
    assert done.successful == 8
    assert len(pids) == 4


def test_a_worker_killed_mid_run_fails_its_item_and_the_next_run_is_whole(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started()
    rt.register("w", L.work, L.Work, workers=2)
    items = [L.Work(value=i, sleep_ms=50, die=(i == 3)) for i in range(8)]
    done = rt.ask("system.buffer", BufferStart(target="w", items=items, timeout=30), timeout=60)
    results = parse_results(done.results.encode())
    assert done.total == 8 and done.successful + done.failed + done.missing == 8
    assert (results[3].success, results[3].reason) == (False, "exited")
    assert done.successful == 7
    again = rt.ask("system.buffer", BufferStart(target="w", items=items[:3], timeout=30),
                   timeout=60)
    assert again.successful == 3
    pids = {L.Done.from_xml(r.payload).pid for r in parse_results(again.results.encode())}
    assert len(pids) >= 1
    wait_for_statistics(rt, lambda s: s.active_buffers == 0 and s.replaced_workers == 1)


def test_a_run_whose_process_dies_still_answers_once(
    runtime_factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = runtime_factory.started()
    rt.register("w", L.work, L.Work)
    log = tmp_path / "started.log"
    answers: list[object] = []
    item = L.Work(value=1, sleep_ms=30_000, log_path=str(log))
    start = BufferStart(target="w", items=[item], timeout=60, buffer_id="doomed")
    asker = threading.Thread(target=lambda: answers.append(
        rt.ask("system.buffer", start, timeout=60)))
    asker.start()
    # Once the item is being handled the run is up, and its service knows its process.
    deadline = time.monotonic() + 20
    while not log.exists():
        assert time.monotonic() < deadline, "the item never reached its worker"
        time.sleep(0.02)  # polling a file the handler writes, not waiting for an actor
    run = rt.processes()["system.buffer/run/doomed"]
    assert run in session_pids(rt.session_id) and list(rt.processes().values()).count(run) == 1
    os.kill(run, signal.SIGKILL)
    asker.join(30)
    (answer,) = answers
    assert isinstance(answer, BufferError) and answer.error == "Buffer run ended without a result"
    wait_for_statistics(rt, lambda s: s.active_buffers == 0)


def test_fifty_buffers_in_a_row_leave_no_extra_process_no_run_and_shutdown_leaves_none(
    runtime_factory: RuntimeFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    rt = runtime_factory.started()
    rt.register("w", L.work, L.Work)
    assert rt.ask("w", L.Work(value=1), timeout=20).value == 2
    session = rt.session_id
    # Each service's pool keeps WARM_RUNS run actors started and rehearsed.
    stats = wait_for_statistics(rt, lambda s: s.idle_runs == 2 * WARM_RUNS, timeout=20)
    fixed = len(session_pids(session)) - stats.idle_runs
    for i in range(50):
        done = rt.ask("system.buffer", BufferStart(target="w", items=[L.Work(value=i)],
                                                   timeout=30), timeout=60)
        assert done.successful == 1, done
    # Every run actor that served has exited; what is left is the components and the pools'
    # waiting actors (fewer than 2 x MOST), each rehearsed and counted.
    stats = wait_for_statistics(
        rt, lambda s: s.active_buffers == 0 and len(session_pids(session)) == fixed + s.idle_runs,
        timeout=20)
    assert 0 < stats.idle_runs <= 2 * MOST
    assert not [name for name in rt.processes() if "/run/" in name]
    assert "failed on" not in capfd.readouterr().err  # no rehearsal went wrong
    rt.shutdown()
    assert session_pids(session) == []
