"""Every message that crosses an actor boundary inside a running system (the messages of
orchestration runs are in ``run_messages``).

Only bytes, strings and these frozen, slotted dataclasses travel between
actors (the ones made once per item are ``records.lean``: frozen to the type
checker, cheap to make): the multiprocess bases pickle every message, and an lxml element
cannot be pickled (``simpleSystemBase`` would let one through silently, so
nothing here holds one bare). A payload is the UTF-8 bytes of one XML
element, which its receiver parses once, or in process a ``Parsed`` (the
element itself, which pickles as its bytes: see ``parsed``).

Thespian addresses appear as opaque ``Address`` values (no ``thespian``
import here). A request the outside may send carries ``reply_to``: where its
answer goes (the runtime's one receiver; see ``_mailbox``), None meaning the
Thespian sender.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .handler import HandlerMetadata
from .limits import DEFAULT_LIMITS, ParseLimits
from .parsed import Payload
from .records import lean

__all__ = [
    "Address", "Authority", "Hop", "Delivery", "Batch", "BufferItem", "ItemAnswers", "Work",
    "WorkDone", "WorkerInit", "WorkerReady", "RouteRequest", "Route", "Flush", "Flushed",
    "Tally", "CallsFinished", "ListenerInfo", "ListenerSpec", "Register", "Registered", "Resolve",
    "Resolved", "StatsRequest", "StatsReply", "PidsRequest", "PidsReply",
]

Address = Any
"""A Thespian ActorAddress (picklable, unhashable)."""

BUFFER_SENDER = "system.buffer"
"""The sender a Buffer's items come from, as their handlers are told."""

Authority = frozenset[str] | None
"""Where a requester may send: a set of listener names, or None for anywhere."""


# -- payloads on their way ----------------------------------------------------------


@lean
@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a call path: where a ``respond`` goes back to.

    ``token`` is echoed on the reply that returns to this hop, so the
    receiver can match it (an ask's request id, a Buffer item's index).
    ``address`` None means "the Thespian sender of the message carrying it".
    """

    name: str
    address: Address = None
    token: Any = None


@lean
@dataclass(frozen=True, slots=True, repr=False)
class Delivery:
    """One payload on its way to a listener, with its call path.

    Invariants: ``sender`` is stamped by the runtime (never by a handler);
    ``path[-1]`` is where a ``respond`` to this delivery goes; ``token`` is
    the token of the hop this delivery returns to, when it is a reply.
    ``authority`` carries the original requester's peers through orchestrations, so a
    Buffer or Sequence cannot launder a send; ``principal`` names that requester (for error
    messages and the audit log); ``deadline`` is when its caller stops waiting (``time.time()``,
    one clock for a host's processes; 0: never): no listener starts the call after it;
    ``attempt`` is a Buffer item's attempt number (``HandlerMetadata.attempt``).
    """

    target: str
    sender: str
    thread_id: str
    payload: Payload
    path: tuple[Hop, ...] = ()
    token: Any = None
    authority: Authority = None
    principal: str = ""
    deadline: float = 0.0
    attempt: int = 1

    def __repr__(self) -> str:
        # Short: Thespian formats each send twice; the default cost a third of a listener's time.
        size = f"{len(self.payload)} bytes" if isinstance(self.payload, bytes) else "parsed"
        return f"Delivery({self.sender}->{self.target}, {size})"

    def with_origin(self, origin: Address) -> Delivery:
        """Fill a first hop's missing address with the message's actual sender."""
        if self.path and self.path[0].address is None:
            first = replace(self.path[0], address=origin)
            return replace(self, path=(first, *self.path[1:]))
        return self


@dataclass(frozen=True, slots=True, repr=False)
class Batch:
    """Several messages for one actor in one send, handled in order (docs/architecture.md)."""

    messages: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"Batch({len(self.messages)})"


@lean
@dataclass(frozen=True, slots=True, repr=False)
class BufferItem:
    """What a Buffer run sends its target: one item, with its run id and index.

    The target's handler never sees it, only ``payload``. The reply comes
    back to the run carrying ``index`` as its token, so no thread string has
    to be parsed to find it; ``deadline`` is the run's. Exported from ``actors.primitives``.
    """

    buffer_id: str
    index: int
    payload: Payload
    thread_id: str = ""
    authority: Authority = None
    principal: str = ""
    deadline: float = 0.0
    attempt: int = 1
    reply_to: Address = None  # where the answer goes, when not to the sender (item_routes)

    def __repr__(self) -> str:
        return f"BufferItem({self.buffer_id}[{self.index}])"

    def metadata(self, target: str) -> HandlerMetadata:
        """What the handler of ``target`` is told about this item (as for ``as_delivery``)."""
        return HandlerMetadata(self.thread_id or self.buffer_id, BUFFER_SENDER, target,
                               self.attempt)

    def as_delivery(self, target: str, origin: Address) -> Delivery:
        """The delivery the target's listener handles; its answer returns to ``reply_to``,
        or else to ``origin``."""
        back = origin if self.reply_to is None else self.reply_to
        return Delivery(
            target=target,
            sender=BUFFER_SENDER,
            thread_id=self.thread_id or self.buffer_id,  # the requester's thread, or the run's
            payload=self.payload,
            path=(Hop(BUFFER_SENDER, back, self.index),),
            authority=self.authority,
            principal=self.principal,
            deadline=self.deadline,
            attempt=self.attempt,
        )


@lean
@dataclass(frozen=True, slots=True, repr=False)
class ItemAnswers:
    """A listener's answers to a batch of one Buffer run's items, in one message.

    In process a listener whose calls finish as they start (``ListenerActor.answer_items``)
    answers a run's batch of ``BufferItem`` in one go: ``answers`` holds one
    ``(index, payload)`` pair per item, each what a ``respond`` to it would have carried.
    """

    sender: str
    answers: tuple[tuple[int, Payload], ...]

    def __repr__(self) -> str:
        return f"ItemAnswers({self.sender}, {len(self.answers)})"


# -- a listener and its workers ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListenerInfo:
    """What the system knows of a listener by name: the registry's entry, the services' view."""

    name: str
    description: str = ""
    payload_tags: tuple[str, ...] = ()
    peers: frozenset[str] | None = None
    workers: int = 1
    concurrency: int = 1  # calls in flight at once per worker (in process: in the listener)
    timeout: float = 0.0  # seconds one call may take (0: no limit)
    rate: int = 0  # handler starts allowed in any one second (0: no limit; see actors.rate)

    @property
    def capacity(self) -> int:
        """Calls the listener runs at once: ``workers x concurrency``."""
        return self.workers * self.concurrency

    @property
    def queues(self) -> bool:
        """Whether its workers may hold jobs beyond the calls they run (``dispatch.prefetch_for``):
        not with a ``timeout`` or a ``rate``: a call is timed, and counted, from its hand-over."""
        return self.timeout <= 0 and not self.rate

    def info(self) -> ListenerInfo:
        """Just the ``ListenerInfo`` part (what the registry keeps of a ``ListenerSpec``)."""
        return ListenerInfo(**{f.name: getattr(self, f.name) for f in fields(ListenerInfo)})


@dataclass(frozen=True, slots=True)
class ListenerSpec(ListenerInfo):
    """A listener's info plus what its actors need to run it, sent once when they start.

    Handlers and payload classes travel by reference (pickle stores their
    module and qualified name), so they must be importable module-level names.
    """

    handler: Any = None
    payload_classes: tuple[type, ...] = ()
    limits: ParseLimits = DEFAULT_LIMITS
    inline: bool = False  # run the handler in the listener actor, no worker actors (in process only)
    registry: Address = None


@lean
@dataclass(frozen=True, slots=True, repr=False)
class Work:
    """A listener hands one delivery to one of its workers."""

    job_id: int
    delivery: Delivery

    def __repr__(self) -> str:
        return f"Work({self.job_id})"


@lean
@dataclass(frozen=True, slots=True, repr=False)
class WorkDone:
    """A worker's outcome for one job.

    ``kind`` is ``"respond"``, ``"forward"`` (to ``to``), ``"none"`` (end of the thread), ``"huh"``
    (a ``<huh>`` error for the caller) or ``"expired"`` (a ``<huh>``: the caller's deadline passed
    first, nothing ran). ``seconds`` is how long the call ran, by the worker's clock (0: not run).
    ``replied``: the worker already sent the answer to the caller itself (``payload`` is then
    empty); the listener only counts the job done. A negative ``job_id`` is a call sent to the
    worker straight from its caller (``Route``): the listener never held it, so a forward
    carries its ``delivery``.
    """

    job_id: int
    kind: str
    payload: Payload = b""
    to: str = ""
    seconds: float = 0.0
    replied: bool = False
    delivery: Delivery | None = None

    def __repr__(self) -> str:
        return f"WorkDone({self.job_id}, {self.kind})"


@dataclass(frozen=True, slots=True)
class WorkerInit:
    """Sent once to a new worker: its listener's spec and its slot number."""

    spec: ListenerSpec
    slot: int


@dataclass(frozen=True, slots=True)
class WorkerReady:
    """A worker reports that it started, and in which process."""

    slot: int
    pid: int


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """A runtime asks a listener for the workers it may send calls to straight (``Route``)."""

    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class Route:
    """A listener's workers that take calls straight from ``RouteRequest``'s sender.

    Sent in answer and again whenever the list changes (a worker ready, a
    worker dead): a call sent to a worker no longer listed lost its worker.
    Empty when calls must come through the listener (it holds a rate limit or
    a timeout, or no worker is ready yet).
    """

    name: str
    workers: tuple[Address, ...] = ()
    holds: int = 1
    """The calls each worker may hold at once: its concurrency, plus a couple of
    milliseconds of calls queued once calls have shown they are short (``dispatch``)."""


@dataclass(frozen=True, slots=True)
class Flush:
    """A listener asks a worker for ``Flushed``: every notice sent before it has arrived."""


@dataclass(frozen=True, slots=True)
class Flushed:
    """A worker's answer to ``Flush``: how many calls sent to it straight are not done."""

    running: int = 0


@dataclass(frozen=True, slots=True)
class Tally:
    """A worker's notice of calls sent to it straight that it settled itself (answered, or
    ended as a tell): ``(kind, seconds)`` each, as their ``WorkDone`` would say. Sent
    ``TALLY_EVERY`` seconds after the first of them settled, and before a ``Flushed``."""

    outcomes: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class CallsFinished:
    """In process: calls of a listener ended on the event loop or a pool thread."""


# -- the registry, statistics, processes --------------------------------------------


@dataclass(frozen=True, slots=True)
class Register:
    """Ask the registry to record a listener; answered by ``Registered``."""

    info: ListenerInfo
    address: Address
    token: Any = None
    reply_to: Address = None
    replace: bool = False  # the root's word for a restarted component: its new address


@dataclass(frozen=True, slots=True)
class Registered:
    """The registry's answer to ``Register``: ``error`` is empty on success."""

    name: str
    error: str = ""
    token: Any = None


@dataclass(frozen=True, slots=True)
class Resolve:
    """Ask the registry for a name's address; ``pending`` returns untouched: the asker keeps no state."""

    name: str
    pending: Any = None
    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The registry's answer to ``Resolve``: ``address`` and ``info`` are None for an unknown name."""

    name: str
    address: Address
    info: ListenerInfo | None = None
    pending: Any = None
    token: Any = None


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """Ask an actor for its counters; answered by ``StatsReply``."""

    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class StatsReply:
    """Counters of one actor, by name."""

    counters: tuple[tuple[str, float], ...]
    token: Any = None


@dataclass(frozen=True, slots=True)
class PidsRequest:
    """Ask an actor which processes it and its children run in."""

    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class PidsReply:
    """Which process runs which component (``"NAME/worker/N"``, ``"system.buffer/run/ID"``)."""

    processes: tuple[tuple[str, int], ...]
    session_id: int  # of the actor system's processes
    token: Any = None
