"""``system.buffer``'s side of items sent straight to workers (see ``item_routes``).

Mixed into ``BufferService`` on ``multiprocTCPBase``: the service follows
each target listener once (``RouteRequest``), keeps its latest ``Route``,
puts the workers in every run's start, passes each new ``Route`` on to the
runs of that listener (and to a run the pool just launched, which may have
missed some), and follows a restarted listener again. When a run starts on
a warm actor, the service sends the run's first window to the workers
itself, right after the start: the run does not wait for its start to
arrive before its first items leave.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..huh import is_huh
from ..messages import Address, BufferItem, Route, RouteRequest
from ..run_messages import BufferRunStart
from .item_routes import spread
from .run_pool import Launched

__all__ = ["FollowsRoutes"]


class FollowsRoutes:
    """Each target's workers, and the runs that send to them."""

    if TYPE_CHECKING:
        init: Any
        myAddress: Address
        counters: dict[str, int]
        warm: list[tuple[Address, int]]
        active: dict[str, Address]

        def send(self, target: Address, message: Any) -> None: ...
        def place_run(self, start: Any) -> Address: ...
        def on_message(self, message: Any, sender: Address) -> None: ...
        def on_moved(self, name: str, address: Address) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes: dict[str, Route] = {}  # followed listener -> its latest Route
        self.labels: dict[str, str] = {}  # run id -> its target, while it may be active

    def follow_target(self, name: str, listener: Address) -> None:
        """Ask ``name``'s listener for its workers, once. On TCP only: in process there are no
        workers, and on multiprocQueueBase, where a send between actors that are not parent
        and child travels through the admin, it was not measured."""
        if self.init is not None and self.init.base == "multiprocTCPBase" and name not in self.routes:
            self.routes[name] = Route(name)
            self.send(listener, RouteRequest(self.myAddress))

    def with_workers(self, start: BufferRunStart) -> BufferRunStart:
        """``start`` with its target's workers, and how many first items the service sends
        them: a window's worth when a warm actor takes the run and nothing needs the run's
        own bookkeeping first (a journal, an item timeout, a ``<huh>`` item)."""
        self.labels[start.run_id] = start.label
        route = self.routes.get(start.label)
        if route is None or not route.workers:
            return start
        present = min(start.window, len(start.items), len(route.workers) * route.holds)
        resilience = start.resilience
        if (not self.warm or (resilience is not None and (resilience.journal or resilience.item_timeout))
                or any(is_huh(item) for item in start.items[:present])):
            present = 0
        return replace(start, route=route, present=present)

    def send_present(self, start: BufferRunStart, run: Address) -> None:
        """The run's first ``present`` items, to its workers in turn; answers go to ``run``."""
        origin, expires, workers = start.origin, time.time() + start.timeout, start.route.workers
        for index, position in enumerate(spread(start.present, len(workers))):
            item = BufferItem(start.run_id, index, start.items[index], origin.thread_id,
                              origin.authority, origin.principal, expires, 1, run)
            self.send(workers[position], item)

    def rerouted(self, route: Route) -> None:
        """A followed listener's workers changed: its runs hear of it."""
        if route.name not in self.routes:
            return
        self.routes[route.name] = route
        self.count_routes()
        for run_id, label in list(self.labels.items()):
            if run_id not in self.active:
                del self.labels[run_id]
            elif label == route.name and self.active[run_id] is not None:
                self.send(self.active[run_id], route)

    def launched(self, message: Launched) -> None:
        """A run the pool started: the latest route of its target, in case it changed."""
        label = self.labels.get(message.run_id)
        route = self.routes.get(label) if label is not None else None
        if route is not None and route.workers and message.run_id in self.active:
            self.send(message.address, route)

    def refollow(self, name: str, address: Address) -> None:
        """A listener was restarted (or is down): follow its replacement."""
        if self.routes.pop(name, None) is not None and address is not None:
            self.follow_target(name, address)
        self.count_routes()

    def count_routes(self) -> None:
        """``routed`` in the service's counters: the targets whose workers take items now."""
        self.counters["routed"] = sum(1 for route in self.routes.values() if route.workers)
