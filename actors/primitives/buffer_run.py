"""The pure core of one Buffer run: which items to send, which results are in.

A ``BufferRun`` is the whole state of one fan-out; the run's child actor owns
exactly one and maps messages to calls on it (there is no global registry).
It imports no Thespian and reads time only through the injected clock, so
Hypothesis drives it with a fake one.

Invariants (tested as a state machine):

- each index is filled at most once; the first reply wins, later ones are dropped;
- ``in_flight <= window`` at all times; first attempts go in index order, and a
  failure the ``RetryPolicy`` allows goes again after its backoff instead of
  filling its index (``retry``); an attempt past ``item_timeout`` is a timeout;
- ``successful + failed + missing == completed`` and ``pending == total - completed``;
- the run finishes when every index is filled, or at the deadline (the unfilled
  ones become missing); after that nothing is dispatched or recorded;
- ``outcome()`` returns the terminal summary exactly once.

Every call is O(1) per item, so a 10,000-item run stays cheap; only the
deadline (once) and the final formatting walk all indexes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..parsed import Payload
from .results import (
    REASON_ERROR,
    REASON_TIMEOUT,
    REASONS,
    ItemResult,
    format_results,
)
from .retry import Retries, RetryPolicy
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
        "_failed", "_fresh", "_in_flight", "_item_timeout", "_keep", "_missing", "_next",
        "_results", "_retries", "_sent_at", "_successful", "_total", "_window",
    )

    def __init__(
        self, buffer_id: str, total: int, *, window: int, timeout: float, clock: Clock,
        keep_payloads: bool = True, retry: RetryPolicy | None = None, item_timeout: float = 0.0,
        uniform: Callable[[], float] = random.random, track_fresh: bool = False,
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
        self._keep = keep_payloads  # False: results go on as they come (take_fresh), none kept
        self._fresh: list[ItemResult] | None = [] if track_fresh or not keep_payloads else None
        self._total = total
        self._window = window
        self._results: list[ItemResult | None] = [None] * total
        self._next = 0  # Invariant: indexes < _next were dispatched, in order.
        self._in_flight: set[int] = set()
        self._successful = 0
        self._failed = 0
        self._missing = 0
        self._retries = Retries(retry or RetryPolicy(), total, uniform)
        self._item_timeout = item_timeout
        self._sent_at: dict[int, float] = {}  # in-flight index -> when (with item_timeout)

    # -- transitions ---------------------------------------------------------

    def take_dispatches(self) -> list[int]:
        """Indexes to send now, filling the window: retries that are due, then first
        attempts in index order; marks them in flight."""
        room = self._window - len(self._in_flight)
        if self.finished or room <= 0:
            return []
        now = self._clock()
        batch = self._retries.due(now, room) if self._retries else []
        while len(batch) < room and self._next < self._total:
            if self._results[self._next] is None:  # not filled before (``prefill``)
                batch.append(self._next)
            self._next += 1
        for index in batch:
            self._retries.attempts[index] += 1
            if self._item_timeout:
                self._sent_at[index] = now
        self._in_flight.update(batch)
        return batch

    def expire_items(self) -> int:
        """Attempts out longer than ``item_timeout`` time out (to be retried, or missing);
        returns how many timed out."""
        if not self._item_timeout:
            return 0
        cutoff = self._clock() - self._item_timeout
        late = [index for index, sent in self._sent_at.items() if sent <= cutoff]
        for index in late:
            self._settle(ItemResult(index, False, b"", REASON_TIMEOUT, self.attempts(index)))
        return len(late)

    def take_fresh(self) -> list[ItemResult]:
        """With ``track_fresh`` or ``keep_payloads=False``: the results filled since the last
        call, payloads included, for the shell to record or send on."""
        fresh = self._fresh or []
        if self._fresh:
            self._fresh = []
        return fresh

    def prefill(self, results: Iterable[ItemResult]) -> None:
        """Results known before the run began (a resumed durable run): never sent again."""
        for result in results:
            if self._results[result.index] is None:
                self._fill(result, fresh=False)

    def next_wakeup(self) -> float | None:
        """When a retry falls due or an attempt reaches its ``item_timeout`` (clock time)."""
        times = [self._retries.next_due()]
        if self._sent_at:
            times.append(min(self._sent_at.values()) + self._item_timeout)
        known = [t for t in times if t is not None]
        return min(known) if known else None

    @property
    def dispatched_upto(self) -> int:
        """Every index below this was sent at least once (or filled before: ``prefill``)."""
        return self._next

    def attempts(self, index: int) -> int:
        """How many times ``index`` was sent so far."""
        return self._retries.attempts[index]

    def record(
        self, index: int, success: bool, payload: Payload, reason: str = ""
    ) -> bool:
        """Fill ``index`` with a reply; True if it counted.

        A failure without a reason is an ``"error"``. Returns False and counts
        the reply in ``dropped`` when it is late (the run finished), out of
        range, a duplicate, or for an index never dispatched: first reply wins.
        Raises ``ValueError`` for a reason that contradicts ``success``.
        """
        if reason or not success:  # a plain success needs no look (most replies)
            reason = _normalized_reason(success, reason)
            if reason == REASON_TIMEOUT:
                payload = b""  # a missing item carries no payload
        if index not in self._in_flight:
            # Also covers "finished": nothing is in flight once the run is over.
            self._dropped += 1
            return False
        attempts = self._retries.attempts[index]
        return self._settle(ItemResult(index, success, payload, reason, attempts))

    def _settle(self, result: ItemResult) -> bool:
        """An attempt of an in-flight index ended: it goes again, or fills its index (True)."""
        self._in_flight.remove(result.index)
        if self._sent_at:  # attempts timed (``item_timeout``)
            self._sent_at.pop(result.index, None)
        if not result.success and self._retries.consider(result, self._clock()):
            return False
        self._fill(result)
        return True

    def fail(self, indexes: Iterable[int], reason: str, payload: Payload) -> int:
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
                filled += self._settle(ItemResult(index, False, payload, reason,
                                                  self.attempts(index)))
        return filled

    def expire(self, now: bool = False) -> bool:
        """At or after the deadline (or ``now``: cancelled), make every unfilled index missing.

        Returns True if this call finished the run. Costs O(total) once.
        """
        if not self._past_deadline(now):
            return False
        for index in sorted(self._in_flight):
            self._in_flight.remove(index)
            self._fill(ItemResult(index, False, b"", REASON_TIMEOUT, self.attempts(index)))
        self._sent_at.clear()
        for last in self._retries.waiting():  # failed, waiting to go again: that failure stands
            self._fill(last)
        while self._next < self._total:
            # Never dispatched: nothing was sent, so nothing can come back.
            if self._results[self._next] is None:
                self._fill(ItemResult(self._next, False, b"", REASON_TIMEOUT))
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

    def _fill(self, result: ItemResult, fresh: bool = True) -> None:
        """Store an index's result (no longer in flight) and update the counts."""
        if self._fresh is not None and fresh:
            self._fresh.append(result)
        if not self._keep:
            result = ItemResult(result.index, result.success, b"", result.reason, result.attempts)
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
