"""No orphans: a multiprocess system ends when the process that started it dies (actors/watchdog.py).

Each test starts the owner as a separate Python process (carrying the
``marked_env`` mark, so the fixture ends and reports whatever is left),
learns its system's session id and pids from one line on its stdout, makes
the owner die, and polls the process table (with a deadline) until that
session is empty. ``Runtime.connect`` owns nothing: its death leaves the
served system serving; the death of ``xmlactors serve`` itself ends it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import Runtime
from actors.bases import free_port
from actors.processes import end_session, session_pids, start_time
from actors.watchdog import POLL
from examples.calc import Add
from examples.two_members import Served
from tests.processes import ROOT, WAIT, marked_processes, serve

pytestmark = pytest.mark.multiproc

GONE_WITHIN = 10.0
"""The bound this test allows (the watchdog looks every 0.5 s; measured: under a second)."""

_OWNER = textwrap.dedent("""
    import sys, threading
    from actors import Runtime
    from tests import listeners as L
    rt = Runtime("multiprocTCPBase")
    rt.start()
    rt.register("w", L.work, L.Work)
    assert rt.ask("w", L.Work(value=1), timeout=30).value == 2
    print(rt.session_id, *sorted(rt.pids()), flush=True)
    if sys.argv[1] == "block":
        threading.Event().wait()
    # "exit": the interpreter ends here, with the runtime never shut down
""")

_CONNECTED = textwrap.dedent("""
    import sys, threading
    from actors import Runtime
    from examples.calc import Add
    rt = Runtime.connect(int(sys.argv[1]))
    print(rt.ask("calculator.add", Add(2, 3), timeout=30).value, flush=True)
    threading.Event().wait()
""")


def _python(code: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as stderr:
        return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)


def _first_line(process: subprocess.Popen[bytes], log: Path, timeout: float = WAIT) -> str:
    """The first stdout line of ``process``, within ``timeout`` (it is killed if none comes)."""
    assert process.stdout is not None
    deadline, seen = time.monotonic() + timeout, b""
    while b"\n" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
        chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
        if ready and not chunk:
            break  # it exited
        seen += chunk
    if b"\n" not in seen:
        process.kill()
        process.wait(WAIT)
        raise AssertionError(f"no line from the owner; its stderr:\n{log.read_text()}")
    return seen.decode().splitlines()[0]


def _gone_after(session: int) -> float:
    """Seconds until no process of ``session`` is left (polling the OS process table)."""
    started = time.monotonic()
    while session_pids(session) and time.monotonic() - started < GONE_WITHIN:
        time.sleep(0.01)  # polling the process table, not waiting for an actor
    return time.monotonic() - started


@pytest.fixture
def owners(marked_env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Owner processes a test starts; killed and reaped at the end if still there."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(WAIT)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize("death", ["SIGKILL", "SIGTERM", "exit"])
def test_the_system_ends_when_its_owner_dies(
    death: str, owners: list[subprocess.Popen[bytes]], marked_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "owner.log"
    owner = _python(_OWNER, ["exit" if death == "exit" else "block"], marked_env, log)
    owners.append(owner)
    session, *pids = (int(word) for word in _first_line(owner, log).split())
    assert session > 0 and len(pids) >= 4 and set(session_pids(session)) >= set(pids)
    try:
        if death != "exit":
            owner.send_signal(getattr(signal, death))
        owner.wait(WAIT)  # reaped at once: a zombie owner counts as dead too
        took = _gone_after(session)
        assert session_pids(session) == [], f"still alive {took:.2f} s after the owner died"
        assert [pid for pid in pids if start_time(pid) is not None] == []
        assert "is gone: ending the system's processes" in log.read_text()
    finally:
        end_session(session, grace=0.0)
    # marked_env's teardown checks that no process of the test is left.


def test_a_connected_runtime_dying_leaves_the_served_system_serving_until_serve_dies(
    serving: list[Served], owners: list[subprocess.Popen[bytes]],
    marked_env: dict[str, str], tmp_path: Path,
) -> None:
    port = free_port()
    served = serve(serving, marked_env, tmp_path / "serve.log", "examples/calc.xml",
                   "--admin-port", str(port))
    served.wait_for_line("serving", WAIT)
    log = tmp_path / "connected.log"
    connected = _python(_CONNECTED, [str(port)], marked_env, log)
    owners.append(connected)
    assert _first_line(connected, log) == "5"
    connected.kill()
    connected.wait(WAIT)

    with Runtime.connect(port) as client:  # still serving, for twice the watchdog's period
        deadline = time.monotonic() + 2 * POLL
        while time.monotonic() < deadline:
            assert client.ask("calculator.add", Add(2, 3), timeout=WAIT).value == 5

    # The served system's owner is the serve process: SIGKILL to it ends the system too.
    served.process.kill()
    served.process.wait(WAIT)
    mark, started = marked_env["XMLACTORS_TEST_MARK"], time.monotonic()
    while marked_processes(mark) and time.monotonic() - started < GONE_WITHIN:
        time.sleep(0.01)  # polling the process table, not waiting for an actor
    assert marked_processes(mark) == []


def test_a_watchdog_never_ends_its_owners_own_session() -> None:
    # In a session of its own, so that a broken guard would kill only this child.
    code = ("import os; from actors.watchdog import end_own_session;"
            " end_own_session(spare=os.getsid(0)); print('spared')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=WAIT, start_new_session=True, check=False)
    assert (done.returncode, done.stdout) == (0, "spared\n"), done.stderr


def test_a_pid_and_its_start_time_name_one_process() -> None:
    assert start_time(os.getpid()) is not None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + WAIT
        while start_time(child.pid) is not None and time.monotonic() < deadline:
            time.sleep(0.01)  # polling the process table; nobody reaps the child meanwhile
        assert start_time(child.pid) is None
        assert Path(f"/proc/{child.pid}").exists()  # a zombie, not reaped: no longer running
    finally:
        child.kill()
        child.wait(WAIT)
    assert start_time(child.pid) is None
