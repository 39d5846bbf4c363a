"""The orchestration primitives: Buffer (fan-out) and Sequence (chain).

Send a ``BufferStart`` to ``system.buffer`` or a ``SequenceStart`` to
``system.sequence``. Each run is a child actor owning a pure core
(``BufferRun``, ``SequenceRun``) that can be tested without an actor system.
"""

from .buffer_run import BufferRun, ItemResult
from .payloads import (
    BufferComplete,
    BufferDispatched,
    BufferError,
    BufferItem,
    BufferProgress,
    BufferStart,
    SequenceComplete,
    SequenceError,
    SequenceStart,
)
from .results import format_results, parse_results
from .sequence_run import SequenceRun

__all__ = [
    "BufferStart",
    "BufferComplete",
    "BufferDispatched",
    "BufferError",
    "BufferProgress",
    "BufferItem",
    "SequenceStart",
    "SequenceComplete",
    "SequenceError",
    "BufferRun",
    "ItemResult",
    "SequenceRun",
    "format_results",
    "parse_results",
]
