"""How a run judges a reply: success, or failure with a reason. Pure."""

from __future__ import annotations

__all__ = ["reply_outcome", "is_progress", "ERROR_TAGS"]

ERROR_TAGS = (b"huh", b"BufferError", b"SequenceError")


def reply_outcome(payload: bytes) -> tuple[bool, str]:
    """``(success, reason)`` of a reply serialized by this runtime.

    A ``<huh>``, ``<BufferError>`` or ``<SequenceError>`` is a failure with
    reason ``"error"``; a ``<huh reason="exited">`` (the worker's process
    died) keeps reason ``"exited"``.
    """
    for tag in ERROR_TAGS:
        if payload.startswith(b"<" + tag) and payload[len(tag) + 1 : len(tag) + 2] in b" >/":
            if tag == b"huh" and payload.startswith(b'<huh reason="exited"'):
                return False, "exited"
            return False, "error"
    return True, ""


def is_progress(payload: bytes) -> bool:
    """Whether a reply is a ``BufferProgress`` update rather than the answer it precedes."""
    return payload.startswith(b"<BufferProgress>")
