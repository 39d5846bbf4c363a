"""The orchestration primitives: Buffer (fan-out) and Sequence (chain).

Send a ``BufferStart`` to ``system.buffer`` or a ``SequenceStart`` to
``system.sequence``. Each run is a child actor owning a pure core
(``BufferRun``, ``SequenceRun``) that can be tested without an actor system.
Public names load on first use (see ``actors._lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import facade

if TYPE_CHECKING:  # what the lazy names are, for type checkers and readers
    from ..messages import BufferItem
    from .buffer_run import BufferRun
    from .payloads import (
        BufferCancel,
        BufferComplete,
        BufferDispatched,
        BufferError,
        BufferProgress,
        BufferResults,
        BufferStart,
        DeadLetter,
        SequenceComplete,
        SequenceError,
        SequenceStart,
    )
    from .results import ItemResult, format_results, parse_results
    from .sequence_run import SequenceRun

_WHERE = {
    "BufferStart": "payloads",
    "BufferComplete": "payloads",
    "BufferDispatched": "payloads",
    "BufferError": "payloads",
    "BufferProgress": "payloads",
    "BufferResults": "payloads",
    "BufferCancel": "payloads",
    "BufferItem": "payloads",
    "DeadLetter": "payloads",
    "SequenceStart": "payloads",
    "SequenceComplete": "payloads",
    "SequenceError": "payloads",
    "BufferRun": "buffer_run",
    "ItemResult": "results",
    "SequenceRun": "sequence_run",
    "format_results": "results",
    "parse_results": "results",
}

__all__ = list(_WHERE)

__getattr__, __dir__ = facade(__name__, globals(), _WHERE)
