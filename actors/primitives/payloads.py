"""The payloads of ``system.buffer`` and ``system.sequence`` (public contract).

Field names, order and defaults are those of the original bus, so its
messages parse here; fields added by xmlactors come after them.
``Xml`` fields carry XML elements (embedded as elements on the wire, never
as escaped text); on input they also accept the original's escaped-text form.
From Python they also take the elements themselves (payload objects, lxml
elements, or a list of those): kept as given and embedded when the payload
is written, so no item is written to text and parsed back on the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from ..codec import Xml, XmlPayload, xmlify
from ..handling import encode_payload
from ..messages import BufferItem

__all__ = [
    "BufferStart",
    "BufferComplete",
    "BufferDispatched",
    "BufferError",
    "BufferProgress",
    "BufferResults",
    "BufferCancel",
    "BufferItem",
    "DeadLetter",
    "SequenceStart",
    "SequenceComplete",
    "SequenceError",
    "items_text",
]


def items_text(items: Iterable[Any]) -> Xml:
    """The wire form of a list of items (xmlify objects, XML text or elements): one per line."""
    return Xml("\n".join(encode_payload(item).decode("utf-8") for item in items))


@xmlify
@dataclass
class BufferStart(XmlPayload):
    """Fan ``items`` out to listener ``target``; one terminal reply (see docs/fan-out.md).

    ``items`` is XML elements one after another, or from Python a list of
    xmlify objects, lxml elements or XML strings (kept as a list, embedded
    as elements when the start is written).
    """

    target: str = ""
    items: Xml = Xml("")
    collect: bool = True
    return_to: str = ""
    buffer_id: str = ""
    timeout: float = 0.0
    max_in_flight: int = 0
    progress: bool = False
    stream: bool = False
    """Send each result to the requester as it comes (``BufferResults``); the terminal
    ``BufferComplete`` then holds the counts only (used by ``Runtime.stream``)."""
    retries: int = 0
    """Attempts an item gets after its first, for the reasons in ``retry_on``."""
    retry_backoff: float = 0.1
    """Seconds: the base of the exponential backoff (full jitter) between attempts."""
    retry_on: str = "timeout exited error"
    item_timeout: float = 0.0
    """Seconds one attempt may take (0: only the run's ``timeout`` bounds it)."""
    dead_letter: str = ""
    """A listener told each item that failed for good, as a ``DeadLetter``."""
    durable: bool = False
    """Record the run and each result in the runtime's journal (``Runtime(journal=...)``),
    so that ``Runtime.resume`` can finish it after a crash."""

    def __post_init__(self) -> None:
        if isinstance(self.items, bytes):
            self.items = Xml(self.items.decode("utf-8"))
        elif not isinstance(self.items, str):
            self.items = cast(Xml, list(self.items))  # the codec embeds a list of parts
        elif not isinstance(self.items, Xml):
            self.items = Xml(self.items)


@xmlify
@dataclass
class BufferComplete(XmlPayload):
    """The terminal message of a collecting run: every index, in order, in ``results``."""

    buffer_id: str = ""
    total: int = 0
    successful: int = 0
    results: Xml = Xml("")
    failed: int = 0
    missing: int = 0


@xmlify
@dataclass
class BufferDispatched(XmlPayload):
    """The immediate reply of a fire-and-forget run (``collect=False``)."""

    buffer_id: str = ""
    total: int = 0


@xmlify
@dataclass
class BufferError(XmlPayload):
    """A run refused at admission (nothing was created or dispatched)."""

    buffer_id: str = ""
    error: str = ""


@xmlify
@dataclass
class BufferProgress(XmlPayload):
    """Sent while a run with ``progress=True`` goes on: ``done`` of ``total`` items answered."""

    buffer_id: str = ""
    done: int = 0
    total: int = 0


@xmlify
@dataclass
class BufferResults(XmlPayload):
    """Sent while a run with ``stream=True`` goes on: results that came since the last one.

    ``results`` is a ``<results>`` document of those items only, each with its index.
    """

    buffer_id: str = ""
    results: Xml = Xml("")
    done: int = 0
    total: int = 0


@xmlify
@dataclass
class DeadLetter(XmlPayload):
    """Told to a Buffer's ``dead_letter`` listener for each item that failed for good:
    ``item`` as it was sent, ``error`` its last answer (a ``<huh>``; empty when missing)."""

    buffer_id: str = ""
    index: int = 0
    reason: str = ""
    attempts: int = 1
    item: Xml = Xml("")
    error: Xml = Xml("")


@xmlify
@dataclass
class BufferCancel(XmlPayload):
    """Sent to ``system.buffer`` by whoever started run ``buffer_id``: end it now.

    The run stops dispatching, counts what is still out as missing, and sends
    its terminal message as at its deadline.
    """

    buffer_id: str = ""


@xmlify
@dataclass
class SequenceStart(XmlPayload):
    """Run ``steps`` in order, each output feeding the next (see docs/chaining.md).

    ``steps`` is comma-separated listener names, or from Python a list.
    """

    steps: str = ""
    payload: Xml = Xml("")
    return_to: str = ""
    sequence_id: str = ""
    timeout: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.steps, str):
            self.steps = ",".join(self.steps)
        if isinstance(self.payload, bytes):
            self.payload = Xml(self.payload.decode("utf-8"))
        elif not isinstance(self.payload, str):
            pass  # an object or element: the codec embeds it as it is
        elif not isinstance(self.payload, Xml):
            self.payload = Xml(self.payload)

    def step_names(self) -> list[str]:
        """The steps as a list (blank entries dropped)."""
        return [step.strip() for step in self.steps.split(",") if step.strip()]


@xmlify
@dataclass
class SequenceComplete(XmlPayload):
    """The terminal message of a run whose every step answered."""

    sequence_id: str = ""
    final_result: Xml = Xml("")
    step_count: int = 0


@xmlify
@dataclass
class SequenceError(XmlPayload):
    """The terminal message of a run refused at admission or stopped by a failing step."""

    sequence_id: str = ""
    failed_step: str = ""
    step_index: int = 0
    error: str = ""
