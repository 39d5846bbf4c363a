"""Which of its target's workers a Buffer run sends each item to, and which items a lost worker held.

Across processes an item sent through its listener takes a hop more than a
call sent straight to one of the listener's workers (run, listener, worker,
run instead of run, worker, run). A listener that allows it (see
``listener_routes``) tells ``system.buffer`` its ready workers (``Route``);
the service hands them to each run of that listener, sends a fresh run's
first window itself (``spread``: the hop from service to run and the one
from run to worker then go out at once), and passes every later ``Route``
on. The run sends the rest of its items to the worker that holds the fewest
of them (``pick``).

Only the run knows which items went where: when a worker drops out of the
list (it died), every item it held fails with ``<huh reason="exited">``
once, and the run's retry policy decides what happens next, as for an item
its listener failed. Items are tokens here: an item's index, counted
against its worker from ``hold``/``pick`` until ``settled``.

A worker holds at most what its listener would hand it (``Route.holds``:
its concurrency, and a couple of milliseconds of calls queued once they
have shown they are short): past that, items wait in the run (``full``),
so a slow item holds back no more items behind it at its worker than
through the listener, and a death fails no more of them.

Pure: no Thespian; addresses compare equal but cannot be hashed, so workers
are kept by position.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ItemRoutes", "spread"]


def spread(count: int, workers: int) -> list[int]:
    """The worker position of each of ``count`` items sent out at once: in turn."""
    return [index % workers for index in range(count)] if workers else []


class ItemRoutes:
    """One run's view of its target's workers: the items each holds, and where the next goes."""

    def __init__(self, workers: tuple[Any, ...] = (), holds: int = 1) -> None:
        self.workers: tuple[Any, ...] = tuple(workers)
        self.holds = max(1, holds)  # items a worker may hold at once (its listener says)
        self._held = [0] * len(self.workers)  # per worker position: items out there
        self._where: dict[int, int] = {}  # token -> worker position

    @property
    def full(self) -> bool:
        """Whether every worker holds all it may (the next item waits in the run)."""
        return bool(self.workers) and min(self._held) >= self.holds

    def hold(self, token: int, position: int) -> None:
        """Item ``token`` was sent to the worker at ``position`` (by the service: ``spread``)."""
        self.settled(token)
        self._where[token] = position
        self._held[position] += 1

    def pick(self, token: int) -> Any:
        """The worker to send item ``token`` to (the one holding fewest, the first of equals),
        counted against it until ``settled``; None when no worker takes items straight.
        Picked when ``full``, a worker holds one more than it may."""
        if not self.workers:
            return None
        self.settled(token)  # sent again: the earlier send no longer counts
        held = self._held
        position = held.index(min(held))
        self.hold(token, position)
        return self.workers[position]

    def settled(self, token: int) -> None:
        """Item ``token`` was answered (or failed): it no longer waits on a worker."""
        position = self._where.pop(token, None)
        if position is not None:
            self._held[position] -= 1

    def held(self) -> int:
        """Items out at workers, not answered yet."""
        return len(self._where)

    def update(self, workers: tuple[Any, ...], holds: int = 1) -> list[int]:
        """The listener lists ``workers`` now, each holding up to ``holds``: the tokens held by
        a worker it no longer lists (lost with it; no longer held), in the order they were sent."""
        self.holds = max(1, holds)
        old = self.workers
        moved = [_position(workers, worker) for worker in old]
        lost, where = [], {}
        for token, position in self._where.items():
            now = moved[position]
            if now is None:
                lost.append(token)
            else:
                where[token] = now
        self.workers = tuple(workers)
        self._where = where
        self._held = [0] * len(self.workers)
        for position in where.values():
            self._held[position] += 1
        return lost

    def forget(self) -> None:
        """The listener itself was replaced: its workers are gone and their items are failed
        by the run (as through the listener); nothing goes straight until a new ``Route``."""
        self.workers, self._held, self._where = (), [], {}


def _position(workers: tuple[Any, ...], worker: Any) -> int | None:
    for position, candidate in enumerate(workers):
        if candidate == worker:
            return position
    return None
