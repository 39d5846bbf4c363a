"""Parallel scaling: a CPU-bound handler (~15 ms of real lxml work per item).

A Buffer on ``multiprocTCPBase`` with 1, 2 and 4 workers behind the target
listener, against ``multiprocessing.Pool(2).map`` of the same work on the
same XML bytes, and against the plain loop (one core, no messaging). The
contenders take turns in every repetition (see ``_interleaved``).
"""

from __future__ import annotations

import os
import statistics
import time

from actors import Xml

from .measure import Row, Settings, fmt_time, speed_ratio
from .ours import buffer, items_text, runtime
from .peers import plain_loop, process_pool
from .workload import Heavy, heavy, heavy_bytes, heavy_xml_work

__all__ = ["run"]

BASE = "multiprocTCPBase"


def _ours_once(workers: int, text: Xml, warm: Xml) -> float:
    """One timed Buffer on a fresh runtime (its start and a tiny warm-up run not counted)."""
    with runtime(BASE, [("heavy", heavy, Heavy, workers)]) as rt:
        buffer(rt, "heavy", warm)
        start = time.perf_counter()
        buffer(rt, "heavy", text)
        return time.perf_counter() - start


def _interleaved(items: list[bytes], settings: Settings) -> tuple[dict[int, float], float, float]:
    """Medians for 1, 2, 4 workers, the loop and Pool(2), measured round by round.

    Each repetition runs every contender once, so a load change on a shared
    machine hits them all alike instead of skewing one of them.
    """
    text, warm = items_text(items), items_text(items[:2])
    ours: dict[int, list[float]] = {1: [], 2: [], 4: []}
    loop, pooled = [], []
    with process_pool(2) as pool:
        pool.map(heavy_xml_work, items[:2], chunksize=1)
        for _ in range(settings.reps):
            for workers in ours:
                ours[workers].append(_ours_once(workers, text, warm))
            start = time.perf_counter()
            plain_loop(items, heavy_xml_work)
            loop.append(time.perf_counter() - start)
            start = time.perf_counter()
            pool.map(heavy_xml_work, items, chunksize=1)
            pooled.append(time.perf_counter() - start)
    medians = {w: statistics.median(times) for w, times in ours.items()}
    return medians, statistics.median(loop), statistics.median(pooled)


def run(settings: Settings) -> list[Row]:
    """Rows: 1 worker vs the loop; 2 vs 1 worker; 2 and 4 workers vs Pool(2)."""
    if not settings.multiproc:
        return []
    n = settings.n(60, 4)
    ours, loop, pool_time = _interleaved(heavy_bytes(n), settings)
    per_item = f"{n} items of {fmt_time(loop / n)}"
    label = f"CPU-bound, {per_item} ({BASE})"
    speedup = speed_ratio(ours[2], ours[1])
    vs_pool = speed_ratio(ours[2], pool_time)
    cores = os.cpu_count() or 1
    return [
        Row(f"{label}: 1 worker", fmt_time(ours[1]), fmt_time(loop), "plain loop (1 core)",
            speed_ratio(ours[1], loop)),
        Row(f"{label}: 2 workers", fmt_time(ours[2]), fmt_time(ours[1]), "xmlactors, 1 worker",
            speedup, f">= 1.60x ({cores} cores)", speedup >= 1.6),
        Row(f"{label}: 2 workers", fmt_time(ours[2]), fmt_time(pool_time),
            "multiprocessing.Pool(2)", vs_pool, ">= 0.67x (within 1.5x)", vs_pool >= 1 / 1.5),
        Row(f"{label}: 4 workers", fmt_time(ours[4]), fmt_time(pool_time),
            "multiprocessing.Pool(2)", speed_ratio(ours[4], pool_time)),
    ]
