"""The xmlactors side of every comparison, through the public API only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from actors import Runtime, Xml
from actors.primitives import BufferStart, SequenceStart

from .isolate import announce_session

__all__ = ["runtime", "items_text", "buffer", "sequence"]

RUN_TIMEOUT = 600.0
"""A Buffer's own deadline in the bench: long enough never to cut a measured run."""


@contextlib.contextmanager
def runtime(
    base: str,
    listeners: Sequence[tuple[str, Any, type, int]],
    concurrency: Mapping[str, int] | None = None,
    **options: Any,
) -> Iterator[Runtime]:
    """A started ``Runtime`` with ``(name, handler, payload class, workers)`` registered.

    ``concurrency`` gives a listener's calls at once by name (absent: the runtime's default);
    ``options`` go to ``Runtime`` (``journal=``).
    """
    rt = Runtime(base, default_timeout=RUN_TIMEOUT, **options)
    for name, handler, payload, workers in listeners:
        rt.register(name, handler, payload, workers=workers,
                    concurrency=(concurrency or {}).get(name))
    with rt:
        announce_session(rt.session_id)
        yield rt


def items_text(items: Sequence[bytes]) -> Xml:
    """The ``items`` field of a ``BufferStart``: the elements one per line."""
    return Xml(b"\n".join(items).decode("utf-8"))


def buffer(rt: Runtime, target: str, items: Xml, window: int = 0) -> Any:
    """Run one collecting Buffer and check that every item succeeded."""
    start = BufferStart(target=target, items=items, timeout=RUN_TIMEOUT, max_in_flight=window)
    done = rt.ask("system.buffer", start, timeout=RUN_TIMEOUT + 60)
    if done.successful != done.total:
        raise RuntimeError(
            f"Buffer to {target}: {done.successful}/{done.total} succeeded "
            f"({done.failed} failed, {done.missing} missing)"
        )
    return done


def sequence(rt: Runtime, steps: Sequence[str], payload: bytes) -> Any:
    """Run one Sequence and return its ``SequenceComplete``."""
    start = SequenceStart(steps=",".join(steps), payload=Xml(payload.decode("utf-8")),
                          timeout=RUN_TIMEOUT)
    return rt.ask("system.sequence", start, timeout=RUN_TIMEOUT + 60)
