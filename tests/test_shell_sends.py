"""``Shell.send``: what an actor sends while handling a ``Batch`` leaves batched per target,
and an empty batch is never sent (a worker once told its listener one per answered call).

The actor runs outside any actor system, its sends caught by ``_sink`` (what
rehearsals use): the send-side bookkeeping alone.
"""

from __future__ import annotations

from typing import Any

from actors.messages import Batch
from actors.shell import Shell


class Note:
    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Note({self.n})"


class Echoer(Shell):
    """Sends each ``Note`` it handles on to ``"peer"``, and then what ``send_all`` sends."""

    batched_kinds = (Note,)

    def __init__(self, notices: list[Any]) -> None:
        super().__init__()
        self.notices = notices
        self.sent: list[tuple[Any, Any]] = []
        self._sink = lambda target, message: self.sent.append((target, message))

    def on_message(self, message: Any, sender: Any) -> None:
        self.send("peer", message)
        self.send_all("listener", list(self.notices))


def test_an_empty_send_all_sends_nothing_inside_a_batch_or_out() -> None:
    actor = Echoer(notices=[])
    actor.receiveMessage(Note(1), "caller")
    actor.receiveMessage(Batch((Note(2), Note(3))), "caller")
    assert [(target, repr(message)) for target, message in actor.sent] == [
        ("peer", "Note(1)"), ("peer", "Batch(2)"),
    ]


def test_notices_sent_while_handling_a_batch_leave_as_one_batch_per_target() -> None:
    actor = Echoer(notices=[Note(0)])
    actor.receiveMessage(Batch((Note(1), Note(2))), "caller")
    assert [(target, [m.n for m in message.messages]) for target, message in actor.sent] == [
        ("peer", [1, 2]), ("listener", [0, 0]),
    ]
