"""Capability security: a listener reaches only its peers, directly or through orchestrations."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import ListenerError, Runtime
from actors.primitives import (
    BufferComplete,
    BufferError,
    SequenceComplete,
    SequenceError,
    parse_results,
)
from actors.testing import RuntimeFactory
from examples import agents as P

ANSWERS = (P.Order, P.Mark, BufferComplete, BufferError, SequenceComplete, SequenceError)


def _organism(factory: RuntimeFactory, peers: tuple[str, ...]) -> Runtime:
    rt = factory.started()
    rt.register("agent", P.agent, ANSWERS, peers=peers)
    rt.register("allowed", P.mark, P.Mark)
    rt.register("secret", P.mark, P.Mark)
    return rt


def _ran(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def test_a_forward_to_a_peer_is_delivered(factory: RuntimeFactory, tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    rt = _organism(factory, ("allowed",))
    reply = rt.ask("agent", P.Order("allowed", "forward", str(log)), timeout=20)
    assert reply == P.Mark(str(log), "allowed")
    assert _ran(log) == ["allowed"]


def test_a_forward_outside_the_peers_is_refused_and_never_runs(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "ran.log"
    rt = _organism(factory, ("allowed",))
    with pytest.raises(ListenerError) as refused:
        rt.ask("agent", P.Order("secret", "forward", str(log)), timeout=20)
    assert str(refused.value) == (
        "Listener agent may not send to secret: not a peer (allowed peers: allowed)"
    )
    assert _ran(log) == []
    assert rt.statistics().refused_sends == 1
    # Nothing else is affected: the agent still reaches its peer.
    assert rt.ask("agent", P.Order("allowed", "forward", str(log)), timeout=20).by == "allowed"


def test_a_buffer_cannot_launder_a_send_to_a_non_peer(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "ran.log"
    rt = _organism(factory, ("system.buffer", "allowed"))
    refused = rt.ask("agent", P.Order("secret", "buffer", str(log)), timeout=30)
    assert isinstance(refused, BufferError)
    assert refused.error == "secret is not a peer of agent: refused"
    done = rt.ask("agent", P.Order("allowed", "buffer", str(log)), timeout=30)
    assert isinstance(done, BufferComplete) and done.successful == 1
    assert _ran(log) == ["allowed"]
    stats = rt.statistics()
    assert (stats.refused_sends, stats.active_buffers) == (1, 0)


def test_a_sequence_step_outside_the_peers_is_refused_at_admission(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "ran.log"
    rt = _organism(factory, ("system.sequence", "allowed"))
    refused = rt.ask("agent", P.Order("secret", "sequence", str(log)), timeout=30)
    assert isinstance(refused, SequenceError)
    assert (refused.failed_step, refused.step_index) == ("secret", 0)
    assert refused.error == "secret is not a peer of agent: refused"
    done = rt.ask("agent", P.Order("allowed", "sequence", str(log)), timeout=30)
    assert isinstance(done, SequenceComplete)
    assert _ran(log) == ["allowed"]


def test_a_buffer_of_sequences_keeps_the_requesters_peers(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "ran.log"
    rt = _organism(factory, ("system.buffer", "system.sequence", "allowed"))
    done = rt.ask("agent", P.Order("secret", "nested", str(log)), timeout=30)
    assert isinstance(done, BufferComplete) and (done.successful, done.failed) == (0, 1)
    (item,) = parse_results(done.results)
    assert item is not None and item.reason == "error"
    inner = SequenceError.from_xml(item.payload)
    assert (inner.failed_step, inner.error) == ("secret", "secret is not a peer of agent: refused")
    allowed = rt.ask("agent", P.Order("allowed", "nested", str(log)), timeout=30)
    assert allowed.successful == 1
    assert _ran(log) == ["allowed"]


def test_a_listener_without_peers_may_send_anywhere(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "ran.log"
    rt = factory.started()
    rt.register("agent", P.agent, ANSWERS)  # peers=None: anywhere
    rt.register("secret", P.mark, P.Mark)
    assert rt.ask("agent", P.Order("secret", "buffer", str(log)), timeout=30).successful == 1
    assert _ran(log) == ["secret"]


NAMES = ["n0", "n1", "n2", "n3"]


@st.composite
def graphs_and_routes(draw: st.DrawFn) -> tuple[dict[str, frozenset[str]], list[str]]:
    """A peer graph over four listeners, and a route of 1 to 6 hops through them."""
    graph = {name: frozenset(draw(st.sets(st.sampled_from(NAMES)))) for name in NAMES}
    route = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6))
    return graph, route


@settings(max_examples=25, deadline=None)
@given(case=graphs_and_routes())
def test_a_message_travels_only_along_edges_of_the_peer_graph(
    case: tuple[dict[str, frozenset[str]], list[str]],
) -> None:
    graph, route = case
    # The model: the route goes on while each next hop is a peer of the current one.
    reached = [route[0]]
    for current, following in itertools.pairwise(route):
        if following not in graph[current]:
            break
        reached.append(following)
    blocked = len(reached) < len(route)
    with tempfile.TemporaryDirectory() as tmp, Runtime() as rt:
        log = Path(tmp) / "route.log"
        for name in NAMES:
            rt.register(name, P.hop, P.Route, peers=graph[name])
        try:
            reply = rt.ask(route[0], P.Route(route[1:], str(log)), timeout=10)
        except ListenerError as refused:
            assert blocked, f"refused on a route the graph allows: {refused}"
            assert f"may not send to {route[len(reached)]}" in str(refused)
        else:
            assert not blocked and reply == P.Route([], str(log), done=True)
        assert _ran(log) == reached
        assert rt.statistics().refused_sends == int(blocked)
