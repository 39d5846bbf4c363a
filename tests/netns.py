"""Hosts made of Linux network namespaces, for tests of a convention across hosts.

``Hosts(n)`` creates ``n`` namespaces, each a host with one interface
(``eth0``, a veth) and one private address (``10.77.0.1``, ``10.77.0.2``,
...), all plugged into a bridge that lives in a namespace of its own: no
interface, address or route is added to the machine's own network stack, and
the addresses exist only inside the test. A host's link can be cut (the
bridge's end of its cable goes down: its packets are dropped silently, as
when a cable is pulled) and restored.

Commands run inside a host with ``ip netns exec``; ``Hosts`` keeps every
process it started and, on ``close`` (the ``with`` block's end, whatever
happens), ends them by pid (SIGTERM, then SIGKILL after a grace), kills what
is still inside each namespace, and deletes the namespaces, which deletes
their links. Names carry this process's pid, so ``remove_leftovers`` can
delete the namespaces of a test process that died without cleaning up,
and never those of another test run still going.

Needs root and ``ip netns``: ``unavailable()`` says why not, for a skip.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from actors.processes import start_time

__all__ = [
    "PREFIX", "SUBNET", "Host", "Hosts", "unavailable", "remove_leftovers", "hosts", "namespaces",
    "pids_in", "alive",
]

PREFIX = "xmlactors-t"
"""Every namespace made here is named ``PREFIX-<pid>-<token>-<host>``."""
SUBNET = "10.77.0"
"""Host ``i`` (from 0) has ``SUBNET.(i+1)/24``; private, and inside the namespaces only."""
IP_TIMEOUT = 20.0
"""Seconds one ``ip`` command may take."""
GRACE = 5.0
"""Seconds a process has between SIGTERM and SIGKILL."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True,
                            timeout=IP_TIMEOUT, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


@functools.cache
def unavailable() -> str | None:
    """Why namespaces cannot be made here (for ``pytest.skip``), or None when they can."""
    if os.name != "posix" or not Path("/proc/self/ns/net").exists():
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "no 'ip' command (iproute2) on this machine"
    probe = f"{PREFIX}-{os.getpid()}-probe{secrets.token_hex(2)}"
    try:
        made = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"'ip netns add' failed: {exc}"
    if made.returncode != 0:
        return f"'ip netns add' failed: {made.stderr.strip()}"
    _ip("netns", "delete", probe, check=False)
    return None


def namespaces() -> list[str]:
    """Names of the network namespaces ``ip netns`` knows."""
    listed = _ip("netns", "list", check=False).stdout.splitlines()
    return [line.split()[0] for line in listed if line.strip()]


def pids_in(namespace: str) -> list[int]:
    """Pids of the processes whose network namespace is ``namespace``."""
    result = _ip("netns", "pids", namespace, check=False)
    return [int(word) for word in result.stdout.split() if word.isdigit()]


def _kill_all_in(namespace: str, timeout: float = 10.0) -> list[int]:
    """SIGKILL every process inside ``namespace``; return once none is left (bounded)."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while (left := pids_in(namespace)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            else:
                killed.append(pid)
        time.sleep(0.02)  # polling the process table, not waiting for an actor
    return sorted(set(killed))


def _delete(namespace: str) -> None:
    _kill_all_in(namespace)
    _ip("netns", "delete", namespace, check=False)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not: it has ended, unreaped)."""
    return start_time(pid) is not None


def remove_leftovers(own: bool = False) -> list[str]:
    """Delete namespaces of ours whose creating process is gone (``own``: this process's too).

    A test process killed before its ``close`` leaves its namespaces; this is
    the last resort, cheap when there are none. Namespaces of another test run
    that is still going are left alone.
    """
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("ip") is None:
        return []
    removed = []
    for name in namespaces():
        if not name.startswith(PREFIX + "-"):
            continue
        owner = name[len(PREFIX) + 1:].split("-", 1)[0]
        if not owner.isdigit():
            continue
        if (own and int(owner) == os.getpid()) or not alive(int(owner)):
            _delete(name)
            removed.append(name)
    return removed


@dataclass
class Host:
    """One namespace acting as a host: its name, its address, its cable's end on the bridge."""

    index: int
    namespace: str
    address: str
    port: str  # the veth end inside the bridge's namespace


@dataclass
class Hosts:
    """``count`` hosts on one private bridge; ``close`` removes everything (see the module)."""

    count: int
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    hosts: list[Host] = field(default_factory=list)
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)
    bridge: str = ""
    made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        reason = unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        base = f"{PREFIX}-{os.getpid()}-{self.token}"
        try:
            self.bridge = self._add(f"{base}-bridge")
            _ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.bridge, "link", "set", "br0", "up")
            for index in range(self.count):
                name = self._add(f"{base}-h{index}")
                host = Host(index, name, f"{SUBNET}.{index + 1}", f"h{index}")
                _ip("-n", self.bridge, "link", "add", host.port, "type", "veth",
                    "peer", "name", "eth0", "netns", name)
                _ip("-n", self.bridge, "link", "set", host.port, "master", "br0")
                _ip("-n", self.bridge, "link", "set", host.port, "up")
                _ip("-n", name, "addr", "add", f"{host.address}/24", "dev", "eth0")
                _ip("-n", name, "link", "set", "eth0", "up")
                _ip("-n", name, "link", "set", "lo", "up")
                self.hosts.append(host)
        except BaseException:
            self.close()
            raise

    def _add(self, name: str) -> str:
        _ip("netns", "add", name)
        self.made.append(name)
        return name

    def __enter__(self) -> Hosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, index: int) -> Host:
        return self.hosts[index]

    # -- running commands inside a host --------------------------------------

    def argv(self, host: Host, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside ``host``'s namespace."""
        return ["ip", "netns", "exec", host.namespace, *argv]

    def start(self, host: Host, argv: Sequence[str], *, env: dict[str, str] | None = None,
              cwd: str | Path | None = None, stdin: int | IO[Any] | None = subprocess.DEVNULL,
              stdout: int | IO[Any] | None = subprocess.DEVNULL,
              stderr: int | IO[Any] | None = None, text: bool = False) -> subprocess.Popen[Any]:
        """Start ``argv`` inside ``host``; ``close`` ends it if nobody did. (``ip netns exec``
        execs the command: the pid is the command's own.)"""
        process = subprocess.Popen(self.argv(host, argv), env=env, cwd=cwd,
                                   stdin=stdin, stdout=stdout, stderr=stderr,
                                   text=text)
        self.processes.append(process)
        return process

    def run(self, host: Host, argv: Sequence[str], *, timeout: float, env: dict[str, str] | None = None,
            cwd: str | Path | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``host`` to its end (at most ``timeout`` seconds, then killed)."""
        return subprocess.run(self.argv(host, argv), env=env, cwd=cwd, input=input,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def pids(self, host: Host) -> list[int]:
        """Every process inside ``host`` right now."""
        return pids_in(host.namespace)

    # -- the cable -------------------------------------------------------------

    def cut(self, host: Host) -> None:
        """Pull ``host``'s cable out at the bridge: its packets, both ways, are dropped."""
        _ip("-n", self.bridge, "link", "set", host.port, "down")

    def restore(self, host: Host) -> None:
        """Plug ``host``'s cable back in."""
        _ip("-n", self.bridge, "link", "set", host.port, "up")

    # -- the end ---------------------------------------------------------------

    def stop(self, process: subprocess.Popen[Any], grace: float = GRACE) -> int:
        """SIGTERM ``process``, then SIGKILL if it has not exited after ``grace``; its status."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(GRACE)
        finally:
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass

    def close(self) -> None:
        """End every process started here, then every process left in the namespaces, then
        the namespaces (and with them their links). Safe to call more than once."""
        for process in reversed(self.processes):
            try:
                self.stop(process)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.processes.clear()
        for name in reversed(self.made):
            _delete(name)
        self.made.clear()
        self.hosts.clear()


@contextmanager
def hosts(count: int) -> Iterator[Hosts]:
    """``count`` hosts for the ``with`` block; everything removed at its end."""
    made = Hosts(count)
    try:
        yield made
    finally:
        made.close()
