"""The pure core of a listener's dispatch: jobs to workers, K at a time each (no actor system)."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from actors.dispatch import PREFETCH_MAX, QUEUED_SECONDS, Dispatch, prefetch_for


def test_jobs_go_to_the_least_loaded_live_slot_and_the_rest_wait_in_order() -> None:
    dispatch = Dispatch(slots=2, capacity=2)
    handed = [pair for job in range(6) for pair in dispatch.add(job)]
    assert handed == [(0, 0), (1, 1), (0, 2), (1, 3)]
    assert dispatch.waiting == (4, 5)
    assert dispatch.done(1, 3) and dispatch.assign() == [(1, 4)]


def test_an_answer_for_a_job_the_slot_does_not_hold_is_ignored() -> None:
    dispatch = Dispatch(slots=1, capacity=3)
    dispatch.add(7)
    assert not dispatch.done(0, 8)
    assert dispatch.done(0, 7) and not dispatch.done(0, 7)  # the second answer is stale


def test_a_lost_slot_gives_back_every_job_once_and_takes_none_until_restored() -> None:
    dispatch = Dispatch(slots=2, capacity=3)
    for job in range(5):
        dispatch.add(job)
    assert dispatch.lost(0) == [0, 2, 4]
    assert dispatch.lost(0) == []
    assert dispatch.add(5) == [(1, 5)]
    assert dispatch.add(6) == []  # slot 1 is full and slot 0 is dead
    assert dispatch.restored(0) == [(0, 6)]
    assert not dispatch.done(0, 2)  # a late answer from the dead worker


def test_a_resized_slot_keeps_what_it_holds_and_takes_more_only_below_the_new_size() -> None:
    dispatch = Dispatch(slots=1, capacity=3)
    for job in range(5):
        dispatch.add(job)
    assert dispatch.resize(1) == []  # it holds 3: it keeps them, takes nothing
    assert dispatch.done(0, 0) and dispatch.done(0, 1) and dispatch.assign() == []
    assert dispatch.done(0, 2) and dispatch.assign() == [(0, 3)]
    assert dispatch.resize(3) == [(0, 4)]


def test_workers_queue_about_two_milliseconds_of_short_calls_and_none_of_slow_ones() -> None:
    assert prefetch_for(None) == 0  # nothing measured yet: nothing queued
    assert prefetch_for(QUEUED_SECONDS / 4) == 4
    assert prefetch_for(0.0) == prefetch_for(1e-9) == PREFETCH_MAX
    assert prefetch_for(0.1) == 0


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity >= 1"):
        Dispatch(slots=1, capacity=0)


class DispatchMachine(RuleBasedStateMachine):
    """Random arrivals, answers (fresh and stale), deaths and restarts against a simple model."""

    @initialize(slots=st.integers(1, 3), capacity=st.integers(1, 4))
    def start(self, slots: int, capacity: int) -> None:
        self.dispatch = Dispatch(slots, capacity)
        self.next_job = 0
        self.arrived: list[int] = []
        self.ended: list[int] = []
        self.handed_order: list[int] = []

    def _take(self, handed: list[tuple[int, int]]) -> None:
        self.handed_order += [job for _slot, job in handed]
        for slot, _job in handed:  # a slot is handed a job only while below its size
            assert len(self.dispatch.held(slot)) <= self.dispatch.capacity

    @rule()
    def arrive(self) -> None:
        self.arrived.append(self.next_job)
        self._take(self.dispatch.add(self.next_job))
        self.next_job += 1

    @precondition(lambda self: self.dispatch.in_flight > 0)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        running = [(s, j) for s in range(self.dispatch.slots) for j in self.dispatch.held(s)]
        slot, job = data.draw(st.sampled_from(running))
        assert self.dispatch.done(slot, job)
        self.ended.append(job)
        self._take(self.dispatch.assign())

    @rule(slot=st.integers(0, 2), job=st.integers(0, 50))
    def stale_answer(self, slot: int, job: int) -> None:
        slot %= self.dispatch.slots
        if job not in self.dispatch.held(slot):
            assert not self.dispatch.done(slot, job)

    @rule(capacity=st.integers(1, 4))
    def resize(self, capacity: int) -> None:
        self._take(self.dispatch.resize(capacity))

    @rule(slot=st.integers(0, 2))
    def die(self, slot: int) -> None:
        slot %= self.dispatch.slots
        self.ended += self.dispatch.lost(slot)
        assert self.dispatch.held(slot) == ()

    @rule(slot=st.integers(0, 2))
    def come_back(self, slot: int) -> None:
        slot %= self.dispatch.slots
        if not self.dispatch.live(slot):
            self._take(self.dispatch.restored(slot))

    @invariant()
    def each_job_is_in_exactly_one_place(self) -> None:
        if not hasattr(self, "dispatch"):
            return
        held = [j for s in range(self.dispatch.slots) for j in self.dispatch.held(s)]
        places = held + list(self.dispatch.waiting) + self.ended
        assert sorted(places) == self.arrived

    @invariant()
    def nothing_waits_beside_room(self) -> None:
        if not hasattr(self, "dispatch"):
            return
        loads = [len(self.dispatch.held(s)) for s in range(self.dispatch.slots)]
        if self.dispatch.waiting:
            assert all(
                load >= self.dispatch.capacity or not self.dispatch.live(s)
                for s, load in enumerate(loads)
            )

    @invariant()
    def jobs_are_handed_out_in_arrival_order(self) -> None:
        if hasattr(self, "dispatch"):
            assert self.handed_order == sorted(self.handed_order)


TestDispatchMachine = DispatchMachine.TestCase
