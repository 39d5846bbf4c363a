"""Per-hop cost: one ``ask`` round trip through a listener vs a raw Thespian ``ask``.

Both sides carry the same XML bytes and do the same client and handler work:
encode an ``Item``, decode it in the actor, answer an ``Out``, decode that.
"""

from __future__ import annotations

from .measure import Row, Settings, fmt_time, median_seconds, speed_ratio
from .ours import runtime
from .raw import RawEcho, raw_system
from .workload import Item, Out, echo_item

__all__ = ["run"]


def _ours(base: str, asks: int, settings: Settings) -> float:
    with runtime(base, [("echo", echo_item, Item, 1)]) as rt:

        def burst() -> None:
            for i in range(asks):
                rt.ask("echo", Item(i, "hop"), timeout=30)

        return median_seconds(burst, settings) / asks


def _raw(base: str, asks: int, settings: Settings) -> float:
    with raw_system(base) as system:
        echo = system.createActor(RawEcho)

        def burst() -> None:
            for i in range(asks):
                Out.from_xml(system.ask(echo, Item(i, "hop").to_bytes(), 30))

        return median_seconds(burst, settings) / asks


def run(settings: Settings) -> list[Row]:
    """Rows: the ask round trip on each base."""
    bases = [("simpleSystemBase", settings.n(2000, 50))]
    if settings.multiproc:
        bases.append(("multiprocTCPBase", settings.n(500, 20)))
    rows = []
    for base, asks in bases:
        ours, raw = _ours(base, asks, settings), _raw(base, asks, settings)
        rows.append(Row(f"hop: ask round trip ({base})", fmt_time(ours), fmt_time(raw),
                        "raw Thespian ask", speed_ratio(ours, raw)))
    return rows
