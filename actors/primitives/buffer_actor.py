"""``system.buffer`` and its run actor: the thin Thespian shell around ``BufferRun``.

The service admits a ``BufferStart`` and spawns one ``BufferRunActor`` per
run. The run actor sends each item to the target as a ``BufferItem``,
feeds every reply, timer and failure to its ``BufferRun`` core, sends the
one terminal message, and exits. All decisions are the core's.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from typing import Any, cast

from ..codec import Xml
from ..dispatch import PREFETCH_MAX
from ..errors import PayloadError
from ..huh import is_expired, make_huh, reply_outcome
from ..journal import Journal
from ..messages import Address, Batch, BufferItem, Delivery, ListenerInfo
from ..parsed import Parsed, Payload, payload_text
from ..parsing import item_elements
from ..routing import may_send, respond
from ..run_messages import BufferRunStart, RunOrigin
from ..shape import items_within
from .buffer_run import BufferRun
from .payloads import (
    BufferCancel,
    BufferComplete,
    BufferDispatched,
    BufferError,
    BufferProgress,
    BufferResults,
    BufferStart,
    DeadLetter,
)
from .results import ItemResult, results_element
from .retry import Resilience, RetryPolicy, parse_retry_on
from .run_actor import RunActor
from .run_core import bad_timeout
from .service import ServiceActor

__all__ = ["BufferService", "BufferRunActor", "default_window"]


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


class BufferRunActor(RunActor):
    """One Buffer run: owns its ``BufferRun`` core; exits after its terminal message."""

    batched_kinds = (BufferItem,)
    start_class = BufferRunStart
    kind = "buffer"
    run: BufferRunStart
    core: BufferRun | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress_step = 1
        self.progress_sent = 0
        self.resilience = Resilience()
        self.wake_at: float | None = None  # the pending retry / item-timeout timer
        self.attempt_ends: dict[int, float] = {}  # index -> its latest attempt's deadline (retries)
        self.journal: Journal | None = None  # a durable run's
        self.sent_before = 0  # a resumed run: indexes below it may have run before the crash
        self.recorded_upto = 0  # the dispatch mark last written to the journal
        self.refill = False  # replies came: the window is refilled once they are all in

    def begin(self, run: BufferRunStart) -> None:
        self.run = run
        self.resilience = run.resilience or Resilience()
        self.core = BufferRun(
            run.run_id, len(run.items), window=run.window, timeout=run.timeout,
            clock=time.monotonic, keep_payloads=not run.stream,
            retry=self.resilience.policy, item_timeout=self.resilience.item_timeout,
            track_fresh=bool(self.resilience.journal),
        )
        if self.resilience.journal:  # durable: recorded first; a resumed run knows its results
            self.journal = Journal(self.resilience.journal)
            self.journal.start(run.run_id, run.label, run.items, dict(self.resilience.options))
            self.core.prefill(self.journal.results(run.run_id).values())
            self.sent_before = self.journal.dispatched(run.run_id)
        self.progress_step = max(1, len(run.items) // 20)
        self.pump()

    def rehearsal(self, origin: RunOrigin, me: Address) -> BufferRunStart:
        return BufferRunStart("rehearsal", 60.0, origin, me, "rehearsal", items=(b"<Item/>",),
                              target=me)

    def pump(self) -> None:
        """Dispatch what the window allows; finish when the core says so."""
        assert self.core is not None
        run, core = self.run, self.core
        expires = self.expires  # the run's deadline, or an attempt's own when sooner
        if self.resilience.item_timeout:
            expires = min(expires, time.time() + self.resilience.item_timeout)
        indexes = core.take_dispatches()
        if self.resilience.item_timeout and self.resilience.policy.retries:
            self.attempt_ends.update(dict.fromkeys(indexes, expires))
        # Whatever the window allows goes in one send. (Waiting to refill at a
        # low-water mark would batch more, but hung items could then hold back
        # the rest of the run until its deadline.)
        items = [
            BufferItem(run.run_id, index, run.items[index], run.origin.thread_id,
                       run.origin.authority, run.origin.principal, expires,
                       core.attempts(index) + (index < self.sent_before))
            for index in indexes
        ]
        if items:
            self.send(run.target, items[0] if len(items) == 1 else Batch(tuple(items)))
        if core.finished:
            self.finish()
            return
        due = core.next_wakeup()  # a retry's backoff, an attempt's item_timeout
        if due is not None and (self.wake_at is None or due < self.wake_at):
            self.wake_at = due
            self.set_timer(due - time.monotonic(), ("retry", due))

    def on_wakeup(self, payload: Any) -> None:
        if not (isinstance(payload, tuple) and payload[0] == "retry"):
            super().on_wakeup(payload)
        elif payload[1] == self.wake_at and self.core is not None and not self.core.finished:
            self.wake_at = None
            self.core.expire_items()
            self.pump()

    def release(self) -> None:
        super().release()
        self.run = replace(self.run, items=())
        self.attempt_ends.clear()

    def dead_letter(self, index: int, result: ItemResult | None) -> None:
        reason = result.reason if result is not None else "timeout"
        letter = DeadLetter(self.run.run_id, index, reason, result.attempts if result else 0,
                            Xml(payload_text(self.run.items[index])),
                            Xml(payload_text(result.payload) if result else ""))
        origin = self.run.origin
        self.send(self.resilience.dead_letter_address, Delivery(
            self.resilience.dead_letter, "system.buffer", origin.thread_id, letter.to_bytes(),
            authority=origin.authority, principal=origin.principal))

    def on_moved(self, name: str, address: Address) -> None:
        """The target's supervisor died: what it held is lost (each such item fails once,
        ``exited``); the rest goes to its replacement, or, if it is down, fails too."""
        super().on_moved(name, address)
        if self.core is None or self.core.finished or name != self.run.label:
            return
        text = f"Listener {name} died while it held this item" + ("" if address else "; it is down")
        self.core.fail(self.core.in_flight_indexes, "exited", make_huh(text, reason="exited"))
        if address is None:
            self.core.expire(now=True)
            self.finish()
            return
        self.run = replace(self.run, target=address)
        self.pump()

    def on_reply(self, token: int, payload: Payload) -> None:
        assert self.core is not None
        if is_expired(payload) and self.attempt_ends.get(token, 0.0) > time.time():
            return  # an earlier attempt's: the one now out has not reached its deadline
        success, reason = reply_outcome(payload)
        self.core.record(token, success, payload, reason)
        self.report_progress()
        self.refill = True

    def after_messages(self) -> None:
        """Once a batch of replies is in: refill the window (or finish) in one go; in stream
        mode, what came with them goes on to the requester, in one send."""
        if self.core is None:
            return
        if self.refill:
            self.refill = False
            self.pump()  # may finish: the core is then released
        if self.core is not None and not self.core.finished:
            self.send_results(self.recorded())

    def recorded(self) -> list[ItemResult]:
        """The results filled since the last call, committed to the journal (durable runs)
        before anything is sent on."""
        assert self.core is not None
        fresh = self.core.take_fresh()
        upto = self.core.dispatched_upto
        if self.journal is not None and (fresh or upto > self.recorded_upto):
            self.journal.record(self.run.run_id, fresh, upto)
            self.recorded_upto = upto
        return fresh

    def send_results(self, fresh: list[ItemResult]) -> None:
        if not self.run.stream or not fresh:
            return
        assert self.core is not None and self.run.progress_to is not None
        results = cast(Xml, Parsed(results_element(fresh, positions=False)))  # moved in
        update = BufferResults(self.run.run_id, results, self.core.completed, self.core.total)
        address, template = self.run.progress_to
        self.send(address, replace(template, payload=update.to_bytes()))

    def report_progress(self) -> None:
        assert self.core is not None
        done = self.core.completed
        if self.run.progress_to is None or self.core.finished or self.run.stream:
            return
        if done - self.progress_sent >= self.progress_step:
            self.progress_sent = done
            update = BufferProgress(self.run.run_id, done, self.core.total).to_bytes()
            address, template = self.run.progress_to
            self.send(address, replace(template, payload=update))

    def terminal(self, outcome: Any) -> Payload:
        fresh = self.recorded()
        if self.journal is not None:
            self.journal.finish(self.run.run_id)
            self.journal.close()
        if self.resilience.dead_letter_address is not None:  # each item failed for good, once
            for index, result in enumerate(outcome.items):
                if result is None or not result.success:
                    self.dead_letter(index, result)
        if self.run.stream:  # the last results go on, then the counts alone
            self.send_results(fresh)
            results = cast(Xml, results_element([]))
        else:  # the <results> element is embedded as it is: no text written and parsed again
            results = cast(Xml, Parsed(results_element(outcome.items)))
        done = BufferComplete(
            outcome.buffer_id, outcome.total, outcome.successful, results,
            outcome.failed, outcome.missing,
        )
        return Parsed(done.to_element())  # written only if it leaves the process

    def described(self, outcome: Any) -> dict[str, Any]:
        if outcome.successful == outcome.total:
            name = "complete"
        else:
            name = "partial" if outcome.successful else "failed"
        return {"outcome": name, "items": outcome.total, "succeeded": outcome.successful,
                "failed": outcome.failed, "missing": outcome.missing}


class BufferService(ServiceActor):
    """``system.buffer``: admission, then one child actor per run."""

    payload_class = BufferStart
    controls = frozenset({"BufferCancel"})
    run_actor_class = BufferRunActor
    embedded_field = "Items"

    def lost_answer(self, run_id: str) -> bytes:
        return BufferError(run_id, "Buffer run ended without a result").to_bytes()

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
