"""How the bench measures: settings, repeated timings, and one table row.

Every figure is a median of ``Settings.reps`` repetitions after a warm-up
(none in quick mode); where contenders take turns (``turns_seconds``), a slow
spell falls on each alike, and a latency is timed on an idle system. Ratios
compare two figures taken in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "Settings", "Row", "median_seconds", "turns_seconds", "speed_ratio", "fmt_time", "fmt_rate",
    "fmt_mib",
]


@dataclass(frozen=True)
class Settings:
    """What one bench run does: sizes, repetitions, which bases."""

    quick: bool = False
    multiproc: bool = True

    @property
    def reps(self) -> int:
        """Repetitions per figure (the median is reported)."""
        return 1 if self.quick else 5

    @property
    def warmup(self) -> int:
        return 0 if self.quick else 1

    def n(self, full: int, quick: int) -> int:
        """A size: ``full`` normally, ``quick`` in quick mode."""
        return quick if self.quick else full


@dataclass(frozen=True)
class Row:
    """One line of the table.

    ``ratio`` is the comparison's time over xmlactors' time (a throughput
    ratio: above 1, xmlactors is faster), except where ``ratio_note`` says
    otherwise. ``met`` is None when the row has no target.
    """

    scenario: str
    ours: str
    theirs: str
    comparison: str
    ratio: float | None
    target: str = ""
    met: bool | None = None


def median_seconds(action: Callable[[], object], settings: Settings, reps: int | None = None) -> float:
    """Median wall time of ``action`` over the settings' repetitions (after warm-up)."""
    for _ in range(settings.warmup):
        action()
    times = []
    for _ in range(reps or settings.reps):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def turns_seconds(actions: Sequence[Callable[[], object]], rounds: int, warmup: int = 1,
                  pause: float = 0.0) -> list[float]:
    """Median wall time of one call of each action, the actions taking turns (a, b, a, b, ...).

    A slow spell of a shared machine then falls on each contender alike. With
    ``pause``, each call comes after that many seconds idle: what the last call
    set going in the background (a run actor's exit, its replacement's start)
    has ended, and the call is timed on a system at rest: its latency.
    """
    for _ in range(warmup):
        for action in actions:
            action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(rounds):
        for action, spent in zip(actions, times, strict=True):
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            action()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def speed_ratio(ours: float, theirs: float) -> float:
    """Throughput of xmlactors relative to the comparison (their time / our time)."""
    return theirs / ours if ours > 0 else float("inf")


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_rate(items: int, seconds: float) -> str:
    """Items per second, with the total time."""
    return f"{items / seconds:,.0f}/s ({fmt_time(seconds)})"


def fmt_mib(size: float) -> str:
    """Bytes as MiB (KiB below one MiB)."""
    if abs(size) < 1 << 20:
        return f"{size / 1024:.0f} KiB"
    return f"{size / (1 << 20):.1f} MiB"
