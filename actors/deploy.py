"""Deployments: waiting for a convention's leader, and reaching a served system.

Several actor systems (``xmlactors serve``, one per process or host) form a
Thespian *convention*: the first one started is the leader, the others join
it with ``--convention HOST:PORT`` and offer capabilities
(``--capability gpu=true``). A listener whose organism entry says
``<requires gpu="true"/>`` is created on a system offering them, by the root
actor (``actors.root``); the pure rules of placement are in ``placement``.

This module runs in the user's process (the Runtime's).
"""

from __future__ import annotations

import logging
import socket
import time

from .errors import NoSystemError

__all__ = [
    "wait_for_leader",
    "is_listening",
    "reply_address",
    "probe",
]

_log = logging.getLogger(__name__)

_RETRY = 0.2
"""Seconds between looks at whether the leader's admin listens yet."""


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


def reply_address(host: str, port: int) -> str:
    """This machine's address that packets to ``host:port`` leave from: where a client
    attached to the system there listens, so that its replies reach it.

    The kernel's own choice of source address for that destination (a UDP
    socket's ``connect`` sends nothing): loopback for a loopback host, the
    host itself for an address of this machine, else the address of the
    interface the route to ``host`` goes out of. ``NoSystemError`` when no
    route leads there.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect((host, port))
            local: str = udp.getsockname()[0]
    except OSError as exc:
        raise NoSystemError(host, port, exc.strerror or str(exc)) from None
    return local


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
