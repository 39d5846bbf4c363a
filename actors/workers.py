"""A listener as its workers' supervisor: starting them, stopping overrunning calls, replacing
the dead.

Across processes a listener's calls run in ``workers`` worker actors, its
children. ``WorkerSupervisor`` is the part of ``ListenerActor`` that keeps
them: it spawns each with the listener's spec, looks at the running jobs
while the listener has a ``timeout`` (one timer at a time: Thespian timers
cannot be cancelled), kills a worker whose blocking call overran it, and
replaces a worker that exited. Every job a lost worker held is answered
``<huh reason="exited">`` once, and never run again. In process there are no
worker actors, and only the timeout's answers apply.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .calls import Calls, is_async_handler
from .dispatch import Dispatch
from .logs import logger
from .messages import Address, Delivery, ListenerSpec, WorkerInit
from .processes import kill
from .shell import Shell
from .worker import WorkerActor
from .worker_routes import lost_text

__all__ = ["WorkerSupervisor", "WorkerRecord", "TIMEOUT_GRACE"]

TIMEOUT_GRACE = 1.0
"""Seconds past its ``timeout`` an async call may take before its worker counts as stuck.

The worker itself cancels an async call at the timeout and answers it; a call
still held after this grace means a blocking call froze the worker's loop.
"""


@dataclass(slots=True)
class WorkerRecord:
    """One worker actor: its address, its process, whether it was killed (awaiting its replacement)."""

    address: Address
    pid: int = 0
    killed: bool = False


class WorkerSupervisor(Shell):
    """The worker-keeping half of ``ListenerActor`` (which sets the state below and answers
    jobs: ``fail``, ``hand_out``)."""

    spec: ListenerSpec | None
    calls: Calls | None
    workers: list[WorkerRecord]
    dispatch: Dispatch
    jobs: dict[int, tuple[Delivery, float]]
    counters: dict[str, int]
    watching: bool

    def fail(self, job: int, text: str, reason: str | None = None) -> None:
        raise NotImplementedError

    def hand_out(self, assignments: list[tuple[int, int]]) -> None:
        raise NotImplementedError

    def spawn(self, slot: int) -> Address:
        assert self.spec is not None
        address = self.createActor(WorkerActor)
        self.send(address, WorkerInit(self.spec, slot))
        return address

    def slot_of(self, worker: Address) -> int:
        return next((i for i, w in enumerate(self.workers) if w.address == worker), -1)

    def watch(self) -> None:
        """Make sure a timer will look at the running jobs, if the listener has a timeout."""
        assert self.spec is not None
        if self.spec.timeout > 0 and not self.watching:
            self.watching = True
            self.set_timer(min(self.spec.timeout, 1.0), "watch")

    def look_at_running(self) -> None:
        """The "watch" timer: stop every job running past the timeout; watch on while any runs."""
        assert self.spec is not None
        self.watching = False
        limit = self.spec.timeout + (TIMEOUT_GRACE if is_async_handler(self.spec.handler) else 0)
        now = time.monotonic()
        for slot in range(self.dispatch.slots):
            overdue = [j for j in self.dispatch.held(slot) if now - self.jobs[j][1] >= limit]
            if overdue:
                self.stop_stuck(slot, overdue)
        if self.dispatch.in_flight:
            self.watch()

    def stop_stuck(self, slot: int, overdue: list[int]) -> None:
        """Answer the overdue jobs of ``slot``; a worker process is killed with all it holds."""
        assert self.spec is not None
        text = f"Handler {self.spec.name} did not answer within {self.spec.timeout:g} s"
        for job in overdue:
            self.dispatch.done(slot, job)
            self.fail(job, text)
        worker = self.workers[slot] if self.calls is None else None
        if worker is not None and worker.pid and not worker.killed:
            worker.killed = True
            kill([worker.pid])  # its exit brings a replacement (on_child_exited)
            self.fail_lost(slot)
        self.hand_out(self.dispatch.assign())

    def fail_lost(self, slot: int) -> None:
        """Fail every job ``slot``'s worker held: it is dead or being killed; it takes no more
        (and this actor's exit does not wait for it: ``forget_child``)."""
        assert self.spec is not None
        self.forget_child(self.workers[slot].address)
        text = lost_text(self.spec.name)
        for job in self.dispatch.lost(slot):
            self.fail(job, text, reason="exited")

    def on_child_exited(self, child: Address) -> None:
        """Fail every job a dead worker held, then replace it (unless we are exiting)."""
        slot = self.slot_of(child)
        if self.spec is None or self.exiting or slot < 0:
            return
        self.counters["replaced"] += 1
        logger().warning("listener %s: worker %d exited holding %d jobs; replacing it",
                         self.spec.name, slot, len(self.dispatch.held(slot)))
        self.fail_lost(slot)
        self.workers[slot] = WorkerRecord(self.spawn(slot))
        self.workers_changed()
        self.hand_out(self.dispatch.restored(slot))

    def workers_changed(self) -> None:
        """A worker was replaced: a hook for whoever tells callers which workers take calls."""

    def kill_busy(self) -> None:
        """On exit: kill every worker still holding jobs (a hung one would linger)."""
        kill(w.pid for slot, w in enumerate(self.workers) if w.pid and self.dispatch.held(slot))
