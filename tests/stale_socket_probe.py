"""How long a send waits after its peer was killed: run as a script by test_stale_sockets.

A raw Thespian ``multiprocTCPBase`` system, sent to the way the runtime's
mailboxes send (a private context entered and kept). The script has an actor
answer a few messages, kills the actor's process, sends once more, and prints
how long that send took. Thespian keeps the connection of the last send and
sends the next one on it; with the actor dead, that send waited 35 s
(``TRANSMIT_RETRY_PERIOD``) before it tried a new connection. With
``--repaired`` the runtime's repair (``actors._repairs``) is installed first.

Prints ``session N`` as soon as the system runs (the test ends that session
whatever happens) and ``took S`` at the end.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from thespian.actors import Actor, ActorSystem

from actors import processes
from actors._repairs import retry_failed_sends_soon
from actors.bases import free_port

WAIT = 60.0  # the bound on each reply; a healthy one takes milliseconds


class Echo(Actor):  # type: ignore[misc]
    """Answers each text with its process's pid and session."""

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, str):
            self.send(sender, (os.getpid(), os.getsid(0)))


def main(repaired: bool) -> None:
    if repaired:
        retry_failed_sends_soon()
    system = ActorSystem("multiprocTCPBase", {"Admin Port": free_port()}, transientUnique=True)
    session = 0
    try:
        context = system.private().__enter__()  # kept entered, as the runtime's mailboxes keep it
        echo = context.createActor(Echo)
        pid, session = context.ask(echo, "pid", WAIT)
        for _ in range(3):  # the connection to the actor is now one Thespian keeps
            context.tell(echo, "warm")
        print(f"session {session}", flush=True)
        os.kill(pid, signal.SIGKILL)
        while processes.start_time(pid) is not None:  # polling /proc, not waiting for an actor
            time.sleep(0.01)
        started = time.monotonic()
        context.tell(echo, "again")  # to the dead actor: a tell returns once the send ends
        print(f"took {time.monotonic() - started:.2f}", flush=True)
    finally:
        system.shutdown()
        processes.end_session(session)


if __name__ == "__main__":
    main("--repaired" in sys.argv[1:])
