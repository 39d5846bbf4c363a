"""Sequence: cost per step of a 10-step chain vs 10 direct asks doing the same steps.

Each step is its own listener (``s0`` .. ``s9``) running ``bench.workload.step``;
the chain's output is ``Item(n + 10)``. The direct side asks each listener in
turn from outside and feeds each answer to the next ask.
"""

from __future__ import annotations

from .measure import Row, Settings, fmt_time, median_seconds, speed_ratio
from .ours import runtime, sequence
from .workload import Item, step

__all__ = ["run", "STEPS"]

STEPS = 10


def _per_step(base: str, chains: int, settings: Settings) -> tuple[float, float]:
    names = [f"s{k}" for k in range(STEPS)]
    first = Item(0, "seq")
    with runtime(base, [(name, step, Item, 1) for name in names]) as rt:

        def chained() -> None:
            for _ in range(chains):
                done = sequence(rt, names, first.to_bytes())
                if Item.from_xml(done.final_result.encode()).n != STEPS:
                    raise RuntimeError(f"sequence gave {done!r}")

        def direct() -> None:
            for _ in range(chains):
                item = first
                for name in names:
                    item = rt.ask(name, item, timeout=30)

        per = chains * STEPS
        return median_seconds(chained, settings) / per, median_seconds(direct, settings) / per


def run(settings: Settings) -> list[Row]:
    """Rows: per-step cost on each base."""
    bases = [("simpleSystemBase", settings.n(100, 3))]
    if settings.multiproc:
        bases.append(("multiprocTCPBase", settings.n(20, 2)))
    rows = []
    for base, chains in bases:
        chained, direct = _per_step(base, chains, settings)
        rows.append(Row(f"sequence: per step of a {STEPS}-step chain ({base})", fmt_time(chained),
                        fmt_time(direct), f"{STEPS} direct asks", speed_ratio(chained, direct)))
    return rows
