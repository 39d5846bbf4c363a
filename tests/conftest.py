"""Shared fixtures: every integration test runs on both bases the project is built on."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from actors.testing import RuntimeFactory

# Hypothesis profiles: `dev` (default) is quick; `ci` (set by .ci/run through
# HYPOTHESIS_PROFILE) tries more examples, derandomized so a CI run is repeatable.
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

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
