"""The Runtime: start an actor system, register listeners, talk to them.

This is the facade a user holds. It runs in the user's process; every
listener, worker, registry and orchestration run is an actor (its own
process on the multiprocess bases). ``with Runtime(...) as rt:`` starts the
system and guarantees that, on exit, it is shut down and no process of it
is left behind. The system itself (start, attach, shutdown) is ``_system``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import bases
from ._boundary import decode_reply, outside_message
from ._durable import Durable
from ._mailbox import Mailbox
from ._observing import Observing
from ._runs import run_buffer, run_map, run_sequence, run_stream
from ._system import System
from .errors import (
    AskTimeoutError,
    ComponentDiedError,
    ConfigError,
    DuplicateListenerError,
    RuntimeClosedError,
    UnknownListenerError,
)
from .huh import is_expired, is_progress
from .journal import Journal, JournalConfig
from .messages import (
    Address,
    Delivery,
    Hop,
    ListenerSpec,
    Resolve,
)
from .metrics import MetricsServer, require_client
from .outcomes import BufferOutcome
from .parsed import Payload
from .parsing import DEFAULT_LIMITS, ParseLimits
from .services import SYSTEM_SERVICES
from .specs import listener_spec
from .statistics import Statistics
from .supervision import HEARTBEAT

if TYPE_CHECKING:
    from .organism import ListenerDecl

__all__ = ["Runtime", "Statistics", "OUTSIDE"]

OUTSIDE = "outside"
"""The sender name stamped on messages from outside the actor system."""


class Runtime(Observing, Durable):
    """Start an actor system on ``base`` and talk to its listeners.

    ``default_timeout`` bounds an ``ask`` without its own timeout;
    ``run_deadline`` bounds a Buffer or Sequence run whose ``timeout`` is 0
    (minutes, never forever). On ``multiprocTCPBase`` the system takes a
    free loopback admin port unless ``admin_port`` is given, and listens on
    ``bind`` (loopback by default; ``None`` for every interface).
    ``placement_wait`` bounds the wait for a convention member that meets a
    listener's ``requires`` (see docs/deployment.md). With ``metrics_port``
    (0: a free one) the system's counters are served in Prometheus's text
    format at ``http://metrics_host:PORT/metrics`` while it runs (the
    ``metrics`` extra). ``log_level``: xmlactors' own lines on standard error
    (``"INFO"`` adds one line per run). ``journal``: a SQLite file where
    durable runs are recorded (``durable``: every run), see ``resume``; ``dead_letter``: the
    listener told each item that failed for good of a Buffer that names none; ``heartbeat``:
    seconds of silence after which a listener on another member counts as lost.
    """

    def __init__(
        self,
        base: str = "simpleSystemBase",
        *,
        admin_port: int | None = None,
        bind: str | None = "127.0.0.1",
        convention: str | None = None,
        capabilities: dict[str, Any] | None = None,
        default_timeout: float = 30.0,
        run_deadline: float = 300.0,
        limits: ParseLimits = DEFAULT_LIMITS,
        placement_wait: float = 30.0,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        log_level: int | str = logging.WARNING,
        journal: str | Path | None = None,
        durable: bool = False,
        dead_letter: str = "",
        heartbeat: float = HEARTBEAT,
    ) -> None:
        if base not in bases.BASES:
            raise ConfigError(
                f"unknown base {base!r}: expected one of {', '.join(bases.BASES)}"
            )
        self.base = base
        self.admin_port = admin_port
        self.bind = bind
        self.convention = convention
        self.capabilities = dict(capabilities or {})
        self.default_timeout = default_timeout
        self.run_deadline = run_deadline
        self.limits, self.placement_wait = limits, placement_wait
        if metrics_port is not None:
            require_client()  # a missing extra is said now, before any process starts
        self.metrics_port, self.metrics_host = metrics_port, metrics_host
        self.log_level = bases.log_level(log_level)
        self.journal_path, self.durable, self.dead_letter, self.heartbeat = (
            journal, durable, dead_letter, heartbeat)
        self.journal: Journal | None = None  # these two while running, if asked for
        self.metrics: MetricsServer | None = None
        self.specs: dict[str, ListenerSpec] = {}
        self.requirements: dict[str, dict[str, Any]] = {}
        self.modules: tuple[str, ...] = ()  # of registered handlers and payloads, in order
        self.addresses: dict[str, Address] = {}
        self.down: dict[str, str] = {}  # component -> why it is down (``Down``)
        self.closed = False  # shut down after a start: calls raise RuntimeClosedError
        self.system: System | None = None  # while running
        self.session_id = 0  # of the last system's processes (multiprocess bases; else 0)
        self._attach_to: tuple[str, int] | None = None  # Runtime.connect: where it is served
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the actor system is started (or attached)."""
        return self.system is not None

    @property
    def attached(self) -> bool:
        """Whether this runtime talks to a system served elsewhere (``Runtime.connect``)."""
        return self._attach_to is not None

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> None:
        """Start the actor system, the registry, the system listeners and every listener."""
        if self.running:
            return
        self.closed = False
        if self._attach_to is not None:
            self.system = System.attach(*self._attach_to)
            return
        if self.base == "multiprocTCPBase" and self.admin_port is None:
            self.admin_port = bases.free_port(self.bind or "127.0.0.1")
        caps = bases.capabilities_for(self.base, self.admin_port, self.convention,
                                      self.capabilities)
        self.system = System.start(self.base, caps, self.bind, self.log_level)
        self.system.mailbox.on_notice = self._restarted
        self.session_id = self.system.session_id
        try:
            if self.journal_path is not None:  # a foreign or damaged file: JournalError, now
                self.journal = Journal(self.journal_path)
            config = JournalConfig(str(self.journal_path), self.durable) if self.journal else None
            self.addresses.update(self.system.start_services(
                self.run_deadline, self.limits, config, self.dead_letter, self.heartbeat))
            for spec in list(self.specs.values()):
                self._start_listener(spec)
            if self.metrics_port is not None:
                self.metrics = MetricsServer(self.counters, self.metrics_port, self.metrics_host)
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the actor system; end any of its processes that outlive the stop."""
        metrics, self.metrics = self.metrics, None
        if metrics is not None:  # first: no scrape may reach a system going away
            metrics.close()
        system = self.system
        if system is not None:  # first: threads inside an exchange leave with RuntimeClosedError
            self.closed = True
            system.close()
        self.system = None
        self.addresses.clear()
        self.down.clear()
        journal, self.journal = self.journal, None
        if journal is not None:
            journal.close()

    # -- registration -----------------------------------------------------

    def register(
        self,
        name: str,
        handler: Any,
        payload: type | Iterable[type],
        description: str = "",
        workers: int = 1,
        peers: str | Iterable[str] | None = None,
        timeout: float = 0.0,
        requires: dict[str, Any] | None = None,
        concurrency: int | None = None,
        rate: str = "",
    ) -> None:
        """Declare listener ``name``: ``handler`` takes ``payload`` instances.

        Works before or after ``start``. ``payload`` may be one xmlify class or
        several; ``workers`` actors run the handler in parallel, each up to
        ``concurrency`` calls at once (default: 16 for an ``async def``
        handler, 1 for a plain function); ``peers`` limits where the listener
        may send (None: anywhere); ``requires`` places its actors on a system
        offering those capabilities; ``rate`` (``"20/s"``) caps the handler starts in any
        one second, across the workers (the rest wait their turn).
        """
        if self.attached:
            raise ConfigError(
                f"cannot register {name!r} through Runtime.connect: add it to the organism"
                " file of the served system"
            )
        spec = listener_spec(
            name, handler, payload, description=description, workers=workers,
            concurrency=concurrency, peers=peers, timeout=timeout, rate=rate, limits=self.limits,
            inline=self.base == "simpleSystemBase",
        )
        with self._lock:
            if name in self.specs or any(name == s for s, _ in SYSTEM_SERVICES):
                raise DuplicateListenerError(name)
            self.specs[name] = spec
            owners = [getattr(handler, "__module__", ""), *(c.__module__ for c in spec.payload_classes)]
            self.modules = tuple(dict.fromkeys([*self.modules, *owners]))
            self.requirements[name] = dict(requires or {})
        if self.running:
            try:
                self._start_listener(spec)
            except BaseException:
                with self._lock:
                    self.specs.pop(name, None)
                raise

    def register_all(self, listeners: Iterable[ListenerDecl]) -> None:
        """Register every listener declared in an organism file, in file order."""
        for decl in listeners:
            self.register(
                decl.name, decl.handler, decl.payload_classes, description=decl.description,
                workers=decl.workers, peers=decl.peers, timeout=decl.timeout,
                requires=decl.requires, concurrency=decl.concurrency, rate=decl.rate,
            )

    def _start_listener(self, spec: ListenerSpec) -> None:
        system = self._system()
        requires = self.requirements.get(spec.name)
        self.addresses[spec.name] = system.start_listener(spec, requires, self.placement_wait)
        system.mailbox.follow(spec.name, self.addresses[spec.name])  # calls straight to workers

    # -- talking ----------------------------------------------------------

    def ask(self, target: str, payload: Any, timeout: float | None = None,
            on_progress: Callable[[Any], None] | None = None) -> Any:
        """Send ``payload`` to ``target`` and wait for its reply, decoded.

        Returns an xmlify object when the reply's root tag is a known payload
        class, else an lxml element. Raises ``UnknownListenerError`` (or ``PayloadError``
        for a payload over ``limits``) at once, before sending, ``ListenerError`` for a ``<huh>``
        reply and ``AskTimeoutError`` when no reply comes in ``timeout`` seconds (a call not
        started by then is not started: ``<huh reason="expired">``). ``BufferProgress`` updates
        of a Buffer started with ``progress=True`` are not the reply: each goes to ``on_progress``
        (if given) while the wait for the terminal message goes on, within the same ``timeout``.
        """
        wait = self.default_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        with self.exchange(target, payload, expires=time.time() + wait) as replies:
            reply = replies(deadline)
            while reply is not None and is_progress(reply):
                if on_progress is not None:
                    on_progress(decode_reply(reply, target, ("actors.primitives.payloads",),
                                             self.limits))
                reply = replies(deadline)
        if reply is None or is_expired(reply):  # expired: not started before the deadline
            raise AskTimeoutError(target, wait)
        return decode_reply(reply, target, self._preferred_modules(payload), self.limits)

    @contextlib.contextmanager
    def exchange(self, target: str, payload: Any, streamed: bool = False,
                 expires: float = 0.0) -> Iterator[Callable[[float], Payload | None]]:
        """Send ``payload`` to ``target``; yields ``next(deadline)``: each reply's payload in
        turn (progress first, the answer last), None at the deadline. Under ``ask``, ``map``...
        ``streamed``: replies taken while actors work; ``expires``: a ``time.time()`` deadline."""
        mailbox = self._mailbox()
        token = mailbox.token("ask")
        delivery = Delivery(
            target, OUTSIDE, *outside_message(payload, target, self.limits),
            (Hop(OUTSIDE, mailbox.reply_address, token),), deadline=expires,
        )
        with mailbox.expecting([token], [target]) as inbox:
            address = self._address(target)  # now: a restart from here on is heard
            mailbox.send_call(target, address, delivery, token, post=streamed)

            def replies(deadline: float) -> Payload | None:
                reply = inbox.next(deadline)
                return None if reply is None else reply.payload

            yield replies

    # -- runs in one call (see _runs) ---------------------------------------

    def map(self, target: str, items: Iterable[Any], *, timeout: float | None = None,
            max_in_flight: int = 0, **options: Any) -> list[Any]:
        """Fan ``items`` out to ``target`` as one Buffer; their decoded results, in index order.

        ``BufferFailedError`` (failed indexes, reasons, texts, partial values) if any
        item gave no value. ``timeout`` bounds the run (None: ``run_deadline``);
        other keywords go to ``BufferStart``."""
        return run_map(self, target, items, timeout, {"max_in_flight": max_in_flight, **options})

    def buffer(self, target: str, items: Iterable[Any], *, timeout: float | None = None,
               max_in_flight: int = 0, **options: Any) -> BufferOutcome:
        """Like ``map``, but never raises for failed items: a ``BufferOutcome`` of values,
        failures with their reasons, and counts."""
        return run_buffer(self, target, items, timeout, {"max_in_flight": max_in_flight, **options})

    def stream(self, target: str, items: Iterable[Any], *, timeout: float | None = None,
               max_in_flight: int = 0, **options: Any) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` as items finish (a failed one as an ``ItemFailure``),
        in batches, never as one answer; leaving the loop early cancels the run."""
        return run_stream(self, target, items, timeout, {"max_in_flight": max_in_flight, **options})

    def sequence(self, steps: Iterable[str] | str, payload: Any, *,
                 timeout: float | None = None, **options: Any) -> Any:
        """Run ``steps`` in order on ``payload``; the last step's answer, decoded, or
        ``SequenceFailedError`` naming the step that failed, its index and why."""
        return run_sequence(self, steps, payload, timeout, options)

    def _preferred_modules(self, request: Any) -> tuple[str, ...]:
        """Where to look first for a reply's class when several share its tag: the request's
        own module, then those of every handler and payload class registered, in order."""
        return (type(request).__module__, *self.modules)

    def tell(self, target: str, payload: Any) -> None:
        """Send ``payload`` to ``target`` (checked as ``ask`` does); its reply goes nowhere."""
        address = self._address(target)
        delivery = Delivery(target, OUTSIDE, *outside_message(payload, target, self.limits))
        self._mailbox().send_call(target, address, delivery)

    # -- plumbing ---------------------------------------------------------

    def _system(self) -> System:
        if self.system is None and self.closed:
            raise RuntimeClosedError()
        if self.system is None:
            raise RuntimeError("the runtime is not started: use 'with Runtime(...) as rt:'")
        return self.system

    def _mailbox(self) -> Mailbox:
        return self._system().mailbox

    def _address(self, target: str) -> Address:
        system = self._system()
        if target in self.down:
            raise ComponentDiedError(target, down=True, why=self.down[target])
        address = self.addresses.get(target)
        if address is None and self.attached:  # Runtime.connect: ask the served system's registry
            (answer,) = system.mailbox.gather([(system.registry, Resolve(target))],
                                              self.default_timeout)
            address = answer.address
            if address is not None:
                self.addresses[target] = address
        if address is None:
            raise UnknownListenerError(target)
        return address

    @classmethod
    def from_config(cls, path: str | Path, **kwargs: Any) -> Runtime:
        """A Runtime with every listener of an organism file registered (not started)."""
        from .organism import load_organism

        runtime = cls(**kwargs)
        runtime.register_all(load_organism(path).listeners)
        return runtime

    @classmethod
    def connect(
        cls, admin_port: int, host: str = "127.0.0.1", *, default_timeout: float = 30.0
    ) -> Runtime:
        """A Runtime attached to a system served at ``host:admin_port``, here or on any host this
        one reaches; replies come to the local end of the route to ``host``. Closing it leaves
        that system running; ``NoSystemError`` if nothing answers there."""
        runtime = cls(
            "multiprocTCPBase", admin_port=admin_port, bind=host, default_timeout=default_timeout
        )
        runtime._attach_to = (host, admin_port)
        runtime.start()
        return runtime


