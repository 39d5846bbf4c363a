"""What a running system counts: each actor's counters, and the ``Statistics`` summary of them.

Every listener and service answers a ``StatsRequest`` with its counters by
name; ``summarize`` turns the counters of all of them into one snapshot.
Pure: no Thespian.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Statistics", "summarize", "Counters"]

Counters = Mapping[str, Mapping[str, float]]
"""Component name -> its counters by name."""

SERVICES = ("system.buffer", "system.sequence")


@dataclass(frozen=True, slots=True)
class Statistics:
    """A snapshot of a running system (``Runtime.statistics()``)."""

    listeners: int
    active_buffers: int
    active_sequences: int
    handled: int
    refused_sends: int
    replaced_workers: int
    idle_runs: int = 0
    """Run actors started ahead of the runs that will use them (multiprocess bases)."""
    expired: int = 0
    """Calls not started because their caller's deadline had passed (each answered
    ``<huh reason="expired">``); not in ``handled``."""
    restarts: int = 0
    """Components (registry, services, listener supervisors) the root restarted."""
    down: tuple[str, ...] = ()
    """Components that died too often and are not restarted any more."""
    unanswered: tuple[str, ...] = ()
    """Components that did not answer this snapshot in time (their counters are missing)."""


def _total(counters: Counters, key: str) -> int:
    return int(sum(c.get(key, 0) for c in counters.values()))


def summarize(counters: Counters, listeners: int) -> Statistics:
    """The snapshot of every component's ``counters`` (``listeners``: how many are registered)."""
    return Statistics(
        listeners=listeners,
        active_buffers=int(counters.get("system.buffer", {}).get("active", 0)),
        active_sequences=int(counters.get("system.sequence", {}).get("active", 0)),
        handled=_total(counters, "handled"),
        refused_sends=_total(counters, "refused"),
        replaced_workers=_total(counters, "replaced"),
        idle_runs=int(sum(counters.get(s, {}).get("warm", 0) for s in SERVICES)),
        expired=_total(counters, "expired"),
        restarts=int(counters.get("root", {}).get("restarts", 0)),
        down=tuple(sorted(name for name, c in counters.items() if c.get("down"))),
        unanswered=tuple(sorted(name for name, c in counters.items() if c.get("unanswered"))),
    )
