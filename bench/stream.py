"""Streaming: how soon ``rt.stream`` gives its first result, and what a huge stream holds.

The point of ``rt.stream`` is that a caller sees results while the run goes
on: the first row compares its time to the first result with the whole
``rt.map`` of the same 10,000 items (same runtime, taking turns). The memory
row runs a 100,000-item ``rt.stream`` in a fresh process (``bench.isolate``)
and reports the peak RSS growth from just before it, against ``rt.map`` of the
same items, which holds every result at the end.
"""

from __future__ import annotations

import statistics
import time

from actors import Runtime

from .isolate import IsolatedFailure, run_isolated
from .measure import Row, Settings, fmt_mib, fmt_time
from .memory import baseline, status_bytes
from .ours import runtime
from .workload import Item, echo_item

__all__ = ["run", "first_and_total", "stream_growth", "map_growth"]

FIRST_GOAL = 10.0
"""The first result comes at least this many times sooner than the whole map."""

MEMORY_LIMIT = 100 * (1 << 20)
"""A 100,000-item stream grows peak memory by less than this (it keeps no results)."""


def _items(n: int) -> list[Item]:
    return [Item(i, f"item {i}") for i in range(n)]


def first_and_total(rt: Runtime, n: int, settings: Settings) -> tuple[float, float]:
    """Medians: seconds to ``rt.stream``'s first result, and of one whole ``rt.map``."""
    items = _items(n)
    rt.map("w", items[:10])  # warm-up
    firsts, totals = [], []
    for _ in range(settings.reps):
        start = time.perf_counter()
        results = rt.stream("w", items)
        next(results)
        firsts.append(time.perf_counter() - start)
        for _ in results:
            pass
        start = time.perf_counter()
        rt.map("w", items)
        totals.append(time.perf_counter() - start)
    return statistics.median(firsts), statistics.median(totals)


def _growth(n: int, streamed: bool) -> int:
    items = _items(n)
    with runtime("simpleSystemBase", [("w", echo_item, Item, 1)]) as rt:
        rt.map("w", items[:10])
        before = baseline()
        if streamed:
            seen = sum(1 for _ in rt.stream("w", items))
        else:
            seen = len(rt.map("w", items))
        if seen != n:
            raise RuntimeError(f"{seen} of {n} results")
        return status_bytes("VmHWM") - before


def stream_growth(n: int) -> int:
    """Peak RSS growth (bytes) of one in-process ``rt.stream`` of ``n`` small items."""
    return _growth(n, streamed=True)


def map_growth(n: int) -> int:
    """The same for ``rt.map``, which returns every result at once."""
    return _growth(n, streamed=False)


def run(settings: Settings) -> list[Row]:
    """Rows: first result vs whole map on each base; peak memory of a 100,000-item stream."""
    n = settings.n(10_000, 100)
    rows = []
    bases = ["simpleSystemBase"] + (["multiprocTCPBase"] if settings.multiproc else [])
    for base in bases:
        with runtime(base, [("w", echo_item, Item, 1)]) as rt:
            first, total = first_and_total(rt, n, settings)
        rows.append(Row(f"stream: first result, N={n:,} ({base})", fmt_time(first),
                        fmt_time(total), "rt.map, whole run", total / first,
                        f">= {FIRST_GOAL:.0f}x sooner", total / first >= FIRST_GOAL))
    big = settings.n(100_000, 1_000)
    try:
        streamed = run_isolated("bench.stream:stream_growth", big, timeout=600)
        mapped = run_isolated("bench.stream:map_growth", big, timeout=600)
    except IsolatedFailure as exc:
        return [*rows, Row("stream: memory", f"FAILED: {exc}", "", "", None, "< 100 MiB", False)]
    rows.append(Row(f"memory: peak RSS growth, stream N={big:,} (simpleSystemBase)",
                    fmt_mib(streamed), fmt_mib(mapped), "rt.map of the same items",
                    mapped / streamed if streamed > 0 else None, "< 100 MiB",
                    streamed < MEMORY_LIMIT))
    return rows
