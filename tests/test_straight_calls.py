"""Calls sent straight to a listener's workers on ``multiprocTCPBase`` (``actors.worker_routes``):
they take two hops instead of three, the listener still counts them, and a call whose worker
dies is failed at once, never lost."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from actors import ListenerError, Runtime
from actors.testing import RuntimeFactory
from tests import listeners as L
from tests.test_supervision import QUICK, _until

pytestmark = pytest.mark.multiproc


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocTCPBase"


def _route(rt: Runtime, name: str) -> tuple[Any, ...]:
    """The workers the runtime sends ``name``'s calls to, once its listener has said."""
    assert rt.system is not None
    routes = rt.system.mailbox.workers
    return tuple(_until(lambda: routes.workers(name)))


def test_asks_reach_the_workers_while_their_listener_cannot_run(factory: RuntimeFactory) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("w", L.work, L.Work, workers=2)
    assert len(_route(rt, "w")) == 2
    pids = rt.processes()
    os.kill(pids["w"], signal.SIGSTOP)  # the listener is off every ask's path
    try:
        answers = [rt.ask("w", L.Work(value=i), timeout=QUICK) for i in range(4)]
    finally:
        os.kill(pids["w"], signal.SIGCONT)
    assert [a.value for a in answers] == [0, 2, 4, 6]
    assert {a.pid for a in answers} == {pids["w/worker/0"], pids["w/worker/1"]}  # in turn
    counts = rt.counters()["w"]  # the workers' notices waited in the listener's sockets
    assert (counts["handled"], counts["in_flight"], counts["failed"]) == (4, 0, 0)


def test_counts_asked_on_an_answer_include_it_and_the_calls_still_running(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("nap", L.nap_async, L.Nap, workers=1)
    _route(rt, "nap")
    for i in range(5):
        rt.ask("nap", L.Nap(i), timeout=QUICK)
        assert rt.counters()["nap"]["handled"] == i + 1
    log = tmp_path / "naps.log"
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        running = [pool.submit(rt.ask, "nap", L.Nap(i, ms=2000, log_path=str(log)), QUICK)
                   for i in range(2)]
        assert _until(lambda: len(L.started(str(log))) == 2)
        counts = rt.counters()["nap"]
        assert (counts["in_flight"], counts["handled"]) == (2, 5)
        assert sorted(f.result(timeout=QUICK).index for f in running) == [0, 1]
    assert rt.counters()["nap"]["handled"] == 7


def test_a_call_whose_worker_dies_fails_at_once_and_the_next_goes_to_its_replacement(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("w", L.work, L.Work, workers=1)
    (first,) = _route(rt, "w")
    log = tmp_path / "work.log"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        call = pool.submit(rt.ask, "w", L.Work(value=1, sleep_ms=20_000, log_path=str(log)), 30)
        assert _until(log.exists)  # the worker runs it
        os.kill(rt.processes()["w/worker/0"], signal.SIGKILL)
        killed = time.monotonic()
        with pytest.raises(ListenerError, match="its worker exited while handling this message"):
            call.result(timeout=QUICK)
        assert time.monotonic() - killed < QUICK  # not the ask's own 30 s
    assert _until(lambda: _route(rt, "w") != (first,))
    assert rt.ask("w", L.Work(value=2), timeout=QUICK).value == 4
    counts = rt.counters()["w"]
    assert (counts["replaced"], counts["handled"], counts["failed"]) == (1, 1, 1)


def test_listeners_that_must_see_each_call_start_take_every_call_themselves(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("plain", L.work, L.Work)
    rt.register("timed", L.work, L.Work, timeout=5)
    rt.register("rated", L.work, L.Work, rate="1000/s")
    assert _route(rt, "plain")
    for name in ("plain", "timed", "rated"):
        assert rt.ask(name, L.Work(value=5), timeout=QUICK).value == 10
    assert rt.system is not None
    assert rt.system.mailbox.workers.workers("timed") == ()
    assert rt.system.mailbox.workers.workers("rated") == ()


def test_a_forward_from_a_call_sent_straight_goes_on_through_its_listener(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("who", L.whoami, L.Echo)
    rt.register("relay", L.forward_to_named, L.Echo, peers=["who"])
    _route(rt, "relay")
    assert rt.ask("relay", L.Echo("who"), timeout=QUICK) == L.Echo("who from relay")
    with pytest.raises(ListenerError, match="ghost"):
        rt.ask("relay", L.Echo("ghost"), timeout=QUICK)
    counts = rt.counters()["relay"]
    assert (counts["handled"], counts["refused"]) == (3, 1)


def test_a_restarted_listener_is_followed_again(factory: RuntimeFactory) -> None:
    rt = factory.started(default_timeout=30)
    rt.register("w", L.work, L.Work, workers=1)
    (first,) = _route(rt, "w")
    before = rt.processes()["w"]
    os.kill(before, signal.SIGKILL)  # its workers go with it
    assert _until(lambda: rt.processes().get("w", before) != before)
    # The first call after the restart goes through the new listener, and asks it for its
    # workers (the reply receiver's thread, which heard of the restart, must not send).
    assert rt.ask("w", L.Work(value=4), timeout=QUICK).value == 8
    assert _until(lambda: _route(rt, "w") not in ((), (first,)))
    assert rt.ask("w", L.Work(value=5), timeout=QUICK).value == 10
