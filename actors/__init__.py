"""xmlactors: an actor-model runtime for XML message pipelines (Thespian + lxml).

Public names only, loaded on first use (PEP 562): ``import actors.codec`` or a
pure core loads no Thespian; ``actors.Runtime`` does. The logic lives in the
modules named for what they hold; docs/reference.md lists these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import facade

if TYPE_CHECKING:  # what the lazy names are, for type checkers and readers
    from .codec import Xml, XmlPayload, xmlify
    from .envelope import Envelope
    from .errors import (
        AskTimeoutError,
        BufferFailedError,
        ComponentDiedError,
        ConfigError,
        DuplicateListenerError,
        ListenerError,
        NoSystemError,
        NotImportableError,
        PayloadError,
        PlacementError,
        RuntimeClosedError,
        SequenceFailedError,
        UnknownListenerError,
        XmlActorsError,
    )
    from .handler import HandlerMetadata, HandlerResponse
    from .limits import ParseLimits
    from .outcomes import BufferOutcome, ItemFailure
    from .runtime import Runtime
    from .statistics import Statistics

_WHERE = {
    "xmlify": "codec",
    "Xml": "codec",
    "XmlPayload": "codec",
    "Envelope": "envelope",
    "HandlerMetadata": "handler",
    "HandlerResponse": "handler",
    "ParseLimits": "limits",
    "Runtime": "runtime",
    "Statistics": "statistics",
    "XmlActorsError": "errors",
    "PayloadError": "errors",
    "UnknownListenerError": "errors",
    "DuplicateListenerError": "errors",
    "ListenerError": "errors",
    "AskTimeoutError": "errors",
    "ConfigError": "errors",
    "NotImportableError": "errors",
    "PlacementError": "errors",
    "NoSystemError": "errors",
    "RuntimeClosedError": "errors",
    "ComponentDiedError": "errors",
    "BufferFailedError": "errors",
    "SequenceFailedError": "errors",
    "BufferOutcome": "outcomes",
    "ItemFailure": "outcomes",
}

__all__ = list(_WHERE)

__version__ = "0.1.0"


__getattr__, __dir__ = facade(__name__, globals(), _WHERE)
