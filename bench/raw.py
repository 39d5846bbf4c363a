"""Hand-written raw Thespian actors: the peer a user would write without xmlactors.

``RawEcho`` answers one XML message (the per-hop comparison). ``RawParent``
is a long-lived fan-out parent with ``workers`` ``RawWorker`` children: it
sends each item to a worker (round robin, at most ``window`` unanswered),
keeps each result at its index and replies once with all of them. Workers
run ``bench.workload.xml_work`` (or ``heavy_xml_work``) on the same bytes
xmlactors delivers. Module-level classes: the multiprocess bases import them.

``raw_system`` starts such a system with the same hygiene as ``Runtime``:
a free loopback admin port on TCP, and no process left behind on exit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from thespian.actors import Actor, ActorSystem

from actors import bases, processes

from .workload import heavy_xml_work, xml_work

__all__ = [
    "RawEcho", "RawParent", "RawWorker", "FanOut", "Setup", "WORKS",
    "raw_system", "start_parent", "fan_out",
]

WORKS = {"small": xml_work, "heavy": heavy_xml_work}
"""The per-item work a raw worker can run, by name (a name pickles on every base)."""


@dataclass(frozen=True)
class Setup:
    """Tell a ``RawParent`` how many workers to create and which work they run."""

    workers: int
    work: str


@dataclass(frozen=True)
class FanOut:
    """One fan-out: items as wire bytes, at most ``window`` unanswered."""

    items: tuple[bytes, ...]
    window: int


class RawEcho(Actor):  # type: ignore[misc]
    """Answers XML bytes with the work's XML bytes; ``"sid"`` with its session id."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, bytes):
            self.send(sender, xml_work(message))
        elif message == "sid":
            self.send(sender, os.getsid(0))


class RawWorker(Actor):  # type: ignore[misc]
    """Runs the work on ``(index, bytes, work)`` and answers ``(index, result)``."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, tuple):
            index, data, work = message
            self.send(sender, (index, WORKS[work](data)))


class RawParent(Actor):  # type: ignore[misc]
    """A windowed fan-out parent, as a competent user would write it."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, tuple):
            self._record(*message)
        elif isinstance(message, FanOut):
            self._start(message, sender)
        elif isinstance(message, Setup):
            self.work = message.work
            self.workers = [self.createActor(RawWorker) for _ in range(message.workers)]
            self.send(sender, "ready")
        elif message == "sid":
            self.send(sender, os.getsid(0))

    def _start(self, fan_out: FanOut, sender: Any) -> None:
        self.asker, self.items = sender, fan_out.items
        self.results: list[bytes | None] = [None] * len(fan_out.items)
        self.next = self.done = 0
        for _ in range(min(fan_out.window, len(fan_out.items))):
            self._dispatch()

    def _dispatch(self) -> None:
        index = self.next
        self.next += 1
        worker = self.workers[index % len(self.workers)]
        self.send(worker, (index, self.items[index], self.work))

    def _record(self, index: int, result: bytes) -> None:
        self.results[index] = result
        self.done += 1
        if self.next < len(self.items):
            self._dispatch()
        if self.done == len(self.items):
            self.send(self.asker, tuple(self.results))


@contextlib.contextmanager
def raw_system(base: str) -> Iterator[Any]:
    """A raw Thespian ``ActorSystem`` on ``base``; shut down, survivors killed, on exit."""
    caps: dict[str, Any] = {}
    if base == "multiprocTCPBase":
        bases.bind_to("127.0.0.1")
        caps["Admin Port"] = bases.free_port()
    log_defs = bases.log_defs() if base != "simpleSystemBase" else None
    system = ActorSystem(base, caps, logDefs=log_defs)
    session = 0
    try:
        if base != "simpleSystemBase":
            probe = system.createActor(RawEcho)
            session = system.ask(probe, "sid", 30)
            processes.track_session(session)
        yield system
    finally:
        system.shutdown()
        if session:
            processes.end_session(session)


def start_parent(system: Any, workers: int, work: str = "small") -> Any:
    """A ``RawParent`` with its workers created and ready."""
    parent = system.createActor(RawParent)
    if system.ask(parent, Setup(workers, work), 60) != "ready":
        raise RuntimeError("raw fan-out parent did not start")
    return parent


def fan_out(system: Any, parent: Any, items: tuple[bytes, ...], window: int,
            timeout: float = 600) -> tuple[bytes, ...]:
    """Run one fan-out through ``parent`` and return its results in index order."""
    results = system.ask(parent, FanOut(items, window), timeout)
    if not isinstance(results, tuple) or len(results) != len(items):
        raise RuntimeError(f"raw fan-out failed: got {type(results).__name__}")
    return results
