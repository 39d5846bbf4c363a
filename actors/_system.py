"""The actor system behind a ``Runtime``: started here, or attached to where it is served.

Runs in the user's process. A ``System`` owns the Thespian system (or the
in-process one), the mailbox every exchange goes through, the registry's
address and, on the multiprocess bases, the session id of its processes. It
starts the registry, the system services and the listeners' actors, and on
``close`` stops them and ends any process of the session that outlives the
stop, or, when attached, lets go of the served system and leaves it running.
"""

from __future__ import annotations

import logging
from typing import Any

from thespian.actors import ActorSystem, ActorSystemException

from . import bases, processes, watchdog
from ._mailbox import InProcessMailbox, Mailbox, ReceiverMailbox
from ._repairs import retry_failed_sends_soon
from .deploy import probe, reply_address
from .errors import DuplicateListenerError, NoSystemError, PlacementError
from .messages import (
    Address,
    ListenerSpec,
    PidsReply,
    PidsRequest,
)
from .parsing import ParseLimits
from .placement import capability_flags, describe
from .root import PLACEMENT, ROOT_NAME, RootActor
from .services import SYSTEM_SERVICES
from .supervision import HEARTBEAT, REGISTRY, RootInit, StartChild, Started

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
        self.root: Address = None  # the parent of everything below (actors.root)
        self.registry: Address = None
        self.session_id = 0

    @classmethod
    def start(cls, base: str, capabilities: dict[str, Any], bind: str | None,
              log_level: int = logging.WARNING) -> System:
        """A new actor system on ``base``, with its root and registry started."""

        if base == "simpleSystemBase":
            local = InProcessMailbox(capabilities, bases.log_defs(log_level))
            system = cls(base, local, local.local, attached=False)
        else:
            bases.bind_to(bind)
            bases.keep_environment()
            retry_failed_sends_soon()
            # transientUnique: each Runtime its own system (Thespian's default shares one).
            thespian = ActorSystem(
                base, capabilities, logDefs=bases.log_defs(log_level), transientUnique=True
            )
            system = cls(base, ReceiverMailbox(thespian), thespian, attached=False)
        try:
            if base in bases.MULTIPROCESS_BASES:  # ends the system if this process dies unstopped
                watchdog.guard(system.mailbox)
            system.root = system.mailbox.create_actor(RootActor, globalName=ROOT_NAME)
            system.registry = system.start_child(StartChild(REGISTRY, REGISTRY))
            system._learn_session()
        except BaseException:
            system.close()
            raise
        return system

    @classmethod
    def attach(cls, host: str, admin_port: int) -> System:
        """The system served at ``host:admin_port``, on this host or any other this one reaches
        (``NoSystemError`` if nothing answers there).

        Refuses, rather than starts, a system when nothing listens there. This
        side listens on the local end of the route to ``host`` (replies come
        back there), the address of this machine the served system can reach.
        """

        probe(host, admin_port)
        local = reply_address(host, admin_port)
        base = "multiprocTCPBase"
        bases.bind_to(local)
        retry_failed_sends_soon()
        try:
            thespian = bases.attached_system(host, admin_port, bases.log_defs())
        except ActorSystemException:  # something answers there, but no admin answers us
            raise NoSystemError(host, admin_port, "something listens there, but no actor system's"
                                f" admin answered: not a served system, or it cannot reach {local},"
                                " where its replies go") from None
        system = cls(base, ReceiverMailbox(thespian), thespian, attached=True)
        # The root exists under its global name: this returns its address, and the root
        # answers with the registry it started.
        system.root = system.mailbox.create_actor(RootActor, globalName=ROOT_NAME)
        system.registry = system.start_child(StartChild(REGISTRY, REGISTRY))
        return system

    def _learn_session(self) -> None:
        if self.base not in bases.MULTIPROCESS_BASES:
            return
        (reply,) = self.mailbox.gather([(self.registry, PidsRequest)], START_WAIT)
        assert isinstance(reply, PidsReply)
        self.session_id = reply.session_id
        processes.track_session(self.session_id)

    # -- what runs in it -------------------------------------------------------

    def start_child(self, request: StartChild) -> Address:
        """Have the root start, initialise and register a component; its address
        (``DuplicateListenerError`` for a taken name, ``PlacementError`` when no member
        offers what it requires, ``RuntimeError`` if it cannot start)."""
        (answer,) = self.mailbox.gather([(self.root, request)], START_WAIT + request.wait)
        assert isinstance(answer, Started)
        if answer.error.startswith("a listener named"):
            raise DuplicateListenerError(request.name)
        if answer.error.startswith(PLACEMENT):
            requires = dict(request.requires)
            raise PlacementError(request.name, describe(requires), request.wait,
                                 capability_flags(requires))
        if answer.error:
            raise RuntimeError(answer.error)
        return answer.address

    def start_services(self, run_deadline: float, limits: ParseLimits, journal: Any = None,
                       dead_letter: str = "", heartbeat: float = HEARTBEAT) -> dict[str, Address]:
        """Start ``system.buffer`` and ``system.sequence``; their addresses by name."""
        self.mailbox.send(self.root, RootInit(
            self.base, run_deadline, limits, self.mailbox.reply_address, journal=journal,
            dead_letter=dead_letter, heartbeat=heartbeat))
        return {name: self.start_child(StartChild("service", name)) for name, _ in SYSTEM_SERVICES}

    def start_listener(
        self, spec: ListenerSpec, requires: dict[str, Any] | None, placement_wait: float
    ) -> Address:
        """Create a listener's actor (placed on a member that meets ``requires``) and register it."""
        return self.start_child(StartChild("listener", spec.name, spec, spec.info(),
                                           tuple(sorted((requires or {}).items())),
                                           placement_wait if requires else 0.0))

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
