"""What every scenario handles: payload classes, handlers and the per-item XML work.

Everything here is an importable module-level name, because the multiprocess
bases (and ``multiprocessing.Pool``) import handlers and payload classes by
reference in their worker processes.

The comparison peers (raw Thespian, pykka, the plain loop, the process pool)
call ``xml_work`` / ``heavy_xml_work`` on the same bytes that xmlactors
delivers to ``echo_item`` / ``heavy``: decode through the public codec, run
the handler's logic, encode the answer. xmlactors adds its own costs on top
(schema validation, envelopes, routing, the results document); that overhead
is what the ratios show.

The concurrency scenarios use ``Nap``: its handlers (``nap_async``,
``nap_blocking``) wait ``seconds`` (``asyncio.sleep`` / ``time.sleep``, a
stand-in for I/O) and answer an ``Out``; their floors run ``nap_work_async``
/ ``nap_work_blocking``: decode the ``Nap`` bytes, wait the same, encode the ``Out``.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass

from lxml import etree

from actors import HandlerMetadata, HandlerResponse, xmlify

__all__ = [
    "Item",
    "Out",
    "Heavy",
    "Digest",
    "echo_item",
    "heavy",
    "step",
    "item_bytes",
    "heavy_bytes",
    "xml_work",
    "heavy_xml_work",
    "HEAVY_SIZE",
    "Nap",
    "nap_async",
    "nap_blocking",
    "nap_bytes",
    "nap_work_async",
    "nap_work_blocking",
]

HEAVY_SIZE = 3000
"""Elements built, serialized and re-parsed per CPU-bound item (~15 ms of lxml work here)."""


@xmlify
@dataclass
class Item:
    """A small item: a number and a short text (~50 bytes on the wire)."""

    n: int = 0
    text: str = ""


@xmlify
@dataclass
class Out:
    """The answer to an ``Item``."""

    n: int = 0
    text: str = ""


@xmlify
@dataclass
class Heavy:
    """A CPU-bound job: build and re-read an XML document of ``size`` elements."""

    seed: int = 0
    size: int = HEAVY_SIZE


@xmlify
@dataclass
class Digest:
    """The answer to a ``Heavy``: element count and a checksum of the document."""

    count: int = 0
    crc: int = 0


@xmlify
@dataclass
class Nap:
    """An I/O-bound item: a small ``Item``-like payload whose handler waits ``seconds``."""

    n: int = 0
    text: str = ""
    seconds: float = 0.0


def _answer(item: Item | Nap) -> Out:
    return Out(item.n * 2, item.text.upper())


def echo_item(payload: Item, meta: HandlerMetadata) -> HandlerResponse:
    """The small-item handler: doubles ``n``, upper-cases ``text``."""
    return HandlerResponse.respond(_answer(payload))


def step(payload: Item, meta: HandlerMetadata) -> HandlerResponse:
    """One step of the Sequence chain: ``n + 1``, text kept (output is the next step's input)."""
    return HandlerResponse.respond(Item(payload.n + 1, payload.text))


def _digest(job: Heavy) -> Digest:
    """Real lxml work: build a tree, serialize it, parse it back, query it."""
    root = etree.Element("doc", seed=str(job.seed))
    for i in range(job.size):
        child = etree.SubElement(root, "row", id=str(i), v=str((i * 31 + job.seed) % 997))
        child.text = f"value {i}"
    data = etree.tostring(root)
    again = etree.fromstring(data)
    total = sum(int(v) for v in again.xpath("//row/@v"))
    return Digest(len(again), zlib.crc32(data) ^ total)


def heavy(payload: Heavy, meta: HandlerMetadata) -> HandlerResponse:
    """The CPU-bound handler (~15 ms per item with the default size)."""
    return HandlerResponse.respond(_digest(payload))


def item_bytes(n: int) -> list[bytes]:
    """``n`` small items as wire bytes (what both sides of a comparison send)."""
    return [Item(i, f"item {i}").to_bytes() for i in range(n)]


def heavy_bytes(n: int, size: int = HEAVY_SIZE) -> list[bytes]:
    """``n`` CPU-bound jobs as wire bytes."""
    return [Heavy(i, size).to_bytes() for i in range(n)]


def xml_work(data: bytes) -> bytes:
    """The per-item work of a peer: decode an ``Item``, answer it, encode the ``Out``."""
    return _answer(Item.from_xml(data)).to_bytes()


def heavy_xml_work(data: bytes) -> bytes:
    """The per-item work of a peer for the CPU-bound scenario."""
    return _digest(Heavy.from_xml(data)).to_bytes()


async def nap_async(payload: Nap, meta: HandlerMetadata) -> HandlerResponse:
    """The async I/O-bound handler: awaits ``payload.seconds``, then answers like ``echo_item``."""
    await asyncio.sleep(payload.seconds)
    return HandlerResponse.respond(_answer(payload))


def nap_blocking(payload: Nap, meta: HandlerMetadata) -> HandlerResponse:
    """The blocking I/O-bound handler: ``time.sleep(payload.seconds)``, then the same answer."""
    time.sleep(payload.seconds)
    return HandlerResponse.respond(_answer(payload))


def nap_bytes(n: int, seconds: float) -> list[bytes]:
    """``n`` I/O-bound items as wire bytes, each waiting ``seconds``."""
    return [Nap(i, f"item {i}", seconds).to_bytes() for i in range(n)]


async def nap_work_async(data: bytes) -> bytes:
    """A floor's per-item work for ``nap_async``: decode, await the same wait, encode the answer."""
    nap = Nap.from_xml(data)
    await asyncio.sleep(nap.seconds)
    return _answer(nap).to_bytes()


def nap_work_blocking(data: bytes) -> bytes:
    """A floor's per-item work for ``nap_blocking``: decode, sleep the same, encode the answer."""
    nap = Nap.from_xml(data)
    time.sleep(nap.seconds)
    return _answer(nap).to_bytes()
