"""``system.buffer``'s run actor: the thin Thespian shell around ``BufferRun``.

The service (``buffer_service``) admits a ``BufferStart`` and spawns one
``BufferRunActor`` per run. The run actor sends each item to the target (to
one of its workers where it can: ``straight_items``) as a ``BufferItem``,
feeds every reply, timer and failure to its ``BufferRun`` core, sends the
one terminal message, and exits. All decisions are the core's.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, cast

from ..codec import Xml
from ..huh import is_expired, make_huh, reply_outcome
from ..journal import Journal
from ..messages import BUFFER_SENDER, Address, BufferItem, Delivery, Route
from ..parsed import Parsed, Payload, payload_text
from ..run_messages import BufferRunStart, RunOrigin
from .buffer_run import BufferRun
from .payloads import BufferComplete, BufferProgress, BufferResults, DeadLetter
from .results import ItemResult, results_element
from .retry import Resilience
from .run_actor import RunActor
from .straight_items import StraightItems

__all__ = ["BufferRunActor"]


class BufferRunActor(StraightItems, RunActor):
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
        self.route_items(run.route, run.present)
        self.pump()

    def rehearsal(self, origin: RunOrigin, me: Address) -> BufferRunStart:
        return BufferRunStart("rehearsal", 60.0, origin, me, "rehearsal", items=(b"<Item/>",),
                              target=me, route=Route("rehearsal", (me,)), present=1)

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
        run_id, payloads, origin, attempts, before = (
            run.run_id, run.items, run.origin, core.attempts, self.sent_before)
        thread_id, authority, principal = origin.thread_id, origin.authority, origin.principal
        items = [
            BufferItem(run_id, index, payloads[index], thread_id, authority, principal, expires,
                       attempts(index) + (index < before))
            for index in indexes
        ]
        self.send_items(items)
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
            self.resilience.dead_letter, BUFFER_SENDER, origin.thread_id, letter.to_bytes(),
            authority=origin.authority, principal=origin.principal))

    def on_moved(self, name: str, address: Address) -> None:
        """The target's supervisor died: what it held is lost (each such item fails once,
        ``exited``); the rest goes to its replacement, or, if it is down, fails too."""
        super().on_moved(name, address)
        if self.core is None or self.core.finished or name != self.run.label:
            return
        self.routes.forget()  # its workers went with it
        text = f"Listener {name} died while it held this item" + ("" if address else "; it is down")
        held = [i for i in self.core.in_flight_indexes if i not in self.waiting_indexes()]
        self.core.fail(held, "exited", make_huh(text, reason="exited"))
        if address is None:
            self.core.expire(now=True)
            self.finish()
            return
        self.run = replace(self.run, target=address)
        self.send_waiting()  # what waited here for room at a worker: through the new listener
        self.pump()

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Route) and self.run is not None:
            if self.core is not None:  # not finished
                self.rerouted(message)
        else:
            super().on_message(message, sender)

    def on_reply(self, token: int, payload: Payload) -> None:
        assert self.core is not None
        success, reason = reply_outcome(payload)
        if (not success and self.attempt_ends and is_expired(payload)
                and self.attempt_ends.get(token, 0.0) > time.time()):
            return  # an earlier attempt's: the one now out has not reached its deadline
        self.answered(token)
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
        if self.run.progress_to is None or self.run.stream or self.core.finished:
            return
        done = self.core.completed
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
