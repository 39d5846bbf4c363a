"""The pytest plugin of xmlactors (entry point ``xmlactors``).

Fixtures:

- ``xmlactors_base``: the system base a test runs on; ``simpleSystemBase``
  unless parametrized (``@pytest.mark.parametrize("xmlactors_base", [...],
  indirect=True)``) or set with ``--xmlactors-base``.
- ``runtime_factory``: a ``RuntimeFactory`` on that base; every runtime it
  made is shut down after the test, and the test fails if a process or an
  orchestration run was left behind.

At the end of the session, any actor-system process a test started and
that is still alive is killed by pid, so a leaked Thespian admin cannot keep
the runner's output pipe open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .. import processes
from .kit import RuntimeFactory


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("xmlactors")
    group.addoption(
        "--xmlactors-base",
        default="simpleSystemBase",
        help="actor system base for the xmlactors_base fixture (default: simpleSystemBase)",
    )


@pytest.fixture
def xmlactors_base(request: Any) -> str:
    """The actor-system base name for this test."""
    param = getattr(request, "param", None)
    return str(param or request.config.getoption("--xmlactors-base"))


@pytest.fixture
def runtime_factory(xmlactors_base: str) -> Iterator[RuntimeFactory]:
    """Runtimes for this test, shut down and checked for leftovers afterwards."""
    factory = RuntimeFactory(xmlactors_base)
    yield factory
    factory.close()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    killed = processes.end_tracked_sessions()
    if killed:
        print(f"\nxmlactors: killed {len(killed)} leftover actor-system processes: {killed}")
