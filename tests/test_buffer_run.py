"""The pure core of one Buffer run, driven with a fake clock (no actor system)."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from actors.primitives.buffer_run import BufferRun, BufferSummary, ItemResult
from actors.primitives.results import parse_results
from tests.strategies import FakeClock, small_payloads

OK = b"<Sum><Value>1</Value></Sum>"
TIMEOUT_HUH = b"<huh>Timeout</huh>"


def make_run(
    total: int = 3, window: int = 100, timeout: float = 30.0
) -> tuple[BufferRun, FakeClock]:
    clock = FakeClock()
    return BufferRun("b1", total, window=window, timeout=timeout, clock=clock), clock


def dispatched_run(total: int = 3) -> BufferRun:
    run, _clock = make_run(total)
    assert run.take_dispatches() == list(range(total))
    return run


# -- behaviours carried over from the original ----------------------------------


def test_a_new_run_has_nothing_completed_and_everything_pending() -> None:
    run, _clock = make_run(3)
    assert (run.completed, run.successful, run.pending) == (0, 0, 3)
    assert not run.finished


def test_recording_ok_failed_ok_counts_each_and_completes_after_the_third() -> None:
    run = dispatched_run(3)
    run.record(0, True, OK)
    assert (run.completed, run.successful) == (1, 1)
    run.record(1, False, TIMEOUT_HUH)
    assert (run.completed, run.successful) == (2, 1)
    assert not run.finished
    run.record(2, True, OK)
    assert (run.completed, run.successful, run.pending) == (3, 2, 0)
    assert run.finished
    failed = run.ordered_results()[1]
    assert failed == ItemResult(1, False, TIMEOUT_HUH, "error")


def test_a_second_result_for_a_filled_index_is_ignored_and_the_first_stays() -> None:
    run = dispatched_run(3)
    assert run.record(0, True, OK)
    assert not run.record(0, False, TIMEOUT_HUH)
    assert (run.completed, run.successful, run.dropped) == (1, 1, 1)
    assert run.ordered_results()[0] == ItemResult(0, True, OK)


def test_five_results_ok_failed_ok_failed_ok_complete_with_three_successful() -> None:
    run = dispatched_run(5)
    for index, success in enumerate([True, False, True, False, True]):
        run.record(index, success, OK if success else TIMEOUT_HUH)
    assert run.finished
    assert (run.completed, run.successful, run.failed) == (5, 3, 2)


def test_results_recorded_out_of_order_come_out_in_index_order() -> None:
    run = dispatched_run(3)
    for index in (2, 0, 1):
        run.record(index, True, f"<R>{index}</R>".encode())
    ordered = run.ordered_results()
    assert [r.index for r in ordered if r is not None] == [0, 1, 2]
    assert [r.payload for r in ordered if r is not None] == [
        b"<R>0</R>",
        b"<R>1</R>",
        b"<R>2</R>",
    ]


def test_ordered_results_hold_none_where_an_index_is_unfilled() -> None:
    run = dispatched_run(3)
    run.record(0, True, b"<R>0</R>")
    run.record(2, True, b"<R>2</R>")
    assert run.ordered_results() == [
        ItemResult(0, True, b"<R>0</R>"),
        None,
        ItemResult(2, True, b"<R>2</R>"),
    ]


# -- dispatch window ---------------------------------------------------------------


def test_dispatch_fills_the_window_in_index_order_and_refills_on_replies() -> None:
    run, _clock = make_run(total=7, window=3)
    assert run.take_dispatches() == [0, 1, 2]
    assert run.take_dispatches() == []
    run.record(1, True, OK)
    assert run.take_dispatches() == [3]
    run.record(0, True, OK)
    run.record(2, True, OK)
    assert run.take_dispatches() == [4, 5]
    assert run.in_flight_indexes == (3, 4, 5)
    assert run.take_dispatches() == []


def test_a_reply_for_an_index_never_dispatched_or_out_of_range_is_dropped() -> None:
    run, _clock = make_run(total=5, window=2)
    run.take_dispatches()
    for index in (3, 5, -1, 99):
        assert not run.record(index, True, OK)
    assert (run.completed, run.dropped) == (0, 4)


def test_a_ten_thousand_item_run_completes_through_a_small_window() -> None:
    run, _clock = make_run(total=10_000, window=8)
    batch = run.take_dispatches()
    while batch:
        for index in batch:
            run.record(index, index % 3 != 0, OK if index % 3 else TIMEOUT_HUH)
        batch = run.take_dispatches()
    outcome = run.outcome()
    assert outcome is not None
    assert (outcome.successful, outcome.failed, outcome.missing) == (6666, 3334, 0)


# -- failures, deadline, outcome ----------------------------------------------------


def test_failing_a_dead_workers_items_marks_only_those_in_flight_exited() -> None:
    run, _clock = make_run(total=4, window=2)
    run.take_dispatches()
    run.record(0, True, OK)
    huh = b'<huh reason="exited">worker died</huh>'
    assert run.fail([0, 1, 2, 7], "exited", huh) == 1
    assert run.ordered_results()[1] == ItemResult(1, False, huh, "exited")
    assert (run.failed, run.dropped, run.take_dispatches()) == (1, 0, [2, 3])


def test_the_deadline_makes_every_unfilled_index_missing_and_finishes_the_run() -> None:
    run, clock = make_run(total=4, window=2, timeout=10.0)
    run.take_dispatches()
    run.record(1, True, OK)
    clock.advance(9.99)
    assert not run.expire() and not run.finished
    clock.advance(0.01)
    assert run.expire()
    assert (run.successful, run.failed, run.missing, run.in_flight) == (1, 0, 3, 0)
    assert run.ordered_results()[3] == ItemResult(3, False, b"", "timeout")
    assert not run.expire() and run.take_dispatches() == []


def test_a_late_reply_after_the_deadline_is_dropped_with_no_second_outcome() -> None:
    run, clock = make_run(total=2, timeout=5.0)
    run.take_dispatches()
    clock.advance(5.0)
    run.expire()
    assert run.outcome() is not None
    assert not run.record(0, True, OK)
    assert run.dropped == 1 and run.outcome() is None


def test_the_outcome_comes_exactly_once_and_only_after_finishing() -> None:
    run = dispatched_run(2)
    run.record(0, True, OK)
    assert run.outcome() is None
    run.record(1, False, b"<huh>no</huh>")
    outcome = run.outcome()
    assert isinstance(outcome, BufferSummary)
    assert (outcome.buffer_id, outcome.total, outcome.successful, outcome.failed,
            outcome.missing) == ("b1", 2, 1, 1, 0)
    assert outcome.results == (
        b'<results><item index="0" success="true"><Sum><Value>1</Value></Sum></item>'
        b'<item index="1" success="false" reason="error"><huh>no</huh></item></results>'
    )
    assert run.outcome() is None
    assert pickle.loads(pickle.dumps(outcome)) == outcome


@pytest.mark.parametrize(
    ("total", "window", "timeout", "message"),
    [
        (0, 1, 1.0, "total must be >= 1"),
        (1, 0, 1.0, "window must be >= 1"),
        (1, 1, 0.0, "timeout must be a finite number > 0"),
        (1, 1, float("inf"), "timeout must be a finite number > 0"),
        (1, 1, float("nan"), "timeout must be a finite number > 0"),
    ],
)
def test_a_run_that_could_never_start_or_never_end_is_refused(
    total: int, window: int, timeout: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BufferRun("b", total, window=window, timeout=timeout, clock=FakeClock())


@pytest.mark.parametrize(
    ("success", "reason"), [(True, "error"), (False, "boom"), (False, "Timeout")]
)
def test_a_reason_that_contradicts_the_reply_is_a_loud_error(
    success: bool, reason: str
) -> None:
    run = dispatched_run(1)
    with pytest.raises(ValueError, match="reason"):
        run.record(0, success, OK, reason)
    assert run.in_flight == 1  # nothing changed


def test_the_pure_cores_import_no_thespian_and_only_results_imports_lxml() -> None:
    package = Path(__file__).resolve().parent.parent / "actors" / "primitives"
    for module, allowed in [
        ("buffer_run.py", set()),
        ("sequence_run.py", set()),
        ("results.py", {"lxml"}),
    ]:
        tree = ast.parse((package / module).read_text(encoding="utf-8"))
        roots = {
            (alias.name if isinstance(node, ast.Import) else node.module or "")
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        third_party = {name.split(".")[0] for name in roots} & {"thespian", "lxml"}
        assert third_party <= allowed, f"{module} imports {third_party - allowed}"


# -- the state machine --------------------------------------------------------------


class BufferRunMachine(RuleBasedStateMachine):
    """Any interleaving of dispatches, replies, worker deaths and clock moves."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.run: BufferRun
        self.filled: dict[int, ItemResult] = {}
        self.sent = 0
        self.in_flight: set[int] = set()
        self.dropped = 0
        self.outcomes = 0

    @initialize(
        total=st.integers(1, 25),
        window=st.integers(1, 6),
        timeout=st.floats(1.0, 60.0),
    )
    def start(self, total: int, window: int, timeout: float) -> None:
        self.total, self.window, self.timeout = total, window, timeout
        self.run = BufferRun(
            "m", total, window=window, timeout=timeout, clock=self.clock
        )

    @property
    def finished(self) -> bool:
        return len(self.filled) == self.total

    @rule()
    def dispatch(self) -> None:
        batch = self.run.take_dispatches()
        assert batch == list(range(self.sent, self.sent + len(batch)))
        if self.finished:
            assert batch == []
        elif self.sent < self.total:
            assert batch or len(self.in_flight) == self.window
        self.sent += len(batch)
        self.in_flight.update(batch)

    @rule(
        index=st.integers(-2, 28),
        success=st.booleans(),
        payload=small_payloads(),
    )
    def reply(self, index: int, success: bool, payload: bytes) -> None:
        expected = index in self.in_flight
        assert self.run.record(index, success, payload) is expected
        if expected:
            self.fill(ItemResult(index, success, payload, "" if success else "error"))
        else:
            self.dropped += 1

    @rule(data=st.data(), reason=st.sampled_from(["error", "exited"]))
    def worker_dies(self, data: st.DataObject, reason: str) -> None:
        indexes = data.draw(st.lists(st.integers(-1, 27), max_size=4))
        payload = b"<huh>worker died</huh>"
        hit = set(indexes) & self.in_flight
        assert self.run.fail(indexes, reason, payload) == len(hit)
        for index in hit:
            self.fill(ItemResult(index, False, payload, reason))

    @rule(seconds=st.floats(0.0, 30.0))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def deadline_timer_fires(self) -> None:
        due = not self.finished and self.clock() >= self.run.deadline
        assert self.run.expire() is due
        if due:
            for index in range(self.total):
                if index not in self.filled:
                    self.in_flight.discard(index)
                    self.filled[index] = ItemResult(index, False, b"", "timeout")
            self.sent = self.total

    @rule()
    def take_outcome(self) -> None:
        outcome = self.run.outcome()
        if not self.finished or self.outcomes:
            assert outcome is None
            return
        assert outcome is not None
        self.outcomes += 1
        assert outcome.successful + outcome.failed + outcome.missing == self.total
        assert parse_results(outcome.results) == self.run.ordered_results()

    def fill(self, result: ItemResult) -> None:
        assert result.index not in self.filled, "an index was filled twice"
        self.in_flight.remove(result.index)
        self.filled[result.index] = result

    @invariant()
    def counts_agree_with_the_model(self) -> None:
        run = self.run
        assert run.in_flight == len(self.in_flight) <= self.window
        assert run.successful + run.failed + run.missing == run.completed
        assert run.completed == len(self.filled)
        assert run.pending == self.total - run.completed
        assert run.dropped == self.dropped
        assert run.finished is self.finished
        if run.finished:
            assert run.in_flight == 0 and run.in_flight_indexes == ()

    @invariant()
    def each_index_holds_its_first_result(self) -> None:
        ordered = self.run.ordered_results()
        assert ordered == [self.filled.get(i) for i in range(self.total)]

    def teardown(self) -> None:
        # Every run ends: at the latest the deadline finishes it, and then
        # exactly one outcome exists over the whole life of the run.
        if not hasattr(self, "total"):
            return
        self.clock.advance(self.timeout)
        self.run.expire()
        assert self.run.finished
        extra = self.run.outcome()
        assert self.outcomes + (extra is not None) == 1
        assert self.run.outcome() is None


def test_a_buffer_run_keeps_its_invariants_under_any_interleaving() -> None:
    run_state_machine_as_test(
        BufferRunMachine,
        settings=settings(deadline=None, max_examples=100, stateful_step_count=40),
    )
