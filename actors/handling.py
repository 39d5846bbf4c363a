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

from .codec import children_valid, validate
from .dispatch import deadline_passed
from .errors import PayloadError
from .handler import HandlerMetadata, HandlerResponse
from .huh import make_huh
from .messages import ListenerSpec, Work, WorkDone
from .parsed import Parsed, Payload, element_of
from .parsing import OWN_OUTPUT, parse, to_bytes
from .records import lean

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


HOLDERS_KEPT = 4
"""Buffer runs whose items' verdict a listener keeps (their items' documents stay alive
until as many later runs have come): a few runs may interleave their batches."""


@lean
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
        self.holders: dict[etree._Element, bool] = {}  # a run's items element -> all valid?

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
        call = self._prepare(work, work.delivery.payload)
        if isinstance(call, WorkDone) and isinstance(work.delivery.payload, Parsed):
            # Refused: worded as for its bytes, as on every base (a line then counts from
            # the payload's own start, not from the document it was split from).
            return self._prepare(work, bytes(work.delivery.payload))
        return call

    def _prepare(self, work: Work, data: Payload) -> Call | WorkDone:
        name, delivery = self.name, work.delivery
        try:
            element = element_of(data, self.limits)
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
            self.check(cls, element)
            payload = cls.from_xml(element)
        except PayloadError as exc:
            return self.huh(work, f"listener {name!r} {exc}")
        return Call(work, payload, HandlerMetadata(delivery.thread_id, delivery.sender, name,
                                                      delivery.attempt))

    def check(self, cls: type[Any], element: etree._Element) -> None:
        """Validate ``element`` against ``cls``'s schema (``PayloadError`` if it fails). A
        Buffer's item, split from its run's items element, is judged with all of them at
        once, the first time one arrives; alone only when one of them fails."""
        holder = element.getparent()
        if holder is not None and len(self.classes) == 1:
            verdict = self.holders.get(holder)
            if verdict is None:
                verdict = self.holders[holder] = children_valid(cls, holder)
                if len(self.holders) > HOLDERS_KEPT:
                    del self.holders[next(iter(self.holders))]
            if verdict:
                return
        validate(cls, element)

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
            data = _answer_payload(result.payload)
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
    return bytes(_answer_payload(payload))


def _answer_payload(payload: Any) -> bytes | Parsed:
    """A handler's payload as its answer carries it: a new element as it is (written only
    if it leaves the process), an element of the handler's own as its bytes (the handler
    may keep it, send it again or change it)."""
    if isinstance(payload, etree._Element):
        return to_bytes(payload)
    return Parsed(_new_element(payload))


def _new_element(payload: Any) -> etree._Element:
    """A new element for an xmlify object (or any object with ``to_element``, or else
    ``to_bytes``) or XML text."""
    if isinstance(payload, (str, bytes)):
        return parse(payload)
    for method in ("to_element", "to_bytes"):
        made = getattr(payload, method, None)
        if callable(made):
            value = made()
            if isinstance(value, bytes):  # the receiver applies its own limits
                value = parse(value, OWN_OUTPUT)
            if not isinstance(value, etree._Element):
                raise TypeError(f"{type(payload).__name__}.{method}() returned"
                                f" {type(value).__name__}, not an element")
            return value
    raise TypeError(f"cannot send a {type(payload).__name__} as a payload")
