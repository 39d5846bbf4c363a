"""What crosses an actor boundary inside a running system.

Only bytes, strings and these frozen, slotted dataclasses travel between
actors: the multiprocess bases pickle every message, and an lxml element
cannot be pickled (``simpleSystemBase`` would let one through silently, so
nothing here may hold one). Payloads travel as the UTF-8 bytes of one XML
element; the receiving worker parses them once.

Thespian addresses appear as opaque ``Address`` values: this module imports
no ``thespian``. A request that the outside may send carries ``reply_to``:
where its answer goes (the runtime's one receiver; see ``_mailbox``), None
meaning the Thespian sender of the request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .parsing import DEFAULT_LIMITS, ParseLimits

__all__ = [
    "Address",
    "Hop",
    "Delivery",
    "Work",
    "WorkDone",
    "ListenerSpec",
    "Resolve",
    "Resolved",
    "Register",
    "Registered",
    "StatsRequest",
    "StatsReply",
    "WorkerReady",
    "PidsRequest",
    "PidsReply",
    "ServiceInit",
]

Address = Any
"""A Thespian ActorAddress (picklable, unhashable)."""

Authority = frozenset[str] | None
"""Where a requester may send: a set of listener names, or None for anywhere."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a call path: where a ``respond`` goes back to.

    ``token`` is echoed on the reply that returns to this hop, so the
    receiver can match it (an ask's request id, a Buffer item's index).
    ``address`` None means "the Thespian sender of the message carrying it"
    (an outside asker does not know its own address).
    """

    name: str
    address: Address = None
    token: Any = None


@dataclass(frozen=True, slots=True, repr=False)
class Delivery:
    """One payload on its way to a listener, with its call path.

    Invariants: ``sender`` is stamped by the runtime (never by a handler);
    ``path[-1]`` is where a ``respond`` to this delivery goes; ``token`` is
    the token of the hop this delivery returns to, when it is a reply.
    ``authority`` carries the original requester's peers through
    orchestrations, so a Buffer or Sequence cannot launder a send;
    ``principal`` names that requester (for error messages and the audit log).
    """

    target: str
    sender: str
    thread_id: str
    payload: bytes
    path: tuple[Hop, ...] = ()
    token: Any = None
    authority: Authority = None
    principal: str = ""

    def __repr__(self) -> str:
        # Short on purpose: Thespian formats every message it sends (twice),
        # and the default repr of the payload bytes and path cost a third of a
        # listener's time per message (measured with cProfile on TCP).
        return f"Delivery({self.sender}->{self.target}, {len(self.payload)} bytes)"

    def with_origin(self, origin: Address) -> Delivery:
        """Fill a first hop's missing address with the message's actual sender."""
        if self.path and self.path[0].address is None:
            first = replace(self.path[0], address=origin)
            return replace(self, path=(first, *self.path[1:]))
        return self


@dataclass(frozen=True, slots=True, repr=False)
class Batch:
    """Several messages for one actor in one transport send; the receiver handles them in order.

    Each transport send costs far more than handling a small message
    (measured: about 0.3 ms per send on multiprocTCPBase), so a Buffer run
    sends its items, and a listener its replies, in batches.
    """

    messages: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"Batch({len(self.messages)})"


@dataclass(frozen=True, slots=True, repr=False)
class Work:
    """A supervisor hands one delivery to one of its workers."""

    job_id: int
    delivery: Delivery

    def __repr__(self) -> str:
        return f"Work({self.job_id})"


@dataclass(frozen=True, slots=True, repr=False)
class WorkDone:
    """A worker's outcome for one job.

    ``kind`` is ``"respond"``, ``"forward"`` (to ``to``), ``"none"`` (end of
    the thread) or ``"huh"`` (the payload is a ``<huh>`` error for the caller).
    """

    job_id: int
    kind: str
    payload: bytes = b""
    to: str = ""

    def __repr__(self) -> str:
        return f"WorkDone({self.job_id}, {self.kind})"


@dataclass(frozen=True, slots=True)
class ListenerSpec:
    """Everything a listener's actors need, sent once when they start.

    Handlers and payload classes travel by reference (pickle stores their
    module and qualified name), so they must be importable module-level names.
    """

    name: str
    handler: Any
    payload_classes: tuple[type, ...]
    description: str = ""
    workers: int = 1
    peers: frozenset[str] | None = None
    timeout: float = 0.0
    registry: Address = None
    max_bytes: int = 1_000_000
    max_depth: int = 100
    max_elements: int = 100_000
    inline: bool = False
    """Run the handler inside the listener actor, with no worker actors (in process only)."""
    concurrency: int = 1
    """Calls of the handler in flight at once per worker (in process: in the listener)."""


@dataclass(frozen=True, slots=True)
class Register:
    """Ask the registry to record a listener; answered by ``Registered``."""

    name: str
    address: Address
    description: str = ""
    payload_tags: tuple[str, ...] = ()
    peers: frozenset[str] | None = None
    token: Any = None
    workers: int = 1
    reply_to: Address = None
    concurrency: int = 1


@dataclass(frozen=True, slots=True)
class Registered:
    """The registry's answer to ``Register``: ``error`` is empty on success."""

    name: str
    error: str = ""
    token: Any = None


@dataclass(frozen=True, slots=True)
class Resolve:
    """Ask the registry for a name's address; ``pending`` comes back untouched.

    Carrying the pending message lets the asker stay stateless while it waits.
    """

    name: str
    pending: Any = None
    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The registry's answer to ``Resolve``: ``address`` is None for an unknown name."""

    name: str
    address: Address
    pending: Any = None
    token: Any = None
    description: str = ""
    payload_tags: tuple[str, ...] = ()
    peers: frozenset[str] | None = None
    workers: int = 1
    concurrency: int = 1


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """Ask an actor for its counters; answered by ``StatsReply``."""

    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class StatsReply:
    """Counters of one actor, by name."""

    counters: tuple[tuple[str, int], ...]
    token: Any = None


@dataclass(frozen=True, slots=True)
class WorkerReady:
    """A worker reports that it started, and in which process."""

    slot: int
    pid: int


@dataclass(frozen=True, slots=True)
class PidsRequest:
    """Ask an actor which processes it and its children run in."""

    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class PidsReply:
    """Process ids, with the session id of the actor system's processes."""

    pids: tuple[int, ...]
    session_id: int
    token: Any = None


@dataclass(frozen=True, slots=True)
class ServiceInit:
    """Sent once to a new system listener (``system.buffer``, ``system.sequence``)."""

    name: str
    registry: Address
    base: str
    run_deadline: float
    limits: ParseLimits = DEFAULT_LIMITS
