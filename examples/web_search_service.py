"""A small web search service on loopback, for the web search example: standard library only.

``GET /search?q=TEXT`` waits ``delay`` seconds (a remote search engine's
latency), then answers ``{"query": TEXT, "hits": [{"title": ..., "url": ...}]}``:
three to five made-up hits, always the same for the same text. A query in
``refuse`` is answered ``500`` instead, so a failing call can be shown; any
other path is ``404``.

``search_service()`` runs it on 127.0.0.1 on a free port for the length of a
``with`` block and gives its base URL; the block's end stops it and closes
every connection it still holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import sys
import threading
from collections.abc import Collection, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["WORDS", "hits_for", "search_service"]

WORDS = (
    "amber", "anchor", "basalt", "beacon", "cedar", "comet", "coral", "delta", "ember", "falcon",
    "fjord", "glacier", "harbor", "heron", "indigo", "juniper", "kelp", "lantern", "meadow",
    "nebula", "orchard", "pebble", "quartz", "raven", "saffron", "tundra", "umber", "willow",
)
"""The vocabulary of every made-up title, and of the example's queries."""

_KINDS = ("field guide", "atlas", "almanac", "handbook", "survey", "primer", "chronicle", "notes")


def hits_for(query: str) -> list[dict[str, str]]:
    """The hits the service answers for ``query``: derived from its hash, so always the same."""
    digest = hashlib.sha256(query.strip().lower().encode()).digest()
    hits = []
    for n in range(3 + digest[0] % 3):
        word = WORDS[digest[1 + 2 * n] % len(WORDS)]
        kind = _KINDS[digest[2 + 2 * n] % len(_KINDS)]
        title = f"The {word} {kind} of {query.strip() or 'nothing'}"
        hits.append({"title": title, "url": f"https://search.invalid/{digest.hex()[:12]}/{n}"})
    return hits


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: connections stay open between requests, so the client's pool is reused.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK, 40 ms on Linux, longer than the whole call should take.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/search":
            self._answer(404, {"error": f"no such path {url.path!r}"})
            return
        query = parse_qs(url.query).get("q", [""])[0]
        # Each connection has a thread of its own: waiting here delays this answer only
        # (and the service's stop ends the wait, so stopping never waits for the delay).
        self.server.stopping.wait(self.server.delay)
        if query in self.server.refuse:
            self._answer(500, {"error": f"the search for {query!r} failed"})
        else:
            self._answer(200, {"query": query, "hits": hits_for(query)})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line on stderr per request would drown the example's output."""


class _Server(ThreadingHTTPServer):
    # Not daemon threads: server_close() then joins every connection's thread.
    daemon_threads = False
    # A hundred clients connect at once; with the default backlog of 5 the kernel drops
    # the others' SYNs and each retries a full second later.
    request_queue_size = 256

    def __init__(self, delay: float, refuse: Collection[str]) -> None:
        self.delay = delay
        self.refuse = frozenset(refuse)
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def hang_up(self) -> None:
        """End every open connection, so its thread stops waiting for a next request."""
        self.stopping.set()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):  # the client has just closed it
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (its call cancelled, its worker stopped) is normal.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def search_service(delay: float = 0.2, refuse: Collection[str] = ("fail",)) -> Iterator[str]:
    """Serve searches on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    server = _Server(delay, refuse)
    # serve_forever looks for a stop every poll_interval: 0.5 s by default, too long a wait.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="web-search-service",
                              daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.hang_up()
        server.server_close()
        thread.join()
