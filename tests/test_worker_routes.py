"""The pure table of calls sent straight to workers (``actors.worker_routes``): no actor system."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.huh import huh_reason, is_huh
from actors.worker_routes import WorkerRoutes


def test_calls_go_to_the_workers_in_turn_and_only_to_a_followed_listener() -> None:
    routes = WorkerRoutes()
    assert routes.pick("w") is None  # not followed: through the listener
    routes.follow("w")
    assert routes.pick("w") is None  # no Route yet
    routes.update("w", ("a", "b", "c"))
    assert [routes.pick("w") for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]
    assert routes.update("other", ("x",)) == [] and routes.pick("other") is None


def test_a_call_on_a_worker_that_leaves_the_list_is_lost_once_with_an_exited_huh() -> None:
    routes = WorkerRoutes()
    routes.follow("w")
    routes.update("w", ("a", "b"))
    assert [routes.pick("w", token) for token in ("t1", "t2", "t3")] == ["a", "b", "a"]
    routes.settled("t3")  # answered: no longer on its worker
    lost = routes.update("w", ("b", "c"))
    assert [call.token for call in lost] == ["t1"]
    assert is_huh(lost[0].payload) and huh_reason(lost[0].payload) == "exited"
    assert b"its worker exited" in lost[0].payload
    assert routes.update("w", ("b", "c")) == []  # told once
    routes.forget("w")  # the listener restarted: its exchanges hear that on their own
    assert routes.update("w", ()) == [] and not routes.follows("w")


@given(st.lists(st.tuples(st.sampled_from(["pick", "settle", "update"]),
                          st.frozensets(st.sampled_from("abcd"), max_size=4),
                          st.integers(0, 9)), max_size=60))
def test_every_call_is_lost_exactly_when_its_worker_leaves_unless_settled_first(
    steps: list[tuple[str, frozenset[str], int]],
) -> None:
    routes = WorkerRoutes()
    routes.follow("w")
    listed: tuple[str, ...] = ()
    out: dict[str, str] = {}  # token -> worker, the model
    lost_so_far = 0
    for n, (op, workers, token_n) in enumerate(steps):
        if op == "pick":
            token = f"t{n}"
            worker = routes.pick("w", token)
            assert (worker is None) == (not listed)
            if worker is not None:
                assert worker in listed
                out[token] = worker
        elif op == "settle" and out:
            token = sorted(out)[token_n % len(out)]
            routes.settled(token)
            del out[token]
        elif op == "update":
            listed = tuple(sorted(workers))
            lost = {call.token for call in routes.update("w", listed)}
            expected = {t for t, w in out.items() if w not in listed}
            assert lost == expected
            for token in lost:
                del out[token]
            lost_so_far += len(lost)
        assert routes.counts("w") == (len(out), lost_so_far)
