"""Commands run as separate processes, as a user runs them, and the processes they leave.

Every process a test starts here inherits an environment mark
(``XMLACTORS_TEST_MARK``); the ``marked_env`` fixture (in ``conftest``) kills
whatever still carries it at the end of the test and fails the test if
anything did.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from actors.processes import kill
from examples.two_members import Served

__all__ = ["ROOT", "WAIT", "command", "marked_processes", "kill_marked", "serve", "ask"]

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # the bound on any start, reply or exit; a healthy one takes about a second


def command() -> list[str]:
    """The installed console script next to this Python, else ``python -m actors``."""
    bindir = str(Path(sys.executable).parent)
    found = shutil.which("xmlactors", path=bindir) or shutil.which("xmlactors")
    return [found] if found else [sys.executable, "-m", "actors"]


def marked_processes(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark`` (Linux /proc)."""
    needle = f"XMLACTORS_TEST_MARK={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found


def kill_marked(mark: str) -> list[int]:
    """SIGKILL every live process carrying ``mark``; returns their pids (empty: none was left)."""
    leftovers = marked_processes(mark)
    kill(leftovers)
    return leftovers


def serve(started: list[Served], env: dict[str, str], log: Path, *args: str) -> Served:
    """Start ``xmlactors serve ARGS`` with its stderr in ``log``; ``started`` stops it later."""
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [*command(), "serve", *args], cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    served = Served(process, log)
    started.append(served)
    return served


def ask(
    env: dict[str, str], port: int, target: str, payload: bytes, timeout: float = 20.0
) -> subprocess.CompletedProcess[str]:
    """Run ``xmlactors ask`` once against the system served at ``port``."""
    return subprocess.run(
        [*command(), "ask", "--admin-port", str(port), "--timeout", f"{timeout:g}", target, "-"],
        input=payload.decode(), capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=WAIT, check=False,
    )
