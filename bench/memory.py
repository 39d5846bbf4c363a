"""Memory: peak RSS growth of a 10,000-item Buffer, and per-run memory of concurrent runs.

Each figure is taken in a fresh child process (``bench.isolate``), on
``simpleSystemBase``: the child starts the system, warms it up, resets the
kernel's peak-RSS mark (``/proc/self/clear_refs``), runs once, and reports
``VmHWM`` minus the resident size before the run. On the multiprocess bases
every run is its own process, so memory there is counted in processes.
"""

from __future__ import annotations

import gc

from actors.primitives import BufferStart

from .isolate import IsolatedFailure, run_isolated
from .measure import Row, Settings, fmt_mib
from .ours import RUN_TIMEOUT, buffer, items_text, runtime
from .raw import fan_out, raw_system, start_parent
from .workload import Item, echo_item, item_bytes

__all__ = ["run", "buffer_growth", "raw_growth", "concurrent_growth", "baseline", "status_bytes"]

LIMIT = 100 * (1 << 20)
"""The issue's target: a 10,000-item Buffer grows peak memory by less than 100 MiB."""


def status_bytes(field: str) -> int:
    """A ``/proc/self/status`` size field, in bytes."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def baseline() -> int:
    """Resident size now, with the peak mark reset to it (so VmHWM later is this run's peak)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass  # old kernel: VmHWM then also covers the set-up, which only overstates growth
    return status_bytes("VmRSS")


def buffer_growth(n: int) -> int:
    """Peak RSS growth (bytes) of one in-process Buffer of ``n`` small items."""
    text = items_text(item_bytes(n))
    with runtime("simpleSystemBase", [("w", echo_item, Item, 1)]) as rt:
        buffer(rt, "w", items_text(item_bytes(10)))
        before = baseline()
        buffer(rt, "w", text)
        return status_bytes("VmHWM") - before


def raw_growth(n: int) -> int:
    """Peak RSS growth (bytes) of the raw Thespian in-process fan-out of the same items."""
    items = tuple(item_bytes(n))
    with raw_system("simpleSystemBase") as system:
        parent = start_parent(system, 1)
        fan_out(system, parent, items[:10], 10)
        before = baseline()
        fan_out(system, parent, items, n)
        return status_bytes("VmHWM") - before


def concurrent_growth(runs: int, per_run: int) -> int:
    """Peak RSS growth of ``runs`` Buffers of ``per_run`` items alive at once.

    An outer Buffer targets ``system.buffer`` with ``runs`` ``BufferStart``
    items and a window of ``runs``: in process the service admits all of them
    (one child actor each) before their items are handled, so all are alive together.
    """
    inner = items_text(item_bytes(per_run))
    starts = [BufferStart(target="w", items=inner, timeout=RUN_TIMEOUT).to_bytes()
              for _ in range(runs)]
    text = items_text(starts)
    with runtime("simpleSystemBase", [("w", echo_item, Item, 1)]) as rt:
        buffer(rt, "system.buffer", items_text(starts[:2]), window=2)
        before = baseline()
        buffer(rt, "system.buffer", text, window=runs)
        return status_bytes("VmHWM") - before


def run(settings: Settings) -> list[Row]:
    """Rows: 10,000-item Buffer peak growth vs raw; per-run memory of 100 concurrent runs."""
    n = settings.n(10000, 200)
    runs, per_run = settings.n(100, 10), 10
    try:
        ours = run_isolated("bench.memory:buffer_growth", n, timeout=300)
        raw = run_isolated("bench.memory:raw_growth", n, timeout=300)
        many = run_isolated("bench.memory:concurrent_growth", runs, per_run, timeout=300)
    except IsolatedFailure as exc:
        return [Row("memory", f"FAILED: {exc}", "", "", None, "< 100 MiB", False)]
    return [
        Row(f"memory: peak RSS growth, Buffer N={n:,} (simpleSystemBase)", fmt_mib(ours),
            fmt_mib(raw), "raw Thespian fan-out", raw / ours if ours > 0 else None,
            "< 100 MiB", ours < LIMIT),
        Row(f"memory: per run, {runs} concurrent Buffers of {per_run} (simpleSystemBase)",
            fmt_mib(many / runs), "", "-", None),
    ]
