"""The pure core of one Buffer run: which items to send, which results are in.

A ``BufferRun`` is the whole state of one fan-out; the run's child actor owns
exactly one and maps messages to calls on it (there is no global registry).
It imports no Thespian and reads time only through the injected clock, so
Hypothesis drives it with a fake one.

Invariants (tested as a state machine):

- each index is filled at most once; the first reply wins, later ones are dropped;
- ``in_flight <= window`` at all times, and items are dispatched in index order;
- ``successful + failed + missing == completed`` and ``pending == total - completed``;
- the run finishes when every index is filled, or at the deadline (the unfilled
  ones become missing); after that nothing is dispatched or recorded;
- ``outcome()`` returns the terminal summary exactly once.

Every call is O(1) per item, so a 10,000-item run stays cheap; only the
deadline (once) and the final formatting walk all indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .results import (
    REASON_ERROR,
    REASON_TIMEOUT,
    REASONS,
    ItemResult,
    format_results,
)
from .run_core import Clock, RunCore

__all__ = ["BufferSummary", "BufferRun", "Clock", "ItemResult"]


@dataclass(frozen=True, slots=True)
class BufferSummary:
    """The terminal summary of a run: what the shell turns into ``BufferComplete``.

    Picklable. ``successful + failed + missing == total``; ``items`` holds
    each index's result in index order (None: no answer).
    """

    buffer_id: str
    total: int
    successful: int
    failed: int
    missing: int
    items: tuple[ItemResult | None, ...]

    @property
    def results(self) -> bytes:
        """The formatted ``<results>`` document (see ``actors.primitives.results``)."""
        return format_results(self.items)


class BufferRun(RunCore):
    """One Buffer run's state: a windowed dispatcher and a result table.

    The shell loop is: ``take_dispatches()`` and send those items; on each reply
    ``record()`` then ``take_dispatches()`` again; on a timer ``expire()``; when
    ``finished`` (every index has a result, missing ones included), send
    ``outcome()`` and exit.
    """

    __slots__ = (
        "_failed", "_in_flight", "_keep", "_missing", "_next", "_results", "_successful",
        "_total", "_window",
    )

    def __init__(
        self, buffer_id: str, total: int, *, window: int, timeout: float, clock: Clock,
        keep_payloads: bool = True,
    ) -> None:
        if total < 1:
            raise ValueError(
                f"BufferRun total must be >= 1 (got {total}); "
                "refuse empty items at admission"
            )
        if window < 1:
            raise ValueError(
                f"BufferRun window must be >= 1 (got {window}); "
                "resolve max_in_flight=0 to the base's default in the shell"
            )
        super().__init__(buffer_id, timeout, clock)
        self._keep = keep_payloads  # False: results go on as they come, only counts stay
        self._total = total
        self._window = window
        self._results: list[ItemResult | None] = [None] * total
        self._next = 0  # Invariant: indexes < _next were dispatched, in order.
        self._in_flight: set[int] = set()
        self._successful = 0
        self._failed = 0
        self._missing = 0

    # -- transitions ---------------------------------------------------------

    def take_dispatches(self) -> list[int]:
        """Indexes to send now, in index order, filling the window; marks them in flight."""
        if self.finished:
            return []
        room = min(self._window - len(self._in_flight), self._total - self._next)
        if room <= 0:
            return []
        batch = list(range(self._next, self._next + room))
        self._next += room
        self._in_flight.update(batch)
        return batch

    def record(
        self, index: int, success: bool, payload: bytes, reason: str = ""
    ) -> bool:
        """Fill ``index`` with a reply; True if it counted.

        A failure without a reason is an ``"error"``. Returns False and counts
        the reply in ``dropped`` when it is late (the run finished), out of
        range, a duplicate, or for an index never dispatched: first reply wins.
        Raises ``ValueError`` for a reason that contradicts ``success``.
        """
        reason = _normalized_reason(success, reason)
        if reason == REASON_TIMEOUT or not self._keep:
            payload = b""  # a missing item carries no payload; a streaming run keeps none
        if index not in self._in_flight:
            # Also covers "finished": nothing is in flight once the run is over.
            self._dropped += 1
            return False
        self._fill(ItemResult(index, success, payload, reason))
        return True

    def fail(self, indexes: Iterable[int], reason: str, payload: bytes) -> int:
        """Fail the in-flight items among ``indexes`` (e.g. their worker exited).

        Returns how many were filled. Indexes already answered, not yet
        dispatched or out of range are skipped (not counted as dropped: they
        are not replies).
        """
        reason = _normalized_reason(False, reason)
        if reason == REASON_TIMEOUT:
            payload = b""  # a missing item carries no payload, by definition
        filled = 0
        for index in indexes:
            if index in self._in_flight:
                self._fill(ItemResult(index, False, payload, reason))
                filled += 1
        return filled

    def expire(self, now: bool = False) -> bool:
        """At or after the deadline (or ``now``: cancelled), make every unfilled index missing.

        Returns True if this call finished the run. Costs O(total) once.
        """
        if not self._past_deadline(now):
            return False
        for index in sorted(self._in_flight):
            self._fill(ItemResult(index, False, b"", REASON_TIMEOUT))
        while self._next < self._total:
            # Never dispatched: nothing was sent, so nothing can come back.
            self._results[self._next] = ItemResult(
                self._next, False, b"", REASON_TIMEOUT
            )
            self._missing += 1
            self._next += 1
        return True

    def outcome(self) -> BufferSummary | None:
        """The terminal summary: returned by the first call after finishing, None otherwise."""
        if not self._claim_outcome():
            return None
        return BufferSummary(
            buffer_id=self._run_id,
            total=self._total,
            successful=self._successful,
            failed=self._failed,
            missing=self._missing,
            items=tuple(self._results),
        )

    def _fill(self, result: ItemResult) -> None:
        """Store an in-flight index's result and update the counts."""
        self._in_flight.remove(result.index)
        self._results[result.index] = result
        if result.success:
            self._successful += 1
        elif result.missing:
            self._missing += 1
        else:
            self._failed += 1

    # -- queries ------------------------------------------------------------

    def ordered_results(self) -> list[ItemResult | None]:
        """Results in index order; None where an index has no result yet."""
        return list(self._results)

    @property
    def total(self) -> int:
        return self._total

    @property
    def window(self) -> int:
        return self._window

    @property
    def completed(self) -> int:
        """Indexes filled: answered, failed or missing."""
        return self._successful + self._failed + self._missing

    @property
    def finished(self) -> bool:
        """Every index is filled (by a reply, a failure or the deadline)."""
        return self.completed == self._total

    @property
    def successful(self) -> int:
        return self._successful

    @property
    def failed(self) -> int:
        return self._failed

    @property
    def missing(self) -> int:
        return self._missing

    @property
    def pending(self) -> int:
        """Indexes without a result yet (in flight or not yet dispatched)."""
        return self._total - self.completed

    @property
    def in_flight(self) -> int:
        """Items dispatched and not yet answered; never more than ``window``."""
        return len(self._in_flight)

    @property
    def in_flight_indexes(self) -> tuple[int, ...]:
        """The in-flight indexes, sorted (at most ``window`` of them)."""
        return tuple(sorted(self._in_flight))

    def __repr__(self) -> str:
        return (
            f"<BufferRun {self._run_id!r} {self.completed}/{self._total} done, "
            f"{self.in_flight} in flight, {self._dropped} dropped>"
        )


def _normalized_reason(success: bool, reason: str) -> str:
    """The reason to store: "" for a success, "error" for a reasonless failure."""
    if success:
        if reason:
            raise ValueError(
                f"a successful reply has no reason (got reason={reason!r})"
            )
        return ""
    reason = reason or REASON_ERROR
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {sorted(REASONS)} (got {reason!r})")
    return reason
