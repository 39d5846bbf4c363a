"""Listeners for the capability example (agents.xml): an agent that reaches a target four ways."""

from __future__ import annotations

from dataclasses import dataclass, field

from actors import HandlerMetadata, HandlerResponse, xmlify
from actors.primitives import BufferStart, SequenceStart


@xmlify
@dataclass
class Order:
    """Ask the agent to reach ``target`` by ``how``: forward, buffer, sequence or nested."""

    target: str = ""
    how: str = "forward"
    log_path: str = ""


@xmlify
@dataclass
class Mark:
    """What reaches the target: it records its own name in ``log_path``."""

    log_path: str = ""
    by: str = ""


def agent(payload: object, meta: HandlerMetadata) -> HandlerResponse:
    """Sends a Mark towards the order's target; passes whatever answer comes back to its caller."""
    if not isinstance(payload, Order):
        return HandlerResponse.respond(payload)
    mark = Mark(payload.log_path)
    if payload.how == "forward":
        return HandlerResponse.forward(mark, to=payload.target)
    if payload.how == "buffer":
        start = BufferStart(target=payload.target, items=[mark], timeout=20)
        return HandlerResponse.forward(start, to="system.buffer")
    if payload.how == "sequence":
        sequence = SequenceStart(steps=[payload.target], payload=mark, timeout=20)
        return HandlerResponse.forward(sequence, to="system.sequence")
    nested = SequenceStart(steps=[payload.target], payload=mark, timeout=20)
    start = BufferStart(target="system.sequence", items=[nested], timeout=20)
    return HandlerResponse.forward(start, to="system.buffer")


def mark(payload: Mark, meta: HandlerMetadata) -> HandlerResponse:
    """Records that it ran, then answers with a Mark signed with its own name."""
    with open(payload.log_path, "a", encoding="utf-8") as log:
        log.write(meta.own_name + "\n")
    return HandlerResponse.respond(Mark(payload.log_path, meta.own_name))


@xmlify
@dataclass
class Route:
    """A message that walks ``hops`` one forward at a time, logging each listener it reaches."""

    hops: list[str] = field(default_factory=list)
    log_path: str = ""
    done: bool = False


def hop(payload: Route, meta: HandlerMetadata) -> HandlerResponse:
    """Logs itself, forwards to the next hop; at the end the answer walks back the same way."""
    if payload.done:
        return HandlerResponse.respond(payload)
    with open(payload.log_path, "a", encoding="utf-8") as log:
        log.write(meta.own_name + "\n")
    if not payload.hops:
        return HandlerResponse.respond(Route([], payload.log_path, done=True))
    return HandlerResponse.forward(Route(payload.hops[1:], payload.log_path), to=payload.hops[0])
