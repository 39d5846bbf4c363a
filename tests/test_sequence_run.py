"""The pure core of one Sequence run, driven with a fake clock (no actor system)."""

from __future__ import annotations

import pickle

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

from actors.primitives.sequence_run import (
    SequenceCompleteOutcome,
    SequenceFailedOutcome,
    SequenceRun,
    deadline_error,
)
from tests.strategies import FakeClock, small_payloads, step_names, timeouts

START = b"<Add><A>3</A><B>5</B></Add>"


def make_run(
    steps: tuple[str, ...] = ("a", "b", "c"), timeout: float = 30.0
) -> tuple[SequenceRun, FakeClock]:
    clock = FakeClock()
    return SequenceRun("s1", steps, START, timeout=timeout, clock=clock), clock


# -- behaviours carried over from the original ----------------------------------


def test_a_new_run_stands_at_the_first_step_with_the_initial_payload() -> None:
    run, _clock = make_run()
    assert (run.index, run.current_step, run.remaining) == (0, "a", ["a", "b", "c"])
    assert run.last_result == START
    assert not run.succeeded and not run.finished and run.results == []


def test_advancing_moves_step_by_step_and_completes_after_the_last() -> None:
    run, _clock = make_run()
    seen = []
    for index, result in enumerate([b"<A/>", b"<B/>", b"<C/>"]):
        assert run.advance(index, result)
        seen.append((run.index, run.current_step, run.last_result))
    assert seen == [(1, "b", b"<A/>"), (2, "c", b"<B/>"), (3, None, b"<C/>")]
    assert run.results == [b"<A/>", b"<B/>", b"<C/>"]
    assert run.succeeded and run.remaining == []


def test_marking_a_step_failed_keeps_the_step_and_error_and_ends_the_run() -> None:
    run, _clock = make_run()
    assert run.fail(0, "Handler a crashed: boom")
    assert run.failed_step and not run.succeeded and run.finished
    assert (run.failed_step, run.error) == ("a", "Handler a crashed: boom")
    assert (run.current_step, run.remaining) == (None, [])


def test_failing_in_the_middle_keeps_the_index_and_the_results_before_it() -> None:
    run, _clock = make_run()
    run.advance(0, b"<A/>")
    run.fail(1, "no")
    assert (run.index, run.results, run.failed_step) == (1, [b"<A/>"], "b")
    assert run.outcome() == SequenceFailedOutcome("s1", "b", 1, "no")


def test_add_multiply_format_completes_with_the_three_results_in_order() -> None:
    run, _clock = make_run(("calculator.add", "calculator.multiply", "formatter"))
    outputs = [
        b"<Sum>8</Sum>",
        b"<Product>40</Product>",
        b"<Formatted>Result: 40</Formatted>",
    ]
    for index, output in enumerate(outputs):
        run.advance(index, output)
    assert run.succeeded and run.results == outputs
    outcome = run.outcome()
    assert outcome == SequenceCompleteOutcome("s1", outputs[-1], 3)
    assert pickle.loads(pickle.dumps(outcome)) == outcome


# -- late, duplicate and stray replies -------------------------------------------


def test_a_duplicate_reply_for_a_finished_step_never_runs_the_next_step_twice() -> None:
    run, _clock = make_run()
    assert run.advance(0, b"<A/>")
    assert not run.advance(0, b"<A again/>")
    assert not run.fail(0, "late failure")
    assert (run.index, run.results, run.dropped) == (1, [b"<A/>"], 2)


def test_a_reply_for_a_step_not_yet_reached_is_dropped() -> None:
    run, _clock = make_run()
    assert not run.advance(2, b"<C/>") and not run.advance(-1, b"<X/>")
    assert (run.index, run.dropped) == (0, 2)


def test_replies_after_the_run_finished_are_dropped_and_no_second_outcome() -> None:
    run, _clock = make_run(("only",))
    run.advance(0, b"<Done/>")
    assert run.outcome() is not None
    assert not run.advance(1, b"<X/>") and not run.fail(0, "late")
    assert run.outcome() is None and run.dropped == 2


# -- deadline ---------------------------------------------------------------------


def test_the_deadline_fails_the_current_step_with_a_timed_out_error() -> None:
    run, clock = make_run(timeout=30.0)
    run.advance(0, b"<A/>")
    clock.advance(29.5)
    assert not run.expire()
    clock.advance(0.5)
    assert run.expire() and not run.expire()
    assert run.error == "Step b timed out: the sequence's deadline of 30s passed"
    assert run.outcome() == SequenceFailedOutcome("s1", "b", 1, run.error)


def test_the_deadline_after_completion_changes_nothing() -> None:
    run, clock = make_run(("a",))
    run.advance(0, b"<A/>")
    clock.advance(100.0)
    assert not run.expire() and run.succeeded


def test_the_deadline_error_names_the_step_and_the_whole_runs_deadline() -> None:
    assert deadline_error("format", 0.25) == (
        "Step format timed out: the sequence's deadline of 0.25s passed"
    )


@pytest.mark.parametrize(
    ("steps", "timeout", "message"),
    [
        ((), 1.0, "non-empty list of step names"),
        (("a", ""), 1.0, "non-empty list of step names"),
        ("abc", 1.0, "non-empty list of step names"),
        (("a",), 0.0, "timeout must be a finite number > 0"),
        (("a",), float("inf"), "timeout must be a finite number > 0"),
    ],
)
def test_a_run_without_steps_or_without_an_end_is_refused(
    steps: tuple[str, ...], timeout: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SequenceRun("s", steps, START, timeout=timeout, clock=FakeClock())


# -- the state machine --------------------------------------------------------------


class SequenceRunMachine(RuleBasedStateMachine):
    """Any interleaving of replies (right, late, early, duplicate) and clock moves."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.run: SequenceRun
        self.results: list[bytes] = []
        self.failure: tuple[str, int, str] | None = None
        self.dropped = 0
        self.outcomes = 0

    @initialize(steps=st.lists(step_names, min_size=1, max_size=6), timeout=timeouts)
    def start(self, steps: list[str], timeout: float) -> None:
        self.steps, self.timeout = steps, timeout
        self.run = SequenceRun("m", steps, START, timeout=timeout, clock=self.clock)

    @property
    def finished(self) -> bool:
        return self.failure is not None or len(self.results) == len(self.steps)

    def accepts(self, step_index: int) -> bool:
        if self.finished or step_index != len(self.results):
            self.dropped += 1
            return False
        return True

    @rule(data=st.data(), result=small_payloads())
    def step_answers(self, data: st.DataObject, result: bytes) -> None:
        step_index = data.draw(
            st.integers(-1, len(self.steps)) | st.just(self.run.index)
        )
        expected = self.accepts(step_index)
        assert self.run.advance(step_index, result) is expected
        if expected:
            self.results.append(result)

    @rule(data=st.data(), error=st.text(max_size=10))
    def step_fails(self, data: st.DataObject, error: str) -> None:
        step_index = data.draw(
            st.integers(-1, len(self.steps)) | st.just(self.run.index)
        )
        expected = self.accepts(step_index)
        assert self.run.fail(step_index, error) is expected
        if expected:
            self.failure = (self.steps[step_index], step_index, error)

    @rule(seconds=st.floats(0.0, 60.0))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def deadline_timer_fires(self) -> None:
        due = not self.finished and self.clock() >= self.run.deadline
        assert self.run.expire() is due
        if due:
            step = self.steps[len(self.results)]
            error = deadline_error(step, self.timeout)
            self.failure = (step, len(self.results), error)

    @rule()
    def take_outcome(self) -> None:
        outcome = self.run.outcome()
        if not self.finished or self.outcomes:
            assert outcome is None
            return
        self.outcomes += 1
        if self.failure is None:
            expected = SequenceCompleteOutcome("m", self.results[-1], len(self.steps))
            assert outcome == expected
        else:
            assert outcome == SequenceFailedOutcome("m", *self.failure)

    @invariant()
    def state_agrees_with_the_model(self) -> None:
        run = self.run
        assert run.results == self.results and run.index == len(self.results)
        assert run.dropped == self.dropped
        assert not (run.succeeded and run.failed_step)
        assert run.finished is self.finished
        assert run.last_result == (self.results[-1] if self.results else START)
        if run.finished:
            assert run.current_step is None and run.remaining == []
        else:
            assert run.current_step == self.steps[run.index]
            assert run.remaining == self.steps[run.index :]
        assert (run.failed_step, run.error) == (
            (self.failure[0], self.failure[2]) if self.failure else ("", "")
        )

    def teardown(self) -> None:
        # Every run ends (the deadline at the latest) with exactly one outcome.
        if not hasattr(self, "steps"):
            return
        self.clock.advance(self.timeout)
        self.run.expire()
        assert self.run.finished
        extra = self.run.outcome()
        assert self.outcomes + (extra is not None) == 1
        assert self.run.outcome() is None


def test_a_sequence_run_keeps_its_invariants_under_any_interleaving() -> None:
    run_state_machine_as_test(
        SequenceRunMachine,
        settings=settings(deadline=None, max_examples=100, stateful_step_count=30),
    )
