"""Sequence: cost per step of a 10-step chain vs 10 direct asks doing the same steps.

Each step is its own listener (``s0`` .. ``s9``) running ``bench.workload.step``;
the chain's output is ``Item(n + 10)``. The direct side asks each listener in
turn from outside and feeds each answer to the next ask. Each repetition runs
on a fresh runtime: on ``simpleSystemBase`` every finished run leaves its
deadline timer pending (Thespian timers cannot be cancelled) and Thespian
scans every pending timer on every message, so costs grow with the runs
already done. The last row measures that growth on its own.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from .measure import Row, Settings, fmt_time, speed_ratio
from .ours import runtime, sequence
from .workload import Item, echo_item, step

__all__ = ["STEPS", "run"]

STEPS = 10
NAMES = [f"s{k}" for k in range(STEPS)]


def _chained(rt: object, chains: int) -> None:
    first = Item(0, "seq").to_bytes()
    for _ in range(chains):
        done = sequence(rt, NAMES, first)  # type: ignore[arg-type]
        if Item.from_xml(done.final_result.encode()).n != STEPS:
            raise RuntimeError(f"sequence gave {done!r}")


def _direct(rt: object, chains: int) -> None:
    for _ in range(chains):
        item = Item(0, "seq")
        for name in NAMES:
            item = rt.ask(name, item, timeout=30)  # type: ignore[attr-defined]


def _fresh_median(base: str, action: Callable[[object, int], None], chains: int,
                  settings: Settings) -> float:
    """Median seconds per step of ``action``, each repetition on a fresh runtime."""
    times = []
    for _ in range(settings.reps):
        with runtime(base, [(name, step, Item, 1) for name in NAMES]) as rt:
            action(rt, 1)  # warm-up
            start = time.perf_counter()
            action(rt, chains)
            times.append((time.perf_counter() - start) / (chains * STEPS))
    return statistics.median(times)


def _after_runs(runs: int, asks: int) -> tuple[float, float]:
    """In-process ask round trip on a fresh system, and after ``runs`` finished Sequences."""
    with runtime("simpleSystemBase", [("echo", echo_item, Item, 1), ("s0", step, Item, 1)]) as rt:

        def burst() -> float:
            start = time.perf_counter()
            for i in range(asks):
                rt.ask("echo", Item(i, "hop"), timeout=30)
            return (time.perf_counter() - start) / asks

        fresh = statistics.median(burst() for _ in range(3))
        for _ in range(runs):
            sequence(rt, ["s0"], Item(0, "x").to_bytes())
        return fresh, statistics.median(burst() for _ in range(3))


def run(settings: Settings) -> list[Row]:
    """Rows: per-step cost on each base; the ask after many finished runs, in process."""
    bases = [("simpleSystemBase", settings.n(30, 3))]
    if settings.multiproc:
        bases.append(("multiprocTCPBase", settings.n(10, 2)))
    rows = []
    for base, chains in bases:
        chained = _fresh_median(base, _chained, chains, settings)
        direct = _fresh_median(base, _direct, chains, settings)
        rows.append(Row(f"sequence: per step of a {STEPS}-step chain ({base})", fmt_time(chained),
                        fmt_time(direct), f"{STEPS} direct asks", speed_ratio(chained, direct)))
    runs = settings.n(500, 20)
    fresh, after = _after_runs(runs, settings.n(200, 10))
    rows.append(Row(f"hop: ask after {runs} finished runs (simpleSystemBase)", fmt_time(after),
                    fmt_time(fresh), "same ask, fresh system", speed_ratio(after, fresh)))
    return rows
