"""What the two pure cores share: an id, a deadline on an injected clock, dropped replies, one outcome.

``BufferRun`` and ``SequenceRun`` are each the whole state of one run; both
read time only through the ``clock`` they are given (``time.monotonic`` in
the runtime, a fake in tests) and hand out their terminal summary once.
The words mean the same in both: ``finished`` is "the run ended, its outcome
is ready"; ``dropped`` counts replies that moved nothing. No Thespian.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["Clock", "RunCore", "bad_timeout"]

Clock = Callable[[], float]
"""Monotonic seconds (``time.monotonic`` in the runtime, a fake in tests)."""


def bad_timeout(timeout: float) -> str:
    """The admission error for a requested ``timeout`` no run could keep, or ``""`` for a good
    one (0 asks for the runtime's default)."""
    if math.isfinite(timeout) and timeout >= 0:
        return ""
    return f"timeout must be a finite number of seconds >= 0 (0: the default), got {timeout!r}"


class RunCore:
    """Base of ``BufferRun`` and ``SequenceRun``: a subclass defines ``finished``."""

    __slots__ = ("_clock", "_deadline", "_dropped", "_outcome_taken", "_run_id", "_timeout")

    def __init__(self, run_id: str, timeout: float, clock: Clock) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(
                f"{type(self).__name__} timeout must be a finite number > 0 (got {timeout!r});"
                " resolve timeout=0 to the runtime's default in the shell"
            )
        self._run_id = run_id
        self._timeout = timeout
        self._clock = clock
        self._deadline = clock() + timeout
        self._dropped = 0
        self._outcome_taken = False

    @property
    def finished(self) -> bool:
        """The run ended (every index filled, every step answered, a failure, or the deadline)."""
        raise NotImplementedError

    def _past_deadline(self, now: bool = False) -> bool:
        """Whether the run is still going while its deadline has come (``now``: cancelled,
        the deadline is brought forward to this moment)."""
        if now and not self.finished:
            self._deadline = min(self._deadline, self._clock())
        return not self.finished and self._clock() >= self._deadline

    def _claim_outcome(self) -> bool:
        """True once, on the first call after the run finished: its outcome goes out then."""
        if not self.finished or self._outcome_taken:
            return False
        self._outcome_taken = True
        return True

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def timeout(self) -> float:
        """Seconds from the start to the deadline."""
        return self._timeout

    @property
    def deadline(self) -> float:
        """Clock reading at which ``expire()`` ends the run (start + timeout)."""
        return self._deadline

    @property
    def dropped(self) -> int:
        """Replies ignored: late, duplicate, or for nothing this run is waiting for."""
        return self._dropped
