"""Testing kit for listener authors: a pytest plugin, helpers and properties.

The plugin (registered as a pytest11 entry point) gives the fixtures
``xmlactors_base`` and ``runtime_factory``; see ``actors.testing.plugin``.
Hypothesis strategies live in ``actors.testing.strategies``: import them from
there. Names load on first use (see ``actors._lazy``), so the plugin, loaded
in every pytest run, does not load ``hypothesis`` or a runtime it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import facade

if TYPE_CHECKING:  # what the lazy names are, for type checkers and readers
    from .kit import FakeClock, LeftBehindError, RuntimeFactory, wait_for_statistics, wait_until_idle
    from .properties import buffer_invariants, check_buffer, run_buffer, run_sequence

_WHERE = {
    "RuntimeFactory": "kit",
    "LeftBehindError": "kit",
    "FakeClock": "kit",
    "wait_for_statistics": "kit",
    "wait_until_idle": "kit",
    "run_buffer": "properties",
    "run_sequence": "properties",
    "check_buffer": "properties",
    "buffer_invariants": "properties",
}

__all__ = list(_WHERE)

__getattr__, __dir__ = facade(__name__, globals(), _WHERE)
