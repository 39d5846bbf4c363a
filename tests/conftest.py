"""Shared fixtures: every integration test runs on both bases the project is built on."""

from __future__ import annotations

import pytest

# Hypothesis profiles `dev` (default, quick) and `ci` (thorough, derandomized; set by
# .ci/run through HYPOTHESIS_PROFILE): the ones docs/testing.md shows to listener authors.
import examples.conftest  # noqa: F401  registers and loads the profiles
from actors.testing import RuntimeFactory

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
