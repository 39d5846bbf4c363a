"""The supervision tree: a component that dies comes back, and nobody waits for a timeout.

On both bases a component is made to exit (``ActorExitRequest``, what a
crash looks like to its parent); on ``multiprocTCPBase`` its process is
SIGKILLed, as an operator or the kernel would. After either, the next ask,
Buffer, Sequence and ``statistics()`` work within seconds, and what was in
flight at the death ends with a clear error at once.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from thespian.actors import ActorExitRequest

from actors import ComponentDiedError, Runtime
from actors.supervision import INTENSITY, PERIOD, RestartBudget
from actors.testing import FakeClock, RuntimeFactory
from tests import listeners as L

COMPONENTS = ["registry", "system.buffer", "system.sequence", "w"]
QUICK = 10.0
"""Seconds within which everything after a death must have worked (a caller's timeout is 30)."""


def _runtime(factory: RuntimeFactory) -> Runtime:
    rt = factory.started(default_timeout=30)
    rt.register("w", L.work, L.Work, workers=2)
    rt.register("inc", L.increment, L.Sum)
    return rt


def _address(rt: Runtime, name: str) -> Any:
    assert rt.system is not None
    return rt.system.registry if name == "registry" else rt.addresses[name]


def _until(check: Any, timeout: float = QUICK) -> Any:
    """Ask ``check()`` (a question to the system) until it is truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer


def _everything_answers(rt: Runtime) -> dict[str, float]:
    """Ask, map, sequence and statistics all answer; the seconds each took (for a failure's
    message: which one a slow recovery held up)."""
    marks = [("", time.monotonic())]

    def lap(step: str) -> None:
        marks.append((step, time.monotonic()))

    assert rt.ask("w", L.Work(value=3), timeout=QUICK).value == 6
    lap("ask")
    assert [d.value for d in rt.map("w", [L.Work(value=i) for i in range(4)], timeout=QUICK)] == [
        0, 2, 4, 6]
    lap("map")
    assert rt.sequence(["inc", "inc"], L.Sum(1), timeout=QUICK) == L.Sum(3)
    lap("sequence")
    stats = rt.statistics(timeout=QUICK)
    lap("statistics")
    assert stats.unanswered == () and stats.down == ()
    return {step: at - before for (_, before), (step, at) in itertools.pairwise(marks)}


# -- the pure rule ------------------------------------------------------------------


def test_the_budget_allows_intensity_restarts_per_period() -> None:
    clock = FakeClock()
    budget = RestartBudget(intensity=3, period=10.0)
    assert all(budget.allow("w", clock()) for _ in range(3))
    assert not budget.allow("w", clock())
    assert budget.allow("other", clock())  # each component has its own
    clock.advance(10.0)
    assert budget.allow("w", clock())
    assert budget.total["w"] == 4


def test_the_default_budget_is_otp_like() -> None:
    assert (INTENSITY, PERIOD) == (5, 10.0)


# -- both bases: a component that exits --------------------------------------------


@pytest.mark.parametrize("name", COMPONENTS)
def test_a_component_that_exits_is_restarted_and_the_system_answers(
    factory: RuntimeFactory, name: str
) -> None:
    rt = _runtime(factory)
    assert rt.ask("w", L.Work(value=1)).value == 2
    assert rt.system is not None
    rt.system.mailbox.send(_address(rt, name), ActorExitRequest())
    started = time.monotonic()
    stats = _until(lambda: rt.statistics().restarts >= 1 and rt.statistics())
    assert stats and stats.restarts == 1
    _everything_answers(rt)
    assert time.monotonic() - started < QUICK
    assert {"root", "registry", "system.buffer", "system.sequence", "w", "w/worker/0",
            "w/worker/1", "inc"} <= set(rt.processes())


def test_a_component_that_dies_too_often_is_down_and_said_so(
    factory: RuntimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    rt = _runtime(factory)
    assert rt.system is not None
    for deaths in range(1, INTENSITY + 2):
        rt.system.mailbox.send(rt.addresses["w"], ActorExitRequest())
        if deaths <= INTENSITY:
            assert _until(lambda d=deaths: rt.statistics().restarts >= d)
    stats = _until(lambda: rt.statistics().down and rt.statistics())
    assert stats and stats.down == ("w",) and stats.restarts == INTENSITY
    with pytest.raises(ComponentDiedError, match="w died before answering: it died too often"):
        rt.ask("w", L.Work(value=1))
    # The rest is not affected.
    assert rt.sequence(["inc"], L.Sum(1)) == L.Sum(2)


def test_restarts_are_logged(factory: RuntimeFactory, capfd: pytest.CaptureFixture[str]) -> None:
    rt = factory.started()
    rt.register("inc", L.increment, L.Sum)
    assert rt.system is not None
    rt.system.mailbox.send(rt.addresses["inc"], ActorExitRequest())
    assert _until(lambda: rt.statistics().restarts == 1)
    seen = ""
    deadline = time.monotonic() + QUICK  # the logging process of a multiprocess base writes it
    while 'component_restarted name="inc" restarts=1' not in seen and time.monotonic() < deadline:
        seen += capfd.readouterr().err
    assert 'WARNING xmlactors: component_restarted name="inc" restarts=1' in seen
