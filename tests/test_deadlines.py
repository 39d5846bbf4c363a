"""Deadlines travel (issue #16): a call nobody waits for any more is not started.

An ask's deadline goes with its ``Delivery``, a Buffer's items and a
Sequence's steps carry their run's; a listener answers a job whose deadline
passed while it waited ``<huh reason="expired">`` without handing it out,
and a worker (or the in-process listener) does not start such a call. The
pure checks run here with a fake clock; the integration tests run on both
bases and count the handler's runs in a file (one append per run, across
processes).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actors import AskTimeoutError, Runtime, SequenceFailedError
from actors.calls import Calls
from actors.dispatch import Dispatch, deadline_passed
from actors.handler import HandlerMetadata, HandlerResponse
from actors.handling import EXPIRED, Handling
from actors.huh import error_text, is_expired, reply_outcome
from actors.messages import BufferItem, Delivery, Hop, ListenerSpec, Work
from actors.routing import forward, respond
from actors.statistics import summarize
from actors.testing import FakeClock, RuntimeFactory
from tests import listeners as L

WAIT = 60.0

# -- the pure checks, with a fake clock ------------------------------------------------------


def test_a_deadline_has_passed_from_its_own_moment_on_and_zero_never_passes() -> None:
    assert not deadline_passed(0.0, 1e12)
    assert not deadline_passed(100.0, 99.999)
    assert deadline_passed(100.0, 100.0) and deadline_passed(100.0, 250.0)


def test_a_waiting_job_past_its_deadline_is_never_handed_out() -> None:
    clock = FakeClock()
    dispatch = Dispatch(slots=1, capacity=1, clock=clock)
    assert dispatch.add(1, deadline=clock.now + 10) == [(0, 1)]
    assert dispatch.add(2, deadline=clock.now + 1) == []
    assert dispatch.add(3) == []  # no deadline: it waits as long as it takes
    assert dispatch.add(4, deadline=clock.now + 5) == []
    clock.advance(2)  # job 2's caller has stopped waiting; job 4's has not
    assert dispatch.done(0, 1)
    assert dispatch.assign() == [(0, 3)]
    assert dispatch.take_expired() == [2]
    assert dispatch.take_expired() == []  # each expired job is given once
    clock.advance(10)
    assert dispatch.done(0, 3) and dispatch.assign() == []
    assert dispatch.take_expired() == [4]
    assert dispatch.waiting == () and dispatch.in_flight == 0


def test_an_expired_job_at_the_head_is_taken_off_even_while_every_slot_is_full() -> None:
    clock = FakeClock()
    dispatch = Dispatch(slots=1, capacity=1, clock=clock)
    dispatch.add(1)
    dispatch.add(2, deadline=clock.now + 1)
    dispatch.add(3, deadline=clock.now + 1)
    dispatch.add(4)
    clock.advance(1)
    assert dispatch.assign() == []  # the slot still runs job 1
    assert dispatch.take_expired() == [2, 3]
    assert dispatch.waiting == (4,) and dispatch.holder(1) == 0


def test_a_job_that_arrives_already_expired_is_not_handed_out() -> None:
    clock = FakeClock()
    dispatch = Dispatch(slots=2, capacity=4, clock=clock)
    assert dispatch.add(1, deadline=clock.now - 0.5) == []
    assert dispatch.take_expired() == [1]
    assert dispatch.add(2, deadline=clock.now + 0.5) == [(0, 2)]


def _spec(handler: object = L.add) -> ListenerSpec:
    return ListenerSpec(name="calc", handler=handler, payload_classes=(L.Add,))


def _work(job: int, deadline: float) -> Work:
    return Work(job, Delivery("calc", "outside", "t", b"<Add><A>1</A><B>2</B></Add>",
                              deadline=deadline))


def test_handling_answers_a_call_past_its_deadline_expired_and_nothing_else() -> None:
    clock = FakeClock()
    handling = Handling(_spec(), clock=clock)
    assert handling.expired(_work(1, 0.0)) is None
    assert handling.expired(_work(1, clock.now + 0.01)) is None
    late = handling.expired(_work(7, clock.now - 0.25))
    assert late is not None and late.job_id == 7 and late.kind == EXPIRED and late.seconds == 0
    assert is_expired(late.payload) and late.payload.startswith(b'<huh reason="expired">')
    assert error_text(late.payload) == (
        "Listener calc did not start this call: the caller's deadline passed 0.250 s"
        " before the call could start"
    )


_runs: list[int] = []


def _counted(payload: L.Add, meta: HandlerMetadata) -> HandlerResponse:
    _runs.append(payload.a)
    return HandlerResponse.respond(L.Sum(payload.a + payload.b))


def test_calls_do_not_start_an_inline_call_past_its_deadline() -> None:
    clock = FakeClock()
    _runs.clear()
    calls = Calls(Handling(_spec(_counted), clock=clock), 1, notify=lambda: None, inline=True)
    try:
        fresh = calls.start(_work(1, clock.now + 1))
        stale = calls.start(_work(2, clock.now - 1))
    finally:
        calls.close()
    assert fresh is not None and fresh.kind == "respond"
    assert stale is not None and stale.kind == EXPIRED
    assert _runs == [1]


_release = threading.Event()


def _held(payload: L.Add, meta: HandlerMetadata) -> HandlerResponse:
    _runs.append(payload.a)
    if payload.a == 1:
        _release.wait(WAIT)
    return HandlerResponse.respond(L.Sum(payload.a))


def test_a_call_whose_deadline_passes_while_it_waits_for_a_thread_is_not_started() -> None:
    clock = FakeClock()
    _runs.clear()
    _release.clear()
    ready = threading.Semaphore(0)
    calls = Calls(Handling(_spec(_held), clock=clock), 1, notify=ready.release, inline=False)
    answers = []
    try:
        assert calls.start(_work(1, clock.now + 10)) is None  # holds the only thread
        # the listener's payload is "<Add><A>1</A>...": give job 2 its own value
        second = Work(2, Delivery("calc", "outside", "t", b"<Add><A>2</A></Add>",
                                  deadline=clock.now + 1))
        assert calls.start(second) is None  # queued for the thread, not started
        clock.advance(5)  # its caller stops waiting meanwhile
        _release.set()
        while len(answers) < 2:
            assert ready.acquire(timeout=WAIT)
            answers += calls.finished()
    finally:
        _release.set()
        calls.close()
    kinds = {done.job_id: done.kind for done in answers}
    assert kinds == {1: "respond", 2: EXPIRED}
    assert _runs == [1]


def test_forwards_replies_and_buffer_items_keep_the_callers_deadline() -> None:
    asked = Delivery("a", "outside", "t", b"<Add/>", (Hop("outside", None, 1),), deadline=123.5)
    onward = forward(asked, b"<Add/>", "a", "b", "address-of-a")
    assert onward.deadline == 123.5
    routed = respond(onward, b"<Sum/>", "b")
    assert routed is not None and routed[1].deadline == 123.5
    item = BufferItem("run", 3, b"<Add/>", "t", deadline=99.0)
    assert item.as_delivery("calc", "run-address").deadline == 99.0


def test_an_expired_buffer_item_counts_as_missing_and_the_statistics_add_expiries_up() -> None:
    clock = FakeClock()
    late = Handling(_spec(), clock=clock).expired(_work(1, clock.now - 1))
    assert late is not None and reply_outcome(late.payload) == (False, "timeout")
    counters = {"a": {"handled": 3.0, "expired": 2.0}, "b": {"handled": 1.0, "expired": 5.0},
                "system.buffer": {"active": 0.0}}
    stats = summarize(counters, 2)
    assert stats.expired == 7 and stats.handled == 4


def test_the_metrics_export_each_listeners_expired_counter() -> None:
    pytest.importorskip("prometheus_client")
    from actors.metrics import families

    found = {family.name: family for family in families({"calc": {"handled": 1.0, "expired": 4.0}})}
    samples = [(s.name, s.labels, s.value) for s in found["xmlactors_expired"].samples]
    assert samples == [("xmlactors_expired_total", {"listener": "calc"}, 4.0)]


# -- on both bases ---------------------------------------------------------------------------


def _runs_logged(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_short_asks_under_load_that_expire_are_answered_but_never_run(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("slow", L.work, L.Work, workers=1)
    rt.ask("slow", L.Work(value=0), timeout=WAIT)
    log = tmp_path / "runs.log"
    threads, calls = 8, 25
    outcomes: list[str] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(calls):
            try:
                rt.ask("slow", L.Work(value=1, sleep_ms=20, log_path=str(log)), timeout=0.05)
                outcome = "answered"
            except AskTimeoutError:  # an expired answer is a timeout too, never a ListenerError
                outcome = "timed out"
            with lock:
                outcomes.append(outcome)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(caller) for _ in range(threads)]:
            future.result(timeout=WAIT)
    # Queued behind every job of the load: once it answers, each of them ran or expired.
    assert rt.ask("slow", L.Work(value=7), timeout=WAIT).value == 14

    ran, counters = _runs_logged(log), rt.counters(timeout=10)["slow"]
    expired = int(counters["expired"])
    assert len(outcomes) == threads * calls
    assert expired > 0 and ran + expired == threads * calls
    assert outcomes.count("timed out") >= expired  # nobody got an answer that was not run
    assert counters["handled"] == ran + 2  # the first ask and the last, never an expired one
    assert counters["failed"] == expired
    assert rt.statistics(timeout=10).expired == expired


def test_buffer_items_carry_the_runs_deadline_and_are_not_run_after_it(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=1)
    log = tmp_path / "calls.log"
    rt.tell("nap", L.Nap(index=-1, ms=1500, log_path=str(log)))  # holds the only place
    items = [L.Nap(index=i, log_path=str(log)) for i in range(5)]
    outcome = rt.buffer("nap", items, timeout=0.3, max_in_flight=5)
    assert outcome.successful == 0 and outcome.missing == 5
    assert rt.ask("nap", L.Nap(index=99), timeout=WAIT).index == 99  # behind the items
    assert [index for index, _pid in L.started(str(log))] == [-1]
    assert rt.counters(timeout=10)["nap"]["expired"] == 5


def test_a_sequence_step_carries_the_runs_deadline_and_is_not_run_after_it(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=1)
    log = tmp_path / "calls.log"
    rt.tell("nap", L.Nap(index=-1, ms=1500, log_path=str(log)))
    with pytest.raises(SequenceFailedError, match=r"timed out|deadline passed"):
        rt.sequence(["nap"], L.Nap(index=7, log_path=str(log)), timeout=0.3)
    assert rt.ask("nap", L.Nap(index=99), timeout=WAIT).index == 99
    assert [index for index, _pid in L.started(str(log))] == [-1]
    assert rt.counters(timeout=10)["nap"]["expired"] == 1


def test_an_ask_in_time_is_unaffected_and_a_tell_has_no_deadline(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt: Runtime = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=1)
    log = tmp_path / "calls.log"
    rt.tell("nap", L.Nap(index=1, ms=300, log_path=str(log)))
    rt.tell("nap", L.Nap(index=2, log_path=str(log)))  # waits its turn, however long
    assert rt.ask("nap", L.Nap(index=3, log_path=str(log)), timeout=WAIT).index == 3
    assert [index for index, _pid in L.started(str(log))] == [1, 2, 3]
    assert rt.statistics(timeout=10).expired == 0


def test_an_attempt_carries_its_item_timeout_and_a_stale_expiry_does_not_fail_the_retry(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=1)
    log = tmp_path / "calls.log"
    rt.tell("nap", L.Nap(index=-1, ms=1200, log_path=str(log)))  # holds the only place
    # The first attempt waits behind it past its 0.8 s and is tried again at once; when the
    # place frees (1.2 s) the first is answered expired, unstarted, and the second runs.
    outcome = rt.buffer("nap", [L.Nap(index=0, log_path=str(log))], timeout=WAIT,
                        item_timeout=0.8, retries=1, retry_backoff=0.0)
    assert outcome.successful == 1 and outcome.values[0].index == 0
    assert [index for index, _pid in L.started(str(log))] == [-1, 0]  # the item ran once
    assert rt.counters(timeout=10)["nap"]["expired"] == 1
