"""A client on another host: drives a served convention with ``Runtime.connect``.

    ip netns exec CLIENT python -m tests.hosts_client

``tests/test_hosts.py`` runs it inside the client's namespace and talks to
it over its standard input and output, one JSON object a line: a request
in, its answer out (``{"error": ...}`` if it raised). Requests:

- ``{"op": "connect", "host": H, "port": P}``: attach (``Runtime.connect``);
- ``{"op": "ask", "target": T, "n": N, "timeout": S}``: one ``Job``;
- ``{"op": "buffers", "runs": [{"target", "items", "sleep_ms", "timeout"}, ...]}``:
  the Buffers at once, one thread each; ``{"event": "progress", "run": I}``
  comes out when run ``I``'s first item is done, before the answer;
- ``{"op": "until", "target", "host", "items", "within"}``: Buffers of
  ``items`` jobs, one after another, until one runs whole on ``host``
  (a member back on the network), at most ``within`` seconds;
- ``{"op": "close"}``: detach and exit.

Every wait is bounded by the request's own timeout. ``Driver`` is the other
side: it starts the client inside a namespace and talks to it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from actors import Runtime
from actors.primitives import BufferStart, parse_results
from examples.three_hosts import Job, Ran
from tests.netns import Host, Hosts

__all__ = ["main", "Driver", "WAIT"]

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0
"""The bound on any answer of the client (a healthy one takes well under a second)."""

_out = threading.Lock()


def emit(message: dict[str, Any]) -> None:
    with _out:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def buffer(rt: Runtime, run: dict[str, Any], index: int = 0, progress: bool = False) -> dict[str, Any]:
    """One Buffer of ``Job``s; its counts, how long it took, and where each item ran."""
    items = [Job(n, run.get("sleep_ms", 0)) for n in range(run["items"])]
    told = threading.Event()

    def first(update: object) -> None:
        if progress and not told.is_set():
            told.set()
            emit({"event": "progress", "run": index})

    timeout = float(run["timeout"])
    started = time.monotonic()
    done = rt.ask("system.buffer", BufferStart(run["target"], items, timeout=timeout,
                                               progress=progress),
                  timeout=timeout + 10, on_progress=first)
    took = time.monotonic() - started
    results = parse_results(done.results.encode())
    hosts = [Ran.from_xml(r.payload).host if r is not None and r.success else None for r in results]
    return {
        "seconds": took, "total": done.total, "successful": done.successful,
        "failed": done.failed, "missing": done.missing, "hosts": hosts,
        "reasons": [r.reason for r in results if r is not None and not r.success],
    }


def handle(rt: Runtime | None, request: dict[str, Any]) -> tuple[Runtime | None, dict[str, Any]]:
    op = request["op"]
    if op == "connect":
        started = time.monotonic()
        rt = Runtime.connect(int(request["port"]), request["host"])
        return rt, {"seconds": time.monotonic() - started}
    assert rt is not None, "connect first"
    if op == "ask":
        started = time.monotonic()
        ran = rt.ask(request["target"], Job(request.get("n", 0)), timeout=request.get("timeout", 20))
        return rt, {"seconds": time.monotonic() - started, "host": ran.host, "pid": ran.pid}
    if op == "buffers":
        runs: list[dict[str, Any]] = request["runs"]
        answers: list[dict[str, Any]] = [{} for _ in runs]

        def one(index: int) -> None:
            try:
                answers[index] = buffer(rt, runs[index], index, progress=True)
            except Exception as exc:  # noqa: BLE001 - said to the test, which fails on it
                answers[index] = {"error": f"{type(exc).__name__}: {exc}"}

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(runs))]
        for thread in threads:
            thread.start()
        for thread, run in zip(threads, runs, strict=True):
            thread.join(float(run["timeout"]) + 20)
        return rt, {"runs": answers}
    if op == "until":
        started = time.monotonic()
        deadline = started + float(request["within"])
        tries, last = 0, {}
        while time.monotonic() < deadline:
            tries += 1
            try:
                last = buffer(rt, {"target": request["target"], "items": request["items"],
                                   "timeout": min(3.0, max(deadline - time.monotonic(), 0.5))})
            except Exception as exc:  # noqa: BLE001 - the member is not back yet: try again
                last = {"error": f"{type(exc).__name__}: {exc}"}
                time.sleep(0.1)  # a raised ask (component down) comes back at once: pace the tries
                continue
            if last["hosts"] == [request["host"]] * request["items"]:
                return rt, {"seconds": time.monotonic() - started, "tries": tries}
            time.sleep(0.1)  # a run the lost listener refused at once: pace the tries
        return rt, {"error": f"not back within {request['within']} s after {tries} tries: {last}"}
    if op == "close":
        rt.shutdown()
        return None, {"closed": True}
    raise ValueError(f"unknown op {op!r}")


class Driver:
    """The test's side: the client on its host, one JSON request a line in, one answer
    (or event) a line out."""

    @classmethod
    def start(cls, net: Hosts, host: Host, env: dict[str, str]) -> Driver:
        """Run the client inside ``host`` (``net`` ends it if nobody does)."""
        process = net.start(host, [sys.executable, "-m", "tests.hosts_client"], env=env,
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return cls(process)

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        """The next line, decoded; fails the test when the client exits or ``timeout`` passes."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the client said nothing within {timeout:g} s") from None
        assert line is not None, f"the client exited ({self.process.poll()})"
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, request: dict[str, Any], timeout: float = WAIT) -> dict[str, Any]:
        """Send ``request``; its answer (events before it skipped), which must not be an error."""
        self.send(request)
        deadline = time.monotonic() + timeout
        answer = self.read(timeout)
        while "event" in answer:
            answer = self.read(max(deadline - time.monotonic(), 0.0))
        assert "error" not in answer, answer["error"]
        return answer


def main() -> int:
    rt: Runtime | None = None
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            try:
                rt, answer = handle(rt, request)
            except Exception as exc:  # noqa: BLE001 - said to the test, which fails on it
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            emit(answer)
            if request["op"] == "close":
                break
    finally:
        if rt is not None:
            rt.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
