"""Deployments: placing a listener on a member of a convention, and reaching a served system.

Several actor systems (``xmlactors serve``, one per process or host) form a
Thespian *convention*: the first one started is the leader, the others join
it with ``--convention HOST:PORT`` and offer capabilities
(``--capability gpu=true``). A listener whose organism entry says
``<requires gpu="true"/>`` is created on a system offering them.

This module runs in the user's process (the Runtime's); the pure rules of
placement are in ``placement``.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from typing import Any

from thespian.actors import NoCompatibleSystemForActor

from ._mailbox import Mailbox
from .errors import NoSystemError, PlacementError
from .placement import capability_flags, describe

__all__ = [
    "place",
    "wait_for_leader",
    "is_listening",
    "check_local",
    "probe",
]

_log = logging.getLogger(__name__)

_RETRY = 0.2
"""Seconds between placement attempts while no member offers the capabilities yet."""


# -- placement ------------------------------------------------------------------


def place(
    mailbox: Mailbox, actor_class: type, name: str, requires: Mapping[str, Any], wait: float
) -> Any:
    """Create ``actor_class`` on a system meeting ``requires``; its address.

    Thespian answers at once when no system of the convention qualifies,
    and a member may still be joining: so try again every ``_RETRY``
    seconds, up to ``wait`` seconds, then raise ``PlacementError``.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return mailbox.create_actor(actor_class, targetActorRequirements=dict(requires))
        except NoCompatibleSystemForActor:
            if time.monotonic() >= deadline:
                raise PlacementError(
                    name, describe(requires), wait, capability_flags(requires)
                ) from None
        time.sleep(_RETRY)  # waiting for a member to join the convention, not for an actor


def wait_for_leader(convention: str, wait: float) -> None:
    """Return once the leader's admin at ``HOST:PORT`` accepts connections; ``NoSystemError`` after ``wait``.

    A member whose first registration finds no leader tries again only after
    Thespian's re-registration period (7 min 22 s by default): so a member
    starts its own system only once its leader is there.
    """
    host, _, port = convention.rpartition(":")
    deadline = time.monotonic() + wait
    while True:
        try:
            probe(host, int(port), timeout=min(5.0, max(wait, 0.1)))
            return
        except NoSystemError as exc:
            if time.monotonic() >= deadline:
                raise NoSystemError(
                    host, int(port), f"no leader answered within {wait:g} s: start the leader first"
                ) from exc
        time.sleep(_RETRY)  # waiting for another process's admin to listen, not for an actor


# -- reaching a served system -----------------------------------------------------


def check_local(host: str, port: int) -> None:
    """Thespian talks to an admin of this host only: ``host`` must be one of its addresses."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except OSError as exc:
        raise NoSystemError(
            host, port, f"{host} is not an address of this machine ({exc.strerror or exc});"
            " run 'xmlactors ask' on the host of the system, e.g. over ssh"
        ) from None


def is_listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port`` right now."""
    try:
        probe(host, port, timeout=2.0)
    except NoSystemError:
        return False
    return True


def probe(host: str, port: int, timeout: float = 5.0) -> None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise NoSystemError(host, port, exc.strerror or str(exc)) from None
