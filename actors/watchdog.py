"""The owner watchdog: a multiprocess actor system ends when the process that started it dies.

Thespian's multiprocess admin daemonizes (``setsid`` and a double fork), so
the system a ``Runtime`` starts outlives its process if that process dies
without shutting it down: SIGKILL, a signal it does not handle, a crash, an
interpreter exit past the ``with`` block. Admin, logger and every actor would
go on running, holding their ports (and the caller's output pipe).

So ``System.start`` creates one ``Watchdog`` on the multiprocess bases (not
when attached to a served system: ``Runtime.connect`` owns nothing) and tells
it its ``Owner``: the starting process's pid and start time (field 22 of
/proc/PID/stat, so a new process reusing the pid is not taken for the owner).
Every ``POLL`` seconds the watchdog reads the owner's /proc entry; once the
owner is gone (or a zombie), it SIGKILLs every other process of its own
session (every process of one system shares it; see ``actors.processes``),
then itself. From the owner's death to an empty session: under a second.

Nothing runs between two looks but one Thespian timer. A normal shutdown
stops the watchdog like any other actor. It never signals a process of the
owner's own session, in case a base ever stops calling ``setsid``.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Protocol

from . import processes
from .messages import Address
from .shell import Shell

__all__ = ["Owner", "Watchdog", "POLL", "guard", "end_own_session"]

POLL = 0.5
"""Seconds between two looks at the owner."""

_SETTLE = 3.0
"""Seconds the watchdog goes on listing and killing its session: an actor may fork meanwhile."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The process whose death ends the system: pid, start time (clock ticks), session."""

    pid: int
    started: int
    session: int

    @classmethod
    def this_process(cls) -> Owner:
        pid = os.getpid()
        started = processes.start_time(pid)
        assert started is not None  # this process runs
        return cls(pid, started, os.getsid(0))

    def alive(self) -> bool:
        return processes.start_time(self.pid) == self.started


class _Creates(Protocol):
    """What ``guard`` needs of a mailbox (``actors._mailbox.Mailbox``)."""

    def create_actor(self, actor_class: type, **kwargs: Any) -> Address: ...

    def send(self, address: Address, message: Any) -> None: ...


def guard(mailbox: _Creates) -> None:
    """Start a watchdog that ends the system once this process is gone (multiprocess bases)."""
    mailbox.send(mailbox.create_actor(Watchdog), Owner.this_process())


class Watchdog(Shell):
    """Looks at its ``Owner`` every ``POLL`` seconds; ends its whole session once it is gone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner: Owner | None = None

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Owner) and self.owner is None:
            self.owner = message
            self.on_wakeup(None)  # a look now, then one every POLL seconds

    def on_wakeup(self, payload: Any) -> None:
        owner = self.owner
        if owner is None or self.exiting:
            return
        if owner.alive():
            self.set_timer(POLL, None)
            return
        _say(f"the process that started this actor system (pid {owner.pid}) is gone:"
             f" ending the system's processes (session {os.getsid(0)})")
        end_own_session(spare=owner.session)


def _say(line: str) -> None:
    """One line on the standard error the actor processes inherited, written at once:
    a logged record would go to the system's logging process, about to be killed."""
    try:
        os.write(2, f"xmlactors: {line}\n".encode())
    except OSError:
        pass  # nobody reads it any more


def end_own_session(spare: int) -> None:
    """SIGKILL every other process of this process's session, then this one.

    Does nothing if this process's session is ``spare`` (the owner's own).
    """
    session, me = os.getsid(0), os.getpid()
    if session == spare:
        return
    deadline = time.monotonic() + _SETTLE
    while time.monotonic() < deadline:
        others = [pid for pid in processes.session_pids(session) if pid != me]
        if not others:
            break
        processes.kill(others)
        time.sleep(0.01)  # polling the OS process table until the kills have landed
    os.kill(me, signal.SIGKILL)
