"""Buffer behaviours only a multiprocess base shows: parallel workers, dying processes."""

from __future__ import annotations

import pytest

from actors.primitives import BufferStart, parse_results
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
