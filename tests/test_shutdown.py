"""Shutdown while other threads talk to the runtime: each of them gets one documented error."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from actors import RuntimeClosedError, XmlActorsError
from actors.testing import RuntimeFactory
from tests import listeners as L

THREADS = 4


def test_threads_inside_ask_get_runtime_closed_at_once(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("slow", L.nap_async, L.Nap)
    assert rt.ask("slow", L.Nap(index=1)).index == 1
    outcomes: list[Any] = []
    asking = threading.Barrier(THREADS + 1)

    def ask() -> None:
        asking.wait(10)
        try:
            outcomes.append(rt.ask("slow", L.Nap(index=2, ms=5000), timeout=30))
        except Exception as exc:  # noqa: BLE001 - which error each thread gets is the point
            outcomes.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    asking.wait(10)
    # Every thread is on its way into ask; shut down under them.
    assert _until(lambda: _in_flight(rt) >= THREADS)
    started = time.monotonic()
    rt.shutdown()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert time.monotonic() - started < 10  # not the asks' own 30 s
    assert len(outcomes) == THREADS
    assert all(isinstance(o, RuntimeClosedError) for o in outcomes), outcomes
    assert isinstance(outcomes[0], XmlActorsError)


@pytest.mark.parametrize("call", ["ask", "tell", "map", "statistics"])
def test_calls_after_shutdown_raise_runtime_closed(factory: RuntimeFactory, call: str) -> None:
    rt = factory.started()
    rt.register("w", L.work, L.Work)
    rt.shutdown()
    calls = {
        "ask": lambda: rt.ask("w", L.Work()),
        "tell": lambda: rt.tell("w", L.Work()),
        "map": lambda: rt.map("w", [L.Work()]),
        "statistics": rt.statistics,
    }
    with pytest.raises(RuntimeClosedError, match="the runtime is shut down"):
        calls[call]()


def test_a_runtime_never_started_says_so(factory: RuntimeFactory) -> None:
    rt = factory()
    with pytest.raises(RuntimeError, match="not started"):
        rt.statistics()


def _in_flight(rt: Any) -> int:
    return int(sum(c.get("in_flight", 0) for c in rt.counters().values()))


def _until(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
    return True
