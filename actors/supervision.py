"""The supervision tree's messages and its pure rule: how many restarts are too many.

One root actor per system (``actors.root``) is the parent of the registry,
the system services and every listener's supervisor. When one of them dies
the root starts its replacement, rebuilds its state (the registry from the
registrations the root keeps, a listener from its spec, a service empty)
and tells everyone who keeps addresses where it is now (``Moved``): its own
children, and the runtime that started the system. A component that dies
more than ``intensity`` times within ``period`` seconds is given up on
(``Down``), as OTP's supervisors do. Pure: no Thespian.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any

from .limits import DEFAULT_LIMITS, ParseLimits
from .messages import Address, ListenerInfo, ListenerSpec

__all__ = [
    "ROOT", "REGISTRY", "RootInit", "StartChild", "Started", "Moved", "Down", "RestartBudget",
    "INTENSITY", "PERIOD",
]

ROOT = "root"
"""The root's name in ``Runtime.processes()`` and in the counters."""

REGISTRY = "registry"
"""The registry's name as a component (it is not a listener: it has no entry of its own)."""

HEARTBEAT = 3.0
"""Seconds without an answer after which the root counts a listener on another member of a
convention as lost (its member died or was cut off); it is pinged a third of that apart."""

INTENSITY = 5
PERIOD = 10.0
"""Restarts of one component allowed within ``PERIOD`` seconds; one more and it is given up on."""


@dataclass(frozen=True, slots=True)
class RootInit:
    """Sent once to a new root: what its services need, and whom to tell of moves."""

    base: str
    run_deadline: float
    limits: ParseLimits = DEFAULT_LIMITS
    owner: Address = None
    """Where ``Moved``/``Down`` notices go outside the system (the runtime's receiver)."""
    journal: Any = None  # a journal.JournalConfig, for the services
    heartbeat: float = HEARTBEAT  # see HEARTBEAT
    dead_letter: str = ""  # the services' default dead-letter listener


@dataclass(frozen=True, slots=True)
class StartChild:
    """Ask the root to start and register one component; answered by ``Started``.

    ``kind`` is ``"registry"``, ``"service"`` (``name`` says which) or
    ``"listener"`` (``spec`` is its spec, ``info`` its registry entry). A
    listener with ``requires`` is placed on a member of the convention that
    offers those capabilities, tried again for up to ``wait`` seconds while
    none does (a member may still be joining).
    """

    kind: str
    name: str
    spec: ListenerSpec | None = None
    info: ListenerInfo | None = None
    requires: tuple[tuple[str, Any], ...] = ()
    wait: float = 0.0
    token: Any = None
    reply_to: Address = None


@dataclass(frozen=True, slots=True)
class Started:
    """The root's answer to ``StartChild``: the component's address, or an ``error`` text."""

    name: str
    address: Address
    error: str = ""
    token: Any = None


@dataclass(frozen=True, slots=True)
class Moved:
    """Component ``name`` was restarted: it is at ``address`` now; what was sent to it before
    its death is lost (its callers are told so, never left to wait for their timeout)."""

    name: str
    address: Address
    token: Any = None


@dataclass(frozen=True, slots=True)
class Down:
    """Component ``name`` died too often (``RestartBudget``) and is not restarted any more."""

    name: str
    restarts: int
    token: Any = None
    why: str = ""  # for the caller's error: died too often, or its member stopped answering


class RestartBudget:
    """OTP's restart intensity: at most ``intensity`` restarts within any ``period`` seconds."""

    def __init__(self, intensity: int = INTENSITY, period: float = PERIOD) -> None:
        self.intensity, self.period = intensity, period
        self.recent: dict[str, collections.deque[float]] = {}
        self.total: collections.Counter[str] = collections.Counter()

    def allow(self, name: str, now: float) -> bool:
        """Whether ``name`` may be restarted at ``now``; counts the restart when it may."""
        times = self.recent.setdefault(name, collections.deque())
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(times) >= self.intensity:
            return False
        times.append(now)
        self.total[name] += 1
        return True
