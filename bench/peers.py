"""The peers a user would pick instead of xmlactors, doing the same per-item work.

- ``plain_loop``: the handler's XML work in a Python loop, nothing else (the floor);
- ``pykka_fan_out``: pykka threading actors, each item an ``ask`` future;
- ``pool_map``: ``multiprocessing.Pool.map`` of the work over the items;
- the raw Thespian fan-out lives in ``bench.raw``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pykka

from .workload import xml_work

__all__ = ["plain_loop", "PykkaWorker", "pykka_workers", "pykka_fan_out", "process_pool"]


def plain_loop(items: Sequence[bytes], work: Callable[[bytes], bytes] = xml_work) -> list[bytes]:
    """The physical floor: the per-item work, one item after another."""
    return [work(data) for data in items]


class PykkaWorker(pykka.ThreadingActor):
    """A pykka actor running the per-item XML work."""

    def on_receive(self, message: Any) -> Any:
        return xml_work(message)


@contextlib.contextmanager
def pykka_workers(count: int) -> Iterator[list[Any]]:
    """``count`` started pykka workers; all stopped on exit."""
    refs = [PykkaWorker.start() for _ in range(count)]
    try:
        yield refs
    finally:
        for ref in refs:
            ref.stop()


def pykka_fan_out(refs: Sequence[Any], items: Sequence[bytes]) -> list[bytes]:
    """Send every item as an ``ask`` future (round robin), then gather them in order."""
    futures = [refs[i % len(refs)].ask(data, block=False) for i, data in enumerate(items)]
    results: list[bytes] = pykka.get_all(futures, timeout=600)
    return results


@contextlib.contextmanager
def process_pool(processes: int) -> Iterator[Any]:
    """A ``multiprocessing.Pool``; terminated and joined on exit."""
    pool = multiprocessing.get_context("fork").Pool(processes)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()
