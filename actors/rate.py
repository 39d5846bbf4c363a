"""A listener's rate limit: never more than N handler starts in any window of one second.

Rate-limited APIs count calls in a sliding second, so a token bucket (whose
burst lets 2N through across a window's edge) is not enough: a
``SlidingWindow`` keeps the start times of the last N calls and lets a new
one start only once the oldest of them is a full window old. The listener
asks it before handing a job out; a job that may not start yet waits in the
listener, in order, and the listener looks again when the window frees
(``next_free``). Pure: the clock is passed in.
"""

from __future__ import annotations

import collections
import math
import re
import threading

__all__ = ["SlidingWindow", "parse_rate", "MARGIN"]

MARGIN = 0.05
"""Seconds added to the window: a call counted at t starts a little later (at its worker,
across processes; after the task switch, in process), and the budget must hold for the
starts as the API sees them, not for our clock readings."""

_RATE = re.compile(r"^\s*(\d+)\s*/\s*s\s*$")


def parse_rate(text: str) -> int:
    """``"20/s"`` as 20; ``ValueError`` with the expected form otherwise (0 or "" is no limit)."""
    if not text:
        return 0
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"rate must look like '20/s' (calls per second), got {text!r}")
    return int(match.group(1))


class SlidingWindow:
    """At most ``limit`` starts in any ``window`` seconds."""

    __slots__ = ("limit", "window", "_starts", "_lock")

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"a rate limit needs limit >= 1 and window > 0 (got {limit}, {window})")
        self.limit, self.window = limit, window
        self._starts: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()  # the threads of a listener's pool share one window

    def take(self, now: float) -> bool:
        """Start one call at ``now`` if the budget allows (and count it); False: not yet."""
        with self._lock:
            while self._starts and self._starts[0] <= now - self.window:
                self._starts.popleft()
            if len(self._starts) >= self.limit:
                return False
            self._starts.append(now)
            return True

    def next_free(self) -> float:
        """When the next call may start (the oldest counted start, a window later), 0 if now.

        The first time ``take`` allows: ``oldest + window`` may round to a time at which
        ``take``'s ``now - window`` still falls short of the oldest start by one ulp.
        """
        if len(self._starts) < self.limit:
            return 0.0
        oldest = self._starts[0]
        free = oldest + self.window
        while free - self.window < oldest:
            free = math.nextafter(free, math.inf)
        return free
