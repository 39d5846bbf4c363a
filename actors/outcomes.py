"""What a run gives back to Python: typed values at their indexes, failures with their reasons.

``Runtime.map``, ``buffer``, ``stream`` and ``sequence`` read a run's answer
once (its ``<results>`` element, already parsed) and decode each item's
element straight into its payload class, with no text written and parsed
again. Pure: no Thespian.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .codec import payload_classes_for
from .huh import error_of
from .primitives.results import MISSING_TEXT, REASON_ERROR, REASON_TIMEOUT

__all__ = ["ItemFailure", "BufferOutcome", "decode_element", "read_items"]


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """One item that gave no value: its index, why (``"error"``, ``"timeout"``, ``"exited"``), and
    what its listener said (a ``<huh>``'s text, a nested run's error; ``""`` when missing)."""

    index: int
    reason: str
    text: str = ""
    attempts: int = 1  # how many times it was sent (``retries``)

    def __str__(self) -> str:
        return f"item {self.index} {self.reason}" + (f": {self.text}" if self.text else "")


@dataclass(frozen=True)
class BufferOutcome:
    """A whole Buffer, decoded: ``values[i]`` is item i's result (None where it failed).

    ``successful + failed + missing == total``; ``failures`` lists the items
    without a value, in index order (``missing`` ones have reason ``"timeout"``).
    """

    buffer_id: str
    total: int
    successful: int
    failed: int
    missing: int
    values: list[Any] = field(repr=False)
    failures: list[ItemFailure]

    @property
    def ok(self) -> bool:
        """Every item answered with a value."""
        return self.successful == self.total


def decode_element(element: etree._Element, prefer_modules: Sequence[str] = ()) -> Any:
    """An answer's element as its ``@xmlify`` class (known tag), else the element itself.

    When several classes share the tag, the first one defined in
    ``prefer_modules`` wins, else the one decorated last.
    """
    classes = payload_classes_for(str(element.tag))
    if not classes:
        return element
    by_module = {cls.__module__: cls for cls in classes}
    chosen = next((by_module[m] for m in prefer_modules if m in by_module), classes[-1])
    return chosen.from_xml(element)


def read_items(
    results: etree._Element, prefer_modules: Sequence[str] = ()
) -> Iterator[tuple[int, Any]]:
    """``(index, value or ItemFailure)`` for each ``<item>`` of a ``<results>`` element, in order."""
    for item in results.iterchildren("item"):
        index = int(item.get("index", "-1"))
        children = [child for child in item if isinstance(child.tag, str)]
        if item.get("success") == "true" and children:
            yield index, decode_element(children[0], prefer_modules)
        else:
            yield index, _failure(index, item, children)


def _failure(index: int, item: etree._Element, children: list[etree._Element]) -> ItemFailure:
    reason = item.get("reason", "")
    attempts = int(item.get("attempts", "1"))
    if not children:
        text = (item.text or "").strip()
        missing = reason == REASON_TIMEOUT or text == MISSING_TEXT
        return ItemFailure(index, reason or (REASON_TIMEOUT if missing else REASON_ERROR),
                           "" if missing else text, attempts)
    return ItemFailure(index, reason or REASON_ERROR, error_of(children[0]), attempts)
