"""Shared fixtures: every integration test runs on both bases the project is built on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

# Hypothesis profiles `dev` (default, quick) and `ci` (thorough, derandomized; set by
# .ci/run through HYPOTHESIS_PROFILE): the ones docs/testing.md shows to listener authors.
import examples.conftest  # noqa: F401  registers and loads the profiles
from actors.testing import RuntimeFactory
from examples.two_members import Served
from tests import netns
from tests.processes import kill_marked

BASES = [
    "simpleSystemBase",
    pytest.param("multiprocTCPBase", marks=pytest.mark.multiproc),
]


@pytest.fixture(params=BASES)
def xmlactors_base(request: pytest.FixtureRequest) -> str:
    """Overrides the kit's fixture: our own suite runs each test on both bases."""
    return str(request.param)


@pytest.fixture
def multiproc(xmlactors_base: str) -> bool:
    return xmlactors_base != "simpleSystemBase"


@pytest.fixture
def factory(runtime_factory: RuntimeFactory) -> RuntimeFactory:
    return runtime_factory


@pytest.fixture
def marked_env() -> Iterator[dict[str, str]]:
    """An environment every process of a command inherits; none may be left at the end."""
    mark = f"xmlactors-test-{uuid.uuid4().hex}"
    yield dict(os.environ, XMLACTORS_TEST_MARK=mark)
    leftovers = kill_marked(mark)
    assert leftovers == [], f"processes left behind: {leftovers}"


@pytest.fixture
def serving(marked_env: dict[str, str]) -> Iterator[list[Served]]:
    """Serve processes started by a test; each is stopped (SIGTERM, then SIGKILL) at the end."""
    started: list[Served] = []
    yield started
    for served in reversed(started):
        served.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Last resort: delete the network namespaces (tests/netns.py) this run left, and those
    of test runs that died; one ``ip netns list``, nothing where namespaces are not made."""
    netns.remove_leftovers(own=True)
