"""Testing kit for listener authors: a pytest plugin and helpers.

The plugin (registered as a pytest11 entry point) gives the fixtures
``xmlactors_base`` and ``runtime_factory``; see ``actors.testing.plugin``.
Hypothesis strategies live in ``actors.testing.strategies``.
"""

from .kit import LeftBehindError, RuntimeFactory, wait_for_statistics

__all__ = ["RuntimeFactory", "LeftBehindError", "wait_for_statistics"]
