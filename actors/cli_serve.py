"""``xmlactors serve`` and ``xmlactors ask``: a long-running system, and a client of it.

``serve`` runs in the foreground until SIGINT or SIGTERM, then shuts its
actor system down and leaves no process behind. Without ``--convention``
it is the leader: it registers the organism's listeners, placing those with
``<requires>`` on a member offering the capabilities. With ``--convention``
it joins a leader as a member: it checks that the organism's code imports
here, registers nothing, and hosts what the leader places on it.

``ask`` attaches to a served system (``Runtime.connect``), sends one
payload, prints the reply, and detaches: the served system keeps running.
Exit statuses are those of the other subcommands (see ``actors.cli``).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from . import cli
from .bases import free_port
from .deploy import is_listening, wait_for_leader
from .errors import NoSystemError, PlacementError
from .placement import describe, parse_capability

__all__ = ["configure_serve", "run_serve", "configure_ask", "run_ask"]

TCP = "multiprocTCPBase"


# -- serve -------------------------------------------------------------------


def configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("organism", metavar="ORGANISM", help="the organism file to serve")
    parser.add_argument(
        "--base", default=TCP, choices=(TCP,), metavar="NAME",
        help="the Thespian system base; only %(default)s can be reached from other processes",
    )
    parser.add_argument(
        "--admin-port", type=_port, default=None, metavar="N",
        help="the TCP port of this system's admin (default: a free one, printed at start)",
    )
    parser.add_argument(
        "--bind", default="127.0.0.1", metavar="ADDR",
        help="the address every actor of this system listens on (default: %(default)s);"
        " Thespian's transport is unauthenticated pickle: a trusted network or a tunnel only",
    )
    parser.add_argument(
        "--convention", default=None, metavar="HOST:PORT",
        help="join the system whose admin listens there, as a member",
    )
    parser.add_argument(
        "--capability", action="append", default=[], type=_capability, metavar="KEY=VALUE",
        help="a capability this system offers for placement (repeatable)",
    )
    parser.add_argument(
        "--placement-wait", type=cli._seconds, default=30.0, metavar="SECONDS",
        help="how long the leader waits for a member that meets a listener's <requires>,"
        " and a member for its leader (default: %(default)s)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {text!r}")
    return port


def _capability(text: str) -> tuple[str, str]:
    try:
        return parse_capability(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _convention(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise cli._UsageError(f"--convention takes HOST:PORT, got {text!r}")
    return text


def run_serve(args: argparse.Namespace) -> int:
    """Serve the organism until SIGINT/SIGTERM; exit 2 when a listener cannot be placed."""
    from .organism import load_organism
    from .runtime import Runtime

    if args.bind in ("", "0.0.0.0"):
        raise cli._UsageError(
            "--bind takes the one address other hosts reach this system on, not 'all interfaces'"
        )
    convention = _convention(args.convention) if args.convention else None
    organism = load_organism(args.organism)  # a bad file stops here, before any process starts
    if convention:
        try:
            wait_for_leader(convention, args.placement_wait)
        except NoSystemError as exc:
            print(f"xmlactors: {exc}", file=sys.stderr, flush=True)
            return cli.FAILED
    port = _admin_port(args.bind, args.admin_port)
    runtime = Runtime(
        args.base, admin_port=port, bind=args.bind, convention=convention,
        capabilities=dict(args.capability), placement_wait=args.placement_wait,
    )
    # The admin is forked while the runtime starts: signal handlers go in only after.
    with runtime, _signals_interrupt():
        try:
            count = 0 if convention else _register(runtime, organism.listeners)
            print(_serving_line(count, args.bind, port, convention, args.capability),
                  file=sys.stderr, flush=True)
            _wait_forever()
        except PlacementError as exc:
            print(f"xmlactors: {exc}", file=sys.stderr, flush=True)
            return cli.BAD_USAGE
        except KeyboardInterrupt:
            print("xmlactors: stopping", file=sys.stderr, flush=True)
    return cli.OK


def _admin_port(host: str, port: int | None) -> int:
    """The port to serve on: ``port`` if free, else a free one; a usage error otherwise.

    Thespian would silently *join* a system already on that port, and this
    serve's shutdown would then stop that other system.
    """
    try:
        chosen = port or free_port(host)
    except OSError as exc:
        raise cli._UsageError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    if port and is_listening(host, port):
        raise cli._UsageError(
            f"something already listens on {host}:{port}; if it is a served system, talk to it"
            f" with 'xmlactors ask --admin-port {port}', else choose another --admin-port"
        )
    return chosen


def _register(runtime: Any, listeners: Any) -> int:
    placed = [decl for decl in listeners if decl.requires]
    if placed:
        names = ", ".join(f"{d.name} ({describe(d.requires)})" for d in placed)
        print(f"xmlactors: placing {names}; waiting up to {runtime.placement_wait:g} s"
              " for members offering them", file=sys.stderr, flush=True)
    for decl in listeners:
        runtime.register(
            decl.name, decl.handler, decl.payload_classes, description=decl.description,
            workers=decl.workers, peers=decl.peers, timeout=decl.timeout, requires=decl.requires,
            concurrency=decl.concurrency,
        )
    return len(listeners)


def _serving_line(
    count: int, host: str, port: int, convention: str | None, caps: list[tuple[str, str]]
) -> str:
    line = f"xmlactors: serving {count} listeners on {host}:{port} ({TCP})"
    if convention:
        line += f" as a member of {convention}"
    if caps:
        line += f", offering {describe(dict(caps))}"
    return line + "; stop with Ctrl-C or SIGTERM"


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Make SIGTERM raise ``KeyboardInterrupt`` as SIGINT does, so ``with runtime:`` shuts down.

    Covers the placement wait too, which a stop-event could not cut short.
    The previous handlers are restored on exit.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait_forever() -> None:
    # A timed wait, so the signal handler runs promptly whatever the platform's lock semantics.
    forever = threading.Event()
    while not forever.wait(1.0):
        pass


# -- ask ---------------------------------------------------------------------


def configure_ask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help="the listener to ask")
    parser.add_argument(
        "payload", metavar="PAYLOAD", help="the payload: a file, or - for standard input"
    )
    parser.add_argument(
        "--admin-port", type=_port, required=True, metavar="N",
        help="the admin port of the served system (its serving line names it)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR",
        help="the address the served system listens on, on this machine (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=cli._seconds, default=None, metavar="SECONDS",
        help="how long to wait for the reply (default: the runtime's, 30 s)",
    )


def run_ask(args: argparse.Namespace) -> int:
    """Ask a served system once and print the reply; the system keeps running."""
    from .runtime import Runtime

    data = cli._read_payload(args.payload)
    try:
        runtime = Runtime.connect(args.admin_port, args.host)
    except NoSystemError as exc:
        print(f"xmlactors: {exc}", file=sys.stderr)
        return cli.FAILED
    with runtime, cli._interrupt_on_sigterm():
        return cli._ask(runtime, args.target, data, args.timeout)
