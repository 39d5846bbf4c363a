"""A fan-out of web searches: one Buffer of N queries to an ``async def`` listener over HTTP.

    python -m examples.web_search [--base multiprocTCPBase] [--queries 100] [--delay 0.2]

It starts the search service of ``web_search_service`` on loopback, the
organism in ``web_search.xml`` (``web.search``: one worker running up to 100
calls at once), asks two searches alone (the first opens the worker's client,
the second shows what a call costs), then fans the queries out as one
``BufferStart`` and prints each result at its index, then how long the
Buffer took against the calls one after another.

Remember: the service's URL reaches the handler through ``WEB_SEARCH_URL``
(the actor processes are forked when the Runtime starts and inherit the
environment then, so set it before); a failed HTTP call raises, so that item
alone answers ``<huh>``; every loop running ``search`` keeps one
``httpx.AsyncClient`` until the loop ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx
from lxml import etree

from actors import HandlerMetadata, HandlerResponse, Runtime, xmlify
from actors.primitives import BufferStart, ItemResult, parse_results
from examples.web_search_service import WORDS, search_service

__all__ = ["Query", "Hits", "search", "URL_VARIABLE", "HTTP_TIMEOUT", "pointed_at", "queries",
           "fan_out", "main", "ORGANISM"]

ORGANISM = Path(__file__).with_name("web_search.xml")
URL_VARIABLE = "WEB_SEARCH_URL"
HTTP_TIMEOUT = 10.0
"""Seconds one HTTP call may take (connect, each read, waiting for a connection)."""


@xmlify
@dataclass
class Query:
    """What to search for."""

    text: str = ""


@xmlify
@dataclass
class Hits:
    """The titles the service found for ``query``, in its order."""

    query: str = ""
    titles: list[str] = field(default_factory=list)


# -- the handler: one client per event loop ---------------------------------------------

# The runtime runs `search` as tasks on one event loop per worker process (in process: the
# system's loop, one per Runtime), and that loop lives as long as the worker. A client is
# bound to the loop it first ran on, so there is one per running loop, created on first use
# inside it. The key is the loop object, not id(loop): an id is reused once a closed loop is
# collected (each in-process Runtime makes a new loop), and would hand out a dead client.
# Next to each client runs a keeper task that holds it open until the runtime cancels the
# loop's tasks (it does, for every loop, when the worker or the in-process system stops),
# then closes it on that same loop and forgets it. So the client closes with its loop, on
# every base, with no call to remember at the end; an atexit hook would run only after
# the loop is gone (and in pytest only at the very end), too late to close sockets on it.
# (A worker process that is killed takes its sockets with it.)
_clients: dict[asyncio.AbstractEventLoop, tuple[httpx.AsyncClient, asyncio.Task[None]]] = {}


def _client() -> httpx.AsyncClient:
    """This loop's client, created (with its keeper) on first use."""
    loop = asyncio.get_running_loop()
    kept = _clients.get(loop)
    if kept is None:
        client = httpx.AsyncClient(
            timeout=HTTP_TIMEOUT,
            # As many connections as web_search.xml's concurrency (calls in flight on this
            # loop), 20 of them kept open between bursts (httpx's defaults). Keeping all 100
            # is slower, not faster: httpcore 1.0's pool scans every connection for every
            # queued request and offers a freed one to all of them (encode/httpcore#1035),
            # and a burst of 100 on 100 idle connections took 1 to 4 s here instead of 0.5 s.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        kept = _clients[loop] = (client, loop.create_task(_keep(loop, client)))
    return kept[0]


async def _keep(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient) -> None:
    """Hold ``client`` open until this task is cancelled, then close it and forget it."""
    try:
        await loop.create_future()  # never set: only cancellation ends the wait
    finally:
        del _clients[loop]
        await client.aclose()


def _service_url() -> str:
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        raise LookupError(f"{URL_VARIABLE} is not set: start the search service and set it first")
    return url


async def search(payload: Query, meta: HandlerMetadata) -> HandlerResponse:
    """Search for ``payload.text``; an HTTP error or a timeout raises (this item's ``<huh>``)."""
    url = f"{_service_url()}/search"
    response = await _client().get(url, params={"q": payload.text})
    response.raise_for_status()
    titles = [hit["title"] for hit in response.json()["hits"]]
    return HandlerResponse.respond(Hits(payload.text, titles))


# -- the job ------------------------------------------------------------------------------


@contextlib.contextmanager
def pointed_at(url: str) -> Iterator[None]:
    """Set ``WEB_SEARCH_URL`` to ``url`` while the block runs; start the Runtime inside it."""
    previous = os.environ.get(URL_VARIABLE)
    os.environ[URL_VARIABLE] = url
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(URL_VARIABLE, None)
        else:
            os.environ[URL_VARIABLE] = previous


def queries(count: int) -> list[Query]:
    """``count`` queries of two words each, all different while the word pairs last."""
    size = len(WORDS)
    return [Query(f"{WORDS[i % size]} {WORDS[(i // size + i + 1) % size]}") for i in range(count)]


def fan_out(runtime: Runtime, items: list[Query], timeout: float = 60.0) -> list[ItemResult | None]:
    """One Buffer of ``items`` to ``web.search``: each item's result at its index (None: no answer)."""
    start = BufferStart(target="web.search", items=items, timeout=timeout)
    done = runtime.ask("system.buffer", start, timeout=timeout + 10)
    return parse_results(done.results.encode())


def _line(index: int, item: Query, result: ItemResult | None) -> str:
    if result is None:
        return f"{index:4}  {item.text:<20} no answer"
    if result.success:
        titles = Hits.from_xml(result.payload).titles
        return f"{index:4}  {item.text:<20} {len(titles)} hits, first: {titles[0]}"
    why = etree.fromstring(result.payload).text if result.payload else "no answer before the deadline"
    return f"{index:4}  {item.text:<20} failed ({result.reason}): {why}"


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.web_search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="simpleSystemBase")
    parser.add_argument("--queries", type=int, default=100, help="how many (default 100)")
    parser.add_argument("--delay", type=float, default=0.2,
                        help="seconds the service takes per search (default 0.2)")
    args = parser.parse_args(argv)
    if args.queries < 1 or not 0 <= args.delay < HTTP_TIMEOUT:
        parser.error(f"need --queries >= 1 and 0 <= --delay < {HTTP_TIMEOUT:g}")

    items = queries(args.queries)
    with search_service(args.delay) as url, pointed_at(url), \
            Runtime.from_config(ORGANISM, base=args.base) as runtime:
        # The first call also creates the worker's client (httpx builds a TLS context: 40 to
        # 60 ms here) and so stays out of both measures; the second shows what a call costs.
        for text in ("warm up", "one call"):
            began = time.perf_counter()
            runtime.ask("web.search", Query(text), timeout=HTTP_TIMEOUT + 5)
            one_call = time.perf_counter() - began
        began = time.perf_counter()
        results = fan_out(runtime, items)
        elapsed = time.perf_counter() - began

    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        print(_line(index, item, result), file=out)
    answered = sum(result is not None and result.success for result in results)
    print(f"searched {answered} of {len(items)} queries in one Buffer on {args.base} in"
          f" {elapsed:.2f} s (one call takes {one_call:.2f} s; one after another they would take"
          f" {one_call * len(items):.1f} s)", file=out)
    return 0 if answered == len(items) else 1


if __name__ == "__main__":
    sys.exit(main())
