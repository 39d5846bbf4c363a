"""A run actor started ahead rehearses one run of its kind, sends nothing, and forgets it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from thespian.actors import ActorSystem

from actors.primitives.buffer_actor import BufferRunActor
from actors.primitives.sequence_actor import SequenceRunActor
from actors.run_messages import Rehearse, Rehearsed


class BrokenTerminal(BufferRunActor):
    """A run actor whose terminal message cannot be made: its rehearsal does not complete."""

    def terminal(self, outcome: Any) -> bytes:
        raise RuntimeError("no terminal message")


@pytest.fixture
def system() -> Iterator[Any]:
    system = ActorSystem("simpleSystemBase")
    try:
        yield system
    finally:
        system.shutdown()


@pytest.mark.parametrize("kind", [BufferRunActor, SequenceRunActor])
def test_a_rehearsal_completes_sends_nothing_out_and_leaves_the_actor_as_new(
    system: Any, kind: type
) -> None:
    actor = system.createActor(kind)
    instance = system._systemBase.actorRegistry[actor.actorAddressString].instance  # Thespian's
    before = _state(instance)
    answer = system.ask(actor, Rehearse(), 10)
    assert isinstance(answer, Rehearsed) and answer.completed
    assert system.listen(0.05) is None  # the rehearsal's answer went nowhere
    # Left as it began (its containers too), but for knowing it rehearsed.
    after = _state(instance)
    assert after.pop("rehearsed") is True and before.pop("rehearsed") is False
    assert after == before


def _state(instance: Any) -> dict[str, Any]:
    """An actor's attributes, containers copied; less what any first message sets."""
    state = {name: copy.copy(value) if isinstance(value, (list, dict, set)) else value
             for name, value in vars(instance).items()}
    state.pop("_links_known")
    return state


def test_a_rehearsal_that_fails_says_so(system: Any) -> None:
    answer = system.ask(system.createActor(BrokenTerminal), Rehearse(), 10)
    assert isinstance(answer, Rehearsed) and not answer.completed
