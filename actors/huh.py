"""The ``<huh>`` error payload, and how any reply is judged: made and recognized here only.

A ``<huh>`` answers a message that could not be handled: bad XML, a wrong
payload class, a handler that raised, a worker that died
(``<huh reason="exited">``), a call past its timeout, a call not started
because its caller's deadline had passed (``<huh reason="expired">``). Orchestrations fail
with their own error payloads, ``<BufferError>`` and ``<SequenceError>``,
which count as errors too. Payloads reach these functions as the canonical
bytes this runtime writes (no declaration, no leading space), so a prefix
test is exact, or in process as elements (``parsed.Parsed``): their tag and
``reason`` are read. Pure: no Thespian.
"""

from __future__ import annotations

from lxml import etree

from .errors import PayloadError
from .parsed import Parsed, Payload
from .parsing import parse, to_bytes, xml_safe

__all__ = [
    "make_huh", "is_huh", "is_expired", "huh_reason", "error_text", "error_of", "reply_outcome",
    "is_progress", "ERROR_TAGS",
]

ERROR_TAGS = (b"huh", b"BufferError", b"SequenceError")
"""Root tags of a reply that reports a failure."""

_EXITED = b'<huh reason="exited"'
_EXPIRED = b'<huh reason="expired"'
_ERROR_STARTS = tuple(b"<" + tag for tag in ERROR_TAGS)
_ERROR_NAMES = frozenset(tag.decode() for tag in ERROR_TAGS)
_COUNTED_AS = {"exited": "exited", "expired": "timeout"}  # a <huh> reason -> a Buffer's reason


def make_huh(text: str, reason: str | None = None) -> bytes:
    """``<huh>text</huh>`` (optionally ``reason="..."``) as bytes; never raises on odd text."""
    huh = etree.Element("huh")
    if reason is not None:
        huh.set("reason", xml_safe(reason))
    huh.text = xml_safe(text)
    return to_bytes(huh)


def _has_root(payload: bytes, tag: bytes) -> bool:
    return payload.startswith(b"<" + tag) and payload[len(tag) + 1 : len(tag) + 2] in (
        b" ", b">", b"/"
    )


def is_huh(payload: Payload) -> bool:
    """Whether a payload this runtime wrote is a ``<huh>`` error."""
    if isinstance(payload, Parsed):
        return payload.element.tag == "huh"
    return _has_root(payload, b"huh")


def is_expired(payload: Payload) -> bool:
    """Whether a reply is the ``<huh reason="expired">`` of a call its caller's deadline
    passed before: for an ``ask``, a timeout."""
    if isinstance(payload, Parsed):
        return is_huh(payload) and payload.element.get("reason") == "expired"
    return payload.startswith(_EXPIRED)


def huh_reason(payload: Payload) -> str:
    """A ``<huh>``'s reason as a Buffer counts it: ``"exited"`` when its worker died,
    ``"timeout"`` when it expired (the run's deadline passed first: the item is missing),
    else ``"error"``."""
    if isinstance(payload, Parsed):
        return _COUNTED_AS.get(payload.element.get("reason") or "", "error")
    if payload.startswith(_EXITED):
        return "exited"
    return "timeout" if payload.startswith(_EXPIRED) else "error"


def error_text(payload: Payload) -> str:
    """The text of a failed reply: a ``<huh>``'s text, or ``TAG: error`` of a run's error."""
    if isinstance(payload, Parsed):
        return error_of(payload.element)
    try:
        element = parse(payload)
    except PayloadError:
        return bytes(payload).decode("utf-8", "replace")
    return error_of(element)


def error_of(element: etree._Element) -> str:
    """``error_text`` of a failed reply already parsed."""
    if element.tag == "huh":
        return element.text or ""
    error = element.find("Error")
    return f"{element.tag}: {error.text if error is not None else ''}"


def reply_outcome(payload: Payload) -> tuple[bool, str]:
    """``(success, reason)`` of a reply this runtime wrote.

    A ``<huh>``, ``<BufferError>`` or ``<SequenceError>`` is a failure with
    reason ``"error"``; a ``<huh reason="exited">`` keeps reason ``"exited"``, a
    ``<huh reason="expired">`` has ``"timeout"`` (see ``huh_reason``).
    """
    if isinstance(payload, Parsed):
        tag = payload.element.tag
        if tag == "huh":
            return False, huh_reason(payload)
        return (False, "error") if tag in _ERROR_NAMES else (True, "")
    if not payload.startswith(_ERROR_STARTS):  # most replies: one test, 0.8 -> 0.2 us
        return True, ""
    if is_huh(payload):
        return False, huh_reason(payload)
    if any(_has_root(payload, tag) for tag in ERROR_TAGS[1:]):
        return False, "error"
    return True, ""


def is_progress(payload: Payload) -> bool:
    """Whether a reply is a ``BufferProgress`` update rather than the answer it precedes."""
    if isinstance(payload, Parsed):
        return payload.element.tag == "BufferProgress"
    return payload.startswith(b"<BufferProgress>")
