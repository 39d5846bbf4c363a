"""How long a listener's calls ran: a fixed-bucket histogram, summed across listeners.

Pure: the listener observes each call's duration (``WorkDone.seconds``) and
reports the buckets as counters (``actors.metrics`` turns them into
``xmlactors_call_seconds``).
"""

from __future__ import annotations

import bisect
import itertools

__all__ = ["LATENCY_BOUNDS", "Latency"]

LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds in seconds of the call-duration buckets a listener counts (then +Inf);
fixed, so every listener's histogram adds up with every other's (``actors.metrics``)."""


class Latency:
    """How long calls ran: a count per bucket of ``LATENCY_BOUNDS`` (+Inf last), and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BOUNDS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1  # bound >= seconds: "le"
        self.total += seconds

    def counters(self) -> list[tuple[str, float]]:
        """``latency_le_<bound>`` cumulative (as Prometheus buckets are), ``latency_sum``,
        ``latency_count`` (the +Inf bucket)."""
        cumulative = list(itertools.accumulate(self.counts))
        buckets = [(f"latency_le_{bound:g}", float(n))
                   for bound, n in zip(LATENCY_BOUNDS, cumulative[:-1], strict=True)]
        return [*buckets, ("latency_sum", self.total), ("latency_count", float(cumulative[-1]))]
