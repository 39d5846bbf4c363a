"""The system listeners every Runtime starts, under reserved names.

A system listener receives deliveries like any listener but is written by
xmlactors itself: ``system.buffer`` (fan-out) and ``system.sequence`` (chain).
"""

from __future__ import annotations

from .primitives.buffer_service import BufferService
from .primitives.sequence_actor import SequenceService

__all__ = ["SYSTEM_SERVICES"]

SYSTEM_SERVICES: tuple[tuple[str, type], ...] = (
    ("system.buffer", BufferService),
    ("system.sequence", SequenceService),
)
