"""A send to a killed actor fails fast, not after Thespian's 35 s retry period.

``stale_socket_probe.py`` runs a raw ``multiprocTCPBase`` system in its own
process (the repair patches Thespian's transport class, so it is kept out of the
test process), kills an actor whose connection Thespian keeps, and times the
next send. Unrepaired, that send took 35.0 s on every run measured; repaired, it
takes milliseconds. The bound here is a seventh of the unrepaired wait.
"""

from __future__ import annotations

import re
import subprocess
import sys

from actors import processes
from tests.processes import ROOT

PROBE = str(ROOT / "tests" / "stale_socket_probe.py")
BOUND = 5.0  # seconds; unrepaired the send takes 35


def test_a_send_to_a_killed_actor_fails_over_to_a_new_connection_at_once(
    marked_env: dict[str, str],
) -> None:
    env = dict(marked_env, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(
            [sys.executable, PROBE, "--repaired"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
    except subprocess.TimeoutExpired as timeout:
        session = re.search(r"session (\d+)", str(timeout.stdout or ""))
        if session:
            processes.end_session(int(session.group(1)))
        raise
    took = re.search(r"took ([0-9.]+)", done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert took, done.stdout
    assert float(took.group(1)) < BOUND, done.stdout
