"""Buffers and Sequences in one call from Python: ``Runtime.map``, ``buffer``, ``stream``, ``sequence``.

Thin layers over the wire payloads (``BufferStart``, ``SequenceStart``): the
contract stays, and what a listener sends is unchanged. Each reads the run's
answer once, with the runtime's run limits, and decodes every item's element
straight into its class. ``stream`` starts the Buffer with ``stream=True``:
results come in ``BufferResults`` as they finish, so no answer ever holds the
whole run, and leaving the iteration early cancels the run.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol, cast

from lxml import etree

from ._boundary import parse_reply
from .codec import Xml
from .errors import (
    AskTimeoutError,
    BufferFailedError,
    ListenerError,
    SequenceFailedError,
    UnknownListenerError,
)
from .huh import error_of, is_huh
from .journal import Journal
from .outcomes import BufferOutcome, ItemFailure, decode_element, read_items
from .parsed import Payload
from .parsing import ParseLimits
from .primitives.payloads import BufferCancel, BufferStart, SequenceStart
from .primitives.results import results_element


class Runtime(Protocol):
    """What these functions need of a ``Runtime`` (so this module does not import it)."""

    limits: ParseLimits
    run_deadline: float
    modules: tuple[str, ...]

    def exchange(
        self, target: str, payload: Any, streamed: bool = False
    ) -> AbstractContextManager[Callable[[float], Payload | None]]: ...

    def tell(self, target: str, payload: Any) -> None: ...

__all__ = ["run_map", "run_buffer", "run_stream", "run_sequence", "resume_run", "ANSWER_MARGIN"]

BUFFER, SEQUENCE = "system.buffer", "system.sequence"
ANSWER_MARGIN = 10.0
"""Seconds the caller waits past a run's own deadline: the run answers by then, always."""

_UNKNOWN = "Unknown target listener: "


def _wait(runtime: Runtime, timeout: float | None) -> float:
    """How long to wait for a run whose ``timeout`` is this (0 or None: the runtime's deadline)."""
    return (timeout or runtime.run_deadline) + ANSWER_MARGIN


def _element(runtime: Runtime, reply: Payload | None, service: str, wait: float) -> etree._Element:
    """A service's reply, parsed with the run limits; a refusal of the run raises."""
    if reply is None:
        raise AskTimeoutError(service, wait)
    element = parse_reply(reply, service, runtime.limits)
    if is_huh(reply) or element.tag == "BufferError":
        text = error_of(element)
        if text.startswith(f"BufferError: {_UNKNOWN}"):
            raise UnknownListenerError(text.removeprefix(f"BufferError: {_UNKNOWN}"))
        raise ListenerError(text, service)
    return element


def _answer(runtime: Runtime, service: str, start: Any, timeout: float | None) -> etree._Element:
    """Run ``start`` through ``service`` and return its parsed terminal message."""
    wait = _wait(runtime, timeout)
    with runtime.exchange(service, start) as replies:
        reply = replies(time.monotonic() + wait)
    return _element(runtime, reply, service, wait)


def _parts(items: Iterable[Any]) -> Xml:
    """The items as ``BufferStart`` takes them from Python: a list, embedded as elements."""
    return cast(Xml, list(items))


def _counts(done: etree._Element) -> tuple[int, int, int, int]:
    total, ok, failed, missing = (int(done.findtext(tag) or "0")
                                  for tag in ("Total", "Successful", "Failed", "Missing"))
    return total, ok, failed, missing


def run_buffer(runtime: Runtime, target: str, items: Iterable[Any], timeout: float | None,
               options: dict[str, Any]) -> BufferOutcome:
    """One Buffer, decoded: values at their indexes, failures with their reasons."""
    start = BufferStart(target=target, items=_parts(items), timeout=timeout or 0.0, **options)
    done = _answer(runtime, BUFFER, start, timeout)
    return _outcome(done.findtext("BufferId") or "", _counts(done), done.find("Results/results"),
                    runtime.modules)


def _outcome(buffer_id: str, counts: tuple[int, int, int, int], results: Any,
             modules: tuple[str, ...]) -> BufferOutcome:
    """A ``BufferOutcome`` from a ``<results>`` element and the run's counts."""
    total, successful, failed, missing = counts
    values: list[Any] = [None] * total
    failures: list[ItemFailure] = []
    for index, value in read_items(results, modules) if results is not None else ():
        if isinstance(value, ItemFailure):
            failures.append(value)
        else:
            values[index] = value
    return BufferOutcome(buffer_id, total, successful, failed, missing, values, failures)


def resume_run(runtime: Runtime, journal: Journal, buffer_id: str,
               timeout: float | None) -> BufferOutcome:
    """Finish durable run ``buffer_id`` of ``journal``: its items with no recorded result are
    sent again (as the same durable run, which knows the rest), and the whole outcome comes
    back. A run that had finished is answered from the journal alone."""
    record = journal.run(buffer_id)
    options = {k: v for k, v in record.options.items() if k not in ("collect", "timeout")}
    if record.done:
        known = journal.results(buffer_id)
        items = [known.get(i) for i in range(record.total)]
        counts = (record.total, sum(1 for r in items if r and r.success),
                  sum(1 for r in items if r and not r.success and not r.missing),
                  sum(1 for r in items if r is None or r.missing))
        return _outcome(buffer_id, counts, results_element(items), runtime.modules)
    sent = [Xml(item.decode("utf-8")) for item in journal.items(buffer_id)]
    wait = timeout if timeout is not None else record.options.get("timeout") or None
    return run_buffer(runtime, record.target, sent, wait,
                      {**options, "buffer_id": buffer_id, "durable": True})


def run_map(runtime: Runtime, target: str, items: Iterable[Any], timeout: float | None,
            options: dict[str, Any]) -> list[Any]:
    """The decoded results in index order; ``BufferFailedError`` if any item gave no value."""
    outcome = run_buffer(runtime, target, items, timeout, options)
    if not outcome.ok:
        raise BufferFailedError(outcome)
    return outcome.values


def run_stream(runtime: Runtime, target: str, items: Iterable[Any], timeout: float | None,
               options: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    """``(index, value or ItemFailure)`` as items finish; leaving early cancels the run."""
    options = {"buffer_id": secrets.token_hex(4), **options}  # known here, so it can be cancelled
    start = BufferStart(target=target, items=_parts(items), timeout=timeout or 0.0, stream=True,
                        **options)
    wait = _wait(runtime, timeout)
    deadline = time.monotonic() + wait
    finished = False
    with runtime.exchange(BUFFER, start, streamed=True) as replies:
        try:
            while not finished:
                element = _element(runtime, replies(deadline), BUFFER, wait)
                finished = element.tag != "BufferResults"
                results = element.find("Results/results")
                if results is not None:
                    yield from read_items(results, runtime.modules)
        finally:
            if not finished:  # the caller stopped early, or the wait ran out: no run left behind
                runtime.tell(BUFFER, BufferCancel(start.buffer_id))


def run_sequence(runtime: Runtime, steps: Iterable[str] | str, payload: Any,
                 timeout: float | None, options: dict[str, Any]) -> Any:
    """The last step's answer, decoded; ``SequenceFailedError`` naming the step that failed."""
    names = [steps] if isinstance(steps, str) else list(steps)
    start = SequenceStart(steps=",".join(names), payload=payload, timeout=timeout or 0.0, **options)
    done = _answer(runtime, SEQUENCE, start, timeout)
    if done.tag == "SequenceError":
        raise SequenceFailedError(
            done.findtext("SequenceId") or "", done.findtext("FailedStep") or "",
            int(done.findtext("StepIndex") or "0"), done.findtext("Error") or "",
        )
    holder = done.find("FinalResult")
    final = [] if holder is None else [c for c in holder if isinstance(c.tag, str)]
    return decode_element(final[0], runtime.modules) if final else None
