"""The benchmark suite runs end to end in quick mode and prints every row of its table.

Benchmarks are not timed tests: these only prove that ``python -m bench``
still works against the current runtime, prints the core count and one
table with every scenario, and leaves no process behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

IN_PROCESS_ROWS = [
    "hop: ask round trip (simpleSystemBase)",
    "fan-out N=30 (simpleSystemBase)",
    "fan-out N=100 (simpleSystemBase)",
    "memory: peak RSS growth, Buffer N=200 (simpleSystemBase)",
    "memory: per run, 10 concurrent Buffers of 10 (simpleSystemBase)",
    "sequence: per step of a 10-step chain (simpleSystemBase)",
    "hop: ask after 20 finished runs (simpleSystemBase)",
    "concurrency: async 5 ms x 20, K=50 (simpleSystemBase)",
    "concurrency: blocking 5 ms x 20, K=50 (simpleSystemBase)",
    "concurrency: async 5 ms x 200, K=1000 (simpleSystemBase)",
    "stream: first result, N=100 (simpleSystemBase)",
    "memory: peak RSS growth, stream N=1,000 (simpleSystemBase)",
    "durable: Buffer N=100 with a journal (simpleSystemBase)",
]
MULTIPROCESS_ROWS = [
    "hop: ask round trip (multiprocTCPBase)",
    "fan-out N=30 (multiprocTCPBase)",
    "fan-out N=100 (multiprocTCPBase)",
    "fan-out N=200 (multiprocTCPBase): every result at the caller",
    "hop: one-item Buffer run, alone (multiprocTCPBase)",
    "hop: one-item Buffers back to back (multiprocTCPBase)",
    "fan-out N=20 (multiprocQueueBase)",
    "(multiprocTCPBase): 1 worker",
    "(multiprocTCPBase): 2 workers",
    "(multiprocTCPBase): 4 workers",
    "sequence: per step of a 10-step chain (multiprocTCPBase)",
    "concurrency: async 5 ms x 20, 2 workers x K=50 (multiprocTCPBase)",
    "concurrency: blocking 5 ms x 20, 2 workers x K=50 (multiprocTCPBase)",
    "stream: first result, N=100 (multiprocTCPBase)",
]


def _processes_marked(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``marker`` (inherited by every child)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker.encode() in environ:
                found.append(int(entry))
    return found


def _run_bench(*args: str) -> str:
    marker = f"smoke-{uuid.uuid4().hex}"
    env = dict(os.environ, XMLACTORS_BENCH_SMOKE=marker)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=100, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _processes_marked(marker) == [], "the bench left processes behind"
    return done.stdout


def _table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("| ")][1:]


def _assert_rows(output: str, expected: list[str]) -> None:
    rows = _table_rows(output)
    for name in expected:
        assert any(name in row for row in rows), f"no row for {name!r} in:\n{output}"
    assert not any("FAILED" in row for row in rows), output


def test_the_quick_bench_prints_the_core_count_and_every_in_process_row() -> None:
    output = _run_bench("--in-process")
    assert f"cores: {os.cpu_count()}" in output.splitlines()[0]
    _assert_rows(output, IN_PROCESS_ROWS)
    assert not any("multiproc" in row for row in _table_rows(output))
    # Fan-out rows compare against the raw Thespian fan-out, pykka and the plain loop.
    fan_out = [row for row in _table_rows(output) if "fan-out N=30" in row]
    assert len(fan_out) == 3


@pytest.mark.multiproc
def test_the_quick_bench_prints_every_row_on_every_base() -> None:
    output = _run_bench()
    _assert_rows(output, IN_PROCESS_ROWS + MULTIPROCESS_ROWS)


def test_an_unknown_family_is_bad_usage() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown family nope" in done.stderr
