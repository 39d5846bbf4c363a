"""A service's pool of run actors started ahead: the process starts happen here, not in the service.

On the multiprocess bases an actor that creates a child forks its process
(about 10 ms here), and while it forks it handles nothing; most of a small
run's cost was that start (300 five-item Buffers in a row: 46 ms each). So
each service has a ``RunPool`` child that keeps ``size`` run actors started
and tells the service their addresses once each has rehearsed a run of its
kind (``Warm``; see ``RunActor.rehearse``). The service hands a new run to
one (``Used``) without forking; the replacement is started when that run's
actor exits, after its answer, unless none is left waiting; a run actor of
the pool is this actor's child, so its death comes here and goes on to the
service (``RunExited``), which answers for a run that ended without its
terminal message. When none waits, the service asks the pool to start one
for the run (``Launch``), and the pool keeps one more waiting from then on,
up to ``MOST``; it shrinks back when the service retires them. Each run
actor still serves one run and exits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..logs import log_event
from ..messages import Address
from ..run_messages import Rehearse, Rehearsed, RunStart
from ..shell import Shell

__all__ = ["RunPool", "PoolInit", "Warm", "Used", "Launch", "Launched", "Retire", "RunExited", "MOST"]

MOST = 8
"""The most run actors a pool keeps waiting (it starts at its service's ``WARM_RUNS``)."""


@dataclass(frozen=True, slots=True)
class PoolInit:
    """From a service to its new pool: which run actors to keep started, and how many."""

    run_actor_class: type
    size: int


@dataclass(frozen=True, slots=True)
class Warm:
    """From the pool to its service: a run actor started, rehearsed and waiting for a run."""

    address: Address
    pid: int


@dataclass(frozen=True, slots=True)
class Used:
    """From the service to its pool: this warm actor got a run (None: one started cold); fill up."""

    address: Address


@dataclass(frozen=True, slots=True)
class Launch:
    """From the service to its pool: no actor waits; start one for this run (answered ``Launched``)."""

    start: RunStart


@dataclass(frozen=True, slots=True)
class Launched:
    """From the pool to its service: the run ``run_id`` runs in the actor at ``address``."""

    run_id: str
    address: Address


@dataclass(frozen=True, slots=True)
class Retire:
    """From the service to its pool: no run for a while; let the waiting actors exit."""


@dataclass(frozen=True, slots=True)
class RunExited:
    """From the pool to its service: this run actor (given a run or not) has exited."""

    address: Address


class RunPool(Shell):
    """Keeps ``size`` run actors started for one service; forwards their exits to it."""

    watches_parent = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init: PoolInit | None = None
        self.service: Address = None
        self.waiting: list[Address] = []  # started, not yet given a run
        self.size = 0  # how many to keep waiting: grows when runs outpace the starts
        self.idle = False  # retired: the waiting actors were let go, none is started again

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, PoolInit):
            self.init, self.service, self.size = message, sender, message.size
            self.fill()
        elif isinstance(message, Used):
            self.idle = False
            if message.address is not None and message.address in self.waiting:
                self.waiting.remove(message.address)
            if not self.waiting:
                self.fill()  # none is left for the next run: start one now
            # Else the replacement starts when this run's actor exits, after its answer:
            # a fork beside a run in progress takes the CPU the run needs.
        elif isinstance(message, Launch):
            self.idle = False
            child = self.createActor(self.init.run_actor_class) if self.init else None
            self.send(child, message.start)
            self.send(self.service, Launched(message.start.run_id, child))
            self.grow()
        elif isinstance(message, Rehearsed):
            if not message.completed:
                kind = self.init.run_actor_class.__name__ if self.init else ""
                log_event("rehearsal_failed", logging.WARNING, actor=kind, pid=message.pid)
            if sender in self.waiting and self.service is not None:
                self.send(self.service, Warm(sender, message.pid))
        elif isinstance(message, Retire):
            for child in self.waiting:
                self.dismiss(child)
            self.waiting.clear()
            self.size = self.init.size if self.init else 0
            self.idle = True  # no refill until runs come again

    def grow(self) -> None:
        """Runs came faster than actors started: keep more waiting (up to ``MOST``)."""
        self.size = min(MOST, self.size + 1)
        self.fill()

    def fill(self) -> None:
        assert self.init is not None
        while len(self.waiting) < self.size and not self.exiting:
            child = self.createActor(self.init.run_actor_class)
            self.waiting.append(child)
            self.send(child, Rehearse())

    def on_child_exited(self, child: Address) -> None:
        if child in self.waiting:
            self.waiting.remove(child)
        if self.service is not None and not self.exiting:
            self.send(self.service, RunExited(child))
            if not self.idle:
                self.fill()
