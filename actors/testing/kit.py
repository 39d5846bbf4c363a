"""Start runtimes for a test and prove, at the end, that nothing was left behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import processes
from ..runtime import Runtime
from ..statistics import Statistics

__all__ = ["RuntimeFactory", "LeftBehindError", "FakeClock", "wait_for_statistics", "wait_until_idle"]


class LeftBehindError(AssertionError):
    """A test left an actor-system process or an orchestration run behind."""


def wait_for_statistics(
    runtime: Runtime, predicate: Callable[[Statistics], bool], timeout: float = 10.0
) -> Statistics:
    """Poll ``runtime.statistics()`` (an ask each time, no sleep) until ``predicate`` holds.

    Raises ``TimeoutError`` with the last snapshot if it does not hold in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        stats = runtime.statistics()
        if predicate(stats):
            return stats
        if time.monotonic() >= deadline:
            raise TimeoutError(f"statistics did not reach the expected state: {stats}")


def wait_until_idle(runtime: Runtime, timeout: float = 10.0) -> Statistics:
    """Wait until no Buffer or Sequence run is active; returns that snapshot.

    Call it between Hypothesis examples that share one runtime: each example
    then starts from a quiet system, and a run left behind fails the example
    that left it.
    """
    return wait_for_statistics(
        runtime, lambda s: s.active_buffers == 0 and s.active_sequences == 0, timeout
    )


@dataclass(slots=True)
class FakeClock:
    """A monotonic clock that moves only when a test says so (for pure cores' ``clock=``)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward; a monotonic clock never goes back."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock never goes back (advance by {seconds})")
        self.now += seconds


class RuntimeFactory:
    """Makes runtimes for one test; ``close()`` shuts them all down and checks the ground is clear.

    ``close`` raises ``LeftBehindError`` when an orchestration run was still
    active at the end, or a process of a shut-down system is still alive.
    """

    def __init__(self, base: str = "simpleSystemBase") -> None:
        self.base = base
        self.runtimes: list[Runtime] = []

    def __call__(self, base: str | None = None, **kwargs: Any) -> Runtime:
        runtime = Runtime(base or self.base, **kwargs)
        self.runtimes.append(runtime)
        return runtime

    def started(self, base: str | None = None, **kwargs: Any) -> Runtime:
        """A runtime already started (it is shut down by ``close``)."""
        runtime = self(base, **kwargs)
        runtime.start()
        return runtime

    def close(self, check_runs: bool = True) -> None:
        problems: list[str] = []
        for runtime in self.runtimes:
            if runtime.running and check_runs:
                problems += _active_runs(runtime)
            session = runtime.session_id
            runtime.shutdown()
            if session and processes.session_pids(session):
                leftover = processes.end_session(session, grace=0.0)
                problems.append(f"processes {leftover} outlived shutdown of {runtime.base}")
        self.runtimes.clear()
        if problems:
            raise LeftBehindError("; ".join(problems))


def _active_runs(runtime: Runtime) -> list[str]:
    try:
        stats = wait_until_idle(runtime, timeout=5.0)
    except TimeoutError as exc:
        return [str(exc)]
    except Exception as exc:  # noqa: BLE001 - a system already broken by the test is reported, not hidden
        return [f"statistics failed at teardown: {exc!r}"]
    del stats
    return []
