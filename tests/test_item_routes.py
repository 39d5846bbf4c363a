"""The pure table of a Buffer run's items sent straight to workers (``primitives.item_routes``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.primitives.item_routes import ItemRoutes, spread


def test_the_first_window_goes_out_in_turn_and_later_items_to_the_least_held_worker() -> None:
    assert spread(5, 2) == [0, 1, 0, 1, 0] and spread(3, 0) == []
    routes = ItemRoutes(("a", "b"))
    for index, position in enumerate(spread(3, 2)):
        routes.hold(index, position)  # a: 0, 2; b: 1
    assert routes.pick(3) == "b"  # b holds one, a two
    routes.settled(0)
    routes.settled(2)
    assert [routes.pick(4), routes.pick(5)] == ["a", "a"]  # a holds none now, b two
    assert routes.held() == 4
    assert ItemRoutes().pick(0) is None  # no workers: through the listener


def test_the_items_of_a_worker_that_leaves_are_lost_once_and_the_rest_stay_held() -> None:
    routes = ItemRoutes(("a", "b", "c"))
    assert [routes.pick(i) for i in range(6)] == ["a", "b", "c", "a", "b", "c"]
    routes.settled(4)
    assert routes.update(("c", "a", "d")) == [1]  # b left with 1 (4 was answered)
    assert routes.update(("c", "a", "d")) == []  # told once
    assert routes.held() == 4
    assert routes.pick(9) == "d"  # the replacement holds nothing yet
    routes.forget()  # the listener itself was replaced: the run fails what it held
    assert routes.held() == 0 and routes.pick(10) is None


@given(st.lists(st.tuples(st.sampled_from(["pick", "settle", "update"]),
                          st.frozensets(st.sampled_from("abcd"), max_size=4),
                          st.integers(0, 15)), max_size=80))
def test_an_item_is_lost_exactly_when_its_worker_leaves_before_it_is_answered(
    steps: list[tuple[str, frozenset[str], int]],
) -> None:
    routes = ItemRoutes(("a", "b"))
    where: dict[int, str] = {}  # the model: token -> worker
    for action, workers, token in steps:
        if action == "pick":
            where.pop(token, None)  # picked again: its earlier send no longer counts
            held = [list(where.values()).count(w) for w in routes.workers]
            worker = routes.pick(token)
            if worker is None:
                assert not routes.workers
                continue
            assert worker == routes.workers[held.index(min(held))]  # the first of the least held
            where[token] = worker
        elif action == "settle":
            routes.settled(token)
            where.pop(token, None)
        else:
            listed = tuple(sorted(workers))
            lost = routes.update(listed)
            expected = [t for t, w in where.items() if w not in listed]
            assert sorted(lost) == sorted(expected)
            for t in expected:
                del where[t]
        assert routes.held() == len(where)


def test_a_run_is_full_once_every_worker_holds_what_its_listener_allows() -> None:
    routes = ItemRoutes(("a", "b"), holds=2)
    assert not routes.full
    assert [routes.pick(i) for i in range(4)] == ["a", "b", "a", "b"]
    assert routes.full  # the next item waits in the run
    routes.settled(1)
    assert not routes.full and routes.pick(4) == "b"
    assert routes.update(("a", "b"), holds=3) == [] and not routes.full  # calls proved short
    assert not ItemRoutes().full  # no workers: items go through the listener, never wait
