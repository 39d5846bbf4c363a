"""Testing kit for listener authors: a pytest plugin, helpers and properties.

The plugin (registered as a pytest11 entry point) gives the fixtures
``xmlactors_base`` and ``runtime_factory``; see ``actors.testing.plugin``.
Hypothesis strategies live in ``actors.testing.strategies``: import them from
there. This package does not import that module, because the plugin loads
this package in every pytest run and the runtime does not need ``hypothesis``.
"""

from .kit import FakeClock, LeftBehindError, RuntimeFactory, wait_for_statistics, wait_until_idle
from .properties import buffer_invariants, check_buffer, run_buffer, run_sequence

__all__ = [
    "RuntimeFactory",
    "LeftBehindError",
    "FakeClock",
    "wait_for_statistics",
    "wait_until_idle",
    "run_buffer",
    "run_sequence",
    "check_buffer",
    "buffer_invariants",
]
