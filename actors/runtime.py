"""The Runtime: start an actor system, register listeners, talk to them.

This is the facade a user holds. It runs in the user's process; every
listener, worker, registry and orchestration run is an actor (its own
process on the multiprocess bases). ``with Runtime(...) as rt:`` starts the
system and guarantees that, on exit, it is shut down and no process of it
is left behind.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thespian.actors import ActorSystem

from . import _processes, _thespian_setup
from ._boundary import decode_reply, outside_message
from ._importable import check_importable
from ._mailbox import InProcessMailbox, Mailbox, ReceiverMailbox
from .calls import default_concurrency
from .codec import is_xmlify
from .errors import (
    AskTimeoutError,
    ConfigError,
    DuplicateListenerError,
    UnknownListenerError,
)
from .huh import is_progress
from .listener import ListenerActor
from .messages import (
    Address,
    Delivery,
    Hop,
    ListenerInfo,
    ListenerSpec,
    PidsReply,
    PidsRequest,
    Register,
    Registered,
    Resolve,
    ServiceInit,
    StatsReply,
    StatsRequest,
)
from .parsing import DEFAULT_LIMITS, ParseLimits
from .services import SYSTEM_SERVICES

__all__ = ["Runtime", "Statistics", "OUTSIDE"]

_log = logging.getLogger(__name__)

OUTSIDE = "outside"
"""The sender name stamped on messages from outside the actor system."""



@dataclass(frozen=True, slots=True)
class Statistics:
    """A snapshot of a running system (``Runtime.statistics()``)."""

    listeners: int
    active_buffers: int
    active_sequences: int
    handled: int
    refused_sends: int
    replaced_workers: int


class Runtime:
    """Start an actor system on ``base`` and talk to its listeners.

    ``default_timeout`` bounds an ``ask`` without its own timeout;
    ``run_deadline`` bounds a Buffer or Sequence run whose ``timeout`` is 0
    (minutes, never forever). On ``multiprocTCPBase`` the system takes a
    free loopback admin port unless ``admin_port`` is given, and listens on
    ``bind`` (loopback by default; ``None`` for every interface).
    ``placement_wait`` bounds the wait for a convention member that meets a
    listener's ``requires`` (see docs/deployment.md).
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
    ) -> None:
        if base not in _thespian_setup.BASES:
            raise ConfigError(
                f"unknown base {base!r}: expected one of {', '.join(_thespian_setup.BASES)}"
            )
        self.base = base
        self.admin_port = admin_port
        self.bind = bind
        self.convention = convention
        self.capabilities = dict(capabilities or {})
        self.default_timeout = default_timeout
        self.run_deadline = run_deadline
        self.limits = limits
        self.placement_wait = placement_wait
        self.requirements: dict[str, dict[str, Any]] = {}
        self.attached = False  # connected to a served system (Runtime.connect): never shut it down
        self.specs: dict[str, ListenerSpec] = {}
        self.modules: tuple[str, ...] = ()  # of registered handlers and payloads, in order
        self.addresses: dict[str, Address] = {}
        self.system: Any = None
        self.registry: Address = None
        self.session_id = 0
        self.mailbox: Mailbox | None = None  # while running
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the actor system is started."""
        return self.system is not None

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> None:
        """Start the actor system, the registry, the system listeners and every listener."""
        if self.running:
            return
        from registry.actor import GLOBAL_NAME, RegistryActor

        if self.base == "multiprocTCPBase":
            _thespian_setup.bind_to(self.bind)
            if self.admin_port is None:
                self.admin_port = _thespian_setup.free_port(self.bind or "127.0.0.1")
        caps = _thespian_setup.capabilities_for(
            self.base, self.admin_port, self.convention, self.capabilities
        )
        if self.base == "simpleSystemBase":
            self.mailbox = InProcessMailbox(caps, _thespian_setup.log_defs())
            self.system = self.mailbox.local
        else:
            # transientUnique: each Runtime its own system (Thespian's default shares one
            # per process).
            self.system = ActorSystem(
                self.base, caps, logDefs=_thespian_setup.log_defs(), transientUnique=True
            )
            self.mailbox = ReceiverMailbox(self.system)
        try:
            self.registry = self.mailbox.create_actor(RegistryActor, globalName=GLOBAL_NAME)
            self._learn_session()
            for name, actor_class in SYSTEM_SERVICES:
                self._start_service(name, actor_class)
            for spec in list(self.specs.values()):
                self._start_listener(spec)
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop the actor system; end any of its processes that outlive the stop."""
        system, self.system = self.system, None
        if system is None:
            return
        mailbox, self.mailbox = self.mailbox, None
        if mailbox is not None:
            mailbox.close()
        if self.attached:
            from .deploy import detach

            self.addresses.clear()
            detach(system)
            return
        try:
            system.shutdown()
        finally:
            self.addresses.clear()
            if self.session_id:
                killed = _processes.end_session(self.session_id)
                if killed:
                    _log.info("ended %d actor processes that outlived shutdown: %s",
                              len(killed), killed)

    def _learn_session(self) -> None:
        if self.base not in _thespian_setup.MULTIPROCESS_BASES:
            return
        (reply,) = self._mailbox().gather([(self.registry, PidsRequest)], 30.0)
        assert isinstance(reply, PidsReply)
        self.session_id = reply.session_id
        _processes.track_session(self.session_id)

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
    ) -> None:
        """Declare listener ``name``: ``handler`` takes ``payload`` instances.

        Works before or after ``start``. ``payload`` may be one xmlify class or
        several; ``workers`` actors run the handler in parallel, each up to
        ``concurrency`` calls at once (default: 16 for an ``async def``
        handler, 1 for a plain function); ``peers`` limits where the listener
        may send (None: anywhere); ``requires`` places its actors on a system
        offering those capabilities.
        """
        if self.attached:
            raise ConfigError(
                f"cannot register {name!r} through Runtime.connect: add it to the organism"
                " file of the served system"
            )
        classes = (payload,) if isinstance(payload, type) else tuple(payload)
        spec = self._spec(name, handler, classes, description, workers, peers, timeout,
                          concurrency)
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

    def _spec(
        self,
        name: str,
        handler: Any,
        classes: tuple[type, ...],
        description: str,
        workers: int,
        peers: str | Iterable[str] | None,
        timeout: float,
        concurrency: int | None,
    ) -> ListenerSpec:
        if not name or name != name.strip() or " " in name:
            raise ConfigError(f"invalid listener name {name!r}: use a non-empty name without spaces")
        if not callable(handler):
            raise ConfigError(f"handler for listener {name!r} is not callable: {handler!r}")
        if not classes or not all(is_xmlify(c) for c in classes):
            raise ConfigError(f"listener {name!r} needs @xmlify payload classes, got {classes!r}")
        if workers < 1:
            raise ConfigError(f"listener {name!r} needs workers >= 1, got {workers}")
        concurrency = default_concurrency(handler) if concurrency is None else concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(
                f"listener {name!r} needs concurrency to be an int >= 1 (calls in flight per"
                f" worker), got {concurrency!r}"
            )
        check_importable(handler, f"handler of listener {name!r}")
        for cls in classes:
            check_importable(cls, f"payload class of listener {name!r}")
        peer_set = frozenset(peers.split() if isinstance(peers, str) else peers) if (
            peers is not None
        ) else None
        return ListenerSpec(
            name=name, description=description,
            payload_tags=tuple(getattr(c, "__xml_tag__", c.__name__) for c in classes),
            peers=peer_set, workers=workers, concurrency=concurrency,
            handler=handler, payload_classes=classes, timeout=timeout, limits=self.limits,
            inline=self.base == "simpleSystemBase",
        )

    def _start_listener(self, spec: ListenerSpec) -> None:
        requires = self.requirements.get(spec.name)
        mailbox = self._mailbox()
        if requires:
            from .deploy import place

            address = place(mailbox, ListenerActor, spec.name, requires, self.placement_wait)
        else:
            address = mailbox.create_actor(ListenerActor)
        mailbox.send(address, dataclasses.replace(spec, registry=self.registry))
        self._register_address(spec.info(), address)

    def _start_service(self, name: str, actor_class: type) -> None:
        init = ServiceInit(name, self.registry, self.base, self.run_deadline, self.limits)
        mailbox = self._mailbox()
        address = mailbox.create_actor(actor_class)
        mailbox.send(address, init)
        self._register_address(ListenerInfo(name, f"system listener {name}"), address)

    def _register_address(self, info: ListenerInfo, address: Address) -> None:
        (answer,) = self._mailbox().gather([(self.registry, Register(info, address))], 30.0)
        assert isinstance(answer, Registered)
        if answer.error:
            raise DuplicateListenerError(info.name)
        self.addresses[info.name] = address

    # -- talking ----------------------------------------------------------

    def ask(
        self,
        target: str,
        payload: Any,
        timeout: float | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Any:
        """Send ``payload`` to ``target`` and wait for its reply, decoded.

        Returns an xmlify object when the reply's root tag is a known payload
        class, else an lxml element. Raises ``UnknownListenerError`` at once
        for an unknown name, ``ListenerError`` for a ``<huh>`` reply and
        ``AskTimeoutError`` when no reply comes in ``timeout`` seconds.
        ``BufferProgress`` updates of a Buffer started with ``progress=True``
        are not the reply: each goes to ``on_progress`` (if given) while the
        wait for the terminal message goes on, within the same ``timeout``.
        """
        address = self._address(target)
        wait = self.default_timeout if timeout is None else timeout
        mailbox = self._mailbox()
        token = mailbox.token("ask")
        delivery = Delivery(
            target, OUTSIDE, *outside_message(payload),
            (Hop(OUTSIDE, mailbox.reply_address, token),),
        )
        deadline = time.monotonic() + wait
        with mailbox.expecting([token]) as inbox:
            mailbox.send(address, delivery)
            reply = inbox.next(deadline)
            while isinstance(reply, Delivery) and is_progress(reply.payload):
                if on_progress is not None:
                    on_progress(decode_reply(reply.payload, target, ("actors.primitives.payloads",)))
                reply = inbox.next(deadline)
        if reply is None:
            raise AskTimeoutError(target, wait)
        assert isinstance(reply, Delivery)
        return decode_reply(reply.payload, target, self._preferred_modules(payload))

    def _preferred_modules(self, request: Any) -> tuple[str, ...]:
        """Where to look first for a reply's class when several share its tag.

        The request's own module, then the modules of every handler and payload
        class registered here, in registration order.
        """
        return (type(request).__module__, *self.modules)

    def tell(self, target: str, payload: Any) -> None:
        """Send ``payload`` to ``target``; its reply, if any, goes nowhere."""
        address = self._address(target)
        delivery = Delivery(target, OUTSIDE, *outside_message(payload))
        self._mailbox().send(address, delivery)

    def statistics(self, timeout: float = 10.0) -> Statistics:
        """Counters gathered from every actor of the system, at this moment."""
        names = sorted(self.addresses)
        replies = self._mailbox().gather([(self.addresses[n], StatsRequest) for n in names], timeout)
        counters: dict[str, dict[str, int]] = {
            name: dict(reply.counters) for name, reply in zip(names, replies, strict=True)
            if isinstance(reply, StatsReply)
        }
        total = {key: sum(c.get(key, 0) for c in counters.values())
                 for key in ("handled", "refused", "replaced")}
        return Statistics(
            listeners=len(self.specs),
            active_buffers=counters.get("system.buffer", {}).get("active", 0),
            active_sequences=counters.get("system.sequence", {}).get("active", 0),
            handled=total["handled"],
            refused_sends=total["refused"],
            replaced_workers=total["replaced"],
        )

    def pids(self, timeout: float = 10.0) -> set[int]:
        """Process ids of every actor (empty on the in-process base)."""
        if self.base not in _thespian_setup.MULTIPROCESS_BASES:
            return set()
        targets = [(self.registry, PidsRequest)] + [
            (address, PidsRequest) for address in self.addresses.values()
        ]
        return {pid for r in self._mailbox().gather(targets, timeout) if isinstance(r, PidsReply)
                for pid in r.pids}

    # -- plumbing ---------------------------------------------------------

    def _mailbox(self) -> Mailbox:
        if self.mailbox is None:
            raise RuntimeError("the runtime is not started: use 'with Runtime(...) as rt:'")
        return self.mailbox

    def _address(self, target: str) -> Address:
        if not self.running:
            raise RuntimeError("the runtime is not started: use 'with Runtime(...) as rt:'")
        address = self.addresses.get(target)
        if address is None and self.attached:  # Runtime.connect: ask the served system's registry
            (answer,) = self._mailbox().gather([(self.registry, Resolve(target))], self.default_timeout)
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

        organism = load_organism(path)
        runtime = cls(**kwargs)
        for listener in organism.listeners:
            runtime.register(
                listener.name,
                listener.handler,
                listener.payload_classes,
                description=listener.description,
                workers=listener.workers,
                peers=listener.peers,
                timeout=listener.timeout,
                requires=listener.requires,
                concurrency=listener.concurrency,
            )
        return runtime

    @classmethod
    def connect(
        cls, admin_port: int, host: str = "127.0.0.1", *, default_timeout: float = 30.0
    ) -> Runtime:
        """A Runtime attached to a system already served on this machine at ``host:admin_port``.

        Closing it leaves that system running; ``NoSystemError`` if nothing listens there.
        """
        from .deploy import attach

        runtime = cls(
            "multiprocTCPBase", admin_port=admin_port, bind=host, default_timeout=default_timeout
        )
        return attach(runtime)


