"""``_framestack.roomy``: a loop run on top of it never maps a frame-stack chunk per call.

CPython gives a call that does not fit in the current 16 KiB chunk of its
frame stack a new chunk, and unmaps it when the call returns; a loop whose
calls cross that boundary pays a fresh page (a minor fault) on every call.
The loop here is the same at every depth: only where it starts moves.
"""

from __future__ import annotations

import resource
from collections.abc import Callable

import pytest

from actors._framestack import roomy

CALLS = 2000
DEPTHS = range(400)  # frames below the loop: more than one chunk's worth


def _leaf(a: int, b: int, c: int, d: int) -> int:
    return a + b + c + d


def _middle(x: int) -> int:
    return _leaf(x, x, x, x)


def _loop() -> int:
    """Minor page faults taken by ``CALLS`` calls that go two frames deeper and back."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for i in range(CALLS):
        _middle(i)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _at_depth(depth: int, call: Callable[[], int]) -> int:
    return call() if depth == 0 else _at_depth(depth - 1, call)


def test_a_loop_on_a_chunk_boundary_faults_on_every_call_without_room() -> None:
    worst = max(_at_depth(depth, _loop) for depth in DEPTHS)
    if worst < CALLS // 2:
        pytest.skip(f"this interpreter keeps its frame-stack chunks (worst depth: {worst} faults)")
    assert worst >= CALLS // 2


def test_a_loop_run_with_room_never_faults_per_call_at_any_depth() -> None:
    faults = {depth: _at_depth(depth, lambda: roomy(_loop)) for depth in DEPTHS}
    worst = max(faults, key=faults.__getitem__)
    assert faults[worst] < CALLS // 20, f"{faults[worst]} faults at depth {worst}"


def test_roomy_returns_what_its_call_returns_and_raises_what_it_raises() -> None:
    assert roomy(lambda: 42) == 42
    with pytest.raises(KeyError, match="gone"):
        roomy(lambda: {}["gone"])
