"""Per-hop cost: one ``ask`` round trip through a listener vs a raw Thespian ``ask``.

Both sides carry the same XML bytes and do the same client and handler work:
encode an ``Item``, decode it in the actor, answer an ``Out``, decode that;
one ask of each in turn, both systems up.
On TCP also: a one-item Buffer run against one ask of the same item (what a
run adds: admission, its own actor, the terminal message), each call timed
alone on an idle system (its latency) and back to back (where every run's
actor exiting and its replacement starting share the cores with the next
run), and a Ray actor call when Ray is installed.
"""

from __future__ import annotations

from .measure import Row, Settings, fmt_time, median_seconds, speed_ratio, turns_seconds
from .ours import buffer, items_text, runtime
from .raw import RawEcho, raw_system
from .ray_peer import available, ray_echo, ray_echo_ask
from .workload import Item, Out, echo_item

__all__ = ["run"]


def _round_trips(base: str, asks: int, settings: Settings) -> tuple[float, float]:
    """Seconds of one ask through a listener and of one raw Thespian ask, taking turns."""
    with runtime(base, [("echo", echo_item, Item, 1)]) as rt, raw_system(base) as system:
        echo = system.createActor(RawEcho)
        ours, raw = turns_seconds([
            lambda: rt.ask("echo", Item(1, "hop"), timeout=30),
            lambda: Out.from_xml(system.ask(echo, Item(1, "hop").to_bytes(), 30)),
        ], asks, settings.n(50, 1))
    return ours, raw


PAUSE = 0.15
"""Seconds idle before each paced call: enough for a run actor to exit and its pool's
replacement to start and rehearse (~50 ms here)."""


def _one_item_buffer(base: str, runs: int, settings: Settings) -> tuple[float, float, float]:
    """Seconds of a one-item Buffer back to back, and paced: of one Buffer and of one ask
    (taking turns)."""
    with runtime(base, [("echo", echo_item, Item, 1)]) as rt:
        one = items_text([Item(0, "hop").to_bytes()])

        def burst() -> None:
            for _ in range(runs):
                buffer(rt, "echo", one)

        in_a_row = median_seconds(burst, settings) / runs
        paced_buffer, paced_ask = turns_seconds(
            [lambda: buffer(rt, "echo", one), lambda: rt.ask("echo", Item(0, "hop"), timeout=30)],
            settings.n(40, 3), pause=PAUSE)
        return in_a_row, paced_buffer, paced_ask


def _ray(asks: int, settings: Settings) -> float | None:
    if not available():
        return None
    data = Item(0, "hop").to_bytes()
    with ray_echo(data) as actor:

        def burst() -> None:
            for _ in range(asks):
                Out.from_xml(ray_echo_ask(actor, data))

        return median_seconds(burst, settings) / asks


TCP_ASK_TARGET = 0.6
BUFFER_OVER_ASK = 3.0  # a one-item Buffer may cost at most this many asks


def run(settings: Settings) -> list[Row]:
    """Rows: the ask round trip on each base; on TCP a one-item Buffer and a Ray call too."""
    bases = [("simpleSystemBase", settings.n(2000, 50))]
    if settings.multiproc:
        bases.append(("multiprocTCPBase", settings.n(500, 20)))
    rows = []
    for base, asks in bases:
        ours, raw = _round_trips(base, asks, settings)
        ratio = speed_ratio(ours, raw)
        tcp = base == "multiprocTCPBase"
        rows.append(Row(f"hop: ask round trip ({base})", fmt_time(ours), fmt_time(raw),
                        "raw Thespian ask", ratio, f">= {TCP_ASK_TARGET:.2f}x" if tcp else "",
                        ratio >= TCP_ASK_TARGET if tcp else None))
        if tcp:
            rows += _tcp_rows(ours, asks, settings)
    return rows


def _tcp_rows(ask: float, asks: int, settings: Settings) -> list[Row]:
    runs = settings.n(100, 5)
    in_a_row, paced, paced_ask = _one_item_buffer("multiprocTCPBase", runs, settings)
    ratio = speed_ratio(paced, paced_ask)
    rows = [
        Row("hop: one-item Buffer run, alone (multiprocTCPBase)", fmt_time(paced),
            fmt_time(paced_ask), "one ask, alone, taking turns", ratio,
            f">= {1 / BUFFER_OVER_ASK:.2f}x (<= 3 asks)", ratio >= 1 / BUFFER_OVER_ASK),
        Row("hop: one-item Buffers back to back (multiprocTCPBase)", fmt_time(in_a_row),
            fmt_time(ask), "asks back to back, same run", speed_ratio(in_a_row, ask)),
    ]
    ray = _ray(asks, settings)
    name = "Ray actor call"
    if ray is None:
        return [*rows, Row("hop: ask round trip (multiprocTCPBase)", "skipped: ray not installed",
                           "", name, None)]
    return [*rows, Row("hop: ask round trip (multiprocTCPBase)", fmt_time(ask), fmt_time(ray), name,
                       speed_ratio(ask, ray))]
