"""Shared Hypothesis strategies and test doubles (one module, as attrs keeps them).

Payload strategies produce *canonical* lxml output of one element: serializing
the parsed bytes again gives the same bytes, which is what the runtime sends
and what lets ``parse_results(format_results(rs)) == rs`` hold exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from lxml import etree

from actors.primitives.results import (
    REASON_ERROR,
    REASON_EXITED,
    REASON_TIMEOUT,
    ItemResult,
)

__all__ = [
    "FakeClock",
    "huh_payloads",
    "item_results",
    "result_lists",
    "small_payloads",
    "step_names",
    "timeouts",
    "xml_payloads",
]


@dataclass(slots=True)
class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, "a monotonic clock never goes back"
        self.now += seconds


# XML 1.0 allows these characters in text and attributes; \r is left out
# because a parser normalizes it to \n, which would break exact round trips.
xml_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF) | st.sampled_from("\n\t"),
    max_size=20,
)
tag_names = st.sampled_from(["Sum", "Value", "Product", "Formatted", "A", "b"]) | (
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True).filter(
        lambda name: not name.lower().startswith("xml")
    )
)
step_names = st.from_regex(r"[a-z][a-z0-9_.]{0,12}", fullmatch=True)
timeouts = st.floats(min_value=0.5, max_value=120.0, allow_nan=False)


@st.composite
def _elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(tag_names))
    for name in draw(st.lists(tag_names, max_size=2, unique=True)):
        element.set(name, draw(xml_text))
    element.text = draw(xml_text) or None
    if depth < 2:
        for child in draw(st.lists(_elements(depth + 1), max_size=3)):
            child.tail = draw(xml_text) or None
            element.append(child)
    return element


def xml_payloads() -> st.SearchStrategy[bytes]:
    """UTF-8 bytes of one element, as the runtime serializes a payload."""
    return _elements().map(
        lambda element: etree.tostring(element, encoding="UTF-8", xml_declaration=False)
    )


def small_payloads() -> st.SearchStrategy[bytes]:
    """Cheap canonical payloads (``<R>7</R>``, ``<huh>7</huh>``) for state machines."""
    return st.builds(
        lambda tag, n: f"<{tag}>{n}</{tag}>".encode(),
        st.sampled_from(["R", "Sum", "huh"]),
        st.integers(-5, 5),
    )


def huh_payloads() -> st.SearchStrategy[bytes]:
    """A ``<huh>`` carrying an error text, as a failing handler answers."""

    def huh(text: str) -> bytes:
        element = etree.Element("huh")
        element.text = text or None
        return etree.tostring(element, encoding="UTF-8", xml_declaration=False)

    return xml_text.map(huh)


def item_results(index: int) -> st.SearchStrategy[ItemResult]:
    """Any valid result for ``index``: success, error, exited or missing."""
    return st.one_of(
        xml_payloads().map(lambda p: ItemResult(index, True, p)),
        (huh_payloads() | st.just(b"")).map(
            lambda p: ItemResult(index, False, p, REASON_ERROR)
        ),
        huh_payloads().map(lambda p: ItemResult(index, False, p, REASON_EXITED)),
        st.just(ItemResult(index, False, b"", REASON_TIMEOUT)),
    )


@st.composite
def result_lists(
    draw: st.DrawFn, max_size: int = 8, allow_unfilled: bool = True
) -> list[ItemResult | None]:
    """Results in index order, some unfilled (None) when ``allow_unfilled``."""
    size = draw(st.integers(min_value=0, max_value=max_size))
    results: list[ItemResult | None] = []
    for index in range(size):
        if allow_unfilled and draw(st.booleans()):
            results.append(None)
        else:
            results.append(draw(item_results(index)))
    return results
