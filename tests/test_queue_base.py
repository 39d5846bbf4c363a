"""``multiprocQueueBase``: a base we offer, whose transport has no ``ThespianWatch``.

A worker learns that a call ended, or that its next slice of queued jobs may run,
from a pipe it watches; on this base ``Shell`` looks at the pipe on a short timer
instead (``shell.WATCH_POLL``). Without it a worker stopped after its first slice
and an async call's answer never left: a Buffer of 1,000 items did not end.
"""

from __future__ import annotations

import time

import pytest

from actors.primitives import BufferStart, parse_results
from actors.testing import RuntimeFactory
from tests import listeners as L

pytestmark = pytest.mark.multiproc

WAIT = 60.0


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocQueueBase"


def test_a_buffer_longer_than_a_slice_ends_with_every_result_in_order(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started()
    rt.register("add", L.add, L.Add)
    items = [L.Add(i, 1) for i in range(600)]
    done = rt.ask("system.buffer", BufferStart(target="add", items=items, timeout=WAIT),
                  timeout=WAIT)
    assert done.successful == 600
    values = [L.Sum.from_xml(r.payload).value for r in parse_results(done.results.encode())]
    assert values == [i + 1 for i in range(600)]


def test_async_calls_that_wait_run_at_once_and_answer(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=20)
    began = time.monotonic()
    done = rt.ask("system.buffer",
                  BufferStart(target="nap", items=[L.Nap(i, ms=200) for i in range(20)],
                              timeout=WAIT), timeout=WAIT)
    elapsed = time.monotonic() - began
    assert done.successful == 20
    assert elapsed < 0.5 * 20 * 0.2  # serial: 4 s; together about 0.2 s
