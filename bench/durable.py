"""Durable runs: what the journal costs a Buffer.

One row: a collecting Buffer of small items on ``simpleSystemBase`` with
``durable=True`` (each result committed to a SQLite journal in WAL mode
before it goes on), against the same Buffer without the journal, on the same
runtime, taking turns (order swapped each repetition); medians. The goal is
under 1.5x the plain run's time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .measure import Row, Settings, fmt_time
from .ours import runtime
from .workload import Item, echo_item

__all__ = ["run", "GOAL"]

GOAL = 1.5
"""A durable Buffer takes less than this many times the plain one."""


def run(settings: Settings) -> list[Row]:
    n = settings.n(10_000, 100)
    items = [Item(i, f"item {i}") for i in range(n)]
    durable, plain = [], []
    with tempfile.TemporaryDirectory() as tmp, \
            runtime("simpleSystemBase", [("w", echo_item, Item, 1)],
                    journal=Path(tmp) / "runs.sqlite") as rt:
        rt.map("w", items[:10], durable=True)  # warm-up, both ways
        rt.map("w", items[:10])
        for rep in range(settings.reps):
            for journaled in ((True, False) if rep % 2 == 0 else (False, True)):
                start = time.perf_counter()
                rt.map("w", items, durable=journaled)
                (durable if journaled else plain).append(time.perf_counter() - start)
    ours, theirs = statistics.median(durable), statistics.median(plain)
    return [Row(f"durable: Buffer N={n:,} with a journal (simpleSystemBase)", fmt_time(ours),
                fmt_time(theirs), "the same Buffer, not durable", theirs / ours,
                f">= {1 / GOAL:.2f}x (under {GOAL}x the time)", ours / theirs < GOAL)]
