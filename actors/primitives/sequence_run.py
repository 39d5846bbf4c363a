"""The pure core of one Sequence run: which step is current, what came out.

A ``SequenceRun`` is the whole state of one chain A -> B -> C; the run's child
actor owns exactly one and maps messages to calls on it. It imports no
Thespian and reads time only through the injected clock.

Invariants (tested as a state machine):

- only the reply for the current step moves the run: no step runs twice, and a
  late or duplicate reply is dropped (counted in ``dropped``);
- ``len(results) == index`` while the run is not failed; a failure keeps the
  index of the step that failed and the results before it;
- the run ends succeeded (every step answered) or failed (one step failed, or the
  deadline of the whole run passed), never both;
- ``outcome()`` returns the terminal summary exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..parsed import Payload
from .run_core import Clock, RunCore

__all__ = [
    "Clock",
    "SequenceCompleteOutcome",
    "SequenceFailedOutcome",
    "SequenceOutcome",
    "SequenceRun",
    "deadline_error",
]


@dataclass(frozen=True, slots=True)
class SequenceCompleteOutcome:
    """Every step answered: the shell turns this into ``SequenceComplete``. Picklable."""

    sequence_id: str
    final_result: Payload
    step_count: int


@dataclass(frozen=True, slots=True)
class SequenceFailedOutcome:
    """One step failed or the deadline passed: the shell sends ``SequenceError``."""

    sequence_id: str
    failed_step: str
    step_index: int
    error: str


SequenceOutcome = SequenceCompleteOutcome | SequenceFailedOutcome


def deadline_error(step: str, timeout: float) -> str:
    """The error of a run whose deadline passed while ``step`` was running.

    ``timeout`` bounds the whole run, counted from its start, not the step alone;
    the wording says so. Example: ``Step format timed out: the sequence's
    deadline of 30s passed``. It contains "timed out" for those who match on it.
    """
    return f"Step {step} timed out: the sequence's deadline of {timeout:g}s passed"


class SequenceRun(RunCore):
    """One Sequence run's state: the current step and the results so far.

    The shell loop is: send ``payload`` to ``current_step``; on its reply call
    ``advance()`` (or ``fail()``) with the step index the reply carries, then
    send ``last_result`` to the new ``current_step``; on a timer ``expire()``;
    when ``finished``, send ``outcome()`` and exit.
    """

    __slots__ = ("_error", "_failed_step", "_payload", "_results", "_steps")

    def __init__(
        self,
        sequence_id: str,
        steps: Sequence[str],
        payload: Payload,
        *,
        timeout: float,
        clock: Clock,
    ) -> None:
        if isinstance(steps, str) or not steps or not all(steps):
            raise ValueError(
                f"SequenceRun needs a non-empty list of step names (got {steps!r}); "
                "refuse it at admission with 'No steps specified'"
            )
        super().__init__(sequence_id, timeout, clock)
        self._steps = tuple(steps)
        self._payload = payload
        self._results: list[Payload] = []  # Invariant: results[k] is step k's output.
        self._failed_step: str | None = None  # None until a step fails.
        self._error = ""

    # -- transitions ---------------------------------------------------------

    def advance(self, step_index: int, result: Payload) -> bool:
        """Record ``result`` as the output of step ``step_index``; True if it moved the run.

        False (counted in ``dropped``) when the run is finished or the reply is
        not for the current step: a late or duplicate reply never runs a step twice.
        """
        if not self._accepts(step_index):
            return False
        self._results.append(result)
        return True

    def fail(self, step_index: int, error: str) -> bool:
        """Stop the run: step ``step_index`` failed with ``error``; True if it counted.

        False (counted in ``dropped``) under the same conditions as ``advance``.
        """
        if not self._accepts(step_index):
            return False
        self._failed_step = self._steps[step_index]
        self._error = error
        return True

    def expire(self, now: bool = False) -> bool:
        """At or after the deadline, fail the current step with ``deadline_error``.

        Returns True if this call finished the run.
        """
        if not self._past_deadline(now):
            return False
        index = self.index
        return self.fail(index, deadline_error(self._steps[index], self._timeout))

    def outcome(self) -> SequenceOutcome | None:
        """The terminal summary: returned by the first call after finishing, None otherwise."""
        if not self._claim_outcome():
            return None
        if self._failed_step is not None:
            return SequenceFailedOutcome(self._run_id, self._failed_step, self.index, self._error)
        return SequenceCompleteOutcome(self._run_id, self._results[-1], len(self._steps))

    def _accepts(self, step_index: int) -> bool:
        """Whether a reply for ``step_index`` may move the run; counts it if not."""
        if self.finished or step_index != self.index:
            self._dropped += 1
            return False
        return True

    # -- queries ------------------------------------------------------------

    @property
    def steps(self) -> tuple[str, ...]:
        return self._steps

    @property
    def index(self) -> int:
        """The current step's index; ``len(steps)`` once complete; kept on failure."""
        return len(self._results)

    @property
    def current_step(self) -> str | None:
        """The step waiting for its reply; None when finished."""
        return None if self.finished else self._steps[self.index]

    @property
    def remaining(self) -> list[str]:
        """Steps from the current one on; ``[]`` when finished."""
        return [] if self.finished else list(self._steps[self.index :])

    @property
    def results(self) -> list[Payload]:
        """Outputs of the steps that answered, in step order (a copy)."""
        return list(self._results)

    @property
    def last_result(self) -> Payload:
        """The latest output, or the initial payload before any step answered."""
        return self._results[-1] if self._results else self._payload

    @property
    def succeeded(self) -> bool:
        """Every step answered."""
        return self._failed_step is None and len(self._results) == len(self._steps)

    @property
    def finished(self) -> bool:
        """The run ended: every step answered, or one failed (the deadline included)."""
        return self._failed_step is not None or self.succeeded

    @property
    def failed_step(self) -> str:
        """The name of the step that failed; "" unless failed."""
        return self._failed_step or ""

    @property
    def error(self) -> str:
        """Why the run failed; "" unless failed."""
        return self._error

    def __repr__(self) -> str:
        state = "failed" if self.failed_step else "succeeded" if self.succeeded else "running"
        return (
            f"<SequenceRun {self._run_id!r} {state} at step "
            f"{self.index}/{len(self._steps)}>"
        )
