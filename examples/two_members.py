"""Two actor systems on loopback forming one convention; a listener placed by capability.

    python -m examples.two_members        (from the repository root)

It does, from one script, what docs/deployment.md shows with three shells::

    xmlactors serve examples/two_members.xml --admin-port 1900
    xmlactors serve examples/two_members.xml --admin-port 1901 \\
        --convention 127.0.0.1:1900 --capability role=heavy
    xmlactors ask --admin-port 1900 calculator.add payload.xml

The leader hosts ``calculator.add``; ``calculator.square`` requires
``role=heavy``, so the leader creates its actors on the member. The script
then drives the leader from this process (``Runtime.connect``): one ask, and
one Buffer of squares that runs on the member. Last, it stops both systems
with SIGTERM, as an init system would, and waits for them to exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from actors import HandlerMetadata, HandlerResponse, Runtime, xmlify
from actors.bases import free_ports
from actors.primitives import BufferStart, parse_results
from examples.calc import Add

__all__ = ["Square", "Squared", "square", "main"]

ROOT = Path(__file__).resolve().parent.parent
ORGANISM = Path(__file__).with_name("two_members.xml")
SYSTEM = "XMLACTORS_EXAMPLE_SYSTEM"
"""Set to ``leader`` or ``member`` in each served system's environment, to show where a handler ran."""
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


@xmlify
@dataclass
class Square:
    """An integer to square."""

    n: int = 0


@xmlify
@dataclass
class Squared:
    """The square of ``n``, and the actor system that computed it."""

    n: int = 0
    value: int = 0
    system: str = ""


def square(payload: Square, meta: HandlerMetadata) -> HandlerResponse:
    """Answer with ``n * n``, naming the system this handler runs on."""
    return HandlerResponse.respond(Squared(payload.n, payload.n * payload.n, os.environ.get(SYSTEM, "")))


@dataclass
class Served:
    """One ``xmlactors serve`` process and the file its standard error goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def wait_for_line(self, text: str, timeout: float) -> str:
        """The first line of its stderr containing ``text``; raises if it exits or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)  # polling a log file for a line, not waiting for an actor
        raise RuntimeError(f"no {text!r} line from serve; its stderr:\n{self.log.read_text()}")

    def stop(self) -> int:
        """SIGTERM, then wait for a clean exit (SIGKILL only if it does not come)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(STOP_TIMEOUT)


@contextmanager
def serve(name: str, args: Sequence[str], logs: Path) -> Iterator[Served]:
    """Run ``xmlactors serve ORGANISM ARGS`` (as ``python -m actors``); stop it on exit."""
    log = logs / f"{name}.log"
    env = dict(os.environ, **{SYSTEM: name})
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "actors", "serve", str(ORGANISM), *args],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    served = Served(process, log)
    try:
        yield served
    finally:
        served.stop()


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Start a leader and a member, drive them, stop them; 0 when every item ran on the member."""
    stream = sys.stdout if out is None else out
    leader_port, member_port = free_ports(2)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        leader = stack.enter_context(serve("leader", ["--admin-port", str(leader_port)], Path(tmp)))
        member = stack.enter_context(serve("member", [
            "--admin-port", str(member_port), "--convention", f"127.0.0.1:{leader_port}",
            "--capability", "role=heavy",
        ], Path(tmp)))
        # The leader says "serving" once calculator.square is placed on the member.
        print(leader.wait_for_line("serving", START_TIMEOUT), file=stream)
        print(member.wait_for_line("serving", START_TIMEOUT), file=stream)
        with Runtime.connect(leader_port) as rt:
            total = rt.ask("calculator.add", Add(2, 3), timeout=30).value
            print(f"calculator.add: 2 + 3 = {total}", file=stream)
            items = [Square(n) for n in range(1, 6)]
            done = rt.ask("system.buffer", BufferStart("calculator.square", items, timeout=30), timeout=40)
        results = parse_results(done.results.encode())
        squares = [Squared.from_xml(r.payload) for r in results if r is not None and r.success]
        for result in squares:
            print(f"calculator.square: {result.n} -> {result.value} on the {result.system}", file=stream)
        member_exit, leader_exit = member.stop(), leader.stop()
    on_member = sum(result.system == "member" for result in squares)
    print(f"squared {on_member} of {len(items)} items on the member in one Buffer;"
          f" stopped the member (exit {member_exit}) and the leader (exit {leader_exit})", file=stream)
    return 0 if on_member == len(items) and member_exit == leader_exit == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
