"""Molar masses of chemical formulas: the listener behind the README's main job.

A ``Formula`` payload goes in (``<Formula><Name>water</Name><Text>H2O</Text></Formula>``),
a ``MolarMass`` comes out, computed from the standard atomic weights in
``data/atomic_weights.xml``. Formulas may nest groups in ``()`` or ``[]`` and
carry hydrate parts after ``·`` or ``.``: ``CuSO4·5H2O``, ``K3[Fe(CN)6]``.

An unknown element or a malformed formula raises ``ValueError``: the caller
(or the Buffer item) gets ``<huh>Handler chem.molar_mass crashed: ValueError: ...</huh>``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from actors import HandlerMetadata, HandlerResponse, xmlify

__all__ = ["Formula", "MolarMass", "molar_mass", "atom_counts", "atomic_weights", "DATA"]

DATA = Path(__file__).with_name("data")

_TOKEN = re.compile(r"([A-Z][a-z]?)|(\d+)|([(\[])|([)\]])|(\S)")
_CLOSING = {"(": ")", "[": "]"}


@xmlify
@dataclass
class Formula:
    """A compound to weigh: its common name and its formula."""

    name: str = ""
    text: str = ""


@xmlify
@dataclass
class MolarMass:
    """A formula's molar mass in g/mol, and its atoms per formula unit."""

    name: str = ""
    formula: str = ""
    grams_per_mol: float = 0.0
    atoms: int = 0


@cache
def atomic_weights() -> dict[str, float]:
    """Symbol -> standard atomic weight, read once per process from the shipped data."""
    root = etree.parse(str(DATA / "atomic_weights.xml")).getroot()
    return {el.get("symbol", ""): float(el.get("weight", "nan")) for el in root.iter("element")}


def atom_counts(formula: str) -> Counter[str]:
    """How many atoms of each element one formula unit holds.

    >>> dict(atom_counts("CuSO4·5H2O"))
    {'Cu': 1, 'S': 1, 'O': 9, 'H': 10}
    """
    total: Counter[str] = Counter()
    for part in re.split(r"[·.]", formula):
        match = re.match(r"\s*(\d*)(.*)", part)
        assert match is not None  # the pattern matches any string
        factor = int(match.group(1) or 1)
        for element, count in _group_counts(match.group(2).strip(), formula).items():
            total[element] += factor * count
    if not total:
        raise ValueError(f"empty formula {formula!r}")
    return total


def _group_counts(text: str, formula: str) -> Counter[str]:
    """Counts for one hydrate part, with groups on a stack."""
    stack: list[tuple[str, Counter[str]]] = [("", Counter())]
    last: Counter[str] | None = None  # what a following number multiplies
    for element, number, opening, closing, other in _TOKEN.findall(text):
        if other:
            raise ValueError(f"unexpected {other!r} in formula {formula!r}")
        if element:
            last = Counter({element: 1})
            stack[-1][1].update(last)
        elif number:
            if last is None:
                raise ValueError(f"a count without an element in formula {formula!r}")
            stack[-1][1].update({k: v * (int(number) - 1) for k, v in last.items()})
            last = None
        elif opening:
            stack.append((opening, Counter()))
            last = None
        else:
            bracket, group = stack.pop() if len(stack) > 1 else ("", Counter())
            if _CLOSING.get(bracket) != closing:
                raise ValueError(f"unbalanced {closing!r} in formula {formula!r}")
            stack[-1][1].update(group)
            last = group
    if len(stack) > 1:
        raise ValueError(f"unclosed {stack[-1][0]!r} in formula {formula!r}")
    return stack[0][1]


def molar_mass(payload: Formula, meta: HandlerMetadata) -> HandlerResponse:
    """Answer with the molar mass of ``payload.text``."""
    weights = atomic_weights()
    counts = atom_counts(payload.text)
    unknown = sorted(set(counts) - set(weights))
    if unknown:
        raise ValueError(f"unknown element {', '.join(unknown)} in {payload.text!r}")
    grams = sum(weights[element] * count for element, count in counts.items())
    return HandlerResponse.respond(
        MolarMass(payload.name, payload.text, round(grams, 3), sum(counts.values()))
    )
