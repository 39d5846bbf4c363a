"""The messages of orchestration runs: between a service, its pool and one run's actor.

A service (``system.buffer``, ``system.sequence``) is initialised once
(``ServiceInit``), starts one child actor per admitted run with a
``RunStart`` (``BufferRunStart``, ``SequenceRunStart``) and keeps its
deadline (``Expire``); the run says where it runs (``RunPid``) and that it
answered (``RunFinished``). A run actor started ahead by a pool rehearses
first (``Rehearse``) and says so with its pid (``Rehearsed``). The same rules as ``actors.messages``: frozen,
picklable, no Thespian.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .limits import DEFAULT_LIMITS, ParseLimits
from .messages import Address, Authority, Delivery
from .parsed import Payload

__all__ = [
    "ServiceInit", "RunOrigin", "RunStart", "BufferRunStart", "SequenceRunStart", "RunPid",
    "RunFinished", "Expire", "Rehearse", "Rehearsed",
]


@dataclass(frozen=True, slots=True)
class ServiceInit:
    """Sent once to a new system listener (``system.buffer``, ``system.sequence``)."""

    name: str
    registry: Address
    base: str
    run_deadline: float
    limits: ParseLimits = DEFAULT_LIMITS
    journal: Any = None  # a journal.JournalConfig: where durable runs are recorded
    dead_letter: str = ""  # the runtime's default for a Buffer that names none


@dataclass(frozen=True, slots=True)
class RunOrigin:
    """Whom a run works for: its thread, the requester's peers and name, where its answer goes.

    ``answer`` is the address and template of the terminal message, or None
    when nobody waits for one (fire and forget).
    """

    thread_id: str
    authority: Authority
    principal: str
    answer: tuple[Address, Delivery] | None

    def answer_with(self, payload: Payload) -> tuple[Address, Delivery] | None:
        """The terminal message carrying ``payload``: where it goes and what it is."""
        if self.answer is None:
            return None
        address, template = self.answer
        return address, replace(template, payload=payload)


@dataclass(frozen=True, slots=True)
class RunStart:
    """Sent once by a service to the new child actor of one run: what both kinds share.
    ``service``: where the run reports its answer is out (the start may come via the pool);
    ``label``: what it runs, for its log line (a Buffer's target, a Sequence's steps)."""

    run_id: str
    timeout: float
    origin: RunOrigin
    service: Address = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class BufferRunStart(RunStart):
    """A Buffer run: its items (wire bytes, or in process elements), target, window, and whom
    progress goes to."""

    items: tuple[Payload, ...] = ()
    target: Address = None
    window: int = 1
    progress_to: tuple[Address, Delivery] | None = None
    stream: bool = False  # results go to progress_to as they come, none kept for the end
    resilience: Any = None  # a primitives.retry.Resilience: retries, item timeout, dead letters
    route: Any = None  # a messages.Route: the target's workers that take items straight
    present: int = 0  # the first items, sent to the route's workers by the service (item_routes)


@dataclass(frozen=True, slots=True)
class SequenceRunStart(RunStart):
    """A Sequence run: its steps, their addresses, and the first step's input."""

    steps: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class RunPid:
    """From a run to its service, as it begins: the process it runs in."""

    run_id: str
    pid: int


@dataclass(frozen=True, slots=True)
class RunFinished:
    """From a run to its service: its terminal message is sent; it exits next."""

    run_id: str
    outcome: str = ""  # "complete"; "partial": some items gave no value; "failed": none, or a step


@dataclass(frozen=True, slots=True)
class Rehearse:
    """From a pool to a run actor it started ahead: run one run of your kind with every send
    dropped, then answer ``Rehearsed`` (see ``RunActor.rehearse``)."""


@dataclass(frozen=True, slots=True)
class Standby:
    """From a service to a warm run actor its pool reported: nothing to do. Its one use is
    the connection it opens, which both then keep: the run's start, and its last word to
    the service, then go out on a connection already made (a new one costs a few tenths
    of a millisecond on each side, on the run's path)."""


@dataclass(frozen=True, slots=True)
class Rehearsed:
    """From a rehearsed run actor to its pool: ready for a run, in process ``pid``;
    ``completed``: whether the rehearsal ran to its end (the actor serves either way)."""

    pid: int
    completed: bool = True


@dataclass(frozen=True, slots=True)
class Expire:
    """From a service to its run: your deadline has passed (``now``: or end at once, cancelled)."""

    now: bool = False
