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
Everything here is pure (no Thespian); every parse and write goes through the
one hardened parser (``actors.parsing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from ..errors import PayloadError
from ..parsed import Parsed, Payload
from ..parsing import OWN_OUTPUT, parse, to_bytes, xml_safe
from ..records import lean

__all__ = [
    "MISSING_TEXT",
    "REASONS",
    "REASON_ERROR",
    "REASON_EXITED",
    "REASON_TIMEOUT",
    "ItemResult",
    "format_results",
    "parse_results",
    "results_element",
    "embeddable",
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


@lean
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
    payload: Payload
    reason: str = ""
    attempts: int = 1
    """How many times the item was sent (1 if never; written ``attempts="N"`` only above 1)."""

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




def embeddable(payload: Payload) -> etree._Element | str:
    """An answer this runtime wrote, ready to embed in a terminal message: its element
    (in process already parsed: taken as it is, and so moved into the message).

    A terminal message must always go out, and be well-formed: bytes that are
    not one plain element come back as safe text (embedded escaped) rather
    than crashing the run.
    """
    if isinstance(payload, Parsed):
        return payload.element
    try:
        return parse(payload, OWN_OUTPUT)
    except PayloadError:
        return _xml_safe_text(payload)


def _fill_item(item: etree._Element, result: ItemResult) -> None:
    """Put one result's payload into its ``<item>``: as an element when it parses."""
    if result.missing:
        item.text = MISSING_TEXT
        return
    if not result.payload:
        return
    content = embeddable(result.payload)
    if isinstance(content, str):
        item.text = content
    else:
        item.append(content)


def _xml_safe_text(payload: bytes) -> str:
    """Payload bytes as text lxml accepts: bad UTF-8 replaced, forbidden characters escaped."""
    return xml_safe(payload.decode("utf-8", errors="replace"))


def format_results(results: Sequence[ItemResult | None]) -> bytes:
    """The ``<results>`` document (UTF-8, no XML declaration): see ``results_element``."""
    return to_bytes(results_element(results))


def results_element(
    results: Sequence[ItemResult | None], positions: bool = True
) -> etree._Element:
    """Build the ``<results>`` element, to embed in a ``BufferComplete`` as it is.

    ``results[i]`` is index i's result, or None when it has no answer yet
    (formatted ``<item index="i" success="false">missing</item>``, without a
    reason, as the original did). A result's ``index`` must equal its position,
    unless ``positions`` is False: some results of a run, in any order (a
    ``BufferResults`` of a streaming run), each written at its own index.
    """
    # Every <item> with its attributes is written as text and parsed at once, then each
    # answer is moved into its own: an attribute set() costs about as much as parsing a
    # whole <item> (~7,000 instructions against ~5,000 an item, counted here).
    heads = [_item_head(position, result, positions) for position, result in enumerate(results)]
    root = parse(f"<results>{''.join(heads)}</results>", OWN_OUTPUT)
    for item, result in zip(root, results, strict=True):
        if result is not None:
            _fill_item(item, result)
    return root


def _item_head(position: int, result: ItemResult | None, positions: bool) -> str:
    """One ``<item>`` without its payload, as text (every value written is a number or a
    word of ``REASONS``: nothing needs escaping)."""
    if result is None:
        return f'<item index="{position}" success="false">{MISSING_TEXT}</item>'
    if positions and result.index != position:
        raise ValueError(
            f"result for index {result.index} is at position {position}; "
            "pass results in index order (BufferRun.ordered_results())"
        )
    index = position if positions else result.index
    if result.success and result.attempts == 1:  # the usual one
        return f'<item index="{index}" success="true"/>'
    success = "true" if result.success else "false"
    reason = f' reason="{result.reason}"' if result.reason else ""
    attempts = f' attempts="{result.attempts}"' if result.attempts > 1 else ""
    return f'<item index="{index}" success="{success}"{reason}{attempts}/>'


def _item_result(position: int, item: etree._Element) -> ItemResult | None:
    """Read one ``<item>`` back; None for a reasonless ``missing`` placeholder."""
    index = int(item.get("index", str(position)))
    if index != position:
        raise PayloadError(f"<item index={index!r}> found at position {position}")
    success = item.get("success") == "true"
    reason = item.get("reason", "")
    children = [child for child in item if isinstance(child.tag, str)]
    if children:
        payload = to_bytes(children[0])
    elif reason == REASON_TIMEOUT or (item.text or "") == MISSING_TEXT:
        payload = b""
    else:
        payload = (item.text or "").encode("utf-8")
    if not success and not reason and not payload:
        return None
    if not success and not reason:
        reason = REASON_ERROR  # the original bus wrote failures without a reason
    return ItemResult(index, success, payload, reason, int(item.get("attempts", "1")))


def parse_results(data: str | bytes | etree._Element) -> list[ItemResult | None]:
    """Read a ``<results>`` document (``BufferComplete.results``) back into its results, in order.

    The inverse of ``format_results``: ``parse_results(format_results(rs)) == rs``
    whenever every payload is canonical lxml output of one element (what the
    runtime sends). A reasonless ``missing`` item reads back as None.
    Raises ``PayloadError`` (a ``ValueError``) on anything else.
    """
    if isinstance(data, etree._Element):
        root = data
    else:
        try:
            root = parse(data, OWN_OUTPUT)
        except PayloadError as exc:
            raise PayloadError(f"results are not well-formed XML: {exc}") from exc
    if root.tag != "results":
        raise PayloadError(f"expected a <results> document but got <{root.tag}>")
    items = [child for child in root if child.tag == "item"]
    try:
        return [_item_result(position, item) for position, item in enumerate(items)]
    except ValueError as exc:  # a bad attribute: name it as a results error
        raise PayloadError(f"malformed <results>: {exc}") from exc
