"""The outside's side of an actor system: requests out, replies matched by token.

Runs in the user's process. Every request carries a token, and only the
replies carrying a token someone still waits for are handed over; the rest
(late replies to requests that timed out) are dropped.

On the multiprocess bases no reply may ever wait on a thread that stopped
listening. Thespian's TCP transport sends a message and then waits for the
receiver to acknowledge it, and an outside context acknowledges only while
some thread runs ``listen``/``ask``/``tell`` on it; an actor has at most 20
sends in flight (``MAX_PENDING_TRANSMITS``), and an unacknowledged one
holds its slot for the transmit timeout (5 minutes). So if replies went to
the context of a thread whose ask had timed out, 20 of them would stop the
listener that sent them from sending anything at all (seen here: a listener
wedged for good after 66 handler runs). Here one receiver thread per
runtime listens on one context for the runtime's whole life, takes every
reply at once (acknowledging it) and hands it to the exchange waiting for
its token, or drops it; every request says that the answer goes there
(a ``Hop`` address, a ``reply_to``). Threads send through contexts of their
own: a context that one thread listens on makes every other thread wait.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from ._straight import Straight
from .errors import AskTimeoutError, ComponentDiedError, RuntimeClosedError
from .messages import Address, Batch, Route
from .supervision import Down, Moved

__all__ = ["Mailbox", "Inbox", "ReceiverMailbox", "InProcessMailbox"]

_log = logging.getLogger(__name__)

LEAVE_WAIT = 2.0
"""Seconds a shutdown waits for threads inside an exchange to leave it (they are woken first)."""

_CLOSED = object()
"""Put in every open inbox when the mailbox closes, so waiting threads stop at once."""


class _Stop:
    """Told to the receiver's own context at close, so its ``listen`` returns at once."""


class Inbox:
    """The replies for a set of tokens, in arrival order (one exchange's view of the mailbox).

    ``targets`` names the components the requests went to: if one of them is
    restarted (or goes down) meanwhile, the answer it owed will never come.
    """

    def __init__(self, mailbox: Mailbox, tokens: frozenset[Any],
                 targets: frozenset[str] = frozenset()) -> None:
        self.mailbox = mailbox
        self.tokens = tokens
        self.targets = targets
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def next(self, deadline: float) -> Any:
        """The next reply for one of this inbox's tokens, or None at the deadline.

        Raises ``RuntimeClosedError`` when the runtime shuts down meanwhile, and
        ``ComponentDiedError`` when a target died (``address``: where it is now).
        """
        message = self.mailbox.next_for(self, deadline)
        if message is _CLOSED:
            raise RuntimeClosedError()
        if isinstance(message, (Moved, Down)):
            raise ComponentDiedError(message.name, isinstance(message, Down),
                                     getattr(message, "address", None), getattr(message, "why", ""))
        return message


class Mailbox(Straight):
    """Send to actors and wait for their token-matched replies, from any thread.

    Subclasses say how a message is sent, how replies come in, and where
    actors must send them (``reply_address``; None means "the Thespian
    sender of the request").
    """

    reply_address: Address = None

    def __init__(self, system: Any) -> None:
        super().__init__()
        self.system = system
        self.closed = False
        self.dropped = 0  # replies nobody waited for (any more)
        self._tokens = itertools.count(1)
        self._routes: dict[Any, Inbox] = {}
        self._routes_lock = threading.Lock()
        self._active = 0  # threads inside ``expecting``: shutdown lets them out first
        self._left = threading.Condition(self._routes_lock)
        self.on_notice: Any = None  # called with each Moved/Down from the root, before inboxes hear

    def token(self, kind: str) -> str:
        """A token no other request of this mailbox carries."""
        return f"{kind}-{next(self._tokens)}"

    @contextlib.contextmanager
    def expecting(self, tokens: Iterable[Any], targets: Iterable[str] = ()) -> Iterator[Inbox]:
        """An inbox that receives the replies carrying ``tokens`` while the block runs
        (and word of a restart of any of ``targets``)."""
        inbox = Inbox(self, frozenset(tokens), frozenset(targets))
        with self._routes_lock:
            if self.closed:
                raise RuntimeClosedError()
            for token in inbox.tokens:
                self._routes[token] = inbox
            self._active += 1
        try:
            yield inbox
        finally:
            with self._routes_lock:
                for token in inbox.tokens:
                    self._routes.pop(token, None)
                    self.workers.settled(token)
                self._active -= 1
                self._left.notify_all()

    def gather(self, requests: list[tuple[Address, Any]], timeout: float,
               names: list[str] | None = None,
               locate: Callable[[str], Address] | None = None) -> list[Any]:
        """Send each request (a message class taking ``token``, or a message with a ``token``
        field) and return the answers in request order; ``AskTimeoutError`` past ``timeout``.

        With ``names`` (the component each request goes to), a request to a component
        restarted meanwhile is sent again to its replacement, and one to a component that
        is down (or silent at the deadline) has None for its answer instead of an error.
        ``locate(name)``, if given, is where each goes, looked up once its answer is awaited
        (so a restart's notice cannot fall between the lookup and the wait).
        """
        tokens = [self.token("req") for _ in requests]
        pairs = list(zip(tokens, requests, strict=True))
        by_name = dict(zip(names, pairs, strict=True)) if names is not None else {}
        answers: dict[Any, Any] = {}
        with self.expecting(tokens, by_name) as inbox:
            for index, ((address, message), token) in enumerate(zip(requests, tokens, strict=True)):
                if locate is not None and names is not None:
                    address = locate(names[index])
                self._request(address, message, token)
            deadline = time.monotonic() + timeout
            while len(answers) < len(tokens):
                try:
                    reply = inbox.next(deadline)
                except ComponentDiedError as died:
                    token, (_, message) = by_name[died.name]
                    if died.address is None:
                        answers[token] = None
                    else:
                        self._request(died.address, message, token)
                    continue
                if reply is None:
                    if names is not None:
                        break
                    raise AskTimeoutError("the actor system", timeout)
                answers[reply.token] = reply
        return [answers.get(t) for t in tokens]

    def _request(self, address: Address, message: Any, token: str) -> None:
        fields = {"token": token, "reply_to": self.reply_address}
        self.send(address, message(**fields) if isinstance(message, type)
                  else replace(message, **fields))

    def route(self, message: Any) -> None:
        """Hand one incoming message (or each of a ``Batch``) to the inbox of its token."""
        if isinstance(message, Batch):
            for inner in message.messages:
                self.route(inner)
            return
        if isinstance(message, (Moved, Down)):
            self.restarted(message)
            return
        if isinstance(message, Route):
            self.rerouted(message)
            return
        with self._routes_lock:
            inbox = self._routes.get(getattr(message, "token", None))
        if inbox is None:
            self.dropped += 1
        else:
            inbox.queue.put(message)

    def restarted(self, notice: Moved | Down) -> None:
        """The root's word that a component died: first the runtime learns its new address,
        then every exchange waiting on it hears that its answer is lost."""
        if self.on_notice is not None:
            self.on_notice(notice)
        with self._routes_lock:
            followed = self.workers.follows(notice.name)
            self.workers.forget(notice.name)
            inboxes = {inbox for inbox in self._routes.values() if notice.name in inbox.targets}
        for inbox in inboxes:
            inbox.queue.put(notice)
        if followed and isinstance(notice, Moved):  # asked by the next call: this thread
            with self._routes_lock:  # must not wait on a send (every reply waits behind it)
                self._refollow[notice.name] = notice.address

    def close(self, wait: float = LEAVE_WAIT) -> None:
        """Stop taking replies; every thread still waiting gets ``RuntimeClosedError``, and
        the system goes down only once they have left (or ``wait`` seconds passed)."""
        with self._routes_lock:
            self.closed = True
            inboxes = set(self._routes.values())
            self._routes.clear()
        for inbox in inboxes:
            inbox.queue.put(_CLOSED)
        with self._left:
            self._left.wait_for(lambda: self._active == 0, timeout=wait)

    # -- what each kind of base provides --------------------------------------

    def send(self, address: Address, message: Any) -> None:
        raise NotImplementedError

    def post(self, address: Address, message: Any) -> None:
        """Send, leaving the actors' work to the system: this thread is free to take the
        replies as they come (in process, ``send`` runs the actors until they are idle)."""
        self.send(address, message)

    def create_actor(self, actor_class: type, **kwargs: Any) -> Address:
        """A new top-level actor of the system (``targetActorRequirements=`` for placement)."""
        raise NotImplementedError

    def next_for(self, inbox: Inbox, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return inbox.queue.get(timeout=remaining)
        except queue.Empty:
            return None


class ReceiverMailbox(Mailbox):
    """The multiprocess bases: one receiver thread takes every reply (see the module docstring)."""

    to_workers = True

    def __init__(self, system: Any) -> None:
        super().__init__(system)
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._contexts: list[Any] = []
        self._contexts_lock = threading.Lock()
        self._unstoppable = False  # close could not tell the receiver to stop
        self._receiving = self._new_context()
        self.reply_address = self._receiving._systemBase.transport.myAddress
        self._receiver = threading.Thread(
            target=self._receive, name="xmlactors-receiver", daemon=True
        )
        self._receiver.start()

    def _new_context(self) -> Any:
        context = self.system.private().__enter__()
        with self._contexts_lock:
            self._contexts.append(context)
        return context

    def _context(self) -> Any:
        """This thread's own context for sending (the owner thread uses the system itself)."""
        if threading.get_ident() == self._owner:
            return self.system
        context = getattr(self._local, "context", None)
        if context is None:
            context = self._local.context = self._new_context()
        return context

    def send(self, address: Address, message: Any) -> None:
        if self.closed:
            raise RuntimeClosedError()
        try:
            self._context().tell(address, message)
        except Exception:
            if self.closed:  # the system went down under this thread's send
                raise RuntimeClosedError() from None
            raise

    def create_actor(self, actor_class: type, **kwargs: Any) -> Address:
        return self._context().createActor(actor_class, **kwargs)

    def _receive(self) -> None:
        """The receiver thread: listen for the runtime's whole life, route every reply.

        It leaves on the ``_Stop`` that ``close`` tells it, not as soon as the mailbox is
        closed: that tell waits for the receiver's acknowledgement, and a receiver that
        left on a late reply arriving as the runtime closed never gave it (an exited
        ``xmlactors ask`` hung for a minute). Only if that tell failed, a quiet slice ends it.
        """
        while True:
            try:
                message = self._receiving.listen(5.0)
            except Exception as exc:  # noqa: BLE001 - the system is going down under us
                if not self.closed:
                    _log.warning("the reply receiver stopped: %r", exc)
                return
            if isinstance(message, _Stop):
                return
            if message is not None:
                self.route(message)
            elif self._unstoppable:
                return

    def close(self, wait: float = LEAVE_WAIT) -> None:
        """Stop the receiver, then let go of every context (before the system shuts down)."""
        super().close(wait)
        try:
            self._context().tell(self.reply_address, _Stop())
        except Exception as exc:  # noqa: BLE001 - then the receiver notices within its listen slice
            self._unstoppable = True
            _log.debug("waking the reply receiver failed: %r", exc)
        self._receiver.join(timeout=6.0)
        with self._contexts_lock:
            contexts, self._contexts = self._contexts, []
        for context in contexts:
            try:
                context.exit_clone()
            except Exception as exc:  # noqa: BLE001 - closing must go on to shut the system down
                _log.debug("closing an actor-system context failed: %r", exc)


class InProcessMailbox(Mailbox):
    """``simpleSystemBase``: the system runs on a thread of its own (``InProcessSystem``).

    Every thread hands it work and waits for replies on its own inbox; the
    system's gate actor delivers what reaches the outside to ``route``.
    """

    def __init__(self, capabilities: dict[str, Any], log_defs: Any) -> None:
        from ._inprocess import InProcessSystem

        self.local = InProcessSystem(capabilities, log_defs, self.route)
        super().__init__(self.local.system)
        self.reply_address = self.local.gate

    def send(self, address: Address, message: Any) -> None:
        if self.closed:
            raise RuntimeClosedError()
        self.local.send(address, message)

    def post(self, address: Address, message: Any) -> None:
        if self.closed:
            raise RuntimeClosedError()
        self.local.post(address, message)

    def create_actor(self, actor_class: type, **kwargs: Any) -> Address:
        return self.local.call(lambda system: system.createActor(actor_class, **kwargs))


