"""The handler contract: what a listener's handler receives and returns.

A handler is a plain function or an ``async def`` taking ``(payload, meta)``
and returning a ``HandlerResponse`` or ``None``. It runs inside a worker
actor (its own process on the multiprocess bases); it must be an importable
module-level name.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .records import lean

__all__ = ["HandlerMetadata", "HandlerResponse", "Handler", "call_handler"]


@lean  # made once per call
@dataclass(frozen=True, slots=True)
class HandlerMetadata:
    """What a handler knows about the message it is handling.

    ``from_id`` is the sending listener's name, stamped by the runtime
    (``"outside"`` for a caller outside the actor system). ``attempt`` is 1
    unless a Buffer sends the item again (``retries``), or resumes a durable run
    whose item may have run before the crash: a handler with side effects can
    tell a repeat.
    """

    thread_id: str
    from_id: str
    own_name: str
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class HandlerResponse:
    """A handler's answer: a payload and where it goes.

    ``to`` empty means *respond* (back to whoever called); a listener name
    means *forward* there. The sender is never taken from here: the runtime
    stamps it.
    """

    payload: Any
    to: str = ""

    @classmethod
    def respond(cls, payload: Any) -> HandlerResponse:
        """Answer whoever sent the message being handled."""
        return cls(payload=payload)

    @classmethod
    def forward(cls, payload: Any, to: str) -> HandlerResponse:
        """Send the payload on to listener ``to``; its answer comes back here."""
        if not to:
            raise ValueError("forward needs a listener name in 'to'")
        return cls(payload=payload, to=to)


HandlerResult = HandlerResponse | None
Handler = Callable[[Any, HandlerMetadata], HandlerResult | Awaitable[HandlerResult]]


def call_handler(handler: Handler, payload: Any, meta: HandlerMetadata) -> Any:
    """Run ``handler`` once and return what it returned.

    A coroutine is run to completion on a fresh event loop that is closed
    afterwards: a worker handles one message at a time, so nothing is gained by
    keeping a loop alive between messages, and nothing is left open if the
    worker is killed.
    """
    result: Any = handler(payload, meta)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
