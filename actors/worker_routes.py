"""Which worker a runtime sends a listener's call to straight, and which calls a lost worker held.

Runs in the user's process, on the multiprocess bases. Through its listener
a call takes three hops (caller, listener, worker, caller); sent to one of
the listener's workers it takes two, as a raw Thespian ask does. A listener
that allows it (no rate limit, no timeout: nothing it must count or watch
as each call starts) answers a runtime's ``RouteRequest`` with its ready
workers, and sends the list again whenever it changes (``Route``). The
worker tells its listener of each such call once it is answered, so the
listener's counters still count it.

A listener's start waits for its first ``Route`` (``ROUTE_WAIT``): calls
sent through the listener before it came could still wait there while later
ones ran straight, out of their order.

A worker that dies takes its calls with it, and only the runtime knows
which calls it sent there: when a worker drops out of its listener's list,
every call still waiting on it is answered ``<huh reason="exited">``, as
the listener answers the jobs it held. A call is counted against its worker
from before it is sent (``pick``) until its exchange ends (``settled``), so
a list that changes in between always finds it.

Pure: no Thespian, no threads; the mailbox calls it under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .huh import make_huh
from .messages import Address

__all__ = ["WorkerRoutes", "LostCall", "lost_text", "ROUTE_WAIT"]

ROUTE_WAIT = 10.0
"""Seconds a listener's start waits for its first ``Route`` (its first worker ready); past
them its calls go through it until the route comes."""


def lost_text(name: str) -> str:
    """The error of a call whose worker died: the listener's for the jobs it held, ours for the rest."""
    return f"Listener {name}: its worker exited while handling this message"


@dataclass(frozen=True, slots=True)
class LostCall:
    """The answer an exchange gets for a call whose worker died: a ``<huh reason="exited">``."""

    token: Any
    payload: bytes


class WorkerRoutes:
    """Per listener name, the workers calls may go to (in turn); per token, where each went."""

    def __init__(self) -> None:
        self._workers: dict[str, tuple[Address, ...]] = {}
        self._turn: dict[str, int] = {}
        self._sent: dict[Any, tuple[str, Address]] = {}  # token -> (name, worker)
        self._lost: dict[str, int] = {}  # name -> calls lost with a worker

    def follows(self, name: str) -> bool:
        """Whether ``name``'s route was asked for (and not forgotten since)."""
        return name in self._workers

    def follow(self, name: str) -> None:
        """Start following ``name``: no worker yet, until its listener's ``Route`` comes."""
        self._workers.setdefault(name, ())

    def workers(self, name: str) -> tuple[Address, ...]:
        return self._workers.get(name, ())

    def pick(self, name: str, token: Any = None) -> Address | None:
        """The next worker of ``name`` in turn (None: send through the listener); a ``token``
        is counted against it until ``settled``."""
        workers = self._workers.get(name)
        if not workers:
            return None
        turn = self._turn.get(name, 0)
        self._turn[name] = turn + 1
        worker = workers[turn % len(workers)]
        if token is not None:
            self._sent[token] = (name, worker)
        return worker

    def settled(self, token: Any) -> None:
        """The exchange of ``token`` ended: its call no longer waits on a worker."""
        self._sent.pop(token, None)

    def update(self, name: str, workers: tuple[Address, ...]) -> list[LostCall]:
        """``name``'s listener lists ``workers`` now; the answers of the calls sent to a worker
        it no longer lists (they are settled here). Ignored for a name not followed."""
        if name not in self._workers:
            return []
        self._workers[name] = tuple(workers)
        tokens = [t for t, (n, w) in self._sent.items() if n == name and w not in workers]
        if not tokens:
            return []
        payload = make_huh(lost_text(name), reason="exited")
        for token in tokens:
            del self._sent[token]
        self._lost[name] = self._lost.get(name, 0) + len(tokens)
        return [LostCall(token, payload) for token in tokens]

    def forget(self, name: str) -> None:
        """Stop following ``name`` (its listener was restarted or is down: its exchanges hear of
        that on their own); its calls are no longer counted against any worker."""
        self._workers.pop(name, None)
        self._turn.pop(name, None)
        self._lost.pop(name, None)
        for token in [t for t, (n, _) in self._sent.items() if n == name]:
            del self._sent[token]

    def counts(self, name: str) -> tuple[int, int]:
        """``(calls out, calls lost)`` of ``name``: what its listener cannot count itself,
        the asks sent straight and not answered yet, and those failed with their worker."""
        out = sum(1 for n, _ in self._sent.values() if n == name)
        return out, self._lost.get(name, 0)
