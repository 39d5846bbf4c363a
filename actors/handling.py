"""What happens to one delivery around its handler call: parse, check, decode; encode the answer.

Pure functions of a listener's spec, used by whoever runs the call (a worker
process, or the listener itself in process). Nothing here raises: every
failure becomes a ``WorkDone`` of kind ``"huh"`` for the caller. No Thespian.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .codec import validate
from .dispatch import deadline_passed
from .errors import PayloadError
from .handler import HandlerMetadata, HandlerResponse
from .huh import make_huh
from .messages import ListenerSpec, Work, WorkDone
from .parsing import parse, to_bytes

__all__ = ["Handling", "Call", "encode_payload", "expired_huh", "EXPIRED"]

EXPIRED = "expired"
"""The ``reason`` of the ``<huh>`` that answers a call whose caller's deadline passed first."""


def expired_huh(listener: str, late: float) -> bytes:
    """The ``<huh reason="expired">`` for a call not started: its caller's deadline passed
    ``late`` seconds before its turn came."""
    return make_huh(
        f"Listener {listener} did not start this call: the caller's deadline passed"
        f" {late:.3f} s before the call could start",
        reason=EXPIRED,
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One handler call, ready to run: the decoded payload and what the handler is told."""

    work: Work
    payload: Any
    meta: HandlerMetadata


class Handling:
    """A listener's handler with what it needs around each call: classes by tag, limits.

    ``clock`` (``time.time`` in the runtime, a fake in tests) judges deadlines.
    """

    def __init__(self, spec: ListenerSpec, clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.name = spec.name
        self.classes: dict[str, Any] = {
            getattr(cls, "__xml_tag__", cls.__name__): cls for cls in spec.payload_classes
        }
        self.limits = spec.limits
        self.clock = clock

    def expired(self, work: Work) -> WorkDone | None:
        """The ``"expired"`` answer when ``work``'s caller's deadline has passed, else None.

        Asked just before a call starts: a call past its deadline is never started.
        """
        deadline = work.delivery.deadline
        if not deadline:
            return None
        now = self.clock()
        if not deadline_passed(deadline, now):
            return None
        return WorkDone(work.job_id, EXPIRED, expired_huh(self.name, now - deadline))

    def prepare(self, work: Work) -> Call | WorkDone:
        """The call for ``work``, or the ``<huh>`` answer when its payload is refused."""
        name, delivery = self.name, work.delivery
        try:
            element = parse(delivery.payload, self.limits)
        except PayloadError as exc:
            return self.huh(work, f"listener {name!r} refused its payload: {exc}")
        cls = self.classes.get(element.tag) if isinstance(element.tag, str) else None
        if cls is None:
            expected = " or ".join(f"<{tag}>" for tag in self.classes)
            return self.huh(
                work,
                f"listener {name!r} expects {expected} but got <{element.tag}>"
                f" (line {element.sourceline})",
            )
        try:
            validate(cls, element)
            payload = cls.from_xml(element)
        except PayloadError as exc:
            return self.huh(work, f"listener {name!r} {exc}")
        return Call(work, payload, HandlerMetadata(delivery.thread_id, delivery.sender, name,
                                                      delivery.attempt))

    def outcome(self, work: Work, result: Any, seconds: float = 0.0) -> WorkDone:
        """The answer for what the handler returned (``None``: the thread ends here) in a call
        of ``seconds``."""
        name = self.name
        if result is None:
            return WorkDone(work.job_id, "none", seconds=seconds)
        if not isinstance(result, HandlerResponse):
            return self.huh(
                work,
                f"Handler {name} returned {type(result).__name__};"
                " expected HandlerResponse or None", seconds=seconds,
            )
        try:
            data = encode_payload(result.payload)
        except (PayloadError, TypeError) as exc:
            return self.huh(work, f"Handler {name} returned a payload that is not XML: {exc}",
                            seconds=seconds)
        except Exception as exc:  # noqa: BLE001 - the handler's own object failed to encode
            return self.huh(work, f"Handler {name} returned a payload that failed to encode:"
                                  f" {type(exc).__name__}: {exc}", seconds=seconds)
        return WorkDone(work.job_id, "forward" if result.to else "respond", data, result.to, seconds)

    def crashed(self, work: Work, exc: BaseException) -> WorkDone:
        """The answer for a handler call that raised (it ran once; it is not run again)."""
        return self.huh(work, f"Handler {self.name} crashed: {type(exc).__name__}: {exc}")

    def too_slow(self, work: Work) -> WorkDone:
        """The answer for a call still running at the listener's ``timeout``."""
        return self.huh(work, f"Handler {self.name} did not answer within {self.spec.timeout:g} s")

    @staticmethod
    def huh(work: Work, text: str, reason: str | None = None, seconds: float = 0.0) -> WorkDone:
        return WorkDone(work.job_id, "huh", make_huh(text, reason), seconds=seconds)


def encode_payload(payload: Any) -> bytes:
    """The wire bytes of a handler's payload: an xmlify object, XML text or an element."""
    to_bytes_method = getattr(payload, "to_bytes", None)
    if callable(to_bytes_method) and not isinstance(payload, (bytes, str)):
        data = to_bytes_method()
        assert isinstance(data, bytes)
        return data
    if isinstance(payload, etree._Element):
        return to_bytes(payload)
    if isinstance(payload, (str, bytes)):
        return to_bytes(parse(payload))
    raise TypeError(f"cannot send a {type(payload).__name__} as a payload")
