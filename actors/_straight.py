"""The mailbox's side of calls sent straight to a listener's workers (see ``worker_routes``).

Runs in the user's process: a mixin of ``Mailbox`` that asks a listener for
its workers (``follow``), sends each call to the next one (``send_call``),
and answers the calls a worker took with it when a ``Route`` drops it
(``rerouted``). Everything it keeps is guarded by the mailbox's lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .huh import is_huh
from .messages import Address, Delivery, Route, RouteRequest
from .worker_routes import ROUTE_WAIT, WorkerRoutes

__all__ = ["Straight"]


class Straight:
    """Mixed into ``Mailbox``: which worker each call goes to, and the calls lost with one."""

    if TYPE_CHECKING:
        reply_address: Address
        _routes_lock: threading.Lock
        _routes: dict[Any, Any]

        def send(self, address: Address, message: Any) -> None: ...
        def post(self, address: Address, message: Any) -> None: ...

    to_workers = False  # whether calls may go straight to a listener's workers (worker_routes)

    def __init__(self) -> None:
        self.workers = WorkerRoutes()  # guarded by _routes_lock
        self._first_route: dict[str, threading.Event] = {}  # set as a name's first Route comes
        self._refollow: dict[str, Address] = {}  # restarted listeners to follow again

    def follow(self, name: str, listener: Address, wait: float = ROUTE_WAIT) -> None:
        """Ask ``name``'s listener for the workers its calls may go straight to (where the base
        allows it), and wait up to ``wait`` s for its first ``Route`` (see ``worker_routes``)."""
        if not self.to_workers:
            return
        with self._routes_lock:
            self.workers.follow(name)
            self._first_route[name] = routed = threading.Event()
        self.send(listener, RouteRequest(self.reply_address))
        routed.wait(wait)

    def straight_counts(self, name: str) -> tuple[int, int]:  # see WorkerRoutes.counts
        with self._routes_lock:
            return self.workers.counts(name)

    def send_call(self, target: str, address: Address, delivery: Delivery,
                  token: Any = None, post: bool = False) -> None:
        """Send a call for ``target``: to its next worker if it has a route (``token`` counts on
        it until its exchange ends), else to ``address``; a ``<huh>`` passed up, always there."""
        worker = refollow = None
        if self.to_workers and not is_huh(delivery.payload):
            with self._routes_lock:
                worker = self.workers.pick(target, token)
                refollow = self._refollow.pop(target, None)
        if refollow is not None:  # a restarted listener: its new workers, from now on
            self.follow(target, refollow, wait=0.0)
        (self.post if post else self.send)(worker or address, delivery)

    def rerouted(self, route: Route) -> None:
        """A listener's workers changed: each call sent to one it no longer lists is lost."""
        with self._routes_lock:
            lost = [(self._routes.get(call.token), call)
                    for call in self.workers.update(route.name, route.workers)]
            self._first_route.pop(route.name, threading.Event()).set()
        for inbox, call in lost:
            if inbox is not None:
                inbox.queue.put(call)
