"""The worker: one actor (one process on the multiprocess bases) that runs a listener's calls.

A listener with ``workers=N`` owns N of these. A worker knows nothing of
routing: it turns each ``Work`` into a ``WorkDone`` for its listener. It
runs up to the listener's ``concurrency`` calls at once (see ``calls``);
an answer leaves as soon as its call ends, batched with any others ready.

Thespian wakes an actor only for a message, so a call that ends on another
thread (a pool thread, the event loop's) writes one byte to a pipe this
actor watches: every ``receiveMessage`` returns ``ThespianWatch`` on that
pipe while calls are in flight, and Thespian calls back with a
``WatchMessage`` when it is readable. Idle, nothing is watched and nothing runs.
"""

from __future__ import annotations

import os
from typing import Any

from .calls import Calls, LoopThread, is_async_handler
from .handling import Handling
from .messages import Address, Work, WorkDone, WorkerInit, WorkerReady
from .shell import Shell

__all__ = ["WorkerActor"]


class WorkerActor(Shell):
    """Thin shell: ``WorkerInit`` once, then ``Work`` in, ``WorkDone`` out to its listener."""

    batched_kinds = (WorkDone,)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Calls | None = None
        self.loop: LoopThread | None = None
        self.listener: Address = None
        self.pipe = (-1, -1)

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Work) and self.calls is not None:
            done = self.calls.start(message)
            if done is not None:
                self.send(self.listener, done)
        elif isinstance(message, WorkerInit):
            self.begin(message, sender)

    def begin(self, init: WorkerInit, listener: Address) -> None:
        self.listener = listener
        handling = Handling(init.spec)
        self.pipe = os.pipe()
        os.set_blocking(self.pipe[0], False)
        loop = None
        if is_async_handler(init.spec.handler):
            self.loop = LoopThread(f"{init.spec.name}/loop")
            loop = self.loop.loop
        self.calls = Calls(handling, init.spec.concurrency, self._poke, loop)
        self.send(listener, WorkerReady(init.slot, os.getpid()))

    def _poke(self) -> None:
        """From the thread where a call ended: make the watched pipe readable."""
        os.write(self.pipe[1], b"!")

    def on_watch(self, ready: list[int]) -> None:
        if self.calls is None:
            return
        try:
            while os.read(self.pipe[0], 4096):
                pass
        except BlockingIOError:
            pass
        answers = self.calls.finished()
        if answers:
            self.send_all(self.listener, answers)

    def watched(self) -> list[int]:
        return [self.pipe[0]] if self.calls is not None and self.calls.running else []

    def on_exit(self) -> None:
        if self.calls is not None:
            self.calls.close()
        if self.loop is not None:
            self.loop.close()

