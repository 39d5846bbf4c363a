"""The worker: one actor that parses, validates and runs a listener's handler.

A listener with ``workers=N`` owns N of these (one process each on the
multiprocess bases). A worker knows nothing of routing: it turns a ``Work``
into a ``WorkDone`` for its supervisor, which sends the result on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ._shell import Shell
from .codec import validate
from .errors import PayloadError
from .handler import HandlerMetadata, HandlerResponse, call_handler
from .messages import Address, ListenerSpec, Work, WorkDone, WorkerReady
from .parsing import ParseLimits, make_huh, parse, to_bytes

__all__ = ["WorkerActor", "WorkerInit", "encode_payload", "handle_work"]


@dataclass(frozen=True, slots=True)
class WorkerInit:
    """Sent once to a new worker: its listener's spec and its slot number."""

    spec: ListenerSpec
    slot: int


class Handling:
    """A listener's handler with what it needs to run: classes by tag and limits."""

    def __init__(self, spec: ListenerSpec) -> None:
        self.spec = spec
        self.classes: dict[str, Any] = {
            getattr(cls, "__xml_tag__", cls.__name__): cls for cls in spec.payload_classes
        }
        self.limits = ParseLimits(spec.max_bytes, spec.max_depth, spec.max_elements)

    def expected(self) -> str:
        return " or ".join(f"<{tag}>" for tag in self.classes)


def handle_work(handling: Handling, work: Work) -> WorkDone:
    """Run one delivery through parse, schema, handler; never raises."""
    spec, delivery = handling.spec, work.delivery
    name = spec.name
    try:
        element = parse(delivery.payload, handling.limits)
    except PayloadError as exc:
        return _huh(work, f"listener {name!r} refused its payload: {exc}")
    cls = handling.classes.get(element.tag) if isinstance(element.tag, str) else None
    if cls is None:
        return _huh(
            work,
            f"listener {name!r} expects {handling.expected()} but got <{element.tag}>"
            f" (line {element.sourceline})",
        )
    try:
        validate(cls, element)
        payload = cls.from_xml(element)
    except PayloadError as exc:
        return _huh(work, f"listener {name!r} {exc}")
    meta = HandlerMetadata(delivery.thread_id, delivery.sender, name)
    try:
        result = call_handler(spec.handler, payload, meta)
    except Exception as exc:  # noqa: BLE001 - any handler failure goes back to its caller once
        return _huh(work, f"Handler {name} crashed: {type(exc).__name__}: {exc}")
    return _outcome(work, name, result)


def _outcome(work: Work, name: str, result: Any) -> WorkDone:
    if result is None:
        return WorkDone(work.job_id, "none")
    if not isinstance(result, HandlerResponse):
        return _huh(
            work,
            f"Handler {name} returned {type(result).__name__};"
            " expected HandlerResponse or None",
        )
    try:
        data = encode_payload(result.payload)
    except (PayloadError, TypeError) as exc:
        return _huh(work, f"Handler {name} returned a payload that is not XML: {exc}")
    except Exception as exc:  # noqa: BLE001 - the handler's own object failed to encode
        return _huh(work, f"Handler {name} returned a payload that failed to encode:"
                          f" {type(exc).__name__}: {exc}")
    return WorkDone(work.job_id, "forward" if result.to else "respond", data, result.to)


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


def _huh(work: Work, text: str) -> WorkDone:
    return WorkDone(work.job_id, "huh", make_huh(text))


class WorkerActor(Shell):
    """Thin shell: ``WorkerInit`` once, then ``Work`` in, ``WorkDone`` out to the sender."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handling: Handling | None = None

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Work) and self.handling is not None:
            self.send(sender, handle_work(self.handling, message))
        elif isinstance(message, WorkerInit):
            self.handling = Handling(message.spec)
            self.send(sender, WorkerReady(message.slot, os.getpid()))

