"""How much a parse may take: the caps of the hardened parser, per payload and per run.

Pure data (no lxml, no Thespian); ``parsing`` applies them. libxml2 has caps
of its own without ``huge_tree`` (``LIBXML_*``): a refusal for one of them is
worded here, as ours, by ``libxml_refusal``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ParseLimits", "DEFAULT_LIMITS", "OWN_OUTPUT", "LIBXML_MAX_DEPTH", "LIBXML_MAX_NODE",
    "LIBXML_MAX_NAME", "libxml_refusal",
]

LIBXML_MAX_DEPTH = 256
"""The deepest nesting libxml2 parses without ``huge_tree`` (it stops at the next level)."""
LIBXML_MAX_NODE = 10_000_000
"""The most bytes of one text node, attribute value, CDATA section, comment or PI it takes."""
LIBXML_MAX_NAME = 50_000
"""The longest element or attribute name it takes, in bytes."""

_DEPTH = re.compile(r"Excessive depth in document")
_NAME = re.compile(r"Name too long")
_SIZE = re.compile(r"Resource limit exceeded|too big found|huge text node|length too long|XML_PARSE_HUGE")


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


def libxml_refusal(message: str, line: int, limits: ParseLimits, depth_offset: int = 0) -> str:
    """Our refusal for libxml2's ``message`` about one of its own caps, or ``""`` for another.

    Depth reads as the parser's own refusal, with the configured ``max_depth``
    (or libxml2's, when that is set higher; ``depth_offset``: levels of a
    wrapper around the document); sizes name the cap of libxml2 that was hit.
    """
    where = f" (line {line})" if line else ""
    if _DEPTH.search(message):
        depth = min(limits.max_depth, LIBXML_MAX_DEPTH - depth_offset)
        return f"XML refused: nesting deeper than {depth} levels{where}"
    if _NAME.search(message):
        return f"XML refused: a name longer than the {LIBXML_MAX_NAME:,}-byte limit{where}"
    if _SIZE.search(message):
        return (
            "XML refused: one text, attribute value, CDATA section, comment or processing"
            f" instruction is over the {LIBXML_MAX_NODE:,}-byte limit of a single node{where}"
        )
    return ""
