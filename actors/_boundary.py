"""Payloads crossing the actor system's boundary: requests in, replies out.

Runs in the user's process. A request from outside becomes payload bytes
(an envelope is unwrapped here), refused at once when it is over the size
its target would accept (nothing is sent); a reply becomes a payload object,
an lxml element, or a raised ``ListenerError``.
"""

from __future__ import annotations

import secrets
from typing import Any

from lxml import etree

from .codec import is_xmlify
from .envelope import Envelope, looks_like_envelope
from .errors import ListenerError, PayloadError
from .huh import error_text, is_huh
from .outcomes import decode_element
from .parsed import Parsed, Payload, element_of
from .parsing import DEFAULT_LIMITS, ParseLimits, to_bytes

__all__ = [
    "outside_message", "encode_request", "check_size", "decode_reply", "parse_reply",
    "RUN_REPLIES", "RUN_REPLY_TAGS", "RUN_TARGETS",
]

RUN_REPLY_TAGS = ("BufferComplete", "SequenceComplete", "BufferResults")
"""Replies that hold many payloads: read with ``ParseLimits.for_runs()``."""
RUN_REPLIES = tuple(f"<{tag}".encode() for tag in RUN_REPLY_TAGS)

RUN_TARGETS = frozenset({"system.buffer", "system.sequence"})
"""Targets whose requests hold many payloads: they read them with ``ParseLimits.for_runs()``."""


def outside_message(
    payload: Any, target: str = "", limits: ParseLimits | None = None
) -> tuple[str, bytes]:
    """``(thread_id, payload bytes)`` of a message from outside the system to ``target``.

    An envelope (an ``Envelope`` or its XML text) is unwrapped here, at the
    boundary: its thread is kept and its payload travels on alone. The sender
    is always stamped ``outside``, whatever the envelope's ``from`` says.
    With ``limits`` (the runtime's), a payload over the size ``target`` would
    accept is refused here with a ``PayloadError`` naming both (``check_size``).
    """
    if isinstance(payload, (str, bytes)) and looks_like_envelope(payload):
        caps = limits or DEFAULT_LIMITS
        try:
            payload = Envelope.from_bytes(payload, caps.for_runs() if target in RUN_TARGETS else caps)
        except PayloadError as exc:
            raise PayloadError(f"the envelope for {target!r} was refused before sending: {exc}") from None
    if isinstance(payload, Envelope):
        thread, data = payload.thread or new_thread(), payload.payload
    else:
        thread, data = new_thread(), encode_request(payload)
    if limits is not None:
        check_size(data, target, limits)
    return thread, data


def check_size(data: bytes, target: str, limits: ParseLimits) -> None:
    """Refuse ``data`` for ``target`` before it is sent when ``target`` would refuse it for its size.

    A listener takes ``max_bytes``; ``system.buffer`` and ``system.sequence``
    read a whole run's start, up to ``max_run_bytes``.
    """
    field = "max_run_bytes" if target in RUN_TARGETS else "max_bytes"
    cap: int = getattr(limits, field)
    if len(data) > cap:
        raise PayloadError(
            f"the payload for {target!r} was refused before sending: {len(data):,} bytes is over"
            f" the {cap:,}-byte limit (ParseLimits.{field}); raise Runtime(limits=ParseLimits(...))"
            " if it is expected"
        )


def new_thread() -> str:
    """A new thread id: 128 random bits as 32 hex digits (``uuid4().hex`` took 3.3 us, this
    0.6 us, in every ask)."""
    return secrets.token_hex(16)


def encode_request(payload: Any) -> bytes:
    """Wire bytes for an outside payload; text is passed on unparsed for the listener to judge."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    if is_xmlify(type(payload)):
        data = payload.to_bytes()
        assert isinstance(data, bytes)
        return data
    if isinstance(payload, etree._Element):
        return to_bytes(payload)
    raise TypeError(f"cannot send a {type(payload).__name__}: pass an @xmlify object or XML text")


def decode_reply(
    payload: Payload, target: str, prefer_modules: tuple[str, ...] = (),
    limits: ParseLimits = DEFAULT_LIMITS,
) -> Any:
    """A reply's payload as an xmlify object (known tag) or an lxml element; ``<huh>`` raises.

    When several classes share the reply's tag, the first one defined in
    ``prefer_modules`` wins, else the one decorated last.
    """
    if is_huh(payload):
        raise ListenerError(error_text(payload), target)
    return decode_element(parse_reply(payload, target, limits), prefer_modules)


def parse_reply(payload: Payload, target: str, limits: ParseLimits) -> etree._Element:
    """A reply's element within the runtime's limits (a run's, for a run's answer): bytes
    parsed, an element of this process measured as that parse would; a refusal names both."""
    if isinstance(payload, Parsed):  # in process: a run's answer is its element
        run = payload.element.tag in RUN_REPLY_TAGS
    else:
        run = payload.startswith(RUN_REPLIES)
    caps = limits.for_runs() if run else limits
    try:
        return element_of(payload, caps)
    except PayloadError as exc:
        raise PayloadError(
            f"the reply from {target!r} was refused ({exc}); raise Runtime(limits=ParseLimits(...))"
            " if it is expected, or use rt.stream for a large Buffer"
        ) from None
