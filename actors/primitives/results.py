"""The Buffer's ``<results>`` document: one item's result, and its XML form.

The format is the original bus's, kept so its users feel at home, plus a
``reason`` on every failure::

    <results>
      <item index="0" success="true"><Sum><Value>3</Value></Sum></item>
      <item index="1" success="false" reason="error"><huh>Handler w crashed: ...</huh></item>
      <item index="2" success="false" reason="timeout">missing</item>
    </results>

(written here on several lines; the bytes have no whitespace between elements).

Invariants: results are embedded as elements, built with lxml, never by string
concatenation; items come out in index order; ``parse_results`` inverts
``format_results`` exactly for payloads that are canonical lxml output.
Everything here is pure (no Thespian); this is the only primitives module that
imports lxml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from ..errors import PayloadError

__all__ = [
    "MISSING_TEXT",
    "REASONS",
    "REASON_ERROR",
    "REASON_EXITED",
    "REASON_TIMEOUT",
    "ItemResult",
    "format_results",
    "parse_results",
]

REASON_ERROR: Final = "error"
"""The target answered with ``<huh>``, ``SequenceError`` or ``BufferError``."""
REASON_TIMEOUT: Final = "timeout"
"""No answer before the run's deadline: the item is *missing*, not failed."""
REASON_EXITED: Final = "exited"
"""The worker handling the item died before answering."""
REASONS: Final = frozenset({REASON_ERROR, REASON_TIMEOUT, REASON_EXITED})

MISSING_TEXT: Final = "missing"
"""Text of an item that has no answer (the original's wording)."""


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The result of one Buffer item: picklable, so it may cross an actor boundary.

    Invariants (checked on construction): ``index >= 0``; a success has
    ``reason == ""``; a failure has a reason from ``REASONS``; a missing item
    (``reason == "timeout"``) has an empty payload. ``payload`` is the UTF-8
    XML of the answer (a payload element or ``<huh>``), or ``b""``.
    """

    index: int
    success: bool
    payload: bytes
    reason: str = ""

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"ItemResult index must be >= 0 (got {self.index})")
        if self.success and self.reason:
            raise ValueError(
                f"a successful ItemResult has no reason (got reason={self.reason!r})"
            )
        if not self.success and self.reason not in REASONS:
            raise ValueError(
                f"a failed ItemResult needs a reason in {sorted(REASONS)} "
                f"(got {self.reason!r})"
            )
        if self.reason == REASON_TIMEOUT and self.payload:
            raise ValueError("a missing ItemResult (reason 'timeout') has no payload")

    @property
    def missing(self) -> bool:
        """True when the item got no answer before the deadline."""
        return self.reason == REASON_TIMEOUT


def _payload_parser() -> etree.XMLParser:
    """A parser for payloads our own runtime produced; hardened all the same.

    One per ``format_results`` call: lxml parsers must not be shared between
    threads, and building one costs microseconds against a whole run.
    """
    # TODO(lead): use ``actors.parsing.parse`` once it exists, so every parse
    # goes through the one hardened factory (DESIGN.md, Security). Its size
    # and element caps must then allow a whole result payload.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _fill_item(
    item: etree._Element, result: ItemResult, parser: etree.XMLParser
) -> None:
    """Put one result's payload into its ``<item>``: as an element when it parses."""
    if result.missing:
        item.text = MISSING_TEXT
        return
    if not result.payload:
        return
    element: etree._Element | None
    try:
        element = etree.fromstring(result.payload, parser)
    except etree.XMLSyntaxError:
        element = None
    if element is None or element.getroottree().docinfo.internalDTD is not None:
        # A terminal message must always go out, and be well-formed: bytes that
        # are not one plain element (a DOCTYPE would leave dangling entity
        # references) are kept as escaped text rather than crashing the run.
        item.text = _xml_safe_text(result.payload)
    else:
        item.append(element)


# Characters XML 1.0 forbids; lxml refuses them in text.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe_text(payload: bytes) -> str:
    """Payload bytes as text lxml accepts: bad UTF-8 and forbidden characters replaced."""
    return _NOT_XML_CHAR.sub("\ufffd", payload.decode("utf-8", errors="replace"))


def format_results(results: Sequence[ItemResult | None]) -> bytes:
    """Build the ``<results>`` document (UTF-8, no XML declaration).

    ``results[i]`` is index i's result, or None when it has no answer yet
    (formatted ``<item index="i" success="false">missing</item>``, without a
    reason, as the original did). A result's ``index`` must equal its position.
    """
    parser = _payload_parser()
    root = etree.Element("results")
    for position, result in enumerate(results):
        item = etree.SubElement(root, "item", index=str(position))
        if result is None:
            item.set("success", "false")
            item.text = MISSING_TEXT
            continue
        if result.index != position:
            raise ValueError(
                f"result for index {result.index} is at position {position}; "
                "pass results in index order (BufferRun.ordered_results())"
            )
        item.set("success", "true" if result.success else "false")
        if result.reason:
            item.set("reason", result.reason)
        _fill_item(item, result, parser)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _item_result(position: int, item: etree._Element) -> ItemResult | None:
    """Read one ``<item>`` back; None for a reasonless ``missing`` placeholder."""
    index = int(item.get("index", str(position)))
    if index != position:
        raise PayloadError(f"<item index={index!r}> found at position {position}")
    success = item.get("success") == "true"
    reason = item.get("reason", "")
    children = [child for child in item if isinstance(child.tag, str)]
    if children:
        payload = etree.tostring(
            children[0], encoding="UTF-8", xml_declaration=False, with_tail=False
        )
    elif reason == REASON_TIMEOUT or (item.text or "") == MISSING_TEXT:
        payload = b""
    else:
        payload = (item.text or "").encode("utf-8")
    if not success and not reason and not payload:
        return None
    return ItemResult(index, success, payload, reason)


def parse_results(data: str | bytes) -> list[ItemResult | None]:
    """Read a ``<results>`` document (``BufferComplete.results``) back into its results, in order.

    The inverse of ``format_results``: ``parse_results(format_results(rs)) == rs``
    whenever every payload is canonical lxml output of one element (what the
    runtime sends). A reasonless ``missing`` item reads back as None.
    Raises ``PayloadError`` (a ``ValueError``) on anything else.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        root = etree.fromstring(data, _payload_parser())
    except etree.XMLSyntaxError as exc:
        raise PayloadError(f"results are not well-formed XML: {exc}") from exc
    if root.tag != "results":
        raise PayloadError(f"expected a <results> document but got <{root.tag}>")
    items = [child for child in root if child.tag == "item"]
    try:
        return [_item_result(position, item) for position, item in enumerate(items)]
    except ValueError as exc:  # a bad attribute: name it as a results error
        raise PayloadError(f"malformed <results>: {exc}") from exc
