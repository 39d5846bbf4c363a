"""The main job: weigh every compound in ``data/compounds.xml`` with one Buffer.

    python -m examples.molar_masses [--base simpleSystemBase]

It starts the organism in ``chemistry.xml``, fans the compounds out to
``chem.molar_mass`` as one ``BufferStart``, and prints each result at its
index, then a summary line with the time the Buffer took.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from lxml import etree

from actors import Runtime
from actors.primitives import BufferStart, parse_results
from examples.chemistry import DATA, Formula, MolarMass

ORGANISM = Path(__file__).with_name("chemistry.xml")


def compounds(path: Path = DATA / "compounds.xml") -> list[Formula]:
    """The shipped compounds, in file order."""
    root = etree.parse(str(path)).getroot()
    return [Formula(el.get("name", ""), el.get("formula", "")) for el in root.iter("compound")]


def weigh(runtime: Runtime, items: list[Formula], timeout: float = 60.0) -> list[MolarMass | str]:
    """One Buffer over ``items``: a ``MolarMass`` per item, or the error text of a failed one."""
    start = BufferStart(target="chem.molar_mass", items=items, timeout=timeout)
    done = runtime.ask("system.buffer", start, timeout=timeout + 10)
    return [
        MolarMass.from_xml(result.payload) if result.success else _failure(result.payload)
        for result in parse_results(done.results.encode())
    ]


def _failure(payload: bytes) -> str:
    """The text of a failed item's ``<huh>``, or why it has none."""
    return etree.fromstring(payload).text or "" if payload else "no answer before the deadline"


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.molar_masses", description=__doc__)
    parser.add_argument("--base", default="simpleSystemBase")
    args = parser.parse_args(argv)

    items = compounds()
    with Runtime.from_config(ORGANISM, base=args.base) as runtime:
        began = time.perf_counter()
        results = weigh(runtime, items)
        elapsed = time.perf_counter() - began

    failed = 0
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if isinstance(result, MolarMass):
            print(f"{index:4}  {item.name:<32} {item.text:<22} {result.grams_per_mol:>10.3f} g/mol",
                  file=out)
        else:
            failed += 1
            print(f"{index:4}  {item.name:<32} {item.text:<22} failed: {result}", file=out)
    print(f"weighed {len(items) - failed} of {len(items)} compounds in one Buffer on {args.base}"
          f" in {elapsed * 1000:.0f} ms", file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
