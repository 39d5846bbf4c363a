"""Properties every Buffer and Sequence run must have, checked on a live runtime.

Use them inside a Hypothesis test that shares one started runtime across its
examples (see docs/testing.md). Each check raises ``AssertionError`` with a
message naming the index, what was expected and what came back, so that
Hypothesis can shrink a failure to the smallest scenario.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..codec import is_xmlify
from ..parsed import payload_text
from ..primitives.payloads import (
    BufferComplete,
    BufferStart,
    SequenceComplete,
    SequenceError,
    SequenceStart,
    items_text,
)
from ..primitives.results import REASONS, ItemResult, parse_results
from ..runtime import Runtime
from .kit import wait_until_idle

__all__ = ["buffer_invariants", "check_buffer", "run_buffer", "run_sequence"]

T = TypeVar("T")

Prediction = Any
"""What ``predict(index, item)`` returns for one item: the ``@xmlify`` object the
target should answer (a success), or the reason it should fail: ``"error"``,
``"timeout"`` (missing at the deadline) or ``"exited"`` (its worker died)."""


def run_buffer(
    runtime: Runtime,
    target: str,
    items: Sequence[Any],
    *,
    timeout: float = 5.0,
    max_in_flight: int = 0,
    buffer_id: str = "",
    ask_timeout: float | None = None,
) -> BufferComplete:
    """Fan ``items`` out to ``target`` through ``system.buffer``; the ``BufferComplete`` it answers.

    ``timeout`` is the run's deadline; the ask waits ``ask_timeout`` (default
    ``timeout + 30``) for the one terminal message. Anything else is an ``AssertionError``.
    """
    start = BufferStart(target=target, items=items_text(items), timeout=timeout,
                        max_in_flight=max_in_flight, buffer_id=buffer_id)
    wait = timeout + 30.0 if ask_timeout is None else ask_timeout
    reply = runtime.ask("system.buffer", start, timeout=wait)
    if not isinstance(reply, BufferComplete):
        raise AssertionError(f"system.buffer should answer BufferComplete for {target!r}, got {reply!r}")
    return reply


def buffer_invariants(done: BufferComplete, total: int) -> list[ItemResult]:
    """Check what holds for every ``BufferComplete`` of ``total`` items; returns its results.

    ``total`` matches; every index 0..total-1 appears once, in order; the counts
    ``successful``, ``failed`` and ``missing`` match the results and add up to ``total``.
    """
    parsed = parse_results(done.results.encode("utf-8"))
    results = [r for r in parsed if r is not None]
    problems = []
    if len(results) != len(parsed):
        problems.append("some items have no result at all (an unfilled index)")
    if done.total != total:
        problems.append(f"total is {done.total}, expected {total}")
    indexes = [r.index for r in results]
    if indexes != list(range(total)):
        problems.append(f"result indexes are {indexes}, expected each of 0..{total - 1} once, in order")
    counted = (
        sum(r.success for r in results),
        sum(not r.success and not r.missing for r in results),
        sum(r.missing for r in results),
    )
    if (done.successful, done.failed, done.missing) != counted:
        problems.append(f"(successful, failed, missing) is {(done.successful, done.failed, done.missing)}"
                        f" but the results hold {counted}")
    if done.successful + done.failed + done.missing != done.total:
        problems.append("successful + failed + missing != total")
    if problems:
        raise AssertionError(f"BufferComplete {done.buffer_id!r}: " + "; ".join(problems))
    return results


def check_buffer(
    runtime: Runtime,
    target: str,
    items: Sequence[T],
    predict: Callable[[int, T], Prediction],
    *,
    timeout: float = 5.0,
    max_in_flight: int = 0,
    buffer_id: str = "",
) -> BufferComplete:
    """Run a Buffer of ``items`` to ``target`` and check it against ``predict``, item by item.

    Checks ``buffer_invariants``, that each index ended as ``predict(index, item)``
    says, and that no run is left active afterwards. Returns the ``BufferComplete``.
    """
    done = run_buffer(runtime, target, items, timeout=timeout, max_in_flight=max_in_flight,
                      buffer_id=buffer_id)
    results = buffer_invariants(done, len(items))
    wrong = [
        problem
        for result, item in zip(results, items, strict=True)
        if (problem := _compare(result, predict(result.index, item)))
    ]
    if wrong:
        shown = "; ".join(wrong[:5]) + (f"; and {len(wrong) - 5} more" if len(wrong) > 5 else "")
        raise AssertionError(f"Buffer to {target!r} of {len(items)} items: {shown}")
    wait_until_idle(runtime)
    return done


def _compare(result: ItemResult, expected: Prediction) -> str:
    """"" when ``result`` is what ``expected`` predicts, else what differs."""
    got = _describe(result)
    if isinstance(expected, str):
        if expected not in REASONS:
            raise ValueError(f"a prediction is an @xmlify object or one of {sorted(REASONS)},"
                             f" got {expected!r}")
        if result.success or result.reason != expected:
            return f"item {result.index}: expected to fail ({expected}), got {got}"
        return ""
    if not is_xmlify(expected):
        raise ValueError(f"a prediction is an @xmlify object or one of {sorted(REASONS)}, got {expected!r}")
    if not result.success:
        return f"item {result.index}: expected {expected!r}, got {got}"
    try:
        answer = type(expected).from_xml(result.payload)
    except Exception as exc:  # noqa: BLE001 - any decoding problem is the mismatch to report
        return f"item {result.index}: expected {expected!r}, got {got} ({exc})"
    return "" if answer == expected else f"item {result.index}: expected {expected!r}, got {answer!r}"


def _describe(result: ItemResult) -> str:
    payload = payload_text(result.payload)
    if result.success:
        return f"success {payload}"
    return f"failure ({result.reason}) {payload}".rstrip()


def run_sequence(
    runtime: Runtime,
    steps: Sequence[str],
    payload: Any,
    *,
    timeout: float = 5.0,
    sequence_id: str = "",
    ask_timeout: float | None = None,
) -> SequenceComplete | SequenceError:
    """Run ``payload`` through ``steps`` via ``system.sequence``; its one terminal message.

    Afterwards no run may be left active (checked).
    """
    start = SequenceStart(steps=",".join(steps), payload=payload, timeout=timeout, sequence_id=sequence_id)
    wait = timeout + 30.0 if ask_timeout is None else ask_timeout
    reply = runtime.ask("system.sequence", start, timeout=wait)
    if not isinstance(reply, (SequenceComplete, SequenceError)):
        raise AssertionError(
            f"system.sequence should answer SequenceComplete or SequenceError, got {reply!r}"
        )
    wait_until_idle(runtime)
    return reply
