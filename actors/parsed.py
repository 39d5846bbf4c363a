"""A payload already parsed in this process: its element, handed on as it is.

On ``simpleSystemBase`` nothing is pickled between actors, so a Buffer's
items, split from the ``BufferStart`` its service parsed, and a handler's
answer reach their next reader as the elements they are: no item is written
out and parsed again on its way (see "Parse once" in docs/architecture.md).
A message that crosses processes is pickled, and a ``Parsed`` pickles as its
bytes: the multiprocess bases carry bytes, and their receivers parse them.

Rules: a ``Parsed`` has one reader at a time; whoever embeds its element in
a document (a run's ``<results>``) moves it there and sends it nowhere
after. ``within`` names limits the element is known to meet (a Buffer's
service checks all its items at once, ``shape.items_within``), None when
not known (a handler's answer): a listener with limits no tighter takes the
element as it is, any other checks it as its parse would have.
No Thespian.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from .errors import PayloadError
from .limits import ParseLimits
from .parsing import parse, to_bytes
from .shape import check_shape, size_refusal

__all__ = ["Parsed", "Payload", "element_of", "payload_text"]


class Parsed:
    """One payload element of this process (see the module docstring)."""

    __slots__ = ("element", "within")

    def __init__(self, element: etree._Element, within: ParseLimits | None = None) -> None:
        self.element = element
        self.within = within

    def __bytes__(self) -> bytes:
        return to_bytes(self.element)

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (bytes(self),))  # across processes: its bytes

    def __repr__(self) -> str:
        return f"Parsed(<{self.element.tag}>)"


Payload = bytes | Parsed
"""What a message carries as a payload: an element's UTF-8 bytes, or in process the element."""


def element_of(payload: Payload, limits: ParseLimits) -> etree._Element:
    """The payload's element within ``limits``: bytes through the hardened parser, a
    ``Parsed`` checked as that parse would (``PayloadError`` when over a limit)."""
    if type(payload) is bytes:
        return parse(payload, limits)
    assert isinstance(payload, Parsed)
    known = payload.within
    if known is not None and (known is limits or _no_looser(known, limits)):
        return payload.element
    size = len(to_bytes(payload.element))  # not known to fit: measured as a parse would
    refusal = size_refusal(size, limits)
    if refusal:
        raise PayloadError(refusal)
    check_shape(payload.element, size, limits, offset=0)
    return payload.element


def _no_looser(known: ParseLimits, limits: ParseLimits) -> bool:
    return (known.max_bytes <= limits.max_bytes and known.max_depth <= limits.max_depth
            and known.max_elements <= limits.max_elements)


def payload_text(payload: Payload) -> str:
    """The payload as text (a dead letter's ``item``, a log line)."""
    return bytes(payload).decode("utf-8", "replace")
