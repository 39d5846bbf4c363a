"""What happens to one delivery around its handler call: parse, check, decode; encode the answer.

Pure functions of a listener's spec, used by whoever runs the call (a worker
process, or the listener itself in process). Nothing here raises: every
failure becomes a ``WorkDone`` of kind ``"huh"`` for the caller. No Thespian.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from ._fields import decode, encode
from .codec import XmlPayload, children_valid, validate
from .dispatch import deadline_passed
from .errors import PayloadError
from .handler import HandlerMetadata, HandlerResponse
from .huh import make_huh
from .messages import ListenerSpec, Work, WorkDone
from .parsed import Parsed, Payload, element_of
from .parsing import OWN_OUTPUT, parse, to_bytes
from .records import lean

__all__ = ["Handling", "Call", "Refusal", "encode_payload", "expired_huh", "EXPIRED"]

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


class Refusal(Exception):
    """A call answered ``<huh>`` instead of by its handler: its payload was refused, or what
    the handler returned cannot be sent. The text is the ``<huh>``'s."""


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
        self.readers = {tag: _reader(cls) for tag, cls in self.classes.items()}
        self.limits = spec.limits
        self.clock = clock
        self.holders: dict[etree._Element, bool] = {}  # a run's items element -> all valid?

    def expired(self, work: Work) -> WorkDone | None:
        """The ``"expired"`` answer when ``work``'s caller's deadline has passed, else None.

        Asked just before a call starts: a call past its deadline is never started.
        """
        late = self.late(work.delivery.deadline)
        return None if late is None else WorkDone(work.job_id, EXPIRED, late)

    def late(self, deadline: float) -> bytes | None:
        """The ``<huh reason="expired">`` for a call whose caller's ``deadline`` (0: none) has
        passed, else None."""
        if not deadline:
            return None
        now = self.clock()
        if not deadline_passed(deadline, now):
            return None
        return expired_huh(self.name, now - deadline)

    def prepare(self, work: Work) -> Call | WorkDone:
        """The call for ``work``, or the ``<huh>`` answer when its payload is refused."""
        delivery = work.delivery
        try:
            payload = self.decode(delivery.payload)
        except Refusal as exc:
            return self.huh(work, str(exc))
        return Call(work, payload, HandlerMetadata(delivery.thread_id, delivery.sender, self.name,
                                                      delivery.attempt))

    def decode(self, data: Payload) -> Any:
        """The handler's payload object for ``data`` (``Refusal`` when it is refused)."""
        try:
            return self._decode(data)
        except Refusal:
            if not isinstance(data, Parsed):
                raise
            # Worded as for its bytes, as on every base (a line then counts from the
            # payload's own start, not from the document it was split from).
            return self._decode(bytes(data))

    def _decode(self, data: Payload) -> Any:
        name = self.name
        try:
            element = element_of(data, self.limits)
        except PayloadError as exc:
            raise Refusal(f"listener {name!r} refused its payload: {exc}") from None
        cls = self.classes.get(element.tag) if isinstance(element.tag, str) else None
        if cls is None:
            expected = " or ".join(f"<{tag}>" for tag in self.classes)
            raise Refusal(f"listener {name!r} expects {expected} but got <{element.tag}>"
                          f" (line {element.sourceline})")
        try:
            self.check(cls, element)
            return self.readers[element.tag](element)
        except PayloadError as exc:
            raise Refusal(f"listener {name!r} {exc}") from None

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
        try:
            kind, data, to = self.answer(result)
        except Refusal as exc:
            return self.huh(work, str(exc), seconds=seconds)
        return WorkDone(work.job_id, kind, data, to, seconds)

    def answer(self, result: Any) -> tuple[str, Payload, str]:
        """``(kind, payload, to)`` for what the handler returned: ``"respond"``, ``"forward"``
        (to ``to``) or ``"none"``; ``Refusal`` when it is not an answer that can be sent."""
        if result is None:
            return "none", b"", ""
        name = self.name
        if not isinstance(result, HandlerResponse):
            raise Refusal(f"Handler {name} returned {type(result).__name__};"
                          " expected HandlerResponse or None")
        try:
            data = _answer_payload(result.payload)
        except (PayloadError, TypeError) as exc:
            raise Refusal(f"Handler {name} returned a payload that is not XML: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the handler's own object failed to encode
            raise Refusal(f"Handler {name} returned a payload that failed to encode:"
                          f" {type(exc).__name__}: {exc}") from None
        return ("forward" if result.to else "respond"), data, result.to

    def crashed(self, work: Work, exc: BaseException) -> WorkDone:
        """The answer for a handler call that raised (it ran once; it is not run again)."""
        return WorkDone(work.job_id, "huh", self.crash_huh(exc))

    def crash_huh(self, exc: BaseException) -> bytes:
        """The ``<huh>`` of a handler call that raised ``exc``."""
        return make_huh(f"Handler {self.name} crashed: {type(exc).__name__}: {exc}")

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


_STOCK_TO_ELEMENT = XmlPayload.to_element
_STOCK_FROM_XML = XmlPayload.__dict__["from_xml"]


def _reader(cls: type[Any]) -> Callable[[etree._Element], Any]:
    """How ``cls`` reads an element: the codec's decode for an ``@xmlify`` class whose
    ``from_xml`` is the stock one (that would only look at its argument's type first), else
    its own ``from_xml``."""
    if inspect.getattr_static(cls, "from_xml", None) is _STOCK_FROM_XML:
        return functools.partial(decode, cls)
    return cast(Callable[[etree._Element], Any], cls.from_xml)


def _new_element(payload: Any) -> etree._Element:
    """A new element for an xmlify object (or any object with ``to_element``, or else
    ``to_bytes``) or XML text."""
    if getattr(type(payload), "to_element", None) is _STOCK_TO_ELEMENT:
        return encode(payload)  # what its to_element does, without the look for a method
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
