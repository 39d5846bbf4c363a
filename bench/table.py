"""The one table the bench prints: scenario, xmlactors, comparison, ratio, target, met?"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

from .measure import Row

__all__ = ["COLUMNS", "render", "header"]

COLUMNS = ("scenario", "xmlactors", "comparison", "figure", "ratio", "target", "met?")


def header(quick: bool) -> str:
    """The machine line printed above the table."""
    mode = "quick (tiny N, 1 repetition: smoke only, not figures)" if quick else "full"
    return (
        f"cores: {os.cpu_count()}  python: {platform.python_version()}  "
        f"machine: {platform.machine()}  mode: {mode}"
    )


def _cells(row: Row) -> tuple[str, ...]:
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
    met = {None: "-", True: "yes", False: "NO"}[row.met]
    return (row.scenario, row.ours, row.comparison, row.theirs, ratio, row.target or "-", met)


def render(rows: Sequence[Row]) -> str:
    """A Markdown table (readable in a terminal, pasteable into the docs)."""
    lines = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [fmt(COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(cells) for cells in lines[1:]]
    return "\n".join(out)
