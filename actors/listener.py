"""The listener actor: the address behind a listener's name, and its workers' supervisor.

It owns ``workers`` worker actors, hands each delivery to an idle
one, and routes what the handler returned: back along the call path
(respond), on to another listener (forward, within its peers), or nowhere.
Each worker holds at most one job; the rest wait here, in order. A worker
whose process dies is replaced and the one delivery it held is answered with
``<huh reason="exited">``: never lost, never left hanging, never run twice.
"""

from __future__ import annotations

import collections
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from ._shell import Shell, log
from .deploy import meets_requirements
from .messages import (
    Address,
    Delivery,
    ListenerSpec,
    PidsReply,
    PidsRequest,
    Resolved,
    StatsReply,
    StatsRequest,
    Work,
    WorkDone,
    WorkerReady,
)
from .parsing import make_huh
from .routing import forward, is_huh_bytes, may_send, refusal_text
from .worker import Handling, WorkerActor, WorkerInit, handle_work

__all__ = ["ListenerActor", "BufferItemDelivery"]


@dataclass(slots=True)
class _Slot:
    """One worker: its address, its process, and the one job it holds (if any).

    Invariant: a worker holds at most one job. Its death notice can overtake
    the answer it sent just before dying, so with several jobs out the
    listener could not tell which one it died on; with one it always can.
    """

    address: Address
    pid: int = 0
    job: tuple[int, Delivery] | None = None
    since: float = 0.0  # time.monotonic() when the job was handed over
    killed: bool = False  # its process was ended; it takes no job until replaced


class BufferItemDelivery:
    """Marker base for messages a listener converts to a ``Delivery`` on arrival.

    Orchestration runs send such messages (``BufferItem``); the listener
    calls ``as_delivery(target, sender_address)`` and handles the result
    like any other delivery.
    """

    def as_delivery(self, target: str, origin: Address) -> Delivery:
        raise NotImplementedError


class ListenerActor(Shell):
    """Supervisor of one listener's workers; its address is the listener's address.

    Placement: created with ``targetActorRequirements`` (a listener's
    ``<requires>``), it lives on a system of the convention whose
    capabilities meet them; its workers are its children, on that system too.
    """

    batched_kinds = (Delivery,)  # replies to runs; never Work (see Shell)

    actorSystemCapabilityCheck = staticmethod(meets_requirements)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec: ListenerSpec | None = None
        self.handling: Handling | None = None  # set when the spec says inline
        self.slots: list[_Slot] = []
        self.queue: collections.deque[tuple[int, Delivery]] = collections.deque()  # waiting jobs
        self.next_job = 0
        self.early: list[tuple[Any, Address]] = []
        self.counters = {"handled": 0, "refused": 0, "replaced": 0}
        self.watching = False  # a "watch" timer is pending

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, ListenerSpec):
            self.start(message)
        elif self.spec is None:
            self.early.append((message, sender))  # arrived before our spec: keep order
        elif isinstance(message, Delivery):
            self.accept(message.with_origin(sender))
        elif isinstance(message, BufferItemDelivery):
            self.accept(message.as_delivery(self.spec.name, sender))
        elif isinstance(message, WorkDone):
            self.finish(message, sender)
        elif isinstance(message, WorkerReady):
            self.slots[message.slot].pid = message.pid
        elif isinstance(message, StatsRequest):
            self.answer(message, sender, StatsReply(tuple(self.counters.items()), message.token))
        elif isinstance(message, PidsRequest):
            pids = (os.getpid(), *(s.pid for s in self.slots if s.pid))
            self.answer(message, sender, PidsReply(pids, os.getsid(0), message.token))

    def start(self, spec: ListenerSpec) -> None:
        self.spec, self.registry = spec, spec.registry
        if spec.inline:
            # In process, worker actors would add two message hops per delivery
            # and no parallelism: the listener runs the handler itself.
            self.handling = Handling(spec)
        else:
            self.slots = [_Slot(self.spawn(slot)) for slot in range(spec.workers)]
        early, self.early = self.early, []
        for message, sender in early:
            self.on_message(message, sender)

    def spawn(self, slot: int) -> Address:
        assert self.spec is not None
        address = self.createActor(WorkerActor)
        self.send(address, WorkerInit(self.spec, slot))
        return address

    def accept(self, delivery: Delivery) -> None:
        """Hand a delivery to an idle worker (or queue it); pass a ``<huh>`` reply up instead."""
        assert self.spec is not None
        if is_huh_bytes(delivery.payload) and "huh" not in self._tags():
            # An error coming back from a listener we called: it goes on to our caller.
            self.reply(delivery, delivery.payload, self.spec.name)
            return
        self.next_job += 1
        if self.handling is not None:
            self.route(delivery, handle_work(self.handling, Work(self.next_job, delivery)))
            return
        self.queue.append((self.next_job, delivery))
        idle = next((slot for slot in self.slots if slot.job is None and not slot.killed), None)
        if idle is not None:
            self.feed(idle)

    def feed(self, slot: _Slot) -> None:
        """Give an idle worker the oldest waiting delivery."""
        if self.queue and slot.job is None and not slot.killed:
            slot.job, slot.since = self.queue.popleft(), time.monotonic()
            self.send(slot.address, Work(*slot.job))
            self.watch()

    # A listener's ``timeout`` bounds each handler call on the multiprocess
    # bases: a worker still on its job past it is killed and replaced, and its
    # caller told. One timer at a time (Thespian timers cannot be cancelled).

    def watch(self) -> None:
        """Make sure a timer will look at the busy workers, if the listener has a timeout."""
        assert self.spec is not None
        if self.spec.timeout > 0 and not self.watching:
            self.watching = True
            self.set_timer(min(self.spec.timeout, 1.0), "watch")

    def on_wakeup(self, payload: Any) -> None:
        if payload != "watch" or self.spec is None:
            return
        self.watching = False
        now, limit = time.monotonic(), self.spec.timeout
        for slot in self.slots:
            if slot.job is not None and now - slot.since >= limit and slot.pid:
                delivery, slot.job = slot.job[1], None
                text = f"Handler {self.spec.name} did not answer within {limit:g} s"
                self.reply(delivery, make_huh(text), self.spec.name)
                slot.killed = True
                _kill(slot.pid)  # its exit brings a replacement (on_child_exited)
        if any(slot.job is not None for slot in self.slots):
            self.watch()

    def _tags(self) -> set[str]:
        assert self.spec is not None
        return {cls.__name__ for cls in self.spec.payload_classes}

    def finish(self, done: WorkDone, worker: Address) -> None:
        """Route a worker's outcome; a late one for a failed job is dropped."""
        assert self.spec is not None
        slot = next((s for s in self.slots if s.address == worker), None)
        if slot is None or slot.job is None or slot.job[0] != done.job_id:
            return
        delivery, slot.job = slot.job[1], None
        self.feed(slot)
        self.route(delivery, done)

    def route(self, delivery: Delivery, done: WorkDone) -> None:
        """Send a handler's outcome on: back along the path, or forward; ``none`` ends it."""
        assert self.spec is not None
        self.counters["handled"] += 1
        if done.kind in ("respond", "huh"):
            self.reply(delivery, done.payload, self.spec.name)
        elif done.kind == "forward":
            self.send_forward(delivery, done)

    def send_forward(self, delivery: Delivery, done: WorkDone) -> None:
        assert self.spec is not None
        name, peers = self.spec.name, self.spec.peers
        if not may_send(peers, done.to):
            self.counters["refused"] += 1
            log.warning(
                "refused send: %s -> %s (thread %s)", name, done.to, delivery.thread_id
            )
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
        caller = Delivery(
            outgoing.target, outgoing.sender, outgoing.thread_id, b"", outgoing.path[:-1]
        )
        self.reply_huh(caller, f"Unknown listener: {answer.name}", self.spec.name)

    def on_child_exited(self, child: Address) -> None:
        """Fail what the dead worker held, then replace it (unless we are exiting)."""
        if self.spec is None:
            return
        index = next((i for i, s in enumerate(self.slots) if s.address == child), None)
        if index is None:
            return
        job = self.slots[index].job
        if self.exiting:
            return
        self.counters["replaced"] += 1
        log.warning("listener %s: worker %d exited; replacing it", self.spec.name, index)
        self.slots[index] = _Slot(self.spawn(index))
        if job is not None:  # the one job it held is the one it died on
            text = f"Listener {self.spec.name}: its worker exited while handling this message"
            self.reply(job[1], make_huh(text, reason="exited"), self.spec.name)
        self.feed(self.slots[index])

    def on_exit(self) -> None:
        # Thespian tells children to exit; make sure a hung worker does not linger.
        for slot in self.slots:
            if slot.job is not None:
                _kill(slot.pid)


def _kill(pid: int) -> None:
    """End a worker's process at once (never this process: in process there is none)."""
    if pid and pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass  # already gone
