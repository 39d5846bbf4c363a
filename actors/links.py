"""Send clocking on the multiprocess bases: one transmit per target at a time.

Thespian's TCP transport sends to each target one message at a time, each
waiting for the receiver's acknowledgement, and queues the rest. An actor
that sends once per message it handles therefore leaves a queue of small
messages per target, each crossing alone: measured here, 10,000 small items
through two workers moved at 500/s, one message per item on every hop.

A ``Link`` keeps what is sent to a target while an earlier transmit to it is
still in the transport, and hands it all over as one ``Batch`` when that
transmit completes (the transport's own completion callback). Nothing waits
that would not have waited anyway; a send to an idle target leaves at once.
Order per target is kept, and Thespian's own messages (``ActorExitRequest``,
…) are never put inside a batch.

On the in-process base there is no transport, and ``Links.for_actor`` gives
``None``: sends go to Thespian as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from thespian.actors import ActorSystemMessage
from thespian.system.transport import SendStatus, TransmitIntent

from .messages import Address, Batch

__all__ = ["Links"]


class _Link:
    """One target: transmits in the transport, and what waits for them to complete."""

    __slots__ = ("target", "in_transport", "waiting")

    def __init__(self, target: Address) -> None:
        self.target = target
        self.in_transport = 0
        self.waiting: list[Any] = []


class Links:
    """The per-target send queues of one actor (see the module docstring)."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager  # Thespian's actor manager: the transport's owner
        self._links: list[_Link] = []
        self._on_idle: list[Callable[[], None]] = []

    def when_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once nothing sent is left in the transport (now, if nothing is):
        an actor that exits with a transmit still going would cut it off."""
        if self._idle():
            callback()
        else:
            self._on_idle.append(callback)

    def _idle(self) -> bool:
        """Whether nothing is in the transport or waits for it; links found idle are dropped.

        A link left listed with nothing in it (seen under load, with answers and notices
        leaving a worker together: its slices resume on ``when_idle``, so it then stalled
        for good) must not count as busy: what counts is what is in transit."""
        self._links = [link for link in self._links if link.in_transport > 0 or link.waiting]
        return not self._links

    @classmethod
    def for_actor(cls, actor: Any) -> Links | None:
        manager = getattr(actor, "_myRef", None)
        if manager is None or not hasattr(manager, "transport"):
            return None
        return cls(manager)

    def send(self, target: Address, message: Any) -> None:
        link = self._link(target)
        if link.in_transport:
            link.waiting.append(message)
        else:
            self._transmit(link, message)

    def _link(self, target: Address) -> _Link:
        for link in self._links:
            if link.target is target:
                return link
        for link in self._links:
            if link.target == target:
                return link
        link = _Link(target)
        self._links.append(link)
        return link

    def _transmit(self, link: _Link, message: Any) -> None:
        link.in_transport += 1

        def completed(result: Any, intent: TransmitIntent) -> None:
            if result != SendStatus.Sent:
                self._manager.actor_send_fail(result, intent)  # dead letters, as Thespian does
            link.in_transport -= 1
            if not link.in_transport:
                self._release(link)

        self._manager._send_intent(TransmitIntent(link.target, message, onSuccess=completed,
                                                  onError=completed))

    def _release(self, link: _Link) -> None:
        """Send what waited: runs of our messages as one batch each, Thespian's alone."""
        waiting, link.waiting = link.waiting, []
        if not waiting:
            if link in self._links:  # (by identity) a synchronous completion may have removed it
                self._links.remove(link)
            if self._on_idle and self._idle():
                callbacks, self._on_idle = self._on_idle, []
                for callback in callbacks:
                    callback()
            return
        run: list[Any] = []
        for message in waiting:
            if isinstance(message, ActorSystemMessage):
                if run:
                    self._transmit(link, _batch(run))
                    run = []
                self._transmit(link, message)
            else:
                run.extend(message.messages if isinstance(message, Batch) else (message,))
        if run:
            self._transmit(link, _batch(run))


def _batch(messages: list[Any]) -> Any:
    return messages[0] if len(messages) == 1 else Batch(tuple(messages))
