"""The outside's side of an actor system: a handle per thread, replies matched by token.

Runs in the user's process. Thespian's own ``ask`` returns whatever message
arrives next, so a late reply to a timed-out request would be handed to the
next one; here every request carries a token and only its own reply is
taken, while stale ones are dropped.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from .errors import AskTimeoutError
from .messages import Address, Batch

__all__ = ["Mailbox"]

_log = logging.getLogger(__name__)


class Mailbox:
    """Send to actors and wait for their token-correlated replies, from any thread.

    The in-process base runs every actor inside the caller's ``listen`` and is
    not thread-safe: there one exchange at a time holds the system. The
    multiprocess bases give each thread its own ``private()`` context.
    """

    def __init__(self, base: str, system: Any) -> None:
        self.in_process = base == "simpleSystemBase"
        self.system = system
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._contexts: list[Any] = []
        self._lock = threading.Lock()
        self._exclusive = threading.Lock()
        self._tokens = itertools.count(1)

    def token(self, kind: str) -> str:
        """A token no other request of this mailbox carries."""
        return f"{kind}-{next(self._tokens)}"

    @contextlib.contextmanager
    def handle(self) -> Iterator[Any]:
        """The actor-system handle for this thread, for one exchange."""
        if self.in_process:
            with self._exclusive:
                yield self.system
        else:
            yield self._context()

    def _context(self) -> Any:
        if threading.get_ident() == self._owner:
            return self.system
        context = getattr(self._local, "context", None)
        if context is None:
            context = self.system.private().__enter__()
            self._local.context = context
            with self._lock:
                self._contexts.append(context)
        return context

    def gather(self, requests: list[tuple[Address, Any]], timeout: float) -> list[Any]:
        """Send each request (a message class taking ``token``, or a message with a ``token``
        field) and return the answers in request order; ``AskTimeoutError`` past ``timeout``."""
        tokens = []
        answers: dict[Any, Any] = {}
        with self.handle() as context:
            for address, message in requests:
                token = self.token("req")
                built = message(token=token) if isinstance(message, type) else replace(
                    message, token=token
                )
                context.tell(address, built)
                tokens.append(token)
            deadline = time.monotonic() + timeout
            while len(answers) < len(tokens):
                reply = self.wait(context, set(tokens) - set(answers), deadline)
                if reply is None:
                    raise AskTimeoutError("the actor system", timeout)
                answers[reply.token] = reply
        return [answers[t] for t in tokens]

    def wait(self, context: Any, token: Any, deadline: float) -> Any:
        """The next message carrying ``token`` (or one of a set), or None at the deadline.

        Messages for other tokens are stale replies to timed-out requests: dropped.
        """
        wanted = token if isinstance(token, set) else {token}
        unpacked = self._unpacked()
        while (remaining := deadline - time.monotonic()) > 0:
            if unpacked:
                message = unpacked.popleft()
            else:
                # In process, a reply may already wait in the queue while a timer is
                # pending: Thespian's listen would sleep until that timer first, so
                # collect what is already there before waiting.
                message = context.listen(0) if self.in_process else None
                if message is None:
                    message = context.listen(remaining)
            if message is None:
                if self.in_process:
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

    def close(self) -> None:
        """Let go of every thread's private context (before the system shuts down)."""
        with self._lock:
            contexts, self._contexts = self._contexts, []
        for context in contexts:
            try:
                context.exit_clone()
            except Exception as exc:  # noqa: BLE001 - closing must go on to shut the system down
                _log.debug("closing a thread's actor-system context failed: %r", exc)
        self._local = threading.local()
