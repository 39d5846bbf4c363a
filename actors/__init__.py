"""xmlactors: an actor-model runtime for XML message pipelines (Thespian + lxml).

Public names only; the logic lives in the modules named for what they hold.
"""

from .codec import xmlify
from .envelope import Envelope
from .errors import (
    AskTimeoutError,
    ConfigError,
    DuplicateListenerError,
    ListenerError,
    NoSystemError,
    NotImportableError,
    PayloadError,
    PlacementError,
    RuntimeClosedError,
    UnknownListenerError,
    XmlActorsError,
)
from .handler import HandlerMetadata, HandlerResponse
from .runtime import Runtime, Statistics

__all__ = [
    "xmlify",
    "Envelope",
    "HandlerMetadata",
    "HandlerResponse",
    "Runtime",
    "Statistics",
    "XmlActorsError",
    "PayloadError",
    "UnknownListenerError",
    "DuplicateListenerError",
    "ListenerError",
    "AskTimeoutError",
    "ConfigError",
    "NotImportableError",
    "PlacementError",
    "NoSystemError",
    "RuntimeClosedError",
]

__version__ = "0.1.0"
