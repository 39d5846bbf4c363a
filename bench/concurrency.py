"""Concurrent handler calls: a Buffer of I/O-bound items against the same waits done directly.

Every item is a ``bench.workload.Nap`` whose handler waits (50 ms, or 100 ms
at scale) and answers an ``Out``. xmlactors' side is one collecting Buffer
of all the items to a listener registered with ``concurrency=K`` (and
``workers=2`` on ``multiprocTCPBase``), on a runtime started once per row;
per item it parses and validates the ``Nap``, runs the handler, encodes the
``Out``, routes it back, and collects every answer into the results document.

The floors do the same per-item XML work (decode the ``Nap`` bytes, wait
the same, encode the ``Out``: ``nap_work_async`` / ``nap_work_blocking``)
with as many waits at once as the listener can run (workers x K), and
nothing else: no messages, no routing, no results document. So the floor is
what the waits themselves cost, and the ratio is the share of it xmlactors keeps.

- ``async`` rows: an ``async def`` handler awaiting ``asyncio.sleep``, against
  ``asyncio.run`` of ``asyncio.gather`` of the same coroutines under an
  ``asyncio.Semaphore(workers x K)`` (a new loop per repetition, as a script would);
- ``blocking`` rows: a plain handler calling ``time.sleep`` (run in K threads),
  against ``ThreadPoolExecutor(workers x K).map`` of the same function (a new
  pool per repetition);
- at scale: 10,000 items waiting 100 ms with K=1000 (Ray's default for an
  async actor), in process;
- Ray, when installed: one Ray async actor (``max_concurrency`` left at
  Ray's default, 1,000) doing the same work per call, against xmlactors with
  the same K=1000 in process. No target: it is a peer, not a floor.

Both sides of a row take turns in every repetition, the order swapped each
time, after one warm-up each; figures are medians.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .measure import Row, Settings, fmt_rate, speed_ratio
from .ours import buffer, items_text, runtime
from .ray_peer import available, ray_actor, ray_fan_out
from .workload import Nap, nap_async, nap_blocking, nap_bytes, nap_work_async, nap_work_blocking

__all__ = ["Case", "gather_floor", "threads_floor", "run"]

IN_PROCESS = "simpleSystemBase"
TCP = "multiprocTCPBase"
RAY = "Ray async actor (default max_concurrency 1000)"

Peer = Callable[[Sequence[bytes]], object]


@dataclass(frozen=True)
class Case:
    """One row's set-up: the handler's kind, the base, the items and the listener's shape."""

    kind: str  # "async" or "blocking"
    base: str
    n: int
    seconds: float
    concurrency: int
    workers: int = 1
    target: float | None = None

    @property
    def capacity(self) -> int:
        """Calls at once across the listener (in process ``workers`` is 1)."""
        return self.workers * self.concurrency

    @property
    def handler(self) -> Any:
        return nap_async if self.kind == "async" else nap_blocking

    def label(self) -> str:
        shape = f"{self.workers} workers x K={self.concurrency}" if self.workers > 1 else \
            f"K={self.concurrency}"
        wait = f"{self.seconds * 1e3:g} ms"
        return f"concurrency: {self.kind} {wait} x {self.n:,}, {shape} ({self.base})"


async def _gathered(items: Sequence[bytes], limit: int) -> list[bytes]:
    gate = asyncio.Semaphore(limit)

    async def one(data: bytes) -> bytes:
        async with gate:
            return await nap_work_async(data)

    return await asyncio.gather(*(one(data) for data in items))


def gather_floor(items: Sequence[bytes], limit: int) -> list[bytes]:
    """The async floor: ``asyncio.gather`` of every item's work, ``limit`` at once."""
    return asyncio.run(_gathered(items, limit))


def threads_floor(items: Sequence[bytes], limit: int) -> list[bytes]:
    """The blocking floor: ``ThreadPoolExecutor(limit).map`` of every item's work."""
    with concurrent.futures.ThreadPoolExecutor(limit) as pool:
        return list(pool.map(nap_work_blocking, items))


def _floor(case: Case) -> tuple[str, Peer]:
    """The floor of ``case``: its name in the table and what it runs on the items."""
    if case.kind == "async":
        return (f"asyncio.gather, Semaphore({case.capacity}) (floor)",
                lambda items: gather_floor(items, case.capacity))
    return (f"ThreadPoolExecutor({case.capacity}).map (floor)",
            lambda items: threads_floor(items, case.capacity))


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def take_turns(ours: Callable[[], object], theirs: Callable[[], object],
               settings: Settings) -> tuple[float, float]:
    """Medians of both actions, one of each per repetition, which goes first alternating."""
    for _ in range(settings.warmup):
        ours()
        theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for rep in range(settings.reps):
        for side in ((0, 1) if rep % 2 == 0 else (1, 0)):
            times[side].append(_timed(ours if side == 0 else theirs))
    return statistics.median(times[0]), statistics.median(times[1])


def _row(case: Case, settings: Settings, comparison: str, peer: Peer) -> Row:
    """Run ``case`` on xmlactors and ``peer`` in turns; the row of their medians."""
    items = nap_bytes(case.n, case.seconds)
    text = items_text(items)
    with runtime(case.base, [("nap", case.handler, Nap, case.workers)],
                 {"nap": case.concurrency}) as rt:
        ours, theirs = take_turns(lambda: buffer(rt, "nap", text), lambda: peer(items), settings)
    ratio = speed_ratio(ours, theirs)
    target = f">= {case.target:.2f}x" if case.target is not None else ""
    met = ratio >= case.target if case.target is not None else None
    return Row(case.label(), fmt_rate(case.n, ours), fmt_rate(case.n, theirs), comparison,
               ratio, target, met)


def _floor_cases(settings: Settings) -> list[Case]:
    n, wait = settings.n(200, 20), 0.05 if not settings.quick else 0.005
    cases = [Case("async", IN_PROCESS, n, wait, 50, target=0.80)]
    if settings.multiproc:
        cases.append(Case("async", TCP, n, wait, 50, workers=2, target=0.50))
    cases.append(Case("blocking", IN_PROCESS, n, wait, 50, target=0.70))
    if settings.multiproc:
        cases.append(Case("blocking", TCP, n, wait, 50, workers=2, target=0.70))
    scale_wait = 0.1 if not settings.quick else 0.005
    cases.append(Case("async", IN_PROCESS, settings.n(10000, 200), scale_wait, 1000, target=0.33))
    return cases


def _ray_cases(settings: Settings) -> list[Case]:
    small = 0.05 if not settings.quick else 0.005
    large = 0.1 if not settings.quick else 0.005
    return [Case("async", IN_PROCESS, settings.n(200, 20), small, 1000),
            Case("async", IN_PROCESS, settings.n(10000, 200), large, 1000)]


def _ray_rows(settings: Settings) -> list[Row]:
    """xmlactors against one Ray async actor; a skip row each when Ray is not installed."""
    cases = _ray_cases(settings)
    if not available():
        return [Row(c.label(), "skipped: ray not installed", "", RAY, None) for c in cases]
    try:
        with ray_actor(nap_bytes(1, 0.0)[0]) as actor:
            return [_row(c, settings, RAY, lambda items: ray_fan_out(actor, items)) for c in cases]
    except Exception as exc:  # noqa: BLE001 - an optional peer failing must not hide the floors' rows
        return [Row(c.label(), "", f"FAILED: {type(exc).__name__}: {exc}", RAY, None) for c in cases]


def run(settings: Settings) -> list[Row]:
    """Rows: async and blocking waits against their floors, at scale, and against Ray."""
    rows = [_row(case, settings, *_floor(case)) for case in _floor_cases(settings)]
    return rows + _ray_rows(settings)
