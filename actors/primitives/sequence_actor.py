"""``system.sequence`` and its run actor: the thin Thespian shell around ``SequenceRun``.

The service admits a ``SequenceStart`` and spawns one ``SequenceRunActor``
per run. The run sends step k's input to step k as a delivery whose reply
returns to the run with token k; the core decides whether it advances,
fails or is a stale reply to drop.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, cast

from ..codec import Xml
from ..errors import PayloadError
from ..huh import error_text, reply_outcome
from ..messages import Address, Delivery, Hop
from ..parsed import Parsed, Payload
from ..parsing import ParseLimits, split_items
from ..routing import may_send
from ..run_messages import RunOrigin, SequenceRunStart
from .payloads import SequenceComplete, SequenceError, SequenceStart
from .results import embeddable
from .run_actor import RunActor
from .run_core import bad_timeout
from .sequence_run import SequenceCompleteOutcome, SequenceRun
from .service import ServiceActor

__all__ = ["SequenceService", "SequenceRunActor"]

NAME = "system.sequence"


class SequenceRunActor(RunActor):
    """One Sequence run: owns its ``SequenceRun`` core; exits after its terminal message."""

    start_class = SequenceRunStart
    kind = "sequence"
    run: SequenceRunStart
    core: SequenceRun | None

    def begin(self, run: SequenceRunStart) -> None:
        self.run = run
        self.core = SequenceRun(
            run.run_id, run.steps, run.payload, timeout=run.timeout, clock=time.monotonic
        )
        self.send_step(0, run.payload)

    def rehearsal(self, origin: RunOrigin, me: Address) -> SequenceRunStart:
        return SequenceRunStart("rehearsal", 60.0, origin, me, "rehearsal",
                                steps=("rehearsal",), addresses=(me,), payload=b"<Step/>")

    def send_step(self, index: int, payload: Payload) -> None:
        run = self.run
        delivery = Delivery(
            target=run.steps[index],
            sender=NAME,
            thread_id=run.origin.thread_id,
            payload=payload,
            path=(Hop(NAME, self.myAddress, index),),
            authority=run.origin.authority,
            principal=run.origin.principal,
            deadline=self.expires,
        )
        self.send(run.addresses[index], delivery)

    def on_moved(self, name: str, address: Address) -> None:
        """A step's supervisor died: later steps go to its replacement; the step it held
        (if it was the current one) fails, since its answer died with it."""
        super().on_moved(name, address)
        if self.core is None or self.core.finished or name not in self.run.steps:
            return
        addresses = tuple(address if step == name else known
                          for step, known in zip(self.run.steps, self.run.addresses, strict=True))
        self.run = dataclasses.replace(self.run, addresses=addresses)
        if self.run.steps[self.core.index] == name:
            self.core.fail(self.core.index, f"Listener {name} died while handling this step")
            self.finish()

    def on_reply(self, token: int, payload: Payload) -> None:
        assert self.core is not None
        success, _reason = reply_outcome(payload)
        if success:
            moved = self.core.advance(token, payload)
            if moved and not self.core.finished:
                self.send_step(self.core.index, payload)
        else:
            self.core.fail(token, error_text(payload))
        if self.core.finished:
            self.finish()

    def terminal(self, outcome: Any) -> Payload:
        if isinstance(outcome, SequenceCompleteOutcome):
            final = cast(Xml, embeddable(outcome.final_result))  # an element, embedded as it is
            done = SequenceComplete(outcome.sequence_id, final, outcome.step_count)
            return Parsed(done.to_element())  # written only if it leaves the process
        return SequenceError(
            outcome.sequence_id, outcome.failed_step, outcome.step_index, outcome.error
        ).to_bytes()

    def described(self, outcome: Any) -> dict[str, Any]:
        if isinstance(outcome, SequenceCompleteOutcome):
            return {"outcome": "complete", "steps": outcome.step_count}
        return {"outcome": "failed", "steps": len(self.run.steps), "failed_at": outcome.step_index}


class SequenceService(ServiceActor):
    """``system.sequence``: admission, then one child actor per run."""

    payload_class = SequenceStart
    run_actor_class = SequenceRunActor
    embedded_field = "Payload"

    def lost_answer(self, run_id: str) -> bytes:
        return SequenceError(run_id, "", 0, "Sequence run ended without a result").to_bytes()

    def refuse(self, delivery: Delivery, start: Any, error: str) -> None:
        self.refuse_step(delivery, start, "", 0, error)

    def refuse_step(
        self, delivery: Delivery, start: Any, step: str, index: int, error: str
    ) -> None:
        self.counters["rejected"] += 1
        sequence_id = getattr(start, "sequence_id", "") or "unknown"
        refusal = SequenceError(sequence_id, step, index, error)
        self.reply(delivery, refusal.to_bytes(), self.name)

    def admit(self, delivery: Delivery, start: Any, embedded: Any) -> None:
        assert self.init is not None
        steps = start.step_names()
        if not steps:
            self.refuse(delivery, start, "No steps specified")
            return
        start.sequence_id = start.sequence_id or secrets.token_hex(4)
        if bad_timeout(start.timeout):
            self.refuse(delivery, start, bad_timeout(start.timeout))
            return
        if start.sequence_id in self.active:
            self.refuse(delivery, start, f"Sequence {start.sequence_id} is already active")
            return
        for index, step in enumerate(steps):
            if not may_send(delivery.authority, step):
                error = self.refused_send(delivery, step)
                self.refuse_step(delivery, start, step, index, error)
                return
        try:
            payload = _the_payload(embedded, self.init.limits)
        except PayloadError as exc:
            self.refuse(delivery, start, f"Malformed payload: {exc}")
            return
        names = steps + ([start.return_to] if start.return_to else [])
        self.resolve(
            names,
            lambda found: self._launch(delivery, start, steps, payload, found),
            lambda name: self._unknown(delivery, start, steps, name),
        )

    def _unknown(self, delivery: Delivery, start: Any, steps: list[str], name: str) -> None:
        if name in steps:
            index = steps.index(name)
            self.refuse_step(delivery, start, name, index, f"Unknown listener: {name}")
        else:
            self.refuse(delivery, start, f"Unknown return_to listener: {name}")

    def _launch(
        self,
        delivery: Delivery,
        start: Any,
        steps: list[str],
        payload: bytes,
        found: dict[str, Address],
    ) -> None:
        assert self.init is not None
        if start.sequence_id in self.active:  # admitted twice while names were resolved
            self.refuse(delivery, start, f"Sequence {start.sequence_id} is already active")
            return
        run = SequenceRunStart(
            run_id=start.sequence_id,
            timeout=start.timeout or self.init.run_deadline,
            label=",".join(steps),
            origin=self.origin(delivery, start, found),
            steps=tuple(steps),
            addresses=tuple(found[step] for step in steps),
            payload=payload,
        )
        self.spawn_run(run)



def _the_payload(embedded: Any, limits: ParseLimits) -> bytes:
    """The first step's input: the one element of ``<Payload>``, as wire bytes."""
    parts = split_items(embedded, limits) if embedded is not None else []
    if len(parts) != 1:
        raise PayloadError(f"expected one payload element, got {len(parts)}")
    return parts[0]
