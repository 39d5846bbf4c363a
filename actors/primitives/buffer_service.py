"""``system.buffer``: admission of a ``BufferStart``, then one ``BufferRunActor`` per run.

The service reads the start, refuses what it cannot run (a clear
``BufferError`` to the requester), resolves the target (and ``return_to``,
``dead_letter``) through the registry, and hands the run its child actor:
a warm one on the multiprocess bases (see ``run_pool``), with the target's
workers and, when it can, the run's first items already sent to them
(``service_routes``).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from ..dispatch import PREFETCH_MAX
from ..errors import PayloadError
from ..messages import Address, BufferItem, Delivery, ListenerInfo, Route
from ..parsed import Parsed, Payload
from ..parsing import item_elements
from ..routing import may_send, respond
from ..run_messages import BufferRunStart
from ..shape import items_within
from .buffer_actor import BufferRunActor
from .payloads import BufferCancel, BufferDispatched, BufferError, BufferStart
from .retry import Resilience, RetryPolicy, parse_retry_on
from .run_core import bad_timeout
from .run_pool import Launched
from .service import ServiceActor
from .service_routes import FollowsRoutes

__all__ = ["BufferService", "default_window"]


def default_window(base: str, target: ListenerInfo) -> int:
    """Items in flight when ``max_in_flight`` is 0: never unbounded.

    A few times the target's calls at once (workers x concurrency) and, when
    its workers may queue jobs, enough for each to hold the most it may
    (``dispatch.PREFETCH_MAX`` beyond its calls) while as much again travels. Measured here (2 cores): 1,000
    sends at once to a worker on multiprocQueueBase hung (and so did its
    shutdown), while a window of 8 took 0.2 s; it deadlocks once about 60
    requests are outstanding. On multiprocTCPBase items travel in batches, so
    a wide window costs few sends (1,000 small items to one worker: 1,170/s
    with a window of 8, 3,260/s with 128). In process, the window only bounds
    the queue, so it can be wide.
    """
    if base == "simpleSystemBase":
        return max(256, 2 * target.capacity)
    if base == "multiprocQueueBase":
        return min(32, max(8, 2 * target.capacity))
    queued = 2 * target.workers * (target.concurrency + PREFETCH_MAX) if target.queues else 0
    return max(8, 4 * target.capacity, queued)


class BufferService(FollowsRoutes, ServiceActor):
    """``system.buffer``: admission, then one child actor per run."""

    batched_kinds = (Delivery, BufferItem)  # a run's first items, per worker (service_routes)
    payload_class = BufferStart
    controls = frozenset({"BufferCancel"})
    run_actor_class = BufferRunActor
    embedded_field = "Items"

    def lost_answer(self, run_id: str) -> bytes:
        return BufferError(run_id, "Buffer run ended without a result").to_bytes()

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Route):
            self.rerouted(message)
            return
        super().on_message(message, sender)
        if isinstance(message, Launched):
            self.launched(message)

    def on_moved(self, name: str, address: Address) -> None:
        super().on_moved(name, address)
        self.refollow(name, address)

    def place_run(self, start: Any) -> Address:
        return super().place_run(self.with_workers(start))

    def started_on(self, start: Any, child: Address) -> None:
        if start.present:
            self.send_present(start, child)

    def control(self, delivery: Delivery, element: Any) -> None:
        self.cancel(delivery, BufferCancel.from_xml(element).buffer_id)

    def refuse(self, delivery: Delivery, start: Any, error: str) -> None:
        self.counters["rejected"] += 1
        buffer_id = getattr(start, "buffer_id", "") or "unknown"
        self.reply(delivery, BufferError(buffer_id, error).to_bytes(), self.name)

    def admit(self, delivery: Delivery, start: Any, embedded: Any) -> None:
        assert self.init is not None
        start.buffer_id = start.buffer_id or secrets.token_hex(4)
        try:
            items = self.items_of(delivery, embedded) if embedded is not None else []
        except PayloadError as exc:
            self.refuse(delivery, start, f"Malformed items: {exc}")
            return
        error = self._admission_error(delivery, start, items)
        if error:
            self.refuse(delivery, start, error)
            return
        start.dead_letter = start.dead_letter or self.init.dead_letter  # the operator's default
        names = [start.target] + [n for n in (start.return_to, start.dead_letter) if n]
        self.resolve(
            names,
            lambda found: self._launch(delivery, start, items, found),
            lambda name: self.refuse(delivery, start, _unknown(name, start)),
        )

    def items_of(self, delivery: Delivery, embedded: Any) -> list[Payload]:
        """The items of a start, as the elements they are (see ``parsed``): known to be within
        the runtime's limits when the whole start is, else each is checked where it is read."""
        assert self.init is not None
        limits = self.init.limits
        elements = item_elements(embedded, limits)
        size = len(delivery.payload) if isinstance(delivery.payload, bytes) else limits.max_run_bytes
        within = limits if items_within(embedded, size, limits) else None
        return [Parsed(element, within) for element in elements]

    def _admission_error(self, delivery: Delivery, start: Any, items: list[Payload]) -> str:
        if not items:
            return "No items specified"
        if not start.target:
            return "No target specified"
        if start.buffer_id in self.active:
            return f"Buffer {start.buffer_id} is already active"
        for name in (start.target, start.return_to, start.dead_letter):
            if name and not may_send(delivery.authority, name):
                return self.refused_send(delivery, name)
        if start.max_in_flight < 0:
            return f"max_in_flight must not be negative, got {start.max_in_flight}"
        if bad_timeout(start.timeout):
            return bad_timeout(start.timeout)
        if start.durable and (self.init is None or self.init.journal is None):
            return "durable=True needs a journal: start the runtime with Runtime(journal=PATH)"
        return _resilience_error(start)

    def durable(self, start: Any) -> bool:
        """Whether this run is recorded in the journal (its own word, or the runtime's)."""
        journal = self.init.journal if self.init is not None else None
        return journal is not None and (start.durable or journal.every_run)

    def _launch(
        self, delivery: Delivery, start: Any, items: list[Payload], found: dict[str, Address]
    ) -> None:
        assert self.init is not None
        if start.buffer_id in self.active:  # admitted twice while names were resolved
            self.refuse(delivery, start, f"Buffer {start.buffer_id} is already active")
            return
        origin = self.origin(delivery, start, found)
        self.follow_target(start.target, found[start.target])
        target = self.listeners.get(start.target, ListenerInfo(start.target))
        run = BufferRunStart(
            run_id=start.buffer_id,
            timeout=start.timeout or self.init.run_deadline,
            label=start.target,
            origin=origin if start.collect else replace(origin, answer=None),
            items=tuple(items),
            target=found[start.target],
            window=start.max_in_flight or default_window(self.init.base, target),
            progress_to=respond(delivery, b"", self.name)
            if (start.progress or start.stream) and start.collect else None,
            stream=start.stream and start.collect,
            resilience=Resilience(
                RetryPolicy(start.retries, start.retry_backoff, parse_retry_on(start.retry_on)),
                start.item_timeout, start.dead_letter, found.get(start.dead_letter),
                self.init.journal.path if self.durable(start) else "",
                tuple((k, getattr(start, k)) for k in RESUMED_FIELDS)),
        )
        self.spawn_run(run)
        if not start.collect:
            dispatched = BufferDispatched(start.buffer_id, len(items))
            self.reply(delivery, dispatched.to_bytes(), self.name)


RESUMED_FIELDS = ("collect", "timeout", "max_in_flight", "retries", "retry_backoff", "retry_on",
                  "item_timeout", "dead_letter")
"""The ``BufferStart`` fields a durable run records, so that a resume runs it alike."""


def _resilience_error(start: Any) -> str:
    """What is wrong with a start's retry and dead-letter fields, or ""."""
    if start.retries < 0 or start.retry_backoff < 0:
        return f"retries and retry_backoff must not be negative, got {start.retries}, " \
               f"{start.retry_backoff}"
    try:
        parse_retry_on(start.retry_on)
    except ValueError as exc:
        return str(exc)
    if start.item_timeout:
        return bad_timeout(start.item_timeout).replace("timeout", "item_timeout", 1)
    return ""


def _unknown(name: str, start: Any) -> str:
    if name == start.target:
        return f"Unknown target listener: {name}"
    if name == start.dead_letter:
        return f"Unknown dead_letter listener: {name}"
    return f"Unknown return_to listener: {name}"
