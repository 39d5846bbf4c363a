"""Fan-out: a Buffer of N small items vs the same work by its peers, per base.

In process (``simpleSystemBase``) the peers are a raw Thespian parent/worker
fan-out, pykka actors and a plain loop (the floor). On the multiprocess
bases the peer is the raw Thespian fan-out on the same base, given the same
window xmlactors picks by default. ``multiprocQueueBase`` runs in a child
process with a time limit, because that base is known to hang.
"""

from __future__ import annotations

import time

from actors.messages import ListenerInfo
from actors.primitives.buffer_service import default_window

from .isolate import IsolatedFailure, run_isolated
from .measure import Row, Settings, fmt_rate, median_seconds, speed_ratio, turns_seconds
from .ours import buffer, items_text, runtime
from .peers import plain_loop, pykka_fan_out, pykka_workers
from .raw import fan_out, raw_system, start_parent
from .ray_peer import available, ray_echo, ray_echo_fan_out
from .workload import Item, echo_item, item_bytes

__all__ = ["run", "ours_seconds", "raw_seconds"]

IN_PROCESS_TARGETS = {"raw Thespian fan-out": 1.0, "plain loop (floor)": 0.4}  # issue #14's goals


def ours_seconds(base: str, n: int, quick: bool) -> float:
    """Median seconds of a Buffer of ``n`` small items on ``base`` (one worker)."""
    settings = Settings(quick=quick)
    text = items_text(item_bytes(n))
    with runtime(base, [("w", echo_item, Item, 1)]) as rt:
        return median_seconds(lambda: buffer(rt, "w", text), settings, _reps(n, settings))


def raw_seconds(base: str, n: int, quick: bool) -> float:
    """Median seconds of the raw Thespian fan-out of the same items on ``base``."""
    settings = Settings(quick=quick)
    items = tuple(item_bytes(n))
    window = n if base == "simpleSystemBase" else default_window(base, ListenerInfo("w"))
    with raw_system(base) as system:
        parent = start_parent(system, 1)
        return median_seconds(lambda: fan_out(system, parent, items, window), settings,
                              _reps(n, settings))


def _reps(n: int, settings: Settings) -> int:
    return settings.reps if n <= 2000 else max(1, settings.reps - 2)


def _in_process(n: int, settings: Settings) -> tuple[list[Row], float]:
    """The in-process rows, and xmlactors' time for them (the TCP rows compare with it).
    The contenders take turns, each repetition, in one process."""
    items = item_bytes(n)
    text, wire = items_text(items), tuple(items)
    base = "simpleSystemBase"
    with runtime(base, [("w", echo_item, Item, 1)]) as rt, raw_system(base) as system, \
            pykka_workers(1) as refs:
        parent = start_parent(system, 1)
        ours, *theirs = turns_seconds([
            lambda: buffer(rt, "w", text),
            lambda: fan_out(system, parent, wire, n),
            lambda: pykka_fan_out(refs, items),
            lambda: plain_loop(items),
        ], _reps(n, settings), settings.warmup)
    peers = dict(zip(["raw Thespian fan-out", "pykka (1 actor)", "plain loop (floor)"], theirs,
                     strict=True))
    rows = []
    for name, theirs in peers.items():
        ratio = speed_ratio(ours, theirs)
        target = IN_PROCESS_TARGETS.get(name)
        rows.append(Row(
            f"fan-out N={n:,} (simpleSystemBase)", fmt_rate(n, ours), fmt_rate(n, theirs), name,
            ratio, f">= {target:.2f}x" if target else "", ratio >= target if target else None,
        ))
    return rows, ours


TCP_TARGETS = {"raw Thespian fan-out, same window": 4.0, "xmlactors in process": 0.25}


def _tcp(n: int, settings: Settings, in_process: float) -> list[Row]:
    """TCP rows: against the raw per-item fan-out with the same window, the same items in
    process (``in_process`` seconds, from this run), and a Ray actor when Ray is installed."""
    base = "multiprocTCPBase"
    ours = ours_seconds(base, n, settings.quick)
    peers = {"raw Thespian fan-out, same window": raw_seconds(base, n, settings.quick),
             "xmlactors in process": in_process}
    rows = []
    for name, theirs in peers.items():
        ratio, target = speed_ratio(ours, theirs), TCP_TARGETS[name]
        rows.append(Row(f"fan-out N={n:,} ({base})", fmt_rate(n, ours), fmt_rate(n, theirs),
                        name, ratio, f">= {target:.2f}x", ratio >= target))
    return [*rows, _ray_row(n, ours, settings)]


def _ray_row(n: int, ours: float, settings: Settings) -> Row:
    scenario, name = f"fan-out N={n:,} (multiprocTCPBase)", "Ray actor, one call per item"
    if not available():
        return Row(scenario, "skipped: ray not installed", "", name, None)
    items = item_bytes(n)
    with ray_echo(items[0]) as actor:
        theirs = median_seconds(lambda: ray_echo_fan_out(actor, items), settings, _reps(n, settings))
    return Row(scenario, fmt_rate(n, ours), fmt_rate(n, theirs), name, speed_ratio(ours, theirs))


def _multiproc(base: str, n: int, settings: Settings, isolated: bool) -> Row:
    scenario = f"fan-out N={n:,} ({base})"
    if not isolated:
        ours = ours_seconds(base, n, settings.quick)
        theirs = raw_seconds(base, n, settings.quick)
    else:
        limit = 60 + 2 * n / 100 * (settings.reps + settings.warmup)
        try:
            ours = run_isolated("bench.fanout:ours_seconds", base, n, settings.quick, timeout=limit)
        except IsolatedFailure as exc:
            return Row(scenario, f"FAILED: {exc}", "", "raw Thespian fan-out", None, ">= 0.50x", False)
        try:
            theirs = run_isolated("bench.fanout:raw_seconds", base, n, settings.quick, timeout=limit)
        except IsolatedFailure as exc:
            return Row(scenario, fmt_rate(n, ours), f"FAILED: {exc}", "raw Thespian fan-out", None)
    ratio = speed_ratio(ours, theirs)
    return Row(scenario, fmt_rate(n, ours), fmt_rate(n, theirs), "raw Thespian fan-out", ratio,
               ">= 0.50x", ratio >= 0.5)


def _large_tcp(settings: Settings) -> Row:
    """One Buffer whose reply is well over 1 MB, across processes: every result reaches the
    caller (before the second stage the reply was over a fixed 1 MB parse limit and lost)."""
    n, base = settings.n(20000, 200), "multiprocTCPBase"
    text = items_text(item_bytes(n))
    with runtime(base, [("w", echo_item, Item, 1)]) as rt:
        began = time.perf_counter()
        done = buffer(rt, "w", text)  # raises unless every item succeeded
        seconds = time.perf_counter() - began
    size = len(done.results.encode())
    return Row(f"fan-out N={n:,} ({base}): every result at the caller",
               fmt_rate(n, seconds), f"{size / 2**20:.1f} MiB", "size of the results it received",
               None)


def run(settings: Settings) -> list[Row]:
    """Rows: fan-out of 1,000 and 10,000 small items in process and on TCP, a 20,000-item
    run on TCP, the queue base."""
    rows, tcp = [], []
    for n in (settings.n(1000, 30), settings.n(10000, 100)):
        in_process_rows, in_process = _in_process(n, settings)
        rows += in_process_rows
        if settings.multiproc:
            tcp += _tcp(n, settings, in_process)
    if settings.multiproc:
        rows += [*tcp, _large_tcp(settings)]
        rows.append(_multiproc("multiprocQueueBase", settings.n(1000, 20), settings, isolated=True))
    return rows
