"""What a listener tells others: which workers take calls straight (``worker_routes``), and its counts.

The listener tells each runtime that follows it which of its workers take
calls (``Route``), again whenever a worker becomes ready or dies, and counts
those calls when their workers' notices come in. It offers no worker when
it must see each call start: under a rate limit (it meters the starts) or a
timeout (it watches each running call and kills a stuck worker).

A worker's answer reaches its caller before its notice reaches the
listener, so counts asked for on an answer wait for the notices of the jobs
out (at most ``STATS_GRACE``), and for a ``Flushed`` from every worker when
runtimes send calls to them straight: a worker's notices reach its listener
in order, so once each has answered, every call answered before the request
is counted, and the tells running straight at the workers are known (the
runtime adds the asks it sent straight and the calls lost with a worker:
``WorkerRoutes.counts``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dispatch import Dispatch
from .latency import Latency
from .messages import (
    Address,
    Flush,
    Flushed,
    ListenerSpec,
    Route,
    RouteRequest,
    StatsReply,
    StatsRequest,
    Tally,
    WorkDone,
)

__all__ = ["StraightCalls", "STATS_GRACE"]

STATS_GRACE = 0.05
"""Seconds a ``StatsRequest`` may wait for the notices of jobs out at workers."""


class StraightCalls:
    """Mixed into ``ListenerActor``: who follows its workers, and the counts asked of it."""

    if TYPE_CHECKING:
        spec: ListenerSpec | None
        workers: list[Any]
        dispatch: Dispatch
        counters: dict[str, int]
        latency: Latency

        def send(self, target: Address, message: Any) -> None: ...
        def answer(self, request: Any, sender: Address, reply: Any) -> None: ...
        def set_timer(self, seconds: float, payload: Any) -> None: ...
        def route(self, delivery: Any, done: WorkDone) -> None: ...
        def measure(self, *seconds: float) -> None: ...
        def count_outcome(self, kind: str, seconds: float) -> None: ...

    asked: tuple[tuple[StatsRequest, Address], ...] = ()  # counts asked, not yet answered
    # Tuples: Thespian's addresses compare equal but cannot be hashed.
    followers: tuple[Address, ...] = ()  # runtimes sent a Route
    flushing: tuple[Address, ...] = ()  # workers asked for a Flushed, not yet answered
    rounds = 0  # counts asked while notices were awaited, so far
    all_started = False  # every first worker was ready once
    straight_running = 0  # tells at the workers, sent straight, by the last Flushed answers

    def follow(self, request: RouteRequest, sender: Address) -> None:
        """Send the requester our workers, and again whenever they change: at once, unless
        calls may go to them and some are not ready yet (then as the last one is)."""
        follower = request.reply_to if request.reply_to is not None else sender
        if follower not in self.followers:
            self.followers = (*self.followers, follower)
        if self.all_started or not self.straight_allowed():
            self.send(follower, self.current_route())

    def straight_allowed(self) -> bool:
        assert self.spec is not None
        return not (self.spec.rate or self.spec.timeout or not self.workers)

    def current_route(self) -> Route:
        assert self.spec is not None
        if not self.straight_allowed():
            return Route(self.spec.name)
        return Route(self.spec.name,
                     tuple(w.address for w in self.workers if w.pid and not w.killed),
                     self.dispatch.capacity)

    def workers_changed(self) -> None:
        """A worker became ready or died, or the calls a worker may hold changed: every
        follower gets the new list (at the start, once every worker is ready)."""
        route = self.current_route()
        if not self.all_started and len(route.workers) < len(self.workers):
            return
        self.all_started = True
        for follower in self.followers:
            self.send(follower, route)

    def straight_done(self, slot: int, done: WorkDone) -> None:
        """Count a call its worker took straight from its caller (and answered, or hands us
        its forward); a late notice from a worker already replaced is dropped."""
        if slot >= 0:
            self.route(done.delivery, done)
            if done.seconds:
                self.measure(done.seconds)  # what its worker may hold follows these calls too

    def tallied(self, slot: int, tally: Tally) -> None:
        """Count the calls a worker took straight and settled itself (see ``Tally``); a late
        tally from a worker already replaced is dropped."""
        if slot >= 0:
            for kind, seconds in tally.outcomes:
                self.count_outcome(kind, seconds)
            self.measure(*(seconds for _, seconds in tally.outcomes if seconds))
        self.report_when_counted()

    def count_for(self, request: StatsRequest, sender: Address) -> None:
        self.asked = (*self.asked, (request, sender))
        if self.flush() or (self.dispatch.in_flight and self.workers):
            if len(self.asked) == 1:  # or at once when the notices are in
                self.rounds += 1  # a timer cannot be cancelled: one left over is ignored
                self.set_timer(STATS_GRACE, ("report", self.rounds))
        else:
            self.report()

    def grace_over(self, round_: int) -> None:
        if round_ == self.rounds:
            self.report()

    def report_when_counted(self) -> None:
        if self.asked and not self.dispatch.in_flight and not self.flushing:
            self.report()

    def report(self) -> None:
        """Answer the counts asked."""
        asked, self.asked, self.flushing = self.asked, (), ()
        for request, sender in asked:
            self.answer(request, sender, StatsReply(self.counted(), request.token))

    def counted(self) -> tuple[tuple[str, float], ...]:
        """What a ``StatsRequest`` gets: the totals, the jobs out and waiting now, the latency."""
        now = (("in_flight", self.dispatch.in_flight + self.straight_running),
               ("waiting", len(self.dispatch.waiting)))
        return (*self.counters.items(), *now, *self.latency.counters())

    def flush(self) -> bool:
        """Before counting: ask each live worker for its ``Flushed``; whether any was asked."""
        if not self.followers or self.flushing:
            return bool(self.flushing)
        live = [w.address for w in self.workers if w.pid and not w.killed]
        self.flushing, self.straight_running = tuple(live), 0
        for address in live:
            self.send(address, Flush())
        return bool(live)

    def flushed(self, answer: Flushed, worker: Address) -> None:
        if worker in self.flushing:
            self.flushing = tuple(w for w in self.flushing if w != worker)
            self.straight_running += answer.running
            self.report_when_counted()
