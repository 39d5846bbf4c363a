"""The one adapter between xmlactors and Thespian's ``Actor`` class.

Every xmlactors actor subclasses ``Shell``. It keeps Thespian's camelCase
inside this module, and it guarantees the rule Thespian does not: a message
is handled at most once. (Thespian re-delivers a message whose handler
raised — twice on the multiprocess bases, three times in process — so an
escaping exception would run a handler again.)
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Callable
from typing import Any

from thespian.actors import (
    Actor,
    ActorAddress,
    ActorExitRequest,
    ChildActorExited,
    InvalidActorAddress,
    ThespianWatch,
    WakeupMessage,
    WatchMessage,
)

from ._framestack import roomy
from ._repairs import (
    forget_child,
    report_every_death,
    retry_failed_sends_soon,
    wait_for_late_children,
)
from .calls import current_host
from .huh import make_huh
from .links import Links
from .logs import log_event, logger
from .messages import Address, Batch, Delivery, ListenerInfo, Resolve, Resolved
from .parsed import Payload
from .routing import respond
from .supervision import REGISTRY, Down, Moved

__all__ = ["Shell"]


PARENT_CHECK = 1.0
"""Seconds between an actor's looks at whether its parent's process still runs."""


class _ParentCheck:
    """The payload of the parent-watch timer (the class itself: it pickles as a name)."""


class _ExitNow:
    """The payload of ``stop``'s timer: exit even if a transmit has not completed."""


class _WatchPoll:
    """The payload of the timer that stands in for ``ThespianWatch`` where a base has none."""


WATCH_POLL = 0.001
"""Seconds between looks at ``watched()`` on a base without ``ThespianWatch``
(``multiprocQueueBase``): a zero-delay timer would come back before the next message."""


STOP_GRACE = 10.0
"""Seconds a stopping actor waits for what it sent to leave (across processes)."""


_SYSTEM_MESSAGES = frozenset({ActorExitRequest, ChildActorExited, WakeupMessage, WatchMessage,
                              Resolved, Moved, Down})
"""The kinds ``Shell`` turns into hooks of their own; everything else goes to ``on_message``."""


class Shell(Actor):  # type: ignore[misc]
    """Base actor: exception barrier, listener-name cache, reply helpers.

    Runs in the actor's own process on the multiprocess bases; ``__init__``
    runs there too, before any message, and takes no arguments.
    """

    batched_kinds: tuple[type, ...] = ()
    """Kinds of message that, sent while handling a ``Batch``, go out as batches too."""

    watches_parent = False
    """Exit when the parent's process dies (multiprocess bases): a worker or run whose
    supervisor was killed would otherwise live on, unreachable, until the system ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox: list[tuple[Address, list[Any]]] | None = None  # while handling a Batch
        self._sink: Callable[[Address, Any], None] | None = None  # set: sends go there (rehearsal)
        self._links: Links | None = None  # known at the first send (there is none in process)
        self._links_known = False
        self._parent_pid = 0  # watched when ``watches_parent`` (multiprocess bases)
        self._after_sends: list[Any] = []  # run once what this message sent has left (``stop``)
        self._exit_sent = False
        self._can_watch = False  # the transport takes ``ThespianWatch`` (multiprocTCPBase)
        self._polling = False  # a ``_WatchPoll`` timer is set
        self.registry: Address = None
        self.addresses: dict[str, Address] = {}
        self.listeners: dict[str, ListenerInfo] = {}  # what the registry said of each name
        self.exiting = False

    # Thespian's entry point. Never raises: see the module docstring.
    def receiveMessage(self, message: Any, sender: Address) -> ThespianWatch | None:
        self._handle(message, sender)
        # Thespian sets the watched file descriptors from every return value.
        fds = self.watched()
        if not fds or self._can_watch:
            return ThespianWatch(fds) if fds else None
        if not self._polling:  # a base without watches: look again soon
            self._polling = True
            self.wakeupAfter(WATCH_POLL, _WatchPoll)
        return None

    def _handle(self, message: Any, sender: Address) -> None:  # never "_receive": a Thespian internal
        if not self._links_known:
            self._links, self._links_known = Links.for_actor(self), True
            if self._links is not None:
                manager = getattr(self, "_myRef", None)
                self._can_watch = hasattr(getattr(manager, "transport", None), "set_watch")
                report_every_death(manager)
                wait_for_late_children(manager)
                retry_failed_sends_soon()
                if self.watches_parent:
                    self._parent_pid = os.getppid()
                    self.wakeupAfter(PARENT_CHECK, _ParentCheck)
        if type(message) is WakeupMessage and message.payload in (_ParentCheck, _ExitNow,
                                                                   _WatchPoll):
            if message.payload is _ParentCheck:
                self._check_parent()
            elif message.payload is _ExitNow:
                self._exit_now()
            else:
                self._poll_watched()
            return
        self._handle_messages(message, sender)  # catches what its handlers raise
        if self._after_sends:  # rare: a ``stop``
            after, self._after_sends = self._after_sends, []
            for callback in after:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - a re-delivered message would run twice
                    logger().exception("%s failed after its sends", type(self).__name__)

    def _poll_watched(self) -> None:
        """What ``ThespianWatch`` does, where the base has none: the ``WatchMessage``."""
        self._polling = False
        fds = self.watched()
        ready = select.select(fds, [], [], 0)[0] if fds else []
        if ready:
            self._handle_messages(WatchMessage(ready), self.myAddress)

    def _handle_messages(self, message: Any, sender: Address) -> None:
        messages = message.messages if isinstance(message, Batch) else (message,)
        if not self.batched_kinds:
            self.receive_all(messages, sender)
            self._after()
            return
        # Everything sent while handling this message leaves after it, as Thespian
        # would send it anyway, but batched per target: handling one answer may send a
        # worker several jobs, and one send each would settle into one job per send.
        self._outbox = []
        try:
            self.receive_all(messages, sender)
            self._after()
        finally:
            outbox, self._outbox = self._outbox, None
            for target, parts in outbox:
                batch = parts[0] if len(parts) == 1 else Batch(tuple(parts))
                try:
                    self._transmit(target, batch)
                except Exception:  # a re-delivered message would run its handler twice
                    log = logger()
                    log.exception("%s could not send %r", type(self).__name__, batch)

    def _check_parent(self) -> None:
        if os.getppid() == self._parent_pid:
            self.wakeupAfter(PARENT_CHECK, _ParentCheck)
            return
        log_event("parent_gone", logging.WARNING, actor=type(self).__name__, pid=os.getpid())
        super().send(self.myAddress, ActorExitRequest())

    def _after(self) -> None:
        try:
            self.after_messages()
        except Exception:
            log = logger()
            log.exception("%s failed after its messages", type(self).__name__)

    def createActor(self, *args: Any, **kwargs: Any) -> Address:  # Thespian's name
        """Thespian's ``createActor``, on a frame stack with room: across processes the child
        is forked here and lives on top of this stack (see ``_framestack``). In process
        nothing is forked, and the room would cost a map and unmap (~26 us) a child."""
        create = super().createActor
        if current_host() is not None:
            return create(*args, **kwargs)
        return roomy(lambda: create(*args, **kwargs))

    def send(self, targetAddr: Address, msg: Any) -> None:  # Thespian's names
        """Send after the message being handled, gathered per target into one batch
        (``batched_kinds``; anything else keeps its place), through the links. A ``Batch``
        of nothing is not sent (a worker's notices of a slice that had none)."""
        if isinstance(msg, Batch) and not msg.messages:
            return
        if self._outbox is None:
            self._transmit(targetAddr, msg)
            return
        if not isinstance(msg, (Batch, *self.batched_kinds)):  # alone, after what came before
            self._outbox.append((targetAddr, [msg]))
            return
        flat = list(msg.messages) if isinstance(msg, Batch) else [msg]
        # Join the latest entry for this target, and only if it is a batch:
        # joining an earlier one would overtake what was sent in between (FIFO).
        # Most sends go where the one before went: look there first, by identity.
        last = self._outbox[-1] if self._outbox else None
        if last is not None and last[0] is targetAddr:
            latest: list[Any] | None = last[1]
        else:
            latest = next((m for t, m in reversed(self._outbox) if t == targetAddr), None)
        if latest is not None and isinstance(latest[0], self.batched_kinds):
            latest.extend(flat)
        else:
            self._outbox.append((targetAddr, flat))

    def _transmit(self, target: Address, message: Any) -> None:
        if self._sink is not None:
            self._sink(target, message)
            return
        if not self._links_known:
            self._links, self._links_known = Links.for_actor(self), True
        if self._links is None:
            super().send(target, message)
        else:
            if not isinstance(target, ActorAddress):
                raise InvalidActorAddress(target, "not a valid ActorAddress for sending messages to")
            self._links.send(target, message)

    def _receive_one(self, message: Any, sender: Address) -> None:
        try:
            if type(message) not in _SYSTEM_MESSAGES:  # the common case, in one set lookup
                self.on_message(message, sender)
            elif isinstance(message, ActorExitRequest):
                self.exiting = True
                self.on_exit()
            elif isinstance(message, ChildActorExited):
                self.on_child_exited(message.childAddress)
            elif isinstance(message, WakeupMessage):
                self.on_wakeup(message.payload)
            elif isinstance(message, WatchMessage):
                self.on_watch(message.ready)
            elif isinstance(message, Resolved):
                self.on_resolved(message)
            elif isinstance(message, (Moved, Down)):
                self.on_moved(message.name, message.address if isinstance(message, Moved) else None)
            else:
                self.on_message(message, sender)
        except Exception:
            log = logger()
            log.exception("%s failed on %s", type(self).__name__, type(message).__name__)

    def receive_all(self, messages: tuple[Any, ...], sender: Address) -> None:
        """Handle the messages of one send, in order. A subclass may take a run of them in
        one go (a listener, a run's batch of items); what it does not take goes here."""
        for inner in messages:
            self._receive_one(inner, sender)

    # Hooks for subclasses.
    def on_message(self, message: Any, sender: Address) -> None:
        """Handle one message; unknown kinds are ignored."""

    def on_exit(self) -> None:
        """The actor is asked to exit (its children are told too)."""

    def on_child_exited(self, child: Address) -> None:
        """A child actor exited (or its process died)."""

    def on_wakeup(self, payload: Any) -> None:
        """A timer set with ``self.set_timer`` fired."""

    def after_messages(self) -> None:
        """Called after each message, and after all the messages of a ``Batch``."""

    def on_watch(self, ready: list[int]) -> None:
        """A file descriptor of ``watched()`` became readable."""

    def watched(self) -> list[int]:
        """File descriptors Thespian should wake this actor for (multiprocess bases only)."""
        return []

    def on_resolved(self, answer: Resolved) -> None:
        """The registry answered a ``Resolve``; the default caches the address."""
        if answer.address is not None and answer.info is not None:
            self.addresses[answer.name] = answer.address
            self.listeners[answer.name] = answer.info

    def on_moved(self, name: str, address: Address) -> None:
        """Component ``name`` was restarted at ``address`` (None: it is down for good); the
        default keeps the cached address (or the registry's) up to date."""
        if name == REGISTRY:
            self.registry = address
        elif address is None:
            self.addresses.pop(name, None)
        elif name in self.addresses:
            self.addresses[name] = address

    # Helpers.
    def stop(self) -> None:
        """Exit after the messages already queued (a run actor's last act), and after what
        it sent has left: across processes, once the transport has delivered it (measured: a
        10,000-item run's 1 MB answer, cut off by its actor's exit, 1 run in 3), or after
        ``STOP_GRACE`` seconds."""
        if self._links is None:
            self.send(self.myAddress, ActorExitRequest())
            return
        self.wakeupAfter(STOP_GRACE, _ExitNow)
        self.when_sent(self._exit_now)

    def when_sent(self, callback: Any) -> None:
        """Call ``callback`` once what this message's handling sent has left: across
        processes once the transport has delivered it, in process at once."""
        links = self._links
        self._after_sends.append(callback if links is None else lambda: links.when_idle(callback))

    def _exit_now(self) -> None:
        if not self._exit_sent:
            self._exit_sent = True
            super().send(self.myAddress, ActorExitRequest())

    def forget_child(self, child: Address) -> None:
        """Drop a child from Thespian's list of this actor's children, before its death is
        reported (one being killed): an actor that exits waits for each child it lists. Its
        death still comes as ``on_child_exited`` (``_repairs.forget_child``)."""
        manager = getattr(self, "_myRef", None)
        if manager is not None and child in getattr(manager, "childAddresses", ()):
            forget_child(manager, child)

    def dismiss(self, child: Address) -> None:
        """Tell a child actor to exit (its exit comes back as ``on_child_exited``)."""
        self.send(child, ActorExitRequest())

    def set_timer(self, seconds: float, payload: Any) -> None:
        """Ask for ``on_wakeup(payload)`` after ``seconds`` (timers cannot be cancelled)."""
        self.wakeupAfter(max(seconds, 0.0), payload)

    def lookup(self, name: str, pending: Any) -> Address:
        """The address of listener ``name``, or None after asking the registry.

        On a cache miss the registry is asked and ``pending`` comes back to
        ``on_resolved`` with its answer, so the caller keeps no waiting state.
        """
        address = self.addresses.get(name)
        if address is None:
            self.send(self.registry, Resolve(name, pending))
        return address

    def send_all(self, target: Address, messages: list[Any]) -> None:
        """Send several messages to one actor in one transport send (a ``Batch``); none, nothing."""
        self.send(target, messages[0] if len(messages) == 1 else Batch(tuple(messages)))

    def answer(self, request: Any, sender: Address, reply: Any) -> None:
        """Answer a request where it asks (its ``reply_to``), else to its sender."""
        self.send(getattr(request, "reply_to", None) or sender, reply)

    def reply(self, to: Delivery, payload: Payload, sender: str) -> None:
        """Send ``payload`` back along ``to``'s call path (nowhere for a tell)."""
        routed = respond(to, payload, sender, to.authority)
        if routed is not None:
            self.send(routed[0], routed[1])

    def reply_huh(self, to: Delivery, text: str, sender: str) -> None:
        """Send ``<huh>text</huh>`` back along ``to``'s call path."""
        self.reply(to, make_huh(text), sender)
