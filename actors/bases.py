"""How xmlactors starts Thespian: bases, logging, ports, binding, attaching from elsewhere.

Kept apart from the ``Runtime`` facade so the facts about Thespian's
start-up live in one place.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import types
from typing import Any

from .errors import ConfigError

__all__ = [
    "BASES",
    "MULTIPROCESS_BASES",
    "free_port",
    "free_ports",
    "log_defs",
    "log_level",
    "bind_to",
    "keep_environment",
    "capabilities_for",
    "attached_system",
]

BASES = ("simpleSystemBase", "multiprocTCPBase", "multiprocQueueBase")
MULTIPROCESS_BASES = frozenset({"multiprocTCPBase", "multiprocQueueBase"})


FIXED_PORTS = (20000, 32768)
"""Where ``free_port`` looks first: below Linux's usual ephemeral range (``ip_local_port_range``,
32768 up). A port the kernel picked for us is one it also hands out as the source port of
outgoing connections and to every actor's own socket (Thespian binds port 0): between our
probe and the admin's bind, one of those took it now and then, and the system did not start
(``InvalidActorAddress``: the port answered, but not as an admin)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now, outside the kernel's ephemeral range if one is."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` different TCP ports free on ``host`` right now (see ``free_port``): each is
    held while the next is chosen, so two picked for one system never coincide."""
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            held.append(_bound_probe(host))
        return [probe.getsockname()[1] for probe in held]
    finally:
        for probe in held:
            probe.close()


def _bound_probe(host: str) -> socket.socket:
    """A socket bound to a free port of ``host``: one of ``FIXED_PORTS`` if that range lies
    below the ephemeral one, else (or if none of those tried was free) the kernel's choice."""
    fixed = random.sample(range(*FIXED_PORTS), 32) if FIXED_PORTS[1] <= _ephemeral_low() else []
    for port in [*fixed, 0]:  # 0: the kernel's choice, last
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind((host, port))
        except OSError:
            probe.close()
            if port == 0:
                raise
            continue
        return probe
    raise AssertionError("unreachable: binding port 0 returns or raises")


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range; 0 when unknown (then its choice)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as text:
            return int(text.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def log_defs(level: int = logging.WARNING) -> dict[str, Any]:
    """A ``logging.config`` dict for Thespian's actor processes: xmlactors' own
    lines at ``level``, everything else at WARNING, all on standard error.

    ``logDefs=False`` crashes multiprocess child start-up (seen here), and
    None installs Thespian's own defaults; a small dict is the safe middle.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                       "level": min(level, logging.WARNING)}
        },
        "root": {"handlers": ["stderr"], "level": logging.WARNING},
        "loggers": {"xmlactors": {"level": level}},
    }


def log_level(level: int | str) -> int:
    """A logging level from its number or name (``"info"``, ``"INFO"``); ``ConfigError`` if none."""
    found = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(found, int) or isinstance(found, bool):
        raise ConfigError(f"unknown log level {level!r}: expected DEBUG, INFO, WARNING or ERROR")
    return found


_bind_host: str | None = None
_patched = False


def bind_to(host: str | None) -> None:
    """Make Thespian's TCP sockets listen on ``host`` instead of every interface.

    Thespian binds each actor's socket to ``''`` (all interfaces) even when
    ``THESPIAN_BASE_IPADDR`` is 127.0.0.1 (seen here). This wraps its
    address class so the bind address is ``host``; processes forked later
    (the admin and every actor) inherit the setting; ``THESPIAN_BASE_IPADDR``
    is set to ``host`` so the address actors advertise is one they listen
    on. ``None`` restores Thespian's behaviour (all interfaces).
    """
    global _bind_host, _patched
    from thespian.system.transport import IPBase

    _bind_host = host
    if host is not None:
        # The advertised address must be one we listen on.
        os.environ["THESPIAN_BASE_IPADDR"] = host
        IPBase.thisSystem.add_local_addr(host)
    if _patched:
        return

    original = IPBase.IPActorAddress.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if _bind_host is not None and self.bindname[0] == "":
            self.bindname = (_bind_host, self.bindname[1])

    IPBase.IPActorAddress.__init__ = init
    _patched = True


def keep_environment() -> None:
    """Let actor processes keep their environment readable when they are named.

    With ``setproctitle`` installed (the ``names`` extra) Thespian names each
    actor process for its actor; by default that module moves the process's
    environment to make room for a long name, and ``/proc/PID/environ`` then
    shows the name instead (seen here: a process found by a mark in its
    environment was no longer found). ``SPT_NOENV`` keeps the environment in
    place, and a name is cut to the length of the command line that started
    the system. Processes forked later inherit the setting.
    """
    os.environ.setdefault("SPT_NOENV", "1")


def capabilities_for(
    base: str, admin_port: int | None, convention: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """Thespian capabilities for a new system on ``base``."""
    caps: dict[str, Any] = dict(extra)
    if base == "multiprocTCPBase":
        caps["Admin Port"] = admin_port
        if convention:
            caps["Convention Address.IPv4"] = convention
    return caps


def attached_system(host: str, admin_port: int, logdefs: dict[str, Any]) -> Any:
    """A Thespian ``ActorSystem`` whose admin is the one at ``host:admin_port``, on any host.

    Thespian's external interface assumes its admin runs on this machine: it
    derives the admin's address from the address it would advertise itself
    (``THESPIAN_BASE_IPADDR``, which ``bind_to`` sets to the local end of the
    route to ``host``), and it checks for an admin by trying to *bind* the
    admin's port, starting one when the bind succeeds. Here the admin's
    address is ``host:admin_port`` whatever this machine is, and no admin is
    ever started: the caller has already seen something answer there. The
    rest (this side's endpoint, its contexts, every send) is Thespian's own.
    """
    from thespian.actors import ActorAddress, ActorSystem
    from thespian.system.multiprocTCPBase import ActorSystemBase
    from thespian.system.transport.TCPTransport import TCPTransport, TCPv4ActorAddress

    def admin_address(capabilities: object = None) -> Any:
        return ActorAddress(TCPv4ActorAddress(host, admin_port, external=True))

    class RemoteAdminTransport(TCPTransport):  # type: ignore[misc]
        getAdminAddr = staticmethod(admin_address)

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self._adminAddr = admin_address()  # Thespian's __init__ computed a local one

        @staticmethod
        def probeAdmin(addr: Any) -> bool:
            return True  # never start an admin here: attach to the one there, or fail

    class RemoteAdminBase(ActorSystemBase):  # type: ignore[misc]
        transportType = RemoteAdminTransport

    # All a Thespian base reads of its ActorSystem while it starts is the capabilities.
    starting = types.SimpleNamespace(capabilities={"Admin Port": admin_port})
    base = RemoteAdminBase(starting, logDefs=logdefs)
    return ActorSystem(base, starting.capabilities, logDefs=logdefs, transientUnique=True)
