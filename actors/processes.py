"""Find and end the processes of a multiprocess actor system, by session id.

Thespian's multiprocess admin calls ``setsid`` and forks, so every process
of one actor system (admin, logger, actors) shares one session id that no
other process has. Measured here: in about 1 of 100 TCP start/stop cycles a
process survived ``shutdown()`` for minutes, holding the caller's output
pipe; so after every shutdown the survivors of that session are killed.
"""

from __future__ import annotations

import os
import signal
import time

__all__ = ["session_pids", "end_session", "track_session", "end_tracked_sessions"]

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
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
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
