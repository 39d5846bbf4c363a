"""Concurrent handler calls: a fan-out of waiting calls takes the time of a few, not their sum.

Every test runs on both bases. Times are bounded only with wide margins (half
the serial time); counts of calls in flight come from a log each call writes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from actors import ConfigError, ListenerError, Runtime
from actors.primitives import BufferStart, parse_results
from actors.testing import RuntimeFactory
from tests import listeners as L

WAIT = 60.0


def _buffer(rt: Runtime, target: str, items: list[L.Nap], **options: object) -> object:
    start = BufferStart(target=target, items=items, timeout=WAIT, **options)
    return rt.ask("system.buffer", start, timeout=WAIT)


def _timed_buffer(rt: Runtime, target: str, items: list[L.Nap]) -> tuple[float, object]:
    began = time.monotonic()
    done = _buffer(rt, target, items)
    return time.monotonic() - began, done


def test_twenty_async_calls_that_wait_run_at_once(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=20)
    elapsed, done = _timed_buffer(rt, "nap", [L.Nap(i, ms=300) for i in range(20)])
    assert done.successful == 20  # type: ignore[attr-defined]
    assert elapsed < 0.5 * 20 * 0.3  # serial would take 6 s; together about 0.3 s


def test_an_async_handler_runs_sixteen_calls_at_once_by_default(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap)
    log = str(tmp_path / "calls.log")
    _buffer(rt, "nap", [L.Nap(i, ms=200, log_path=log) for i in range(40)])
    assert L.most_in_flight(log) == 16


def test_a_plain_handler_with_concurrency_runs_in_threads(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_blocking, L.Nap, concurrency=10)
    elapsed, done = _timed_buffer(rt, "nap", [L.Nap(i, ms=300) for i in range(20)])
    assert done.successful == 20  # type: ignore[attr-defined]
    assert elapsed < 0.5 * 20 * 0.3


@pytest.mark.parametrize("handler", [L.nap_async, L.nap_blocking])
def test_never_more_calls_in_flight_than_the_concurrency(
    factory: RuntimeFactory, tmp_path: Path, handler: object
) -> None:
    rt = factory.started()
    rt.register("nap", handler, L.Nap, concurrency=4)
    log = str(tmp_path / "calls.log")
    done = _buffer(rt, "nap", [L.Nap(i, ms=100, log_path=log) for i in range(12)])
    assert done.successful == 12  # type: ignore[attr-defined]
    assert L.most_in_flight(log) == 4


@pytest.mark.parametrize("handler", [L.nap_async, L.nap_blocking])
def test_concurrency_one_keeps_one_call_at_a_time_in_order(
    factory: RuntimeFactory, tmp_path: Path, handler: object
) -> None:
    rt = factory.started()
    rt.register("nap", handler, L.Nap, concurrency=1)
    log = str(tmp_path / "calls.log")
    _buffer(rt, "nap", [L.Nap(i, ms=10, log_path=log) for i in range(8)])
    assert L.most_in_flight(log) == 1
    assert [index for index, _pid in L.started(log)] == list(range(8))


@pytest.mark.parametrize("handler", [L.nap_async, L.nap_blocking])
def test_a_raising_call_fails_only_its_own_item(factory: RuntimeFactory, handler: object) -> None:
    rt = factory.started()
    rt.register("nap", handler, L.Nap, concurrency=4)
    items = [L.Nap(i, ms=50, crash=i % 3 == 0) for i in range(9)]
    done = _buffer(rt, "nap", items)
    results = parse_results(done.results)  # type: ignore[attr-defined]
    failed = [r.index for r in results if r is not None and not r.success]
    assert failed == [0, 3, 6]
    assert all(b"crashed: ValueError: nap" in results[i].payload for i in failed)  # type: ignore[union-attr]
    assert rt.ask("nap", L.Nap(99), timeout=WAIT).index == 99  # and the listener goes on


def test_a_listener_timeout_cancels_an_async_call_and_answers_its_caller(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=4, timeout=0.5)
    items = [L.Nap(0, ms=30_000), L.Nap(1, ms=50), L.Nap(2, ms=50)]
    done = _buffer(rt, "nap", items)
    results = parse_results(done.results)  # type: ignore[attr-defined]
    assert [r.success for r in results if r is not None] == [False, True, True]
    assert b"Handler nap did not answer within 0.5 s" in results[0].payload  # type: ignore[union-attr]
    assert rt.statistics().replaced_workers == 0  # cancelled, not killed


@pytest.mark.multiproc
def test_a_blocking_call_past_its_timeout_replaces_its_worker_and_fails_what_it_held(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started("multiprocTCPBase")
    rt.register("nap", L.nap_blocking, L.Nap, concurrency=3, timeout=2.0)
    outcomes: dict[int, str] = {}

    def ask(index: int, ms: int) -> None:
        try:
            rt.ask("nap", L.Nap(index, ms=ms), timeout=WAIT)
            outcomes[index] = "answered"
        except ListenerError as exc:
            outcomes[index] = str(exc)

    stuck = threading.Thread(target=ask, args=(0, 30_000))
    stuck.start()
    time.sleep(0.5)  # the second call starts half a second after the first (not a wait for an actor)
    other = threading.Thread(target=ask, args=(1, 30_000))
    other.start()
    stuck.join(WAIT)
    other.join(WAIT)
    assert outcomes[0] == "Handler nap did not answer within 2 s"
    assert "its worker exited" in outcomes[1]
    assert rt.ask("nap", L.Nap(2, ms=10), timeout=WAIT).index == 2
    assert rt.statistics().replaced_workers == 1


@pytest.mark.multiproc
def test_a_worker_killed_with_calls_in_flight_fails_exactly_those_each_once(
    runtime_factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = runtime_factory.started("multiprocTCPBase")
    rt.register("nap", L.nap_async, L.Nap, workers=2, concurrency=3)
    log = str(tmp_path / "calls.log")
    items = [L.Nap(i, ms=1500, log_path=log) for i in range(10)]
    answer: dict[str, object] = {}
    run = threading.Thread(target=lambda: answer.update(done=_buffer(rt, "nap", items)))
    run.start()
    deadline = time.monotonic() + WAIT
    while len(L.started(log)) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the calls' log file, not waiting for an actor
    victim = L.started(log)[0][1]
    held = sorted(index for index, pid in L.started(log) if pid == victim)
    os.kill(victim, signal.SIGKILL)
    run.join(WAIT)

    results = parse_results(answer["done"].results)  # type: ignore[attr-defined]
    exited = sorted(r.index for r in results if r is not None and r.reason == "exited")
    assert len(held) == 3 and exited == held
    assert answer["done"].successful == 7  # type: ignore[attr-defined]
    assert rt.statistics().replaced_workers == 1


@pytest.mark.parametrize("bad", [0, -1, "4", 1.5, True])
def test_a_bad_concurrency_is_a_config_error_naming_the_listener(bad: object) -> None:
    rt = Runtime()
    with pytest.raises(ConfigError, match=r"listener 'nap' needs concurrency to be an int >= 1"):
        rt.register("nap", L.nap_async, L.Nap, concurrency=bad)  # type: ignore[arg-type]


def test_in_process_a_blocking_call_past_its_timeout_is_answered_at_the_timeout() -> None:
    with Runtime() as rt:
        rt.register("nap", L.nap_blocking, L.Nap, concurrency=2, timeout=0.3)
        began = time.monotonic()
        with pytest.raises(ListenerError, match=r"did not answer within 0.3 s"):
            rt.ask("nap", L.Nap(0, ms=2000), timeout=WAIT)
        assert time.monotonic() - began < 1.5  # answered at its timeout, not when it ends
        assert rt.ask("nap", L.Nap(1, ms=10), timeout=WAIT).index == 1


def test_the_listener_answers_statistics_and_new_asks_while_calls_wait(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=8)
    answer: dict[str, object] = {}
    slow = [L.Nap(i, ms=3000) for i in range(6)]
    run = threading.Thread(target=lambda: answer.update(done=_buffer(rt, "nap", slow)))
    run.start()
    try:
        began = time.monotonic()
        # Two places of eight are free: a new call is taken and answered beside the slow ones.
        assert rt.ask("nap", L.Nap(99, ms=10), timeout=WAIT).index == 99
        assert rt.statistics(timeout=5).active_buffers == 1
        assert time.monotonic() - began < 2.0  # well before the slow calls end (3 s)
    finally:
        run.join(WAIT)
    assert answer["done"].successful == 6  # type: ignore[attr-defined]
