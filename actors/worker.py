"""The worker: one actor (one process on the multiprocess bases) that runs a listener's calls.

A listener with ``workers=N`` owns N of these. It runs up to the
listener's ``concurrency`` calls at once (see ``calls``); an answer leaves
as soon as its call ends, batched with any others ready. An answer for the
caller (a respond, a ``<huh>``) goes straight back along the delivery's
path, and the listener gets a ``WorkDone`` without payload (``replied``)
to count the job done: one hop less per call than through the listener. A
forward goes to the listener, which resolves names and checks peers. If the
worker dies after answering, before its ``WorkDone`` arrives, the listener
fails the job too: the caller keeps the first answer (a run drops
duplicates, an ask's token is already answered).

Thespian wakes an actor only for a message, so a call that ends on another
thread (a pool thread, the event loop's) writes one byte to a pipe this
actor watches: every ``receiveMessage`` returns ``ThespianWatch`` on that
pipe while calls are in flight, and Thespian calls back with a
``WatchMessage`` when it is readable. Idle, nothing is watched and nothing runs.

A plain handler with ``concurrency`` 1 runs on the actor's own thread, in
slices: once a message (a batch of jobs) is handled, the jobs held run one
after another for up to ``SLICE`` seconds, their answers go out together,
and the rest resume once the transport has had its turn: the worker pokes
its own pipe, which Thespian watches with the sockets (a zero-delay timer
came back before any socket was looked at, so with jobs queued no answer
left until all had run).
Small items then travel in batches both ways; a slow item delays the
answers of the slice it ends, by at most its own time and one slice.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any

from .calls import Calls, LoopThread, is_async_handler
from .handling import EXPIRED, Handling
from .messages import (
    Address,
    BufferItem,
    Delivery,
    Flush,
    Flushed,
    ItemAnswers,
    Tally,
    Work,
    WorkDone,
    WorkerInit,
    WorkerReady,
)
from .shell import PARENT_CHECK, Shell

__all__ = ["WorkerActor", "SLICE"]

ORPHAN_GRACE = 2.0
"""Seconds a worker whose listener's process died may take to exit on its own (it does
when idle: ``Shell``'s parent check) before its guard thread ends the process: a call
that blocks its thread, or hangs, would keep an orphan alive until the system ends."""

SLICE = 0.002
"""Seconds of inline calls whose answers leave together. Measured here: 10,000 small
items to one worker went from 1,940/s (each answer sent as its call ended) to 5,780/s."""


TALLY_EVERY = 0.05
"""Seconds a settled straight call waits at most for its ``Tally`` (a ``Flush`` sends it
at once): one notice for the calls of 50 ms, instead of one per slice, to its listener."""


def _answers_for(runs: list[tuple[Address, list[tuple[int, Any]]]], run: Address
                 ) -> list[tuple[int, Any]]:
    """The answers gathered for ``run`` (added to ``runs`` when it has none yet)."""
    for address, pairs in runs:
        if address == run:
            return pairs
    runs.append((run, []))
    return runs[-1][1]


class WorkerActor(Shell):
    """Thin shell: ``WorkerInit`` once, then ``Work`` in, ``WorkDone`` out to its listener."""

    watches_parent = True

    batched_kinds = (WorkDone, Delivery, ItemAnswers)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Calls | None = None
        self.loop: LoopThread | None = None
        self.listener: Address = None
        self.pipe = (-1, -1)
        self.inline: collections.deque[Work] = collections.deque()  # jobs for the next slice
        self.slicing = False  # the pipe is poked for the next slice
        self.held: dict[int, Delivery] = {}  # job -> its delivery, while its call runs
        self.straight = 0  # calls sent here straight from their callers, so far
        self.items: set[int] = set()  # jobs of Buffer items sent here straight, not answered
        self.tally: list[tuple[str, float]] = []  # settled straight calls the listener awaits
        self.tally_timer = False  # a "tally" timer is pending
        self.name = ""

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Delivery) and self.calls is not None:
            self.straight += 1  # a call straight from its caller (worker_routes): a job of its own
            message = Work(-self.straight, message.with_origin(sender))
        elif isinstance(message, BufferItem) and self.calls is not None:
            self.straight += 1  # an item straight from its run or service (item_routes)
            self.items.add(-self.straight)
            message = Work(-self.straight, message.as_delivery(self.name, sender))
        if isinstance(message, Work) and self.calls is not None:
            if self.calls.inline:
                self.inline.append(message)  # run once the whole batch is in: after_messages
                return
            self.held[message.job_id] = message.delivery
            done = self.calls.start(message)
            if done is not None:
                self.answer_all([done])
        elif isinstance(message, WorkerInit):
            self.begin(message, sender)
        elif isinstance(message, Flush):  # after every notice sent so far
            self.send_tally()
            self.send(sender, Flushed(self.straight_tells()))

    def after_messages(self) -> None:
        if self.inline and not self.slicing:
            self.run_slice()

    def run_slice(self) -> None:
        """Run held inline jobs for up to ``SLICE`` seconds; the pipe resumes the rest (after
        a slow job, once its answer has left: it must not wait behind the next one)."""
        assert self.calls is not None
        began = time.monotonic()
        ends = began + SLICE
        answers: list[WorkDone] = []
        while self.inline and (not answers or time.monotonic() < ends):
            work = self.inline.popleft()
            self.held[work.job_id] = work.delivery
            done = self.calls.start(work)
            assert done is not None  # an inline call answers at once
            answers.append(done)
        self.answer_all(answers)
        if self.inline:
            self.slicing = True
            if time.monotonic() - began > 2 * SLICE:
                self.when_sent(self._poke)
            else:
                self._poke()

    def answer_all(self, answers: list[WorkDone]) -> None:
        """Answer each job's caller directly (respond, ``<huh>``), then tell the listener: the
        answers go first (a caller who asks for the counters on an answer is answered once
        these notices are in: ``listener_routes``). A run's items are answered in one
        ``ItemAnswers`` per run; the calls sent here straight and settled here are tallied."""
        told, replies = [], []
        runs: list[tuple[Address, list[tuple[int, Any]]]] = []  # addresses cannot be hashed
        for done in answers:
            delivery = self.held.pop(done.job_id)
            answered = done.kind in ("respond", "huh", EXPIRED)
            if done.job_id in self.items:
                self.items.discard(done.job_id)
                if answered:
                    _answers_for(runs, delivery.path[-1].address).append(
                        (delivery.path[-1].token, done.payload))
            elif answered:
                replies.append((delivery, done.payload))
            if done.job_id < 0 and done.kind != "forward":
                self.tally.append((done.kind, done.seconds))  # the listener never held it
            elif done.job_id < 0:  # a forward: the listener resolves it, with its delivery
                told.append(WorkDone(done.job_id, done.kind, done.payload, done.to, done.seconds,
                                     delivery=delivery))
            else:
                told.append(WorkDone(done.job_id, done.kind, b"", "", done.seconds, replied=True)
                            if answered else done)
        for run, pairs in runs:
            self.send(run, ItemAnswers(self.name, tuple(pairs)))
        for delivery, payload in replies:
            self.reply(delivery, payload, self.name)
        self.send_all(self.listener, told)
        if self.tally and not self.tally_timer:
            self.tally_timer = True
            self.set_timer(TALLY_EVERY, "tally")

    def send_tally(self) -> None:
        """Tell the listener what was settled here of the calls sent straight (if any)."""
        if self.tally:
            self.send(self.listener, Tally(tuple(self.tally)))
            self.tally = []

    def on_wakeup(self, payload: Any) -> None:
        if payload == "tally":
            self.tally_timer = False
            self.send_tally()

    def straight_tells(self) -> int:
        """The calls sent here straight that no runtime counts, queued or running: tells (no
        answer goes back) and Buffer items (their runs do not count for the listener)."""
        jobs = [*((w.job_id, w.delivery) for w in self.inline), *self.held.items()]
        return sum(1 for job, delivery in jobs
                   if job < 0 and (not delivery.path or job in self.items))

    def begin(self, init: WorkerInit, listener: Address) -> None:
        self.listener, self.name = listener, init.spec.name
        if self._parent_pid:  # a process of its own (multiprocess bases)
            threading.Thread(target=_end_if_orphaned, args=(self._parent_pid,), daemon=True,
                             name=f"{init.spec.name}/orphan-guard").start()
        handling = Handling(init.spec)
        self.pipe = os.pipe()
        os.set_blocking(self.pipe[0], False)
        loop = None
        if is_async_handler(init.spec.handler):
            self.loop = LoopThread(f"{init.spec.name}/loop")
            loop = self.loop.loop
        self.calls = Calls(
            handling, init.spec.concurrency, self._poke, loop,
            inline=init.spec.concurrency == 1 and init.spec.timeout == 0,
        )
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
            self.answer_all(answers)
        if self.slicing:
            self.slicing = False
            self.run_slice()

    def watched(self) -> list[int]:
        busy = self.calls is not None and (self.calls.running or self.slicing)
        return [self.pipe[0]] if busy else []

    def on_exit(self) -> None:
        if self.calls is not None:
            self.calls.close()
        if self.loop is not None:
            self.loop.close()


def _end_if_orphaned(parent: int) -> None:
    """On its own thread: end this process ``ORPHAN_GRACE`` seconds after its parent's
    died, if it has not ended by then. Its calls' callers were told when the listener died
    (a run or an ask fails the call); an answer that comes later is dropped anyway."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)  # a guard thread's pace, not a wait for an actor
    time.sleep(ORPHAN_GRACE)
    os._exit(1)
