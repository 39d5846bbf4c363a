"""Ray as an optional peer: one async actor running the same per-item work as the floors.

Ray is not a dependency (``pip install xmlactors[ray]`` brings it); without
it the rows that need it say so. ``NapActor.nap`` is ``async def``: Ray then
runs up to ``max_concurrency`` calls at once on the actor's event loop, 1,000
by default for an async actor, which the bench leaves as it is. Each call
gets the item's wire bytes and runs ``bench.workload.nap_work_async``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from .workload import nap_work_async, xml_work

__all__ = ["available", "NapActor", "EchoActor", "ray_actor", "ray_fan_out", "ray_echo",
           "ray_echo_fan_out", "ray_echo_ask"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def available() -> bool:
    """Whether ``import ray`` would work here."""
    return importlib.util.find_spec("ray") is not None


class NapActor:
    """The Ray actor's class (made remote by ``ray_actor``, so this module imports without Ray)."""

    async def nap(self, data: bytes) -> bytes:
        return await nap_work_async(data)


class EchoActor:
    """A plain Ray actor running the small items' XML work (``bench.workload.xml_work``)."""

    def echo(self, data: bytes) -> bytes:
        return xml_work(data)


@contextlib.contextmanager
def _ray() -> Iterator[Any]:
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
        runtime_env={"env_vars": {"PYTHONPATH": ROOT}},  # its workers import bench.workload
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@contextlib.contextmanager
def ray_actor(warm: bytes) -> Iterator[Any]:
    """A local Ray instance with one ``NapActor`` (answered ``warm`` once); shut down on exit."""
    with _ray() as ray:
        actor = ray.remote(NapActor).remote()
        ray.get(actor.nap.remote(warm))
        yield actor


@contextlib.contextmanager
def ray_echo(warm: bytes) -> Iterator[Any]:
    """A local Ray instance with one ``EchoActor`` (answered ``warm`` once); shut down on exit."""
    with _ray() as ray:
        actor = ray.remote(EchoActor).remote()
        ray.get(actor.echo.remote(warm))
        yield actor


def ray_echo_fan_out(actor: Any, items: Sequence[bytes]) -> list[bytes]:
    """Every small item as one call of the echo actor, all sent at once, gathered in order."""
    import ray

    results: list[bytes] = ray.get([actor.echo.remote(data) for data in items])
    return results


def ray_echo_ask(actor: Any, data: bytes) -> bytes:
    """One call of the echo actor, waited for (a round trip)."""
    import ray

    result: bytes = ray.get(actor.echo.remote(data))
    return result


def ray_fan_out(actor: Any, items: Sequence[bytes]) -> list[bytes]:
    """Every item as one call of the actor, all sent at once, then gathered in order."""
    import ray

    results: list[bytes] = ray.get([actor.nap.remote(data) for data in items])
    return results
