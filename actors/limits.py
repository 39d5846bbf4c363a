"""How much a parse may take: the caps of the hardened parser, per payload and per run.

Pure data (no lxml, no Thespian); ``parsing`` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ParseLimits", "DEFAULT_LIMITS", "OWN_OUTPUT"]


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Caps for one parse; bytes are counted after encoding to UTF-8.

    ``max_bytes``, ``max_depth`` and ``max_elements`` bound each payload. A
    Buffer's or a Sequence's start, and its terminal message, hold many
    payloads: they are parsed with ``for_runs()``, up to ``max_run_bytes``
    in all (each payload in them still within the caps above where it is
    handled). 100 MB holds about 1.5 million small items.
    """

    max_bytes: int = 1_000_000
    max_depth: int = 100
    max_elements: int = 100_000
    max_run_bytes: int = 100_000_000

    def for_runs(self) -> ParseLimits:
        """The caps for a whole run's document: ``max_run_bytes``, and room for its wrappers."""
        scale = max(1, self.max_run_bytes // max(self.max_bytes, 1))
        return ParseLimits(self.max_run_bytes, self.max_depth + 4, self.max_elements * scale,
                           self.max_run_bytes)


DEFAULT_LIMITS = ParseLimits()

OWN_OUTPUT = ParseLimits(max_bytes=1 << 31, max_depth=250, max_elements=1 << 31, max_run_bytes=1 << 31)
"""Caps for XML this runtime wrote itself (a worker's answer embedded in a run's results):
the hardened parser all the same, the size caps lifted (libxml2 still bounds depth at 256)."""
