"""Actor-level properties of Buffer and Sequence, written with the testing kit.

Each test starts one runtime (from the kit's ``runtime_factory``) and shares it
across its Hypothesis examples: starting a system costs far more than one
example. Between examples the kit checks that no run is left active.

- A Buffer over generated items, with a worker that fails or never answers on
  generated indexes, ends exactly as a model predicts (``simpleSystemBase``).
- Differential: the same generated Buffer and Sequence on ``simpleSystemBase``
  and ``multiprocTCPBase`` end with the same terminal message.
- A deliberately broken listener (drops odd indexes) is caught: Hypothesis finds
  the failure and shrinks it to the smallest scenario, two items.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from actors import Runtime
from actors.primitives import BufferComplete, SequenceComplete, SequenceError
from actors.testing import RuntimeFactory, check_buffer, run_buffer, run_sequence, wait_until_idle
from actors.testing.strategies import buffer_items, xml_text
from tests import listeners as L

SIMPLE, TCP = "simpleSystemBase", "multiprocTCPBase"
_ids = itertools.count()


@pytest.fixture
def xmlactors_base() -> str:
    return SIMPLE  # each test here picks its bases itself


@st.composite
def job_scenarios(draw: st.DrawFn, max_size: int = 8, hangs: bool = True) -> list[L.Job]:
    """Generated jobs, each knowing its index; some fail, some (if ``hangs``) never get an answer."""
    items = draw(buffer_items(L.Job, max_size=max_size, text=xml_text(8)))
    indexes = st.integers(0, len(items) - 1)
    failing = draw(st.sets(indexes))
    hanging = draw(st.sets(indexes, max_size=2)) if hangs else set()
    return [
        dataclasses.replace(item, index=i, fail=i in failing, hang=i in hanging and i not in failing)
        for i, item in enumerate(items)
    ]


def model(jobs: list[L.Job], window: int = 0) -> Callable[[int, L.Job], Any]:
    """What the Buffer reports for each job, dispatching ``window`` at a time in index order.

    A job that never answers holds its place in the window until the deadline, so
    once ``window`` of them are in flight no later job is sent: those go missing too.
    ``window`` 0 is the runtime's default, at least 8 (more than these scenarios hang).
    """
    window = window or 8

    def predict(index: int, job: L.Job) -> Any:
        if sum(earlier.hang for earlier in jobs[:index]) >= window:
            return "timeout"  # never dispatched
        if job.fail:
            return "error"
        if job.hang:
            return "timeout"
        return L.JobDone(index, job.text[::-1])

    return predict


def _jobs_runtime(factory: RuntimeFactory, base: str, handler: Any = L.job) -> Runtime:
    rt = factory.started(base)
    rt.register("job", handler, L.Job, workers=2)
    return rt


def test_a_buffer_over_generated_jobs_ends_as_the_model_predicts(runtime_factory: RuntimeFactory) -> None:
    rt = _jobs_runtime(runtime_factory, SIMPLE)

    @settings(max_examples=15)
    @given(job_scenarios(), st.sampled_from([0, 1, 3]))
    def buffer_matches_the_model(jobs: list[L.Job], window: int) -> None:
        timeout = 0.3 if any(job.hang for job in jobs) else 20.0
        predict = model(jobs, window)
        done = check_buffer(rt, "job", jobs, predict, timeout=timeout, max_in_flight=window)
        predicted = [predict(i, job) for i, job in enumerate(jobs)]
        assert (done.failed, done.missing) == (predicted.count("error"), predicted.count("timeout"))
        stats = wait_until_idle(rt)
        assert (stats.listeners, stats.replaced_workers) == (1, 0)

    buffer_matches_the_model()


def _crashes_in(steps: list[str]) -> str:
    return "crash" if "crash" in steps else ""


@st.composite
def sequence_scenarios(draw: st.DrawFn) -> tuple[list[str], int]:
    """Steps over Sum (double, increment), Sum -> Echo (show), Echo (echo, crash): some mismatch."""
    steps = draw(st.lists(st.sampled_from(["double", "increment", "show", "echo", "crash"]),
                          min_size=1, max_size=4))
    return steps, draw(st.integers(-1000, 1000))


def _sequence_runtime(rt: Runtime) -> Runtime:
    rt.register("double", L.double, L.Sum)
    rt.register("increment", L.increment, L.Sum)
    rt.register("show", L.show, L.Sum)
    rt.register("echo", L.echo, L.Echo)
    rt.register("crash", L.crash, L.Echo)
    return rt


def _scenario_outcomes(
    rt: Runtime, jobs: list[L.Job], steps: list[str], start: int, run_id: str
) -> tuple[BufferComplete, SequenceComplete | SequenceError]:
    buffer = run_buffer(rt, "job", jobs, timeout=30.0, buffer_id=f"b{run_id}")
    sequence = run_sequence(rt, steps, L.Sum(start), timeout=30.0, sequence_id=f"s{run_id}")
    wait_until_idle(rt)
    return buffer, sequence


@pytest.mark.multiproc
@pytest.mark.timeout(240)
def test_the_same_scenario_ends_the_same_on_both_bases(runtime_factory: RuntimeFactory) -> None:
    simple = _sequence_runtime(_jobs_runtime(runtime_factory, SIMPLE))
    tcp = _sequence_runtime(_jobs_runtime(runtime_factory, TCP))
    assert tcp.pids() and not simple.pids()  # really one process per actor on one side

    @settings(max_examples=5)
    @given(job_scenarios(max_size=6, hangs=False), sequence_scenarios())
    def both_bases_agree(jobs: list[L.Job], sequence: tuple[list[str], int]) -> None:
        run_id = f"{next(_ids):07x}"  # the ids are given, so no field differs by chance
        expected = _scenario_outcomes(simple, jobs, *sequence, run_id)
        assert _scenario_outcomes(tcp, jobs, *sequence, run_id) == expected

    both_bases_agree()


# --- the kit catches a broken listener -------------------------------------------------


def test_the_kit_catches_a_listener_that_drops_odd_indexes(runtime_factory: RuntimeFactory) -> None:
    rt = _jobs_runtime(runtime_factory, SIMPLE, handler=L.job_dropping_odd)

    def fails_the_buffer_property(jobs: list[L.Job]) -> bool:
        try:
            check_buffer(rt, "job", jobs, model(jobs), timeout=0.2)
        except AssertionError:
            return True
        return False

    smallest = find(
        job_scenarios(hangs=False),
        fails_the_buffer_property,
        settings=settings(max_examples=50, database=None, phases=[Phase.generate, Phase.shrink]),
    )
    # Shrunk to the smallest scenario that shows the bug: index 1 exists and succeeds.
    assert [(job.index, job.fail) for job in smallest] == [(0, False), (1, False)]
    wait_until_idle(rt)


def test_a_property_over_the_broken_listener_fails_naming_the_dropped_index(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = _jobs_runtime(runtime_factory, SIMPLE, handler=L.job_dropping_odd)

    @settings(max_examples=20, database=None, phases=[Phase.generate])
    @given(job_scenarios(hangs=False))
    def buffer_matches_the_model(jobs: list[L.Job]) -> None:
        check_buffer(rt, "job", jobs, model(jobs), timeout=0.2)

    # Item 1 is dropped whatever it holds: it goes missing (timeout) where the model says otherwise.
    with pytest.raises(AssertionError, match=r"item 1: expected .*, got failure \(timeout\)"):
        buffer_matches_the_model()
    wait_until_idle(rt)
