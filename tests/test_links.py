"""``Links``: one transmit per target at a time, the rest batched; ``when_idle`` once all left.

Driven with a stand-in for Thespian's actor manager that keeps each transmit
until the test completes it: the pure bookkeeping, no actor system.
"""

from __future__ import annotations

from typing import Any

from thespian.actors import ActorExitRequest
from thespian.system.transport import SendStatus

from actors.links import Links, _Link
from actors.messages import Batch


class Manager:
    """Keeps every transmit handed to it; ``complete`` finishes the oldest."""

    def __init__(self) -> None:
        self.intents: list[Any] = []
        self.failed: list[Any] = []

    def _send_intent(self, intent: Any) -> None:
        self.intents.append(intent)

    def actor_send_fail(self, result: Any, intent: Any) -> None:
        self.failed.append(intent.message)

    def complete(self, status: Any = SendStatus.Sent) -> Any:
        intent = self.intents.pop(0)
        intent.tx_done(status)
        return intent.message


def test_sends_behind_a_transmit_leave_as_one_batch_in_order() -> None:
    manager = Manager()
    links = Links(manager)
    links.send("a", 1)
    links.send("a", 2)
    links.send("a", 3)
    assert [i.message for i in manager.intents] == [1]
    assert manager.complete() == 1
    batch = manager.complete()
    assert isinstance(batch, Batch) and batch.messages == (2, 3)


def test_thespian_messages_are_never_batched() -> None:
    manager = Manager()
    links = Links(manager)
    links.send("a", 1)
    exit_request = ActorExitRequest()
    for message in (2, exit_request, 3):
        links.send("a", message)
    manager.complete()
    assert [i.message for i in manager.intents] == [2, exit_request, 3]


def test_when_idle_waits_for_every_transmit_then_runs_once() -> None:
    manager = Manager()
    links = Links(manager)
    called: list[str] = []
    links.send("a", 1)
    links.send("b", 2)
    links.when_idle(lambda: called.append("idle"))
    manager.complete()
    assert called == []
    manager.complete(SendStatus.DeadTarget)  # a failed send counts as left, as a dead letter
    assert called == ["idle"] and manager.failed == [2]
    links.when_idle(lambda: called.append("again"))  # nothing in transit: at once
    assert called == ["idle", "again"]


def test_a_link_left_listed_with_nothing_in_transit_does_not_hold_when_idle() -> None:
    """Seen under load: a worker's slices resume on ``when_idle``, and a link left in the
    list with nothing in it kept the callback waiting for good (the worker stalled with
    hundreds of jobs queued). What counts is what is in transit."""
    manager = Manager()
    links = Links(manager)
    links._links.append(_Link("stale"))
    called: list[str] = []
    links.when_idle(lambda: called.append("now"))
    assert called == ["now"]
    links._links.append(_Link("stale"))
    links.send("a", 1)
    links.when_idle(lambda: called.append("after"))
    manager.complete()
    assert called == ["now", "after"]
