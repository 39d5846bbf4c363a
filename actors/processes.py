"""Find and end the processes of a multiprocess actor system, by session id.

Thespian's multiprocess admin calls ``setsid`` and forks, so every process
of one actor system (admin, logger, actors) shares one session id that no
other process has. Measured here: in about 1 of 100 TCP start/stop cycles a
process survived ``shutdown()`` for minutes, holding the caller's output
pipe; so after every shutdown the survivors of that session are killed.

Plain /proc reading and signals, no Thespian: the owner watchdog
(``actors.watchdog``) uses it from inside an actor process too.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

__all__ = ["session_pids", "start_time", "kill", "end_session", "track_session", "end_tracked_sessions"]

_tracked: set[int] = set()


def session_pids(session_id: int) -> list[int]:
    """Pids of the live processes in session ``session_id`` (Linux /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, session, ...
        if int(fields[3]) == session_id and fields[0] != b"Z":
            pids.append(int(entry))
    return pids


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of /proc/PID/stat),
    or None if no such process runs (gone, or a zombie nobody has reaped yet).

    A pid and its start time name one process: a later process that reuses the
    pid has another start time.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is field 3 (the state), so field 22 is fields[19].
    return None if fields[0] in (b"Z", b"X") else int(fields[19])


def kill(pids: Iterable[int]) -> None:
    """SIGKILL each of ``pids``; one already gone is skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def end_session(session_id: int, grace: float = 3.0) -> list[int]:
    """Wait up to ``grace`` seconds for the session to end, then SIGKILL what is left.

    Returns the pids that had to be killed. Never touches this process's own session.
    """
    if session_id <= 0 or session_id == os.getsid(0):
        return []
    deadline = time.monotonic() + grace
    while session_pids(session_id) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the OS process table, not waiting for an actor
    killed = session_pids(session_id)
    kill(killed)
    # SIGKILL is delivered asynchronously: return only once the kernel has ended
    # them, so a caller that checks right after finds the session empty.
    settle = time.monotonic() + 5.0
    while killed and session_pids(session_id) and time.monotonic() < settle:
        time.sleep(0.01)  # polling the OS process table, not waiting for an actor
    _tracked.discard(session_id)
    return killed


def track_session(session_id: int) -> None:
    """Remember a session so ``end_tracked_sessions`` can end it if nobody else does."""
    if session_id > 0:
        _tracked.add(session_id)


def end_tracked_sessions() -> list[int]:
    """End every tracked session at once (a test suite's last resort); returns killed pids."""
    killed: list[int] = []
    for session_id in list(_tracked):
        killed += end_session(session_id, grace=0.0)
    return killed
