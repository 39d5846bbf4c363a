"""Repairs to Thespian's multiprocess bases, installed in each actor process by ``Shell``.

Each mends one measured behaviour (see the table in ``docs/architecture.md``):
two wrap one method of one actor manager; one drops a child in place of Thespian's
own step (``forget_child``, called by ``Shell``); one wraps the TCP transport's
retry step, once per process, in actor processes and in the process that
runs a ``Runtime`` alike. In process there is nothing to mend.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from thespian.actors import ChildActorExited
from thespian.system.addressManager import ActorLocalAddress
from thespian.system.transport import TransmitIntent
from thespian.system.transport.TCPTransport import TCPTransport

__all__ = ["forget_child", "report_every_death", "retry_failed_sends_soon",
           "wait_for_late_children"]

# The wait before a failed send tries a new connection (times Thespian's count of
# attempts). Not zero: Thespian leaves a zero delay out of its select timeout and
# sleeps on.
FRESH_RETRY = timedelta(milliseconds=10)
QUICK_RETRIES = 2  # a kept connection found dead, then a new one to a process still exiting


def report_every_death(manager: Any) -> None:
    """Have Thespian report each child process that died, not only the first of several.

    Thespian (multiprocess bases) reports a child's death by looking at its child
    processes when a SIGCHLD comes; handling that notice, it drops *every* process
    that is dead by then from its list, and only the reported child from the list of
    children. A child that died after the look (children killed together, an OOM
    kill) was never reported: its parent did not replace it, and its exit waited 13 s
    for it (the exit request to the dead child failed, and that failure is filed under
    another child: its callback reads a loop variable late), and with it a runtime's
    shutdown. Here each process it drops unreported is reported the way Thespian
    reports the first.
    """
    drop = getattr(manager, "_childExited", None)
    if drop is None:
        return

    def child_exited(address: Any) -> None:
        before = list(getattr(manager, "_child_procs", ()))
        drop(address)
        for info in before:
            if info not in getattr(manager, "_child_procs", ()):
                dead = getattr(info, "childRealAddr", info.childAddr)
                if dead != address:
                    manager.transport.scheduleTransmit(
                        None, TransmitIntent(manager.transport.myAddress, ChildActorExited(dead)))

    manager._childExited = child_exited


def forget_child(manager: Any, child: Any) -> None:
    """Drop ``child`` from Thespian's lists of this actor's children now, its death still to
    be reported (a worker being killed: its parent's exit must not wait for it).

    Thespian drops it as it does a child reported dead, and so looks at every child
    process and joins those found dead. A child that died in the instant since it was
    killed is joined there, and the SIGCHLD that follows finds no dead process to
    report: its parent never heard of the death, and never replaced it (seen in 1
    run in 4 to 8 of a timed-out blocking call, looped: a listener left with no
    worker). Its death is reported here then, the way Thespian reports one.
    """
    mine = [p for p in getattr(manager, "_child_procs", ())
            if getattr(p, "childRealAddr", p.childAddr) == child]
    manager._handleChildExited(child)
    if any(p not in getattr(manager, "_child_procs", ()) for p in mine):  # joined: dead already
        manager.transport.scheduleTransmit(
            None, TransmitIntent(manager.transport.myAddress, ChildActorExited(child)))


def wait_for_late_children(manager: Any) -> None:
    """Have an exiting actor ask a child not yet ready to exit too, and wait for it.

    An actor that exits asks each child Thespian lists to exit and waits for them; a
    child is listed once its process reports ready. One created just before the exit
    (a warm run actor replacing one that finished) was never asked: listed later, it
    kept its parent waiting, and a runtime's shutdown, 13 s; or, when its parent had
    no other child, it was left behind without a parent. Here the children created
    and not yet ready are listed at the exit (the exit request waits for their
    address, as any message to them does) until each is ready or gone.
    """
    create = getattr(manager, "createActor", None)
    if create is None or not hasattr(manager, "_children"):
        return
    ready, shutdown, exited = (manager._pendingActorReady, manager._shutdownActor,
                               manager._handleChildExited)
    pending: dict[int, Any] = {}  # instance number -> the address createActor returned

    def create_actor(*args: Any, **kwargs: Any) -> Any:
        address = create(*args, **kwargs)
        details = getattr(address, "addressDetails", None)
        if isinstance(details, ActorLocalAddress):
            pending[details.addressInstanceNum] = address
        return address

    def child_ready(instance: Any, address: Any, isMyChild: bool = True) -> None:
        local = pending.pop(instance, None)
        if local is not None and getattr(manager, "_exiting", False):  # listed at the exit
            manager._children = [c for c in manager._children if c is not local]
        ready(instance, address, isMyChild)  # lists it; what waited for it leaves now

    def shutdown_actor(shutdownChildren: bool = True) -> Any:
        if shutdownChildren and not getattr(manager, "_exiting", False):
            manager._children.extend(pending.values())
        return shutdown(shutdownChildren)

    def child_exited(address: Any) -> Any:
        for instance, local in list(pending.items()):
            if local == address:  # its creation failed
                del pending[instance]
        return exited(address)

    manager.createActor = create_actor
    manager._pendingActorReady = child_ready
    manager._shutdownActor = shutdown_actor
    manager._handleChildExited = child_exited


def retry_failed_sends_soon() -> None:
    """Have a send's first failures try a new connection within milliseconds, not in 35 s.

    Thespian's TCP transport waits ``TRANSMIT_RETRY_PERIOD`` (35 s, longer each
    time) after a failed send before it connects anew, and a ``Runtime``'s tell
    returns only when every send of its context has ended, so every call of that
    thread waited with it. Two failures seen here come from a peer that died or
    is exiting, never from one that would answer later: the transport keeps the
    connection of each send for the next one to the same address, and with the
    peer killed in between, the next send goes out on the dead connection and
    gets no acknowledgement (measured: 35.0 s, every time, after a worker is
    killed); and a process that is exiting still has the kernel accept a new
    connection into its backlog, then closes it before any acknowledgement
    (seen in suite runs: the retry of a ``StatsRequest`` or ``PidsRequest``,
    then every call of that thread, 35 s after a component's SIGKILL). A new
    connection finds a live peer, or a refusal that ends the send at once
    (a dead target), so a send's first ``QUICK_RETRIES`` failures retry after
    ``FRESH_RETRY`` (then twice that); later ones keep Thespian's wait.
    Installed once per process.
    """
    if getattr(TCPTransport, "_xmlactors_fresh_retry", False):
        return
    send_failed = TCPTransport._next_XMIT_6

    def failed_step(self: Any, intent: Any) -> Any:
        going_on = send_failed(self, intent)
        quick = getattr(intent, "xmlactors_quick", 0)
        if going_on and quick < QUICK_RETRIES and intent.stage == self._XMITStepSendConnect:
            intent.xmlactors_quick = quick + 1
            period = intent.transmit_retry_period
            intent.transmit_retry_period = FRESH_RETRY
            try:
                intent.retry()  # sets the retry time anew (one attempt more on Thespian's count)
            finally:
                intent.transmit_retry_period = period
        return going_on

    TCPTransport._next_XMIT_6 = failed_step
    TCPTransport._xmlactors_fresh_retry = True
