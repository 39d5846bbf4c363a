"""``python -m bench``: run the scenarios and print one table."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence

from . import FAMILIES
from .measure import Row, Settings
from .table import header, render

MODULES = {
    "hop": "bench.scenarios_hop",
    "fanout": "bench.fanout",
    "scaling": "bench.scaling",
    "memory": "bench.memory",
    "sequence": "bench.sequence",
    "concurrency": "bench.concurrency",
    "stream": "bench.stream",
    "durable": "bench.durable",
    "hosts": "bench.hosts",
}

LEGEND = (
    "ratio = comparison's time (or memory) / xmlactors' time (or memory): above 1 xmlactors is\n"
    "cheaper, below 1 it costs more (0.50x = half the comparison's throughput). Figures are\n"
    "medians of repetitions within this one run; compare ratios, not absolute figures, across machines."
)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one repetition: checks the bench runs, measures nothing")
    parser.add_argument("--only", default="",
                        help=f"comma-separated families to run (of: {', '.join(FAMILIES)})")
    parser.add_argument("--in-process", action="store_true",
                        help="skip every multiprocess base (simpleSystemBase only)")
    args = parser.parse_args(argv)
    chosen = [f.strip() for f in args.only.split(",") if f.strip()] or list(FAMILIES)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown family {', '.join(unknown)}: expected some of {', '.join(FAMILIES)}")
    args.families = chosen
    return args


def _run_family(name: str, settings: Settings) -> list[Row]:
    """A family's rows; a family that fails gives one FAILED row and the run goes on."""
    try:
        return list(importlib.import_module(MODULES[name]).run(settings))
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' figures
        return [Row(f"{name}: FAILED", f"{type(exc).__name__}: {exc}", "", "", None, "", False)]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    settings = Settings(quick=args.quick, multiproc=not args.in_process)
    print(header(settings.quick), flush=True)
    started = time.perf_counter()
    rows: list[Row] = []
    for family in args.families:
        rows += _run_family(family, settings)
        print(f"  {family}: done ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    print()
    print(render(rows))
    print()
    print(LEGEND)
    return 1 if any(row.scenario.endswith("FAILED") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
