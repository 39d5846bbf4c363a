"""The root actor: parent of the registry, the system services and every listener's supervisor.

One per actor system, under the global name ``xmlactors.root`` (its own
process on the multiprocess bases). The runtime asks it to start each
component (``StartChild``); the root creates the child, initialises it and
registers it. When a child dies the root starts its replacement with its
state rebuilt (see ``actors.supervision``), records the new address with
the registry, and tells its other children and the runtime where it is now
(``Moved``), so nobody sends to the dead address again and nobody waits
for an answer the dead one took with it.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import os
import time
from typing import Any

from .listener import ListenerActor
from .logs import log_event
from .messages import (
    Address,
    ListenerInfo,
    PidsReply,
    PidsRequest,
    Register,
    Registered,
    StatsReply,
    StatsRequest,
)
from .run_messages import ServiceInit
from .services import SYSTEM_SERVICES
from .shell import Shell
from .supervision import REGISTRY, ROOT, Down, Moved, RestartBudget, RootInit, StartChild, Started

__all__ = ["RootActor", "ROOT_NAME"]

ROOT_NAME = "xmlactors.root"
"""The root's Thespian global name: ``Runtime.connect`` finds a served system's root by it."""

_REBUILT = "registry-rebuilt"
"""The token of the last entry a restarted registry is given: its answer means it knows all."""

PLACE_RETRY = 0.5
"""Seconds between tries to place a listener while no member offers what it requires."""

PLACEMENT = "placement:"
"""How a ``Started`` error for a listener no member would take begins."""


@dataclasses.dataclass(slots=True)
class _Starting:
    """A child created and not yet answering (``restart``: replacing one that died)."""

    request: StartChild
    address: Address
    reply_to: Address
    restart: bool = False
    until: float = 0.0  # placement: time.monotonic() after which no member will do


@dataclasses.dataclass(slots=True)
class _Child:
    """What the root keeps of one child: enough to start it again."""

    request: StartChild
    address: Address
    pid: int = 0  # its process, from its first answer (0: not known, or on another host)


class RootActor(Shell):
    """Starts, registers and restarts the system's components."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.init: RootInit | None = None
        self.owner: Address = None
        self.children: dict[str, _Child] = {}  # by component name, in start order
        self.budget = RestartBudget()
        self.restarts: collections.Counter[str] = collections.Counter()  # replacements running
        self.down: set[str] = set()
        self.booting: dict[int, _Starting] = {}  # created, awaiting the child's first answer
        self.last_seen: dict[str, float] = {}  # placed listener -> its last heartbeat answer
        self.answering: dict[int, tuple[_Starting, int]] = {}  # awaiting the registry's Registered
        self.numbers = itertools.count(1)

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, StartChild):
            self.start_child(message, sender)
        elif isinstance(message, PidsReply) and isinstance(message.token, tuple):
            if message.token[0] == "beat":
                self.last_seen[message.token[1]] = time.monotonic()
            else:
                self.child_up(message.token[1], sender, message.processes[0][1])
        elif isinstance(message, Registered) and message.token == _REBUILT:
            if sender == self.registry:  # it knows everyone again: the others may use it
                self.tell_everyone(Moved(REGISTRY, sender))
        elif isinstance(message, Registered):
            waiting = self.answering.pop(message.token, None)
            if waiting is not None:
                self.registered(*waiting, message.error)
        elif isinstance(message, RootInit):
            self.init, self.owner = message, message.owner or sender
            self.set_timer(message.heartbeat / 3, "beat")
        elif isinstance(message, StatsRequest):
            counters = (("restarts", sum(self.restarts.values())),
                        *((f"restarts:{n}", c) for n, c in self.restarts.items()),
                        *((f"down:{n}", 1) for n in sorted(self.down)))
            self.answer(message, sender, StatsReply(counters, message.token))
        elif isinstance(message, PidsRequest):
            self.answer(message, sender, PidsReply(((ROOT, os.getpid()),), os.getsid(0), message.token))

    # -- starting ------------------------------------------------------------

    def start_child(self, request: StartChild, sender: Address) -> None:
        """Start the component ``request`` names (the registry only once) and answer when it is
        registered; an error text for a name taken or a component the root cannot make."""
        reply_to = request.reply_to or sender
        known = self.children.get(request.name)
        if request.kind == REGISTRY and known is not None:
            self.send(reply_to, Started(request.name, known.address, "", request.token))
            return
        try:
            address = self.create(request)
        except Exception as exc:  # noqa: BLE001 - said to the asker, the root goes on
            self.send(reply_to, Started(request.name, None, f"cannot start {request.name}: {exc}",
                                        request.token))
            return
        self.await_child(_Starting(request, address, reply_to))

    def await_child(self, starting: _Starting) -> None:
        """Go on once the new child answers: until then its address may be one only this
        process can use (Thespian fills it in when the child's process reports in).

        A placed listener's creation fails silently when no member offers what it
        requires (Thespian tells the creator nothing): so it is tried again every
        ``PLACE_RETRY`` seconds until one answers or its ``wait`` is over."""
        number = next(self.numbers)
        self.booting[number] = starting
        self.send(starting.address, PidsRequest(("up", number)))
        if starting.request.requires:
            starting.until = time.monotonic() + starting.request.wait
            self.set_timer(PLACE_RETRY, ("place", number))

    def on_wakeup(self, payload: Any) -> None:
        if isinstance(payload, tuple) and payload[0] == "place":
            self.place_again(payload[1])
        elif payload == "beat" and self.init is not None and not self.exiting:
            self.beat(self.init.heartbeat)
            self.set_timer(self.init.heartbeat / 3, "beat")

    # -- members that stop answering ------------------------------------------

    def beat(self, bound: float) -> None:
        """Ping each listener placed on a member; one silent for ``bound`` seconds is lost:
        Thespian would notice a dead or cut-off member only after minutes."""
        now = time.monotonic()
        for name, child in self.children.items():
            if not child.request.requires or child.address is None:
                continue
            seen = self.last_seen.setdefault(name, now)
            if now - seen > bound:
                self.lose(name, now - seen)
            else:
                self.send(child.address, PidsRequest(("beat", name)))

    def lose(self, name: str, silent: float) -> None:
        """A placed listener stopped answering: its callers and runs hear it is down now (its
        items fail ``exited``), its name resolves to nothing, and it is placed again, without a
        time limit, as soon as a member that offers what it requires answers."""
        record = self.children[name]
        self.dismiss(record.address)  # if it lives on behind a cut link, it exits when heard
        record.address = None
        self.last_seen.pop(name, None)
        log_event("member_lost", logging.WARNING, name=name, silent=silent)
        self.send(self.registry, Register(self.entry(record.request), None, replace=True))
        self.tell_everyone(Down(name, self.restarts[name],
                                why="it is down: its member stopped answering; it is placed"
                                    " again when a member offering what it requires is back"))
        starting = _Starting(record.request, self.create(record.request), None, restart=True)
        self.await_child(starting)
        starting.until = float("inf")  # a member that comes back is used again

    def place_again(self, number: int) -> None:
        starting = self.booting.get(number)
        if starting is None:
            return  # it answered
        request = starting.request
        if time.monotonic() < starting.until:
            starting.address = self.create(request)
            self.send(starting.address, PidsRequest(("up", number)))
            self.set_timer(PLACE_RETRY, ("place", number))
            return
        del self.booting[number]
        if starting.restart:
            self.give_up(request.name)
        else:
            error = f"{PLACEMENT} no member offered it within {request.wait:g} s"
            self.send(starting.reply_to, Started(request.name, None, error, request.token))

    def child_up(self, number: int, address: Address, pid: int) -> None:
        starting = self.booting.pop(number, None)
        if starting is None:  # a placed listener's earlier try, placed after all: one is enough
            self.dismiss(address)
            return
        starting.address = address
        request = starting.request
        if starting.restart:
            self.restarted(request.name, address, pid)
        elif request.kind == REGISTRY:
            self.children[request.name] = _Child(request, address, pid)
            self.registry = address
            self.send(starting.reply_to, Started(request.name, address, "", request.token))
        else:
            self.answering[number] = (starting, pid)
            self.send(self.registry, Register(self.entry(request), address, number))

    def registered(self, starting: _Starting, pid: int, error: str) -> None:
        request, address = starting.request, starting.address
        if error:
            self.dismiss(address)  # a name already taken: this child never existed
        elif not error:
            self.children[request.name] = _Child(request, address, pid)
        self.send(starting.reply_to,
                  Started(request.name, None if error else address, error, request.token))

    def create(self, request: StartChild) -> Address:
        """A new actor for ``request``, initialised (and not registered yet)."""
        from registry.actor import RegistryActor

        if request.kind == REGISTRY:
            return self.createActor(RegistryActor)
        assert self.init is not None, "RootInit comes before any service"
        if request.kind == "service":
            actor_class = dict(SYSTEM_SERVICES)[request.name]
            address = self.createActor(actor_class)
            self.send(address, ServiceInit(request.name, self.registry, self.init.base,
                                           self.init.run_deadline, self.init.limits,
                                           self.init.journal, self.init.dead_letter))
            return address
        assert request.spec is not None
        address = self.createActor(ListenerActor,
                                   targetActorRequirements=dict(request.requires) or None)
        self.send(address, dataclasses.replace(request.spec, registry=self.registry))
        return address

    @staticmethod
    def entry(request: StartChild) -> ListenerInfo:
        return request.info or ListenerInfo(request.name, f"system listener {request.name}")

    # -- restarting ----------------------------------------------------------

    def on_child_exited(self, child: Address) -> None:
        """Restart the child that died (each of several that die at once is reported:
        ``_repairs.report_every_death``)."""
        if self.exiting:
            return
        name = next((n for n, c in self.children.items() if c.address == child), None)
        if name is None:  # a replacement that died before it answered?
            number = next((k for k, s in self.booting.items()
                           if s.restart and s.address == child), None)
            if number is None:
                return  # a child dismissed at its start
            name = self.booting.pop(number).request.name
        self.restart(name)

    def restart(self, name: str) -> None:
        record = self.children[name]
        if not self.budget.allow(name, time.monotonic()):
            self.give_up(name)
            return
        try:
            address = self.create(record.request)
        except Exception:  # noqa: BLE001 - logged; the component is down, the rest goes on
            self.give_up(name)
            return
        record.address = None  # until the new one answers
        self.await_child(_Starting(record.request, address, None, restart=True))

    def restarted(self, name: str, address: Address, pid: int) -> None:
        """The replacement of ``name`` answered: record it, and tell everyone where it is."""
        record = self.children[name]
        record.address, record.pid = address, pid
        self.restarts[name] += 1
        log_event("component_restarted", logging.WARNING, name=name, restarts=self.restarts[name])
        if record.request.kind == REGISTRY:
            # Rebuilt from what the root knows; the others hear of it once the last entry is
            # in (its answer), or a name resolved at once could be unknown for a moment.
            self.registry = address
            known = [k for other, k in self.children.items()
                     if other != name and k.address is not None]
            for index, entry in enumerate(known):
                last = index == len(known) - 1
                self.send(address, Register(self.entry(entry.request), entry.address,
                                            token=_REBUILT if last else None))
            if known:
                return
        else:
            self.send(self.registry, Register(self.entry(record.request), address, replace=True))
        self.tell_everyone(Moved(name, address))

    def give_up(self, name: str) -> None:
        """Too many restarts of ``name`` (or it cannot start): it stays down, said once."""
        record = self.children[name]
        record.address = None
        self.down.add(name)
        restarts = self.budget.total[name]
        log_event("component_down", logging.ERROR, name=name, restarts=restarts,
                  limit=f"{self.budget.intensity} restarts in {self.budget.period:g} s")
        self.tell_everyone(Down(name, restarts))  # the caller's error says it died too often

    def tell_everyone(self, notice: Moved | Down) -> None:
        """Every child that keeps addresses, and the runtime outside. Children still starting
        hear it too (after their init: a service restarted with the registry kept the dead
        registry's address, and every run it admitted waited for a lookup nobody answered)."""
        for name, child in self.children.items():
            if name != notice.name and child.address is not None:
                self.send(child.address, notice)
        for starting in self.booting.values():
            if starting.request.name != notice.name and not starting.request.requires:
                self.send(starting.address, notice)
        if self.owner is not None:
            self.send(self.owner, notice)
