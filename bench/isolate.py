"""Run one measurement in a fresh Python process, with a time limit and no leftovers.

Used where a figure needs a clean process (peak memory) or where a base may
hang (``multiprocQueueBase``). The child prints ``BENCH-SESSION <sid>`` for
every multiprocess actor system it starts and ``BENCH-RESULT <json>`` at the
end; on a timeout the parent kills the child and, by session id, every actor
process the child started (Thespian's admin runs in its own session, so
killing the child alone would leave it behind).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

from actors import processes

__all__ = ["announce_session", "run_isolated", "IsolatedFailure"]

_ENV = "XMLACTORS_BENCH_CHILD"


class IsolatedFailure(RuntimeError):
    """A measurement in a child process failed or did not finish in time."""


def announce_session(session_id: int) -> None:
    """Tell the parent (when run isolated) which actor-system session to clean up."""
    if session_id and os.environ.get(_ENV):
        print(f"BENCH-SESSION {session_id}", flush=True)


def run_isolated(function: str, *args: Any, timeout: float) -> Any:
    """Call ``module:function(*args)`` in a fresh process; return its JSON result."""
    env = dict(os.environ, **{_ENV: "1"})
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "bench.isolate", function, json.dumps(args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=cwd, check=False)
        output, error = done.stdout, done.stderr
        failed = f"exit status {done.returncode}" if done.returncode else ""
    except subprocess.TimeoutExpired as exc:
        output, error = _text(exc.stdout), _text(exc.stderr)
        failed = f"no result in {timeout:.0f} s"
    for line in output.splitlines():
        if line.startswith("BENCH-SESSION "):
            processes.end_session(int(line.split()[1]), grace=1.0)
    if not failed:
        for line in output.splitlines():
            if line.startswith("BENCH-RESULT "):
                return json.loads(line.removeprefix("BENCH-RESULT "))
        failed = "no result line"
    tail = " | ".join(error.strip().splitlines()[-3:])
    raise IsolatedFailure(f"{function}: {failed}" + (f" ({tail})" if tail else ""))


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def _main() -> None:
    module_name, function_name = sys.argv[1].split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(*json.loads(sys.argv[2]))
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    _main()
