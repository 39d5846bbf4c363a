"""What ``system.buffer`` and ``system.sequence`` share: a service that spawns runs.

A service parses its start payload, admits or refuses it, resolves the
listener names it needs through the registry, and spawns one child actor
per admitted run. It keeps only the addresses of its live children (to
refuse a duplicate run id and to count active runs); every run's state
lives in its child.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

from ..errors import PayloadError
from ..messages import (
    Address,
    BufferItem,
    Delivery,
    Expire,
    PidsReply,
    PidsRequest,
    Resolved,
    RunFinished,
    RunOrigin,
    RunStart,
    ServiceInit,
    StatsReply,
    StatsRequest,
)
from ..parsing import parse
from ..routing import respond
from ..shell import Shell, log

__all__ = ["ServiceActor", "Pending", "terminal_route", "bad_timeout"]

Continuation = Callable[[dict[str, Address]], None]
Failure = Callable[[str], None]


class Pending:
    """Names still to resolve before an admission can go on.

    Kept in the service under a number while the registry answers (the
    continuation is a closure and cannot travel through a pickling base).
    """

    __slots__ = ("names", "found", "proceed", "unknown")

    def __init__(self, names: list[str], proceed: Continuation, unknown: Failure) -> None:
        self.names = names
        self.found: dict[str, Address] = {}
        self.proceed = proceed
        self.unknown = unknown


DEADLINE_TICK = 1.0
"""Longest a service's deadline timer waits, so a run ends within a second of its deadline."""


def bad_timeout(timeout: float) -> str:
    """The admission error for a ``timeout`` no run could keep, or ``""`` for a good one."""
    if math.isfinite(timeout) and timeout >= 0:
        return ""
    return f"timeout must be a finite number of seconds >= 0 (0: the default), got {timeout!r}"


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


class ServiceActor(Shell):
    """Base of the system listeners; subclasses define ``payload_class`` and ``admit``."""

    batched_kinds = (Delivery,)

    payload_class: type = object
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
        self.waiting: dict[int, Pending] = {}
        self.deadlines: dict[str, float] = {}  # run id -> time.monotonic() of its deadline
        self.unanswered: dict[str, RunOrigin] = {}  # run id -> whom it owes its terminal message
        self.tick_at: float | None = None
        self.next_wait = 0
        # rejected: runs refused at admission; refused: sends refused by peers (audited).
        self.counters = {"started": 0, "rejected": 0, "refused": 0}

    def refused_send(self, delivery: Delivery, target: str) -> str:
        """Audit a run refused because ``target`` is outside the requester's peers.

        Logged once with sender, target and thread, and counted (``refused_sends``
        in ``Runtime.statistics()``). Returns the admission error text.
        """
        requester = delivery.principal or delivery.sender
        self.counters["refused"] += 1
        log.warning(
            "refused send: %s -> %s through %s (thread %s)",
            requester, target, self.name, delivery.thread_id,
        )
        return f"{target} is not a peer of {requester}: refused"

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Delivery):
            self.accept(message.with_origin(sender))
        elif isinstance(message, BufferItem):
            self.accept(message.as_delivery(self.name, sender))
        elif isinstance(message, RunFinished):
            self.unanswered.pop(message.run_id, None)
        elif isinstance(message, ServiceInit):
            self.init, self.name, self.registry = message, message.name, message.registry
        elif isinstance(message, StatsRequest):
            counters = (("active", len(self.active)), *self.counters.items())
            self.answer(message, sender, StatsReply(counters, message.token))
        elif isinstance(message, PidsRequest):
            self.answer(message, sender, PidsReply((os.getpid(),), os.getsid(0), message.token))

    def accept(self, delivery: Delivery) -> None:
        """Decode the start payload; a payload we cannot read is refused like any bad input."""
        assert self.init is not None
        expected = self.payload_class.__name__
        try:
            element = parse(delivery.payload, self.init.limits)
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

    def refuse(self, delivery: Delivery, start: Any, error: str) -> None:
        """Answer the requester with this service's error payload."""
        raise NotImplementedError

    # -- name resolution ---------------------------------------------------

    def resolve(self, names: list[str], proceed: Continuation, unknown: Failure) -> None:
        """Call ``proceed({name: address})`` once every name is known, else ``unknown(name)``."""
        self._continue(Pending(list(dict.fromkeys(names)), proceed, unknown))

    def _continue(self, pending: Pending) -> None:
        while pending.names:
            name = pending.names[0]
            address = self.addresses.get(name)
            if address is None:
                self.next_wait += 1
                self.waiting[self.next_wait] = pending
                self.lookup(name, self.next_wait)
                return  # the registry answers in on_resolved
            pending.found[name] = address
            pending.names.pop(0)
        pending.proceed(pending.found)

    def on_resolved(self, answer: Resolved) -> None:
        super().on_resolved(answer)
        pending = self.waiting.pop(answer.pending, None)
        if pending is None:
            return
        if answer.address is None:
            pending.unknown(answer.name)
        else:
            self._continue(pending)

    # -- runs ----------------------------------------------------------------

    def origin(self, delivery: Delivery, start: Any, found: dict[str, Address]) -> RunOrigin:
        """Whom the run started by ``delivery`` works for, and where its answer goes."""
        route = terminal_route(delivery, start.return_to, found.get(start.return_to), self.name)
        return RunOrigin(
            delivery.thread_id, delivery.authority, delivery.principal or delivery.sender, route
        )

    def spawn_run(self, actor_class: type, start: RunStart) -> None:
        """Start a run's child actor; its deadline is kept here, not in a timer of its own.

        If the run's actor exits (say its process dies) before saying its
        terminal message went out, the service answers in its place with
        ``lost_answer``: every run answers once, whatever happens to it.
        """
        child = self.createActor(actor_class)
        self.send(child, start)
        self.active[start.run_id] = child
        if start.origin.answer is not None:
            self.unanswered[start.run_id] = start.origin
        self.deadlines[start.run_id] = time.monotonic() + start.timeout
        self.counters["started"] += 1
        self.arm_tick()

    def on_child_exited(self, child: Address) -> None:
        for run_id, address in list(self.active.items()):
            if address == child:
                del self.active[run_id]
                del self.deadlines[run_id]
                origin = self.unanswered.pop(run_id, None)
                answer = origin.answer_with(self.lost_answer(run_id)) if origin else None
                if answer is not None:
                    log.warning("%s run %s ended without its answer", self.name, run_id)
                    self.send(*answer)
                return

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
        if not (isinstance(payload, tuple) and payload[0] == "tick" and payload[1] == self.tick_at):
            return  # an earlier timer, superseded
        self.tick_at = None
        now = time.monotonic()
        for run_id, deadline in self.deadlines.items():
            if deadline <= now:
                self.send(self.active[run_id], Expire())
        self.arm_tick()
