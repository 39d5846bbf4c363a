"""Hypothesis strategies and test doubles of our own suite (one module, as attrs keeps them).

The reusable ones (payloads of any xmlify class, XML documents and text,
envelopes, Buffer items, hostile XML, ``FakeClock``) ship in the package, in
``actors.testing``; this module adds what only our tests of the primitives need.

Payload strategies produce *canonical* lxml output of one element: serializing
the parsed bytes again gives the same bytes, which is what the runtime sends
and what lets ``parse_results(format_results(rs)) == rs`` hold exactly.
"""

from __future__ import annotations

from hypothesis import strategies as st
from lxml import etree

from actors.primitives.results import (
    REASON_ERROR,
    REASON_EXITED,
    REASON_TIMEOUT,
    ItemResult,
)
from actors.testing import FakeClock
from actors.testing.strategies import xml_documents, xml_text

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


step_names = st.from_regex(r"[a-z][a-z0-9_.]{0,12}", fullmatch=True)
timeouts = st.floats(min_value=0.5, max_value=120.0, allow_nan=False)


def xml_payloads() -> st.SearchStrategy[bytes]:
    """UTF-8 bytes of one element, as the runtime serializes a payload (the kit's documents)."""
    return xml_documents()


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

    return xml_text().map(huh)


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
