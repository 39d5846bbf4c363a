"""The actor system behind a ``Runtime``: started here, or attached to where it is served.

Runs in the user's process. A ``System`` owns the Thespian system (or the
in-process one), the mailbox every exchange goes through, the registry's
address and, on the multiprocess bases, the session id of its processes. It
starts the registry, the system services and the listeners' actors, and on
``close`` stops them and ends any process of the session that outlives the
stop, or, when attached, lets go of the served system and leaves it running.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from thespian.actors import ActorSystem

from . import bases, processes, watchdog
from ._mailbox import InProcessMailbox, Mailbox, ReceiverMailbox
from .deploy import check_local, place, probe
from .errors import DuplicateListenerError
from .listener import ListenerActor
from .messages import (
    Address,
    ListenerInfo,
    ListenerSpec,
    PidsReply,
    PidsRequest,
    Register,
    Registered,
    ServiceInit,
)
from .parsing import ParseLimits
from .services import SYSTEM_SERVICES

__all__ = ["System", "START_WAIT"]

_log = logging.getLogger(__name__)

START_WAIT = 30.0
"""Seconds a start-up exchange (registering a listener, learning the session) may take."""


class System:
    """One running (or attached) actor system and the mailbox that talks to it."""

    def __init__(self, base: str, mailbox: Mailbox, thespian: Any, attached: bool) -> None:
        self.base = base
        self.mailbox = mailbox
        self.thespian = thespian  # the ActorSystem, or the InProcessSystem
        self.attached = attached  # served elsewhere: never shut it down
        self.registry: Address = None
        self.session_id = 0

    @classmethod
    def start(cls, base: str, capabilities: dict[str, Any], bind: str | None,
              log_level: int = logging.WARNING) -> System:
        """A new actor system on ``base``, with its registry started."""
        from registry.actor import GLOBAL_NAME, RegistryActor

        if base == "simpleSystemBase":
            local = InProcessMailbox(capabilities, bases.log_defs(log_level))
            system = cls(base, local, local.local, attached=False)
        else:
            bases.bind_to(bind)
            # transientUnique: each Runtime its own system (Thespian's default shares one).
            thespian = ActorSystem(
                base, capabilities, logDefs=bases.log_defs(log_level), transientUnique=True
            )
            system = cls(base, ReceiverMailbox(thespian), thespian, attached=False)
        try:
            if base in bases.MULTIPROCESS_BASES:  # ends the system if this process dies unstopped
                watchdog.guard(system.mailbox)
            system.registry = system.mailbox.create_actor(RegistryActor, globalName=GLOBAL_NAME)
            system._learn_session()
        except BaseException:
            system.close()
            raise
        return system

    @classmethod
    def attach(cls, host: str, admin_port: int) -> System:
        """The system served at ``host:admin_port`` (``NoSystemError`` if nothing listens).

        Refuses, rather than starts, a system when nothing listens there:
        Thespian's ``ActorSystem`` would otherwise start a fresh admin of its own.
        """
        from registry.actor import GLOBAL_NAME, RegistryActor

        check_local(host, admin_port)
        probe(host, admin_port)
        base = "multiprocTCPBase"
        bases.bind_to(host)
        capabilities = bases.capabilities_for(base, admin_port, None, {})
        thespian = ActorSystem(
            base, capabilities, logDefs=bases.log_defs(), transientUnique=True
        )
        system = cls(base, ReceiverMailbox(thespian), thespian, attached=True)
        # The registry exists under its global name: this returns its address.
        system.registry = system.mailbox.create_actor(RegistryActor, globalName=GLOBAL_NAME)
        return system

    def _learn_session(self) -> None:
        if self.base not in bases.MULTIPROCESS_BASES:
            return
        (reply,) = self.mailbox.gather([(self.registry, PidsRequest)], START_WAIT)
        assert isinstance(reply, PidsReply)
        self.session_id = reply.session_id
        processes.track_session(self.session_id)

    # -- what runs in it -------------------------------------------------------

    def start_services(self, run_deadline: float, limits: ParseLimits) -> dict[str, Address]:
        """Start ``system.buffer`` and ``system.sequence``; their addresses by name."""
        started = {}
        for name, actor_class in SYSTEM_SERVICES:
            address = self.mailbox.create_actor(actor_class)
            self.mailbox.send(address, ServiceInit(name, self.registry, self.base,
                                                   run_deadline, limits))
            self.register(ListenerInfo(name, f"system listener {name}"), address)
            started[name] = address
        return started

    def start_listener(
        self, spec: ListenerSpec, requires: dict[str, Any] | None, placement_wait: float
    ) -> Address:
        """Create a listener's actor (placed on a member that meets ``requires``) and register it."""
        if requires:
            address = place(self.mailbox, ListenerActor, spec.name, requires, placement_wait)
        else:
            address = self.mailbox.create_actor(ListenerActor)
        self.mailbox.send(address, dataclasses.replace(spec, registry=self.registry))
        self.register(spec.info(), address)
        return address

    def register(self, info: ListenerInfo, address: Address) -> None:
        """Record a listener with the registry; ``DuplicateListenerError`` for a taken name."""
        (answer,) = self.mailbox.gather([(self.registry, Register(info, address))], START_WAIT)
        assert isinstance(answer, Registered)
        if answer.error:
            raise DuplicateListenerError(info.name)

    # -- the end -------------------------------------------------------------

    def close(self) -> None:
        """Stop the system and end its surviving processes; when attached, only let go of it."""
        self.mailbox.close()
        if self.attached:
            self.thespian.systemUpdate("exit_context")  # close this process's endpoint only
            return
        try:
            self.thespian.shutdown()
        finally:
            if self.session_id:
                killed = processes.end_session(self.session_id)
                if killed:
                    _log.info("ended %d actor processes that outlived shutdown: %s",
                              len(killed), killed)
