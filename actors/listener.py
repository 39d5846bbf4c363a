"""The listener actor: the address behind a listener's name, and its workers' supervisor.

It owns ``workers`` worker actors, each running up to ``concurrency`` calls
at once; the jobs beyond that wait here, in arrival order (the pure
``Dispatch`` decides). It routes what each call returned: back along the
call path (respond), on to another listener (forward, within its peers), or
nowhere. A worker whose process dies is replaced, and every job it held is
answered ``<huh reason="exited">``: never lost, never left hanging, never run
twice. In process there are no worker actors: the listener runs the calls
itself, on the in-process system's event loop or a pool of threads. A job
whose caller's deadline passes while it waits here is answered
``<huh reason="expired">`` when its turn comes, and never handed out.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, cast

from .calls import Calls, current_host
from .dispatch import CallTimes, Dispatch
from .handling import EXPIRED, Handling, expired_huh
from .huh import is_huh, make_huh
from .latency import LATENCY_BOUNDS, Latency
from .listener_routes import StraightCalls
from .logs import log_event
from .messages import (
    Address,
    BufferItem,
    CallsFinished,
    Delivery,
    Flushed,
    ItemAnswers,
    ListenerSpec,
    PidsReply,
    PidsRequest,
    Resolved,
    RouteRequest,
    StatsRequest,
    Tally,
    Work,
    WorkDone,
    WorkerReady,
)
from .placement import meets_requirements
from .rate import MARGIN, SlidingWindow
from .routing import forward, may_send, refusal_text
from .workers import WorkerRecord, WorkerSupervisor

__all__ = ["ListenerActor", "LATENCY_BOUNDS"]  # the bounds: see actors.latency

ANSWERS = ("respond", "huh", EXPIRED)
"""Kinds of outcome answered back along the call path (a forward goes on; ``none`` ends)."""


class ListenerActor(StraightCalls, WorkerSupervisor):
    """Supervisor of one listener's workers; its address is the listener's address.

    Placement: created with ``targetActorRequirements`` (a listener's
    ``<requires>``), it lives on a system of the convention whose
    capabilities meet them; its workers are its children, on that system too.
    """

    batched_kinds = (Delivery, Work)  # replies to runs, and jobs to one worker

    actorSystemCapabilityCheck = staticmethod(meets_requirements)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec: ListenerSpec | None = None
        self.calls: Calls | None = None  # in process: the listener runs the calls itself
        self.workers: list[WorkerRecord] = []
        self.dispatch = Dispatch(1, 1)  # replaced by the spec's shape at start
        self.jobs: dict[int, tuple[Delivery, float]] = {}  # job -> (delivery, handed-out time)
        self.next_job = 0
        self.call_times = CallTimes()  # how long calls take: what workers may queue
        self.early: list[tuple[Any, Address]] = []
        # handled: outcomes routed; failed: jobs answered <huh> (their handler's, a refused
        # forward, a timeout, an exit, an expiry); refused: forwards outside peers; replaced:
        # workers; expired: jobs not started because their caller's deadline had passed.
        self.counters = {"handled": 0, "failed": 0, "refused": 0, "replaced": 0, "expired": 0}
        self.latency = Latency()  # of the calls that ran (``WorkDone.seconds`` > 0)
        self.watching = False  # a "watch" timer is pending
        self.rate_timer = False  # a "rate" timer is pending (jobs held back by the rate)

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, ListenerSpec):
            self.start(message)
        elif self.spec is None:
            self.early.append((message, sender))  # arrived before our spec: keep order
        elif isinstance(message, Delivery):
            self.accept(message.with_origin(sender))
        elif isinstance(message, BufferItem):
            self.accept(message.as_delivery(self.spec.name, sender))
        elif isinstance(message, WorkDone):
            self.finish(self.slot_of(sender), message)
        elif isinstance(message, Tally):
            self.tallied(self.slot_of(sender), message)
        elif isinstance(message, CallsFinished) and self.calls is not None:
            settled = [self.settle(0, done) for done in self.calls.finished()]
            if any(settled):
                self.hand_out(self.dispatch.assign())
        elif isinstance(message, WorkerReady):
            self.workers[message.slot].pid = message.pid
            self.workers_changed()
        elif isinstance(message, RouteRequest):
            self.follow(message, sender)
        elif isinstance(message, StatsRequest):
            self.count_for(message, sender)
        elif isinstance(message, Flushed):
            self.flushed(message, sender)
        elif isinstance(message, PidsRequest):
            assert self.spec is not None
            workers = ([(slot, w.pid) for slot, w in enumerate(self.workers) if w.pid]
                       if self.calls is None  # in process the listener runs the calls itself
                       else [(slot, os.getpid()) for slot in range(self.spec.workers)])
            named = ((self.spec.name, os.getpid()),
                     *((f"{self.spec.name}/worker/{slot}", pid) for slot, pid in workers))
            self.answer(message, sender, PidsReply(named, os.getsid(0), message.token))

    def receive_all(self, messages: tuple[Any, ...], sender: Address) -> None:
        if len(messages) > 1 and self.runs_at_once and all(
                type(m) is BufferItem for m in messages):
            self.answer_items(cast(tuple[BufferItem, ...], messages), sender)
        else:
            super().receive_all(messages, sender)

    @property
    def runs_at_once(self) -> bool:
        """Whether each call finishes as it starts: in process, a plain handler, one call at a
        time, no rate. None waits here then, and nothing needs a job table."""
        calls = self.calls
        return calls is not None and calls.inline and self.dispatch.limit is None

    def answer_items(self, items: tuple[BufferItem, ...], run: Address) -> None:
        """Run a run's batch of items now, in order, and answer them all in one ``ItemAnswers``:
        what ``accept`` and ``route`` do for each, with one message back instead of one per
        item, and no job record or delivery made for an item that is simply answered."""
        assert self.spec is not None and self.calls is not None
        name, answer_now = self.spec.name, self.calls.answer_now
        passes_huh = "huh" not in self.spec.payload_tags
        answers = []
        for item in items:
            if passes_huh and is_huh(item.payload):  # an error on its way back (see ``accept``)
                answers.append((item.index, item.payload))
                continue
            kind, data, to, seconds = answer_now(item.payload, item.metadata(name), item.deadline)
            if kind in ANSWERS:
                self.count_outcome(kind, seconds)
                answers.append((item.index, data))
            else:  # a forward, or the end of its thread: as any delivery's outcome
                self.next_job += 1
                self.route(item.as_delivery(name, run),
                           WorkDone(self.next_job, kind, data, to, seconds))
        if answers:
            self.send(run, ItemAnswers(name, tuple(answers)))

    def start(self, spec: ListenerSpec) -> None:
        self.spec, self.registry = spec, spec.registry
        host = current_host() if spec.inline else None
        if spec.inline:
            # In process, worker actors would add two message hops per call and
            # no parallelism: the listener runs the calls itself.
            address = self.myAddress
            self.calls = Calls(
                Handling(spec), spec.concurrency,
                notify=lambda: host.post(address, CallsFinished()) if host else None,
                loop=host.loop if host else None, inline=True,
            )
            if host is not None:
                host.adopt(self.calls)
            self.dispatch = Dispatch(1, spec.concurrency)
        else:
            self.workers = [WorkerRecord(self.spawn(slot)) for slot in range(spec.workers)]
            self.dispatch = Dispatch(spec.workers, spec.concurrency)
        # A margin on the second: a call starts a moment after it is counted (at its hand-out
        # across processes, in process just before it runs), and the API counts on its clock.
        if spec.rate and self.calls is not None and not self.calls.inline:
            self.calls.rate = SlidingWindow(spec.rate, 1.0 + MARGIN)  # counted as each starts
        elif spec.rate:
            self.dispatch.limit = SlidingWindow(spec.rate, 1.0 + MARGIN)
        early, self.early = self.early, []
        for message, sender in early:
            self.on_message(message, sender)

    def accept(self, delivery: Delivery) -> None:
        """Run a delivery now (a plain call in process) or queue it; pass a ``<huh>`` reply up."""
        assert self.spec is not None
        if is_huh(delivery.payload) and "huh" not in self.spec.payload_tags:
            # An error coming back from a listener we called: it goes on to our caller.
            self.reply(delivery, delivery.payload, self.spec.name)
            return
        self.next_job += 1
        if self.runs_at_once:
            assert self.calls is not None
            done = self.calls.start(Work(self.next_job, delivery))  # answered now: none waits
            self.route(delivery, cast(WorkDone, done))
            return
        self.jobs[self.next_job] = (delivery, 0.0)
        self.hand_out(self.dispatch.add(self.next_job, delivery.deadline))

    def hand_out(self, assignments: list[tuple[int, int]]) -> None:
        """Start each assigned job: on its worker (batched per worker), or here in process.

        In process a call may answer at once (a plain handler): its outcome is
        routed and the freed place refilled here, in a loop rather than by
        recursion, so a batch of hundreds of items never nests deep. Jobs the
        dispatch found past their deadline are answered first, unstarted.
        """
        while True:
            self.expire_waiting()
            if not assignments:
                self.wait_for_rate()
                return
            now = time.monotonic()
            answered = []
            for slot, job in assignments:
                delivery = self.jobs[job][0]
                self.jobs[job] = (delivery, now)
                if self.calls is None:
                    self.send(self.workers[slot].address, Work(job, delivery))
                else:
                    done = self.calls.start(Work(job, delivery))
                    if done is not None:
                        answered.append((slot, done))
            self.watch()
            for slot, done in answered:
                self.settle(slot, done)
            assignments = self.dispatch.assign() if answered else []

    def expire_waiting(self) -> None:
        """Answer every job whose caller's deadline passed while it waited; none of them runs."""
        for job in self.dispatch.take_expired():
            delivery, _ = self.jobs.pop(job)
            late = expired_huh(delivery.target, time.time() - delivery.deadline)
            self.route(delivery, WorkDone(job, EXPIRED, late))

    def finish(self, slot: int, done: WorkDone) -> None:
        """Route a call's outcome and refill its place; a late one (its job already failed) is dropped."""
        if done.job_id < 0:
            self.straight_done(slot, done)
        elif self.settle(slot, done):
            self.hand_out(self.dispatch.assign())
        self.report_when_counted()

    def settle(self, slot: int, done: WorkDone) -> bool:
        """Route a call's outcome; False for a late one (its job already failed)."""
        if slot < 0 or not self.dispatch.done(slot, done.job_id):
            return False
        delivery, _ = self.jobs.pop(done.job_id)
        self.route(delivery, done)
        if done.seconds and self.workers:
            self.measure(done.seconds)
        return True

    def measure(self, *seconds: float) -> None:
        """Follow how long calls take; workers hold a couple of milliseconds of them queued."""
        assert self.spec is not None
        if not self.spec.queues or not seconds:
            return
        held = self.spec.concurrency + [self.call_times.prefetch(s) for s in seconds][-1]
        if held != self.dispatch.capacity:
            self.hand_out(self.dispatch.resize(held))
            if self.all_started:
                self.workers_changed()  # runs sending items straight hold as many

    def route(self, delivery: Delivery, done: WorkDone) -> None:
        """Send a handler's outcome on: back along the path, or forward; ``none`` ends it.
        An expired job (not started: its caller's deadline had passed) is answered, not handled."""
        assert self.spec is not None
        self.count(done)
        if done.kind in ANSWERS and not done.replied:
            self.reply(delivery, done.payload, self.spec.name)
        elif done.kind == "forward":
            self.send_forward(delivery, done)

    def count(self, done: WorkDone) -> None:
        """Count an outcome as it is routed: handled (or expired), failed, its latency."""
        self.count_outcome(done.kind, done.seconds)

    def count_outcome(self, kind: str, seconds: float) -> None:
        self.counters[EXPIRED if kind == EXPIRED else "handled"] += 1
        if seconds:
            self.latency.observe(seconds)
        if kind in ("huh", EXPIRED):
            self.counters["failed"] += 1

    def fail(self, job: int, text: str, reason: str | None = None) -> None:
        """Answer a job that ended without its handler's answer (it is not run again)."""
        assert self.spec is not None
        delivery, _ = self.jobs.pop(job)
        self.counters["failed"] += 1
        self.reply(delivery, make_huh(text, reason=reason), self.spec.name)

    def wait_for_rate(self) -> None:
        """Jobs held back by the rate limit: look again when its window frees."""
        due = self.dispatch.rate_wait()
        if due and not self.rate_timer:
            self.rate_timer = True
            self.set_timer(due - time.time(), "rate")

    def on_wakeup(self, payload: Any) -> None:
        if isinstance(payload, tuple) and payload[0] == "report":
            self.grace_over(payload[1])
            return
        if payload == "rate":
            self.rate_timer = False
            self.hand_out(self.dispatch.assign())
            return
        if payload == "watch" and self.spec is not None:
            self.look_at_running()

    def send_forward(self, delivery: Delivery, done: WorkDone) -> None:
        assert self.spec is not None
        name, peers = self.spec.name, self.spec.peers
        if not may_send(peers, done.to):
            self.counters["refused"] += 1
            self.counters["failed"] += 1  # its caller gets a <huh>
            log_event("refused_send", logging.WARNING, sender=name, target=done.to,
                      thread=delivery.thread_id)
            self.reply_huh(delivery, refusal_text(name, done.to, peers), name)
            return
        outgoing = forward(delivery, done.payload, name, done.to, self.myAddress, peers)
        address = self.lookup(done.to, outgoing)
        if address is not None:
            self.send(address, outgoing)

    def on_resolved(self, answer: Resolved) -> None:
        super().on_resolved(answer)
        outgoing = answer.pending
        if not isinstance(outgoing, Delivery) or self.spec is None:
            return
        if answer.address is not None:
            self.send(answer.address, outgoing)
            return
        # Unknown target: the error goes to the caller of the forwarding hop.
        caller = Delivery(outgoing.target, outgoing.sender, outgoing.thread_id, b"", outgoing.path[:-1])
        self.counters["failed"] += 1
        self.reply_huh(caller, f"Unknown listener: {answer.name}", self.spec.name)

    def on_exit(self) -> None:
        self.kill_busy()  # Thespian tells children to exit; a hung worker would linger
        if self.calls is not None:
            self.calls.close()
