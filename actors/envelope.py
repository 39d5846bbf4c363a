"""The envelope: how a message looks when it leaves the process (CLI, files, network).

    <message xmlns="https://xml-pipeline.org/ns/envelope/v1">
      <meta><from>outside</from><to>calculator.add</to><thread>9f…</thread></meta>
      <Add><A>2</A><B>3</B></Add>
    </message>

This is the original bus's wire form, so its messages parse here. Inside an
actor system nothing travels as an envelope or as an lxml element: the
runtime carries the payload's bytes in a ``Delivery`` (see ``messages.py``).
Parsing goes through the hardened parser; building goes through lxml.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lxml import etree

from .errors import PayloadError
from .parsing import DEFAULT_LIMITS, ParseLimits, parse, to_bytes

__all__ = ["ENVELOPE_NS", "Envelope", "looks_like_envelope"]

ENVELOPE_NS = "https://xml-pipeline.org/ns/envelope/v1"
_META_FIELDS = ("from", "to", "thread")


def _q(name: str) -> str:
    return f"{{{ENVELOPE_NS}}}{name}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message with its routing metadata; ``payload`` is the payload element's UTF-8 bytes."""

    sender: str
    target: str
    thread: str
    payload: bytes

    def to_element(self) -> etree._Element:
        """A new ``<message>`` element holding a copy of the payload."""
        # lxml-stubs types nsmap keys as str, but None is how lxml spells the default namespace.
        message = etree.Element(_q("message"), nsmap={None: ENVELOPE_NS})  # type: ignore[dict-item]
        meta = etree.SubElement(message, _q("meta"))
        for name, value in zip(_META_FIELDS, (self.sender, self.target, self.thread), strict=True):
            etree.SubElement(meta, _q(name)).text = value
        message.append(copy.deepcopy(parse(self.payload)))
        return message

    def to_bytes(self) -> bytes:
        """The envelope as UTF-8 bytes without an XML declaration."""
        return to_bytes(self.to_element())

    @classmethod
    def from_bytes(cls, data: str | bytes, limits: ParseLimits = DEFAULT_LIMITS) -> Envelope:
        """Parse an envelope (hardened parser); a missing part is a ``PayloadError`` naming it."""
        return cls.from_element(parse(data, limits))

    @classmethod
    def from_element(cls, root: etree._Element) -> Envelope:
        if root.tag != _q("message"):
            raise PayloadError(
                f"expected an envelope <message xmlns=\"{ENVELOPE_NS}\"> but got <{root.tag}>"
            )
        meta = root.find(_q("meta"))
        if meta is None:
            raise PayloadError(f"envelope without <meta> (line {root.sourceline})")
        values = []
        for name in _META_FIELDS:
            field = meta.find(_q(name))
            values.append("" if field is None else (field.text or "").strip())
        payloads = [child for child in root if isinstance(child.tag, str) and child is not meta]
        if len(payloads) != 1:
            raise PayloadError(
                f"an envelope holds exactly one payload element, got {len(payloads)}"
                f" (line {root.sourceline})"
            )
        return cls(values[0], values[1], values[2], to_bytes(_unqualified(payloads[0])))


def _unqualified(payload: etree._Element) -> etree._Element:
    """A copy of the payload with the envelope's namespace taken off its elements.

    Written inside ``<message xmlns="...">``, a payload's elements inherit
    the envelope's default namespace unless they say ``xmlns=""``; payload
    classes know only local names, so both spellings mean the same payload.
    """
    payload = copy.deepcopy(payload)
    prefix = f"{{{ENVELOPE_NS}}}"
    for element in payload.iter():
        if isinstance(element.tag, str) and element.tag.startswith(prefix):
            element.tag = element.tag[len(prefix):]
    etree.cleanup_namespaces(payload)
    return payload


def looks_like_envelope(data: str | bytes) -> bool:
    """A cheap test, before parsing, of whether text is meant as an envelope."""
    head = data[:512].encode("utf-8", "replace") if isinstance(data, str) else data[:512]
    return b"<message" in head and ENVELOPE_NS.encode() in head
