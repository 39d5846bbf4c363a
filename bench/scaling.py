"""Parallel scaling: a CPU-bound handler (~15 ms of real lxml work per item).

A Buffer on ``multiprocTCPBase`` with 1, 2 and 4 workers behind the target
listener, against ``multiprocessing.Pool(2).map`` of the same work on the
same XML bytes, and against the plain loop (one core, no messaging).
"""

from __future__ import annotations

import os

from .measure import Row, Settings, fmt_time, median_seconds, speed_ratio
from .ours import buffer, items_text, runtime
from .peers import plain_loop, process_pool
from .workload import Heavy, heavy, heavy_bytes, heavy_xml_work

__all__ = ["run"]

BASE = "multiprocTCPBase"


def _ours(workers: int, text: str, settings: Settings) -> float:
    with runtime(BASE, [("heavy", heavy, Heavy, workers)]) as rt:
        return median_seconds(lambda: buffer(rt, "heavy", text), settings)  # type: ignore[arg-type]


def run(settings: Settings) -> list[Row]:
    """Rows: 1 worker vs the loop; 2 vs 1 worker; 2 and 4 workers vs Pool(2)."""
    if not settings.multiproc:
        return []
    n = settings.n(60, 4)
    items = heavy_bytes(n)
    text = items_text(items)
    ours = {w: _ours(w, text, settings) for w in (1, 2, 4)}
    loop = median_seconds(lambda: plain_loop(items, heavy_xml_work), settings)
    with process_pool(2) as pool:
        pool_time = median_seconds(lambda: pool.map(heavy_xml_work, items, chunksize=1), settings)
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
