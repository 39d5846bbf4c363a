"""A Hypothesis state machine on a real ``multiprocTCPBase`` system: asks, Buffers and
Sequences interleaved with SIGKILLs of random components.

After every step each request has had exactly one answer or one clear error
(``ComponentDiedError``, a failed item ``exited``, a Sequence failed at the
step that died), never the caller's own timeout; after the last step the
system shuts down and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from actors import ComponentDiedError, Runtime, SequenceFailedError
from actors.processes import end_session, session_pids
from tests import listeners as L

pytestmark = pytest.mark.multiproc

COMPONENTS = ["registry", "system.buffer", "system.sequence", "w", "inc"]
PROMPT = 10.0
"""A request's answer or error comes within this (its own timeout is three times as long)."""


class KillsAndRequests(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rt = Runtime("multiprocTCPBase", default_timeout=3 * PROMPT)
        self.rt.register("w", L.work, L.Work, workers=2)
        self.rt.register("inc", L.increment, L.Sum)
        self.rt.start()
        self.requests = 0
        self.kills = 0
        self.settled = 0  # requests that got their one answer or one clear error

    def timed(self, call: Any) -> Any:
        """The request's result or its exception; it must come promptly, exactly once."""
        self.requests += 1
        started = time.monotonic()
        try:
            result: Any = call()
        except (ComponentDiedError, SequenceFailedError) as exc:
            result = exc
        assert time.monotonic() - started < PROMPT, f"waited {time.monotonic() - started:.1f} s"
        self.settled += 1
        return result

    @rule(value=st.integers(0, 1000))
    def ask(self, value: int) -> None:
        result = self.timed(lambda: self.rt.ask("w", L.Work(value=value)))
        assert isinstance(result, ComponentDiedError) or result.value == 2 * value

    @rule(n=st.integers(1, 12))
    def buffer(self, n: int) -> None:
        outcome = self.timed(lambda: self.rt.buffer("w", [L.Work(value=i) for i in range(n)],
                                                    timeout=3 * PROMPT))
        if isinstance(outcome, ComponentDiedError):
            return
        assert outcome.total == n and outcome.missing == 0  # nothing waited for the deadline
        assert {f.reason for f in outcome.failures} <= {"exited"}
        assert all(v.value == 2 * i for i, v in enumerate(outcome.values) if v is not None)

    @rule(value=st.integers(0, 1000))
    def sequence(self, value: int) -> None:
        result = self.timed(lambda: self.rt.sequence(["inc", "inc"], L.Sum(value),
                                                      timeout=3 * PROMPT))
        if isinstance(result, SequenceFailedError):
            assert "died" in result.error
        elif not isinstance(result, ComponentDiedError):
            assert result == L.Sum(value + 2)

    @rule(name=st.sampled_from(COMPONENTS))
    def kill(self, name: str) -> None:
        pid = self.rt.processes(timeout=PROMPT).get(name)
        if pid:  # None: it died too often and is down (said by Statistics.down)
            os.kill(pid, signal.SIGKILL)
            self.kills += 1

    @invariant()
    def every_request_settled_once(self) -> None:
        assert self.settled == self.requests

    def teardown(self) -> None:
        session = self.rt.session_id
        self.rt.shutdown()
        left = session_pids(session)
        end_session(session, grace=0.0)
        assert left == [], f"processes left after shutdown: {left}"


KillsAndRequests.TestCase.settings = settings(
    max_examples=6, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_kills_and_requests = KillsAndRequests.TestCase
