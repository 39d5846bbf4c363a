"""A Buffer run's side of items sent straight to its target's workers (see ``item_routes``).

Mixed into ``BufferRunActor``: the run sends each item to a worker of its
target when the start (or a later ``Route`` its service passes on) lists
some, else to the target's listener; a ``<huh>`` item always goes to the
listener, which passes it up. While every worker holds all it may, items
wait here and leave as answers come back. An item whose worker drops out of
the list is answered ``<huh reason="exited">`` here, once.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

from ..huh import is_huh, make_huh
from ..messages import Address, BufferItem, Route
from ..worker_routes import lost_text
from .item_routes import ItemRoutes, spread

__all__ = ["StraightItems"]


class StraightItems:
    """Where a run's items go; the items waiting for room at a worker; those lost with one."""

    if TYPE_CHECKING:
        run: Any

        def send(self, target: Address, message: Any) -> None: ...
        def send_all(self, target: Address, messages: list[Any]) -> None: ...
        def on_reply(self, token: int, payload: Any) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes = ItemRoutes()  # the target's workers: none until ``route_items``
        self.present = 0  # the first items of the run, sent by its service (``spread``)
        self.waiting: collections.deque[BufferItem] = collections.deque()  # for room at a worker

    def route_items(self, route: Route | None, present: int) -> None:
        """At the start: the target's workers, and the first ``present`` items already at them."""
        self.routes = ItemRoutes(route.workers, route.holds) if route else ItemRoutes()
        self.present = present
        self.waiting.clear()
        for index, position in enumerate(spread(present, len(self.routes.workers))):
            self.routes.hold(index, position)

    def send_items(self, items: list[BufferItem]) -> None:
        """Each item to the worker holding fewest (batched per worker by the outbox), to the
        target's listener, or to wait for room; those the service already sent are skipped."""
        present, self.present = self.present, 0
        self.waiting.extend([item for item in items if item.index >= present] if present else items)
        self.send_waiting()

    def send_waiting(self) -> None:
        routes, target = self.routes, self.run.target
        if not routes.workers:  # no worker to send straight to: all through the listener
            if self.waiting:
                self.send_all(target, list(self.waiting))
                self.waiting.clear()
            return
        while self.waiting:
            item = self.waiting[0]
            if is_huh(item.payload):
                self.send(target, self.waiting.popleft())  # through the listener
            elif routes.full:
                return
            else:
                self.send(routes.pick(item.index), self.waiting.popleft())

    def waiting_indexes(self) -> set[int]:
        """Items not sent yet: they wait here for room at a worker."""
        return {item.index for item in self.waiting}

    def rerouted(self, route: Route) -> None:
        """The target's workers changed: the items held by one no longer listed failed; what
        waits goes where there is room now."""
        if route.name != self.run.label:
            return
        lost = self.routes.update(route.workers, route.holds)
        if lost:
            payload = make_huh(lost_text(route.name), reason="exited")
            for index in lost:
                self.on_reply(index, payload)
        self.send_waiting()

    def answered(self, index: int) -> None:
        """Item ``index`` came back: its worker has room for the next."""
        self.routes.settled(index)
        if self.waiting:
            self.send_waiting()
