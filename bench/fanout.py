"""Fan-out: a Buffer of N small items vs the same work by its peers, per base.

In process (``simpleSystemBase``) the peers are a raw Thespian parent/worker
fan-out, pykka actors and a plain loop (the floor). On the multiprocess
bases the peer is the raw Thespian fan-out on the same base, given the same
window xmlactors picks by default. ``multiprocQueueBase`` runs in a child
process with a time limit, because that base is known to hang.
"""

from __future__ import annotations

from actors.messages import ListenerInfo
from actors.primitives.buffer_actor import default_window

from .isolate import IsolatedFailure, run_isolated
from .measure import Row, Settings, fmt_rate, median_seconds, speed_ratio
from .ours import buffer, items_text, runtime
from .peers import plain_loop, pykka_fan_out, pykka_workers
from .raw import fan_out, raw_system, start_parent
from .workload import Item, echo_item, item_bytes

__all__ = ["run", "ours_seconds", "raw_seconds"]

IN_PROCESS_TARGETS = {"raw Thespian fan-out": 0.5, "plain loop (floor)": 0.25}


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


def _in_process(n: int, settings: Settings) -> list[Row]:
    items = item_bytes(n)
    reps = _reps(n, settings)
    ours = ours_seconds("simpleSystemBase", n, settings.quick)
    peers = {"raw Thespian fan-out": raw_seconds("simpleSystemBase", n, settings.quick)}
    with pykka_workers(1) as refs:
        peers["pykka (1 actor)"] = median_seconds(lambda: pykka_fan_out(refs, items), settings, reps)
    peers["plain loop (floor)"] = median_seconds(lambda: plain_loop(items), settings, reps)
    rows = []
    for name, theirs in peers.items():
        ratio = speed_ratio(ours, theirs)
        target = IN_PROCESS_TARGETS.get(name)
        rows.append(Row(
            f"fan-out N={n:,} (simpleSystemBase)", fmt_rate(n, ours), fmt_rate(n, theirs), name,
            ratio, f">= {target:.2f}x" if target else "", ratio >= target if target else None,
        ))
    return rows


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


def run(settings: Settings) -> list[Row]:
    """Rows: in-process fan-out of 1,000 and 10,000 items; multiprocess fan-out."""
    rows = []
    for n in (settings.n(1000, 30), settings.n(10000, 100)):
        rows += _in_process(n, settings)
    if settings.multiproc:
        rows.append(_multiproc("multiprocTCPBase", settings.n(1000, 20), settings, isolated=False))
        rows.append(_multiproc("multiprocQueueBase", settings.n(1000, 20), settings, isolated=True))
    return rows
