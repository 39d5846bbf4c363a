"""What ``system.buffer`` and ``system.sequence`` share: a service that spawns runs.

A service parses its start payload, admits or refuses it, resolves the
listener names it needs through the registry, and spawns one child actor
per admitted run. It keeps only the addresses of its live children (to
refuse a duplicate run id and to count active runs); every run's state
lives in its child.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import time
from typing import Any

from ..errors import PayloadError
from ..logs import log_event
from ..messages import Address, BufferItem, Delivery, PidsReply, PidsRequest, StatsReply, StatsRequest
from ..parsed import element_of
from ..routing import respond
from ..run_messages import Expire, RunFinished, RunOrigin, RunPid, RunStart, ServiceInit, Standby
from ..supervision import REGISTRY, Down, Moved
from .resolving import Resolving
from .run_pool import Launch, Launched, PoolInit, Retire, RunExited, RunPool, Used, Warm

__all__ = ["ServiceActor", "terminal_route"]

WARM_RUNS = 2
"""Run actors a service's pool keeps started ahead of the runs that will use them (see
``run_pool``); in process an actor costs nothing to start: no pool."""

EXIT_GRACE = 1.0
"""Seconds a service waits, after a run's actor exited, for the run's own word that it answered."""

RETIRE_AFTER = 30.0
"""Seconds without a new run after which a service lets its warm run actors exit."""

DEADLINE_TICK = 1.0
"""Longest a service's deadline timer waits, so a run ends within a second of its deadline."""


def terminal_route(
    start: Delivery, return_to: str, return_address: Address, sender: str
) -> tuple[Address, Delivery] | None:
    """Where a run's terminal message goes: back to the requester, or to ``return_to``.

    With ``return_to`` the message goes to that listener carrying the
    requester's call path, so that listener's respond reaches the requester
    (the previous hop of the ``BufferStart`` or ``SequenceStart``), exactly as
    the terminal message itself would have.
    """
    if not return_to:
        return respond(start, b"", sender)
    template = Delivery(return_to, sender, start.thread_id, b"", start.path)
    return return_address, template


class ServiceActor(Resolving):
    """Base of the system listeners; subclasses define ``payload_class`` and ``admit``."""

    batched_kinds: tuple[type, ...] = (Delivery,)

    payload_class: type = object
    controls: frozenset[str] = frozenset()
    """Root tags of messages about a run already going (``BufferCancel``)."""
    run_actor_class: type = object
    """The child actor class of one run (a ``RunActor``)."""
    embedded_field = ""
    """The tag of the start payload's ``Xml`` field whose elements the run needs as wire bytes.

    It is taken out of the parsed start before decoding (``admit`` gets that
    element), so its elements are split off as they are, not written to text
    and parsed again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init: ServiceInit | None = None
        self.name = ""
        self.active: dict[str, Address] = {}
        self.deadlines: dict[str, float] = {}  # run id -> time.monotonic() of its deadline
        self.unanswered: dict[str, RunOrigin] = {}  # run id -> whom it owes its terminal message
        self.exited: set[str] = set()  # runs whose actor exited; their RunFinished may yet come
        self.reported: set[str] = set()  # active runs whose RunFinished came: they just exit
        self.run_pids: dict[str, int] = {}  # active run id -> the process it runs in
        self.owners: dict[str, str] = {}  # active run id -> who started it (may cancel it)
        self.tick_at: float | None = None
        self.pool: Address = None  # the RunPool child (multiprocess bases)
        self.warm: list[tuple[Address, int]] = []  # run actors started ahead and rehearsed, pids
        self.last_run = 0.0  # time.monotonic() of the latest run's start
        self.retiring = False  # a "retire" timer is pending
        # rejected: runs refused at admission; refused: sends refused by peers (audited).
        self.counters = {"started": 0, "rejected": 0, "refused": 0}
        self.finished: collections.Counter[str] = collections.Counter()  # RunFinished.outcome, "lost"

    def refused_send(self, delivery: Delivery, target: str) -> str:
        """Audit a run refused because ``target`` is outside the requester's peers.

        Logged once with sender, target and thread, and counted (``refused_sends``
        in ``Runtime.statistics()``). Returns the admission error text.
        """
        requester = delivery.principal or delivery.sender
        self.counters["refused"] += 1
        log_event("refused_send", logging.WARNING, sender=requester, target=target, via=self.name,
                  thread=delivery.thread_id)
        return f"{target} is not a peer of {requester}: refused"

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Delivery):
            self.accept(message.with_origin(sender))
        elif isinstance(message, BufferItem):
            self.accept(message.as_delivery(self.name, sender))
        elif isinstance(message, RunPid):
            if message.run_id in self.active:
                self.run_pids[message.run_id] = message.pid
        elif isinstance(message, RunFinished):
            if message.run_id in self.active or message.run_id in self.exited:  # not answered for
                self.finished[message.outcome or "unknown"] += 1
            if message.run_id in self.active:
                self.reported.add(message.run_id)
            self.unanswered.pop(message.run_id, None)
            self.run_pids.pop(message.run_id, None)
            self.owners.pop(message.run_id, None)
            if message.run_id in self.exited:  # its exit notice came first
                self.exited.discard(message.run_id)
                del self.deadlines[message.run_id]
        elif isinstance(message, Warm):
            self.warm.append((message.address, message.pid))
            self.send(message.address, Standby())
        elif isinstance(message, RunExited):
            self.run_exited(message.address)
        elif isinstance(message, Launched):
            if message.run_id in self.active:
                self.active[message.run_id] = message.address
        elif isinstance(message, ServiceInit):
            self.init, self.name, self.registry = message, message.name, message.registry
            self.start_pool()
        elif isinstance(message, StatsRequest):
            # A run that said its last word is not active, though its actor may not have exited.
            active = len(self.active) - len(self.reported)
            counters = (("active", active), ("warm", len(self.warm)), *self.counters.items(),
                        *((f"finished_{outcome}", n) for outcome, n in self.finished.items()))
            self.answer(message, sender, StatsReply(counters, message.token))
        elif isinstance(message, PidsRequest):
            runs = ((f"{self.name}/run/{run_id}", pid) for run_id, pid in self.run_pids.items())
            named = ((self.name, os.getpid()), *runs)
            self.answer(message, sender, PidsReply(named, os.getsid(0), message.token))

    def accept(self, delivery: Delivery) -> None:
        """Decode the start payload; a payload we cannot read is refused like any bad input."""
        assert self.init is not None
        expected = self.payload_class.__name__
        try:
            element = element_of(delivery.payload, self.init.limits.for_runs())
            if element.tag in self.controls:
                self.control(delivery, element)
                return
            if element.tag != expected:
                raise PayloadError(f"expects <{expected}> but got <{element.tag}>")
            embedded = element.find(self.embedded_field)
            if embedded is not None:
                element.remove(embedded)
            start = self.payload_class.from_xml(element)  # type: ignore[attr-defined]
        except PayloadError as exc:
            self.refuse(delivery, None, f"{self.name} could not read its payload: {exc}")
            return
        self.admit(delivery, start, embedded)

    def admit(self, delivery: Delivery, start: Any, embedded: Any) -> None:
        """Check ``start`` (and its ``embedded_field`` element, or None) and spawn its run, or refuse it."""
        raise NotImplementedError

    def control(self, delivery: Delivery, element: Any) -> None:
        """Handle a message about a run already going (a root tag of ``controls``)."""

    def cancel(self, delivery: Delivery, run_id: str) -> None:
        """End run ``run_id`` now, if the one asking is the one who started it."""
        requester = delivery.principal or delivery.sender
        child = self.active.get(run_id)
        if child is not None and self.owners.get(run_id) == requester:
            self.send(child, Expire(now=True))

    def refuse(self, delivery: Delivery, start: Any, error: str) -> None:
        """Answer the requester with this service's error payload."""
        raise NotImplementedError

    def on_moved(self, name: str, address: Address) -> None:
        """A component was restarted: a new registry is asked again what the old one took
        with it; every run hears of it (a run whose listener died fails what it held)."""
        super().on_moved(name, address)
        if name == REGISTRY:
            return
        notice = Moved(name, address) if address is not None else Down(name, 0)
        for child in self.active.values():
            if child is not None:
                self.send(child, notice)

    # -- runs ----------------------------------------------------------------

    def origin(self, delivery: Delivery, start: Any, found: dict[str, Address]) -> RunOrigin:
        """Whom the run started by ``delivery`` works for, and where its answer goes."""
        route = terminal_route(delivery, start.return_to, found.get(start.return_to), self.name)
        return RunOrigin(
            delivery.thread_id, delivery.authority, delivery.principal or delivery.sender, route
        )

    def spawn_run(self, start: RunStart) -> None:
        """Give a run its child actor; its deadline is kept here, not in a timer of its own.

        If the run's actor exits (say its process dies) before saying its
        terminal message went out, the service answers in its place with
        ``lost_answer``: every run answers once, whatever happens to it.
        """
        start = dataclasses.replace(start, service=self.myAddress)
        self.active[start.run_id] = self.place_run(start)
        self.owners[start.run_id] = start.origin.principal
        self.last_run = time.monotonic()
        if self.pool is not None:
            self.arm_retire()
        if start.origin.answer is not None:
            self.unanswered[start.run_id] = start.origin
        self.deadlines[start.run_id] = time.monotonic() + start.timeout
        self.counters["started"] += 1
        self.arm_tick()

    # -- warm run actors (see run_pool) -----------------------------------

    def start_pool(self) -> None:
        """On the multiprocess bases, a child that keeps ``WARM_RUNS`` run actors started."""
        assert self.init is not None
        if self.init.base == "simpleSystemBase":
            return
        self.pool = self.createActor(RunPool)
        self.send(self.pool, PoolInit(self.run_actor_class, WARM_RUNS))
        self.arm_retire()

    def place_run(self, start: RunStart) -> Address:
        """Send a run its start: to a warm actor, or through the pool, or (in process) a new one.

        Returns the run actor's address, or None while the pool starts it (``Launched``).
        """
        if self.pool is None:
            child = self.createActor(self.run_actor_class)
            self.send(child, start)
        elif self.warm:
            child, self.run_pids[start.run_id] = self.warm.pop(0)
            self.send(child, start)  # first: each send writes to its socket before the next
            self.started_on(start, child)
            self.send(self.pool, Used(child))  # the pool starts its replacement, not us
        else:
            self.send(self.pool, Launch(start))  # the pool forks; this service goes on
            return None
        return child

    def started_on(self, start: RunStart, child: Address) -> None:
        """A warm actor took the run ``start``: what else its first moment needs."""

    def arm_retire(self) -> None:
        if not self.retiring:
            self.retiring = True
            self.set_timer(RETIRE_AFTER, "retire")

    def retire(self) -> None:
        """Let the warm actors exit when no run came for ``RETIRE_AFTER`` seconds; else look later."""
        self.retiring = False
        idle = time.monotonic() - self.last_run
        if idle >= RETIRE_AFTER and not self.active:
            if self.warm:
                self.send(self.pool, Retire())
                self.warm.clear()
        else:
            self.arm_retire()

    def on_child_exited(self, child: Address) -> None:
        """A run actor this service started itself (a cold start) exited."""
        self.run_exited(child)

    def run_exited(self, child: Address) -> None:
        """A run actor exited: if it still owed its terminal message, answer in its place."""
        warm = [(address, pid) for address, pid in self.warm if address != child]
        if len(warm) < len(self.warm):  # a warm actor that died before any run
            self.warm = warm
            return
        for run_id, address in list(self.active.items()):
            if address == child:
                del self.active[run_id]
                self.run_pids.pop(run_id, None)
                self.owners.pop(run_id, None)
                if run_id in self.reported:  # it said its last word: nothing is owed
                    self.reported.discard(run_id)
                    del self.deadlines[run_id]
                    return
                # Its RunFinished may still be on its way: the exit notice can come by
                # another path (through the pool) and overtake it. Wait a moment.
                self.exited.add(run_id)
                self.deadlines[run_id] = time.monotonic() + EXIT_GRACE
                self.arm_tick()
                return

    def answer_lost(self, run_id: str) -> None:
        """The run's actor exited without its RunFinished: answer in its place, once."""
        self.exited.discard(run_id)
        del self.deadlines[run_id]
        self.finished["lost"] += 1  # counted as ended, answered for or not
        origin = self.unanswered.pop(run_id, None)
        answer = origin.answer_with(self.lost_answer(run_id)) if origin else None
        log_event("run_lost", logging.WARNING, run=run_id, service=self.name,
                  answered=int(answer is not None), thread=origin.thread_id if origin else "")
        if answer is not None:
            self.send(*answer)

    def lost_answer(self, run_id: str) -> bytes:
        """The error payload sent for a run whose actor ended without its terminal message."""
        raise NotImplementedError

    # Deadlines. Thespian timers cannot be cancelled and the in-process base
    # checks every pending timer on every message, so a timer per run would
    # leave one behind each finished run (measured: 500 finished runs made an
    # ask 6x slower). The service keeps one timer for all its runs instead,
    # and tells a run whose deadline passed to expire.

    def arm_tick(self) -> None:
        """Make sure a timer fires by the earliest deadline (or within a second)."""
        if not self.deadlines:
            return
        now = time.monotonic()
        # A run already told to expire is looked at again a tick later, not at once:
        # a timer of 0 s re-armed until it exits would spin.
        due = min([d for d in self.deadlines.values() if d > now] + [now + DEADLINE_TICK])
        if self.tick_at is not None and self.tick_at <= due:
            return  # the pending timer comes first
        self.tick_at = due
        self.set_timer(max(due - now, 0.0), ("tick", due))

    def on_wakeup(self, payload: Any) -> None:
        if payload == "retire":
            self.retire()
            return
        if not (isinstance(payload, tuple) and payload[0] == "tick" and payload[1] == self.tick_at):
            return  # an earlier timer, superseded
        self.tick_at = None
        now = time.monotonic()
        for run_id, deadline in list(self.deadlines.items()):
            if deadline > now:
                continue
            if run_id in self.exited:
                self.answer_lost(run_id)
            elif self.active[run_id] is not None:  # None: the pool is starting it
                self.send(self.active[run_id], Expire())
        self.arm_tick()
