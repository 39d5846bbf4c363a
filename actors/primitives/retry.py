"""When a failed Buffer item is tried again, and after how long: the pure retry policy.

A ``RetryPolicy`` says how many more attempts an item gets (``retries``),
for which reasons (``retry_on``: any of ``timeout``, ``exited`` and
``error``, by default all three), and how long to wait before each: exponential backoff with *full jitter*
(a delay drawn uniformly from 0 to ``min(cap, backoff * 2 ** (n - 1))``
before attempt n + 1), which spreads a burst of failures out instead of
retrying them in step. ``Retries`` keeps one run's attempt counts and the
items waiting for their next attempt; the run's deadline still bounds
everything (``BufferRun``). Pure: no Thespian, no clock of its own.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .results import REASON_ERROR, REASON_EXITED, REASON_TIMEOUT, REASONS, ItemResult

__all__ = ["RetryPolicy", "Retries", "Resilience", "DEFAULT_RETRY_ON", "parse_retry_on", "BACKOFF_CAP"]

DEFAULT_RETRY_ON = frozenset({REASON_TIMEOUT, REASON_EXITED, REASON_ERROR})

BACKOFF_CAP = 30.0
"""The longest wait between two attempts of one item, in seconds."""


def parse_retry_on(text: str) -> frozenset[str]:
    """``"timeout exited"`` as a set of reasons; ``ValueError`` naming an unknown one."""
    reasons = frozenset(text.split())
    unknown = sorted(reasons - REASONS)
    if unknown:
        raise ValueError(f"retry_on: unknown reason {unknown[0]!r} (expected some of "
                         f"{', '.join(sorted(REASONS))})")
    return reasons


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how soon a failed item is tried again (``retries=0``: never)."""

    retries: int = 0
    backoff: float = 0.1
    retry_on: frozenset[str] = DEFAULT_RETRY_ON
    cap: float = BACKOFF_CAP

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0:
            raise ValueError(f"retries and retry_backoff must be >= 0 (got {self.retries}, "
                             f"{self.backoff})")

    def allows(self, reason: str, attempts: int) -> bool:
        """Whether an item that failed with ``reason`` on attempt ``attempts`` goes again."""
        return attempts <= self.retries and reason in self.retry_on

    def delay(self, attempts: int, uniform: Callable[[], float]) -> float:
        """Seconds before attempt ``attempts + 1``; ``uniform()`` is in [0, 1)."""
        ceiling = min(self.cap, self.backoff * 2.0 ** (attempts - 1))
        return uniform() * ceiling


@dataclass(frozen=True, slots=True)
class Resilience:
    """What a Buffer run needs beyond its items: the retry policy, the deadline of one
    attempt, and the listener told of each item that failed for good (picklable)."""

    policy: RetryPolicy = RetryPolicy()
    item_timeout: float = 0.0
    dead_letter: str = ""
    dead_letter_address: Any = None
    journal: str = ""  # a durable run's journal file (``actors.journal``)
    options: tuple[tuple[str, Any], ...] = ()  # what a resume of it needs (durable runs)


class Retries:
    """One run's attempts per index, and the failed items waiting to go again, by due time."""

    __slots__ = ("policy", "attempts", "_due", "_last", "_uniform")

    def __init__(self, policy: RetryPolicy, total: int, uniform: Callable[[], float]) -> None:
        self.policy = policy
        self.attempts = [0] * total  # attempts sent so far, per index
        self._due: list[tuple[float, int]] = []  # (time, index): a heap
        self._last: dict[int, ItemResult] = {}  # the failure each waiting item had
        self._uniform = uniform

    def consider(self, result: ItemResult, now: float) -> bool:
        """Schedule ``result``'s index again if the policy allows; True if it will go again."""
        attempts = self.attempts[result.index]
        if result.success or not self.policy.allows(result.reason, attempts):
            return False
        heapq.heappush(self._due, (now + self.policy.delay(attempts, self._uniform), result.index))
        self._last[result.index] = result
        return True

    def due(self, now: float, room: int) -> list[int]:
        """Up to ``room`` waiting indexes whose time has come, earliest first."""
        ready: list[int] = []
        while self._due and len(ready) < room and self._due[0][0] <= now:
            index = heapq.heappop(self._due)[1]
            del self._last[index]
            ready.append(index)
        return ready

    def next_due(self) -> float | None:
        """When the earliest waiting item is due, or None."""
        return self._due[0][0] if self._due else None

    def waiting(self) -> list[ItemResult]:
        """Take every waiting item's last failure (the run ends before they go again)."""
        last = sorted(self._last.values(), key=lambda r: r.index)
        self._due.clear()
        self._last.clear()
        return last

    def __len__(self) -> int:
        return len(self._due)
