"""The Runtime: start an actor system, register listeners, talk to them.

This is the facade a user holds. It runs in the user's process; every
listener, worker, registry and orchestration run is an actor (its own
process on the multiprocess bases). ``with Runtime(...) as rt:`` starts the
system and guarantees that, on exit, it is shut down and no process of it
is left behind.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thespian.actors import ActorSystem

from . import _processes, _thespian_setup
from ._importable import check_importable
from .codec import is_xmlify, payload_classes_for
from .envelope import Envelope, looks_like_envelope
from .errors import (
    AskTimeoutError,
    ConfigError,
    DuplicateListenerError,
    ListenerError,
    UnknownListenerError,
)
from .listener import ListenerActor
from .messages import (
    Address,
    Batch,
    Delivery,
    Hop,
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
from .parsing import DEFAULT_LIMITS, ParseLimits, parse, to_bytes
from .services import SYSTEM_SERVICES

__all__ = ["Runtime", "Statistics", "OUTSIDE"]

_log = logging.getLogger(__name__)

OUTSIDE = "outside"
"""The sender name stamped on messages from outside the actor system."""

_PROGRESS = b"<BufferProgress>"


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
        settings: dict[str, Any] | None = None,
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
        self.settings = dict(settings or {})
        self.placement_wait = placement_wait
        self.requirements: dict[str, dict[str, Any]] = {}
        self.attached = False  # connected to a served system (Runtime.connect): never shut it down
        self.specs: dict[str, ListenerSpec] = {}
        self.addresses: dict[str, Address] = {}
        self.system: Any = None
        self.registry: Address = None
        self.session_id = 0
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._contexts: list[Any] = []
        self._lock = threading.Lock()
        self._simple_lock = threading.Lock()
        self._tokens = itertools.count(1)

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
        # transientUnique: each Runtime its own system (Thespian's default shares one per process).
        self.system = ActorSystem(
            self.base, caps, logDefs=_thespian_setup.log_defs(), transientUnique=True
        )
        self._owner = threading.get_ident()
        try:
            self.registry = self.system.createActor(RegistryActor, globalName=GLOBAL_NAME)
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
        with self._lock:
            contexts, self._contexts = self._contexts, []
        for context in contexts:
            try:
                context.exit_clone()
            except Exception as exc:  # noqa: BLE001 - closing must go on to shut the system down
                _log.debug("closing a thread's actor-system context failed: %r", exc)
        self._local = threading.local()
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
        (reply,) = self._gather([(self.registry, PidsRequest)], 30.0)
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
    ) -> None:
        """Declare listener ``name``: ``handler`` takes ``payload`` instances.

        Works before or after ``start``. ``payload`` may be one xmlify class or
        several; ``workers`` actors run the handler in parallel; ``peers``
        limits where the listener may send (None: anywhere); ``requires``
        places its actors on a system offering those capabilities.
        """
        if self.attached:
            raise ConfigError(
                f"cannot register {name!r} through Runtime.connect: add it to the organism"
                " file of the served system"
            )
        classes = (payload,) if isinstance(payload, type) else tuple(payload)
        spec = self._spec(name, handler, classes, description, workers, peers, timeout)
        with self._lock:
            if name in self.specs or any(name == s for s, _ in SYSTEM_SERVICES):
                raise DuplicateListenerError(name)
            self.specs[name] = spec
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
    ) -> ListenerSpec:
        if not name or name != name.strip() or " " in name:
            raise ConfigError(f"invalid listener name {name!r}: use a non-empty name without spaces")
        if not callable(handler):
            raise ConfigError(f"handler for listener {name!r} is not callable: {handler!r}")
        if not classes or not all(is_xmlify(c) for c in classes):
            raise ConfigError(f"listener {name!r} needs @xmlify payload classes, got {classes!r}")
        if workers < 1:
            raise ConfigError(f"listener {name!r} needs workers >= 1, got {workers}")
        check_importable(handler, f"handler of listener {name!r}")
        for cls in classes:
            check_importable(cls, f"payload class of listener {name!r}")
        peer_set = frozenset(peers.split() if isinstance(peers, str) else peers) if (
            peers is not None
        ) else None
        limits = self.limits
        return ListenerSpec(
            name, handler, classes, description, workers, peer_set, timeout, None,
            limits.max_bytes, limits.max_depth, limits.max_elements, dict(self.settings),
            inline=self.base == "simpleSystemBase",
        )

    def _start_listener(self, spec: ListenerSpec) -> None:
        requires = self.requirements.get(spec.name)
        with self._handle() as context:
            if requires:
                from .deploy import place

                address = place(context, ListenerActor, spec.name, requires, self.placement_wait)
            else:
                address = context.createActor(ListenerActor)
            context.tell(address, dataclasses.replace(spec, registry=self.registry))
        tags = tuple(cls.__name__ for cls in spec.payload_classes)
        self._register_address(
            spec.name, address, spec.description, tags, spec.peers, spec.workers
        )

    def _start_service(self, name: str, actor_class: type) -> None:
        init = ServiceInit(
            name, self.registry, self.base, self.run_deadline, self.limits, dict(self.settings)
        )
        with self._handle() as context:
            address = context.createActor(actor_class)
            context.tell(address, init)
        self._register_address(name, address, f"system listener {name}", (), None)

    def _register_address(
        self,
        name: str,
        address: Address,
        description: str,
        tags: tuple[str, ...],
        peers: frozenset[str] | None,
        workers: int = 1,
    ) -> None:
        message = Register(name, address, description, tags, peers, workers=workers)
        (answer,) = self._gather([(self.registry, message)], 30.0)
        assert isinstance(answer, Registered)
        if answer.error:
            raise DuplicateListenerError(name)
        self.addresses[name] = address

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
        token = f"ask-{next(self._tokens)}"
        delivery = Delivery(
            target, OUTSIDE, *_outside(payload), (Hop(OUTSIDE, None, token),)
        )
        deadline = time.monotonic() + wait
        with self._handle() as context:
            context.tell(address, delivery)
            reply = self._await(context, token, deadline)
            while isinstance(reply, Delivery) and reply.payload.startswith(_PROGRESS):
                if on_progress is not None:
                    on_progress(decode_reply(reply.payload, target, ("actors.primitives.payloads",)))
                reply = self._await(context, token, deadline)
        if reply is None:
            raise AskTimeoutError(target, wait)
        assert isinstance(reply, Delivery)
        return decode_reply(reply.payload, target, self._preferred_modules(payload))

    def _preferred_modules(self, request: Any) -> tuple[str, ...]:
        """Where to look first for a reply's class when several share its tag.

        The request's own module, then the modules of every handler and payload
        class registered here, in registration order.
        """
        modules = [type(request).__module__]
        for spec in list(self.specs.values()):
            modules.append(getattr(spec.handler, "__module__", ""))
            modules.extend(cls.__module__ for cls in spec.payload_classes)
        return tuple(dict.fromkeys(modules))

    def tell(self, target: str, payload: Any) -> None:
        """Send ``payload`` to ``target``; its reply, if any, goes nowhere."""
        address = self._address(target)
        delivery = Delivery(target, OUTSIDE, *_outside(payload))
        with self._handle() as context:
            context.tell(address, delivery)

    def statistics(self, timeout: float = 10.0) -> Statistics:
        """Counters gathered from every actor of the system, at this moment."""
        names = sorted(self.addresses)
        replies = self._gather([(self.addresses[n], StatsRequest) for n in names], timeout)
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
        return {pid for r in self._gather(targets, timeout) if isinstance(r, PidsReply)
                for pid in r.pids}

    # -- plumbing ---------------------------------------------------------

    def _address(self, target: str) -> Address:
        if not self.running:
            raise RuntimeError("the runtime is not started: use 'with Runtime(...) as rt:'")
        address = self.addresses.get(target)
        if address is None and self.attached:  # Runtime.connect: ask the served system's registry
            (answer,) = self._gather([(self.registry, Resolve(target))], self.default_timeout)
            address = answer.address
            if address is not None:
                self.addresses[target] = address
        if address is None:
            raise UnknownListenerError(target)
        return address

    @contextlib.contextmanager
    def _handle(self) -> Iterator[Any]:
        """The actor-system handle for this thread, for one exchange.

        The in-process base runs every actor inside the caller's ``listen`` and
        is not thread-safe: there, one exchange at a time holds the system.
        Multiprocess bases give each thread its own private context.
        """
        if self.base == "simpleSystemBase":
            with self._simple_lock:
                yield self.system
        else:
            yield self._context()

    def _context(self) -> Any:
        """The actor-system handle for this thread (each thread gets its own)."""
        if threading.get_ident() == self._owner:
            return self.system
        context = getattr(self._local, "context", None)
        if context is None:
            manager = self.system.private()
            context = manager.__enter__()
            self._local.context = context
            with self._lock:
                self._contexts.append(context)
        return context

    def _gather(self, requests: list[tuple[Address, Any]], timeout: float) -> list[Any]:
        """Send each request (a message class taking ``token``) and collect the answers in order."""
        tokens = []
        answers: dict[Any, Any] = {}
        with self._handle() as context:
            for address, message in requests:
                token = f"req-{next(self._tokens)}"
                built = message(token=token) if isinstance(message, type) else _with_token(
                    message, token
                )
                context.tell(address, built)
                tokens.append(token)
            deadline = time.monotonic() + timeout
            while len(answers) < len(tokens):
                reply = self._await(context, set(tokens) - set(answers), deadline)
                if reply is None:
                    raise AskTimeoutError("the actor system", timeout)
                answers[reply.token] = reply
        return [answers[t] for t in tokens]

    def _await(self, context: Any, token: Any, deadline: float) -> Any:
        """The next message carrying ``token`` (or one of a set), or None at the deadline.

        Messages for other tokens are stale replies to timed-out requests: dropped.
        """
        wanted = token if isinstance(token, set) else {token}
        in_process = self.base == "simpleSystemBase"
        unpacked = self._unpacked()
        while (remaining := deadline - time.monotonic()) > 0:
            if unpacked:
                message = unpacked.popleft()
            else:
                # In process, a reply may already wait in the queue while a timer is
                # pending: Thespian's listen would sleep until that timer first, so
                # collect what is already there before waiting.
                message = context.listen(0) if in_process else None
                if message is None:
                    message = context.listen(remaining)
            if message is None:
                if in_process:
                    return None  # in process: idle means nothing can still arrive
                continue
            if isinstance(message, Batch):  # several answers in one send: take them in order
                unpacked.extend(message.messages)
                continue
            if getattr(message, "token", None) in wanted:
                return message
        return None

    def _unpacked(self) -> collections.deque[Any]:
        """This thread's messages taken out of a ``Batch`` and not yet looked at."""
        queue: collections.deque[Any] | None = getattr(self._local, "unpacked", None)
        if queue is None:
            queue = self._local.unpacked = collections.deque()
        return queue

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


def _with_token(message: Any, token: Any) -> Any:
    from dataclasses import replace

    return replace(message, token=token)


def _outside(payload: Any) -> tuple[str, bytes]:
    """``(thread_id, payload bytes)`` of a message from outside the system.

    An envelope (an ``Envelope`` or its XML text) is unwrapped here, at the
    boundary: its thread is kept and its payload travels on alone. The sender
    is always stamped ``outside``, whatever the envelope's ``from`` says.
    """
    if isinstance(payload, (str, bytes)) and looks_like_envelope(payload):
        payload = Envelope.from_bytes(payload)
    if isinstance(payload, Envelope):
        return payload.thread or uuid.uuid4().hex, payload.payload
    return uuid.uuid4().hex, _encode(payload)


def _encode(payload: Any) -> bytes:
    """Wire bytes for an outside payload; text is passed on unparsed for the listener to judge."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogatepass")
    if is_xmlify(type(payload)):
        data = payload.to_bytes()
        assert isinstance(data, bytes)
        return data
    from lxml import etree

    if isinstance(payload, etree._Element):
        return to_bytes(payload)
    raise TypeError(f"cannot send a {type(payload).__name__}: pass an @xmlify object or XML text")


def decode_reply(payload: bytes, target: str, prefer_modules: tuple[str, ...] = ()) -> Any:
    """A reply's payload as an xmlify object (known tag) or an lxml element; ``<huh>`` raises.

    When several classes share the reply's tag, the first one defined in
    ``prefer_modules`` wins, else the one decorated last.
    """
    element = parse(payload)
    if element.tag == "huh":
        raise ListenerError(element.text or "", target)
    classes = payload_classes_for(str(element.tag))
    if not classes:
        return element
    by_module = {cls.__module__: cls for cls in classes}
    chosen = next((by_module[m] for m in prefer_modules if m in by_module), classes[-1])
    return chosen.from_xml(element)
