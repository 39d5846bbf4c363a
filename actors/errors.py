"""Every exception xmlactors raises, under one root.

Each class also inherits the builtin that fits, so callers may catch
``LookupError`` or ``TimeoutError`` without importing this module.
"""

from __future__ import annotations

from typing import Any

__all__ = [
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
    "ComponentDiedError",
    "BufferFailedError",
    "SequenceFailedError",
]


class XmlActorsError(Exception):
    """Root of every error raised by xmlactors."""


class PayloadError(XmlActorsError, ValueError):
    """XML that could not be parsed, was refused by the hardened parser, or failed its schema."""


class UnknownListenerError(XmlActorsError, LookupError):
    """A message was addressed to a listener name that nobody registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no listener is registered under the name {name!r}")
        self.name = name


class DuplicateListenerError(XmlActorsError, ValueError):
    """A listener name was registered twice."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a listener named {name!r} is already registered; choose another name"
        )
        self.name = name


class ListenerError(XmlActorsError, RuntimeError):
    """A listener answered with ``<huh>``; the message is the huh text."""

    def __init__(self, huh: str, target: str = "") -> None:
        super().__init__(huh)
        self.huh = huh
        self.target = target


class AskTimeoutError(XmlActorsError, TimeoutError):
    """No reply arrived before the ask's deadline."""

    def __init__(self, target: str, timeout: float) -> None:
        super().__init__(f"no reply from {target!r} within {timeout:g} s")
        self.target = target
        self.timeout = timeout


class ConfigError(XmlActorsError, ValueError):
    """An organism file or a registration is invalid."""


class NotImportableError(XmlActorsError, TypeError):
    """A handler or payload class cannot be imported by name in another process."""


class PlacementError(XmlActorsError, LookupError):
    """No actor system of the convention offers what a listener requires."""

    def __init__(self, name: str, requires: str, waited: float, flags: str) -> None:
        super().__init__(
            f"listener {name!r} requires {requires}, but no actor system of the"
            f" convention offered it within {waited:g} s: start a member with"
            f" 'xmlactors serve ... --convention LEADER:PORT {flags}'"
        )
        self.name = name


class NoSystemError(XmlActorsError, ConnectionError):
    """Nothing listens where ``Runtime.connect`` was told an actor system runs."""

    def __init__(self, host: str, port: int, why: str) -> None:
        super().__init__(
            f"no actor system at {host}:{port} ({why}): start one with"
            f" 'xmlactors serve ORGANISM --admin-port {port}' or check the port"
        )
        self.host = host
        self.port = port


class RuntimeClosedError(XmlActorsError, RuntimeError):
    """The runtime was shut down while (or before) this call used it."""

    def __init__(self) -> None:
        super().__init__(
            "the runtime is shut down: this call cannot complete; start a new Runtime"
        )


class ComponentDiedError(XmlActorsError, RuntimeError):
    """The component a request went to died before answering it.

    Its supervisor (the root) restarted it, so the next request reaches the
    new one; or, with ``down``, it died too often and is not restarted.
    """

    def __init__(self, name: str, down: bool = False, address: Any = None, why: str = "") -> None:
        then = ("it was restarted; send the request again" if not down
                else why or "it died too often and is down: restart the runtime")
        super().__init__(f"{name} died before answering: {then}")
        self.name = name
        self.down = down
        self.address = address  # where it runs now (None when down)


class BufferFailedError(XmlActorsError, RuntimeError):
    """Some items of a ``Runtime.map`` gave no value; ``failures`` says which and why.

    ``values`` holds every item's value at its index (None where it failed),
    ``outcome`` the whole ``BufferOutcome``.
    """

    def __init__(self, outcome: Any) -> None:
        failures = outcome.failures
        shown = "; ".join(str(f) for f in failures[:5])
        more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
        super().__init__(
            f"{len(failures)} of {outcome.total} items of Buffer {outcome.buffer_id} failed:"
            f" {shown}{more}"
        )
        self.outcome = outcome
        self.failures = failures
        self.values = outcome.values


class SequenceFailedError(XmlActorsError, RuntimeError):
    """A step of a ``Runtime.sequence`` failed; the message names it, its index and why."""

    def __init__(self, sequence_id: str, failed_step: str, step_index: int, error: str) -> None:
        where = f"step {step_index} ({failed_step})" if failed_step else "its start"
        super().__init__(f"Sequence {sequence_id} failed at {where}: {error}")
        self.sequence_id = sequence_id
        self.failed_step = failed_step
        self.step_index = step_index
        self.error = error
