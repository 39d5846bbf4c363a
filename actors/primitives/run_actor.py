"""What every per-run child actor shares: its start, its deadline, its last words.

A ``RunActor`` is created by a service (``system.buffer``, ``system.sequence``)
for one run. It receives the run's start message once, then the replies of
the listeners it sends to; it ends when its pure core says the run is
finished: it sends the terminal message (if anyone waits for one), tells its
service, and exits. Runs in its own process on the multiprocess bases.
What it sends carries the run's deadline (``expires``), so a listener does
not start a call for a run that has ended.

Across processes a service's pool starts run actors ahead, and each
rehearses before its real run (``rehearse``): a process forked for a run
writes to most pages it touches for the first time (copy-on-write), and
a one-item run took ~330 such faults on its way, ~1.5 ms of CPU here.
"""

from __future__ import annotations

import os
import pickle
import time
from typing import Any

from ..huh import is_progress
from ..logs import log_event
from ..messages import Address, Delivery, ItemAnswers
from ..parsed import Payload
from ..run_messages import (
    Expire,
    Rehearse,
    Rehearsed,
    RunFinished,
    RunOrigin,
    RunPid,
    RunStart,
    Standby,
)
from ..shell import Shell

__all__ = ["RunActor"]


class RunActor(Shell):
    """Base of ``BufferRunActor`` and ``SequenceRunActor``.

    A subclass sets ``start_class`` (its kind of ``RunStart``) and defines
    ``begin``, ``on_reply``, ``terminal`` and ``described``; ``self.core`` is its pure core.
    Each run logs one line as it ends (``run_finished``, at INFO): its id,
    kind, label, outcome and counts, seconds since it began, and thread id.
    """

    watches_parent = True

    start_class: type[RunStart] = RunStart
    kind = "run"  # for the log line: "buffer", "sequence"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run: Any = None
        self.core: Any = None
        self.service: Address = None  # the service that started this run
        self.began = 0.0
        self.expires = 0.0  # the run's deadline as time.time(): what its items and steps carry
        self.rehearsing = False  # in ``rehearse``: nothing leaves, nothing is logged, no exit
        self.rehearsed = False  # its pool told its service our pid: no RunPid to send
        self.early: list[tuple[Any, Address]] = []  # what came before the start

    def on_message(self, message: Any, sender: Address) -> None:
        if type(message) is Standby:
            return  # its connection was the point
        if self.run is None and not isinstance(message, (self.start_class, Rehearse)):
            # Before the start (an answer from a worker the service sent an item to, a Route
            # passed on): kept, and handled once the run has begun.
            self.early.append((message, sender))
            return
        if isinstance(message, Delivery) and self.core is not None:
            # Only answers to what this run sent carry an int token; progress
            # of a nested Buffer precedes its answer and is not one.
            if isinstance(message.token, int) and not is_progress(message.payload):
                self.on_reply(message.token, message.payload)
        elif type(message) is ItemAnswers:  # a batch of items' answers, from one listener
            for index, payload in message.answers:
                if self.core is None:
                    break
                if not is_progress(payload):
                    self.on_reply(index, payload)
        elif isinstance(message, self.start_class):
            self.service = message.service or sender
            if not self.rehearsed:
                self.send(self.service, RunPid(message.run_id, os.getpid()))
            self.began = time.monotonic()
            self.expires = time.time() + message.timeout
            self.begin(message)
            early, self.early = self.early, []
            for kept, sender in early:
                self.on_message(kept, sender)
        elif isinstance(message, Expire):
            self.expire(message.now)
        elif isinstance(message, Rehearse):
            completed = self.rehearse()
            self.rehearsed = True
            self.send(sender, Rehearsed(os.getpid(), completed))

    def rehearse(self) -> bool:
        """Run one run of this kind, one item or step answered at once, through the same
        methods as a real one, with every send pickled (as the transport would) and dropped;
        then forget it. What its real run touches is then this process's own.
        Returns whether the rehearsal completed (its ``RunFinished`` said so)."""
        sent: list[Any] = []

        def sink(target: Address, message: Any) -> None:
            pickle.dumps(message)
            sent.append(message)

        me = self.myAddress
        origin = RunOrigin("rehearsal", None, "", (me, Delivery("", "", "", b"")))
        start = self.rehearsal(origin, me)
        reply = Delivery(start.label, "rehearsal", "rehearsal", b"<Done/>", token=0)
        saved = dict(self.__dict__)
        self.rehearsing = True
        self._sink = sink
        try:
            for message in (start, reply):
                self._handle_messages(message, me)
        finally:
            self.__dict__.clear()
            self.__dict__.update(saved)
        return any(isinstance(m, RunFinished) and m.outcome == "complete" for m in sent)

    def rehearsal(self, origin: RunOrigin, me: Address) -> RunStart:
        """The start of a rehearsal run from ``origin`` whose one item or step goes to ``me``."""
        raise NotImplementedError

    def begin(self, run: Any) -> None:
        """Set up the core from the start message and send the first work."""
        raise NotImplementedError

    def on_reply(self, token: int, payload: Payload) -> None:
        """Record the answer to what this run sent with ``token`` (an item's index, a step's)."""
        raise NotImplementedError

    def terminal(self, outcome: Any) -> Payload:
        """The terminal payload for the core's outcome."""
        raise NotImplementedError

    def described(self, outcome: Any) -> dict[str, Any]:
        """How the run ended: ``outcome`` as its service counts it (``"complete"``,
        ``"partial"``, ``"failed"``), then counts for its log line."""
        raise NotImplementedError

    def on_wakeup(self, payload: Any) -> None:
        if payload == "deadline":
            self.expire()

    def expire(self, now: bool = False) -> None:
        """The service says the deadline passed (by our own clock it may be a moment away),
        or, with ``now``, that the run is cancelled: it ends at once either way."""
        if self.core is None:
            return
        if self.core.expire(now):
            self.finish()
        elif not self.core.finished:
            self.set_timer(self.core.deadline - time.monotonic(), "deadline")

    def finish(self) -> None:
        """Once the core has an outcome: the terminal message, word to the service, exit."""
        outcome = self.core.outcome()
        if outcome is None:
            return
        answer = self.run.origin.answer_with(self.terminal(outcome))
        described = self.described(outcome)
        # The service hears first: a requester who asks for statistics on the answer's
        # arrival finds the run counted as finished.
        self.send(self.service, RunFinished(self.run.run_id, described["outcome"]))
        if answer is not None:
            self.send(*answer)
        if not self.rehearsing:
            log_event("run_finished", run=self.run.run_id, kind=self.kind, label=self.run.label,
                      **described, seconds=time.monotonic() - self.began,
                      thread=self.run.origin.thread_id)
            self.stop()
        self.release()

    def release(self) -> None:
        """Drop the run's state once its answer is out. Until Thespian lets go of it, an
        actor is in a reference cycle (with its ``ActorRef``) that only the cyclic collector
        frees: kept, a 10,000-item run's elements made the collector's pauses grow to
        seconds in process. Later messages find no core and are dropped."""
        self.core = None
