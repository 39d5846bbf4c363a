"""``xmlactors serve ORGANISM``: a long-running system, as the leader or a member of a convention.

It runs in the foreground until SIGINT or SIGTERM, then shuts its actor
system down and leaves no process behind. Without ``--convention`` it is the
leader: it registers the organism's listeners, placing those with
``<requires>`` on a member offering the capabilities. With ``--convention``
it joins a leader as a member: it checks that the organism's code imports
here, registers nothing, and hosts what the leader places on it. With
``--metrics-port`` it also serves its counters for Prometheus (``actors.metrics``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from ..bases import free_port
from ..deploy import is_listening, wait_for_leader
from ..errors import NoSystemError, PlacementError
from ..placement import describe, parse_capability
from ._common import (
    BAD_USAGE,
    FAILED,
    OK,
    UsageError,
    interrupt_on,
    log_level_option,
    port,
    seconds,
    wait_for,
)

__all__ = ["configure", "run"]

TCP = "multiprocTCPBase"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("organism", metavar="ORGANISM", help="the organism file to serve")
    parser.add_argument(
        "--base", default=TCP, choices=(TCP,), metavar="NAME",
        help="the Thespian system base; only %(default)s can be reached from other processes",
    )
    parser.add_argument(
        "--admin-port", type=port, default=None, metavar="N",
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
        "--placement-wait", type=seconds, default=30.0, metavar="SECONDS",
        help="how long the leader waits for a member that meets a listener's <requires>,"
        " and a member for its leader (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-port", type=port, default=None, metavar="PORT",
        help="serve Prometheus metrics at http://127.0.0.1:PORT/metrics (needs the metrics extra)",
    )
    log_level_option(parser)


def _capability(text: str) -> tuple[str, str]:
    try:
        return parse_capability(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _convention(text: str) -> str:
    host, sep, number = text.rpartition(":")
    if not sep or not host or not number.isdigit():
        raise UsageError(f"--convention takes HOST:PORT, got {text!r}")
    return text


def run(args: argparse.Namespace) -> int:
    """Serve the organism until SIGINT/SIGTERM; exit 2 when a listener cannot be placed."""
    from ..organism import load_organism
    from ..runtime import Runtime

    if args.bind in ("", "0.0.0.0"):
        raise UsageError(
            "--bind takes the one address other hosts reach this system on, not 'all interfaces'"
        )
    convention = _convention(args.convention) if args.convention else None
    organism = load_organism(args.organism)  # a bad file stops here, before any process starts
    if convention:
        try:
            wait_for_leader(convention, args.placement_wait)
        except NoSystemError as exc:
            print(f"xmlactors: {exc}", file=sys.stderr, flush=True)
            return FAILED
    admin = _admin_port(args.bind, args.admin_port)
    runtime = Runtime(
        args.base, admin_port=admin, bind=args.bind, convention=convention,
        capabilities=dict(args.capability), placement_wait=args.placement_wait,
        metrics_port=args.metrics_port, log_level=args.log_level,
    )
    # The admin is forked while the runtime starts: signal handlers go in only after.
    with runtime, interrupt_on(signal.SIGINT, signal.SIGTERM):
        try:
            count = 0 if convention else _register(runtime, organism.listeners)
            if runtime.metrics is not None:
                print(f"xmlactors: metrics at {runtime.metrics.url}", file=sys.stderr, flush=True)
            print(_serving_line(count, args.bind, admin, convention, args.capability),
                  file=sys.stderr, flush=True)
            wait_for(threading.Event())  # until a signal interrupts it
        except PlacementError as exc:
            print(f"xmlactors: {exc}", file=sys.stderr, flush=True)
            return BAD_USAGE
        except KeyboardInterrupt:
            print("xmlactors: stopping", file=sys.stderr, flush=True)
    return OK


def _admin_port(host: str, wanted: int | None) -> int:
    """The port to serve on: ``wanted`` if free, else a free one; a usage error otherwise.

    Thespian would silently *join* a system already on that port, and this
    serve's shutdown would then stop that other system.
    """
    try:
        chosen = wanted or free_port(host)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}: {exc.strerror or exc}") from None
    if wanted and is_listening(host, wanted):
        raise UsageError(
            f"something already listens on {host}:{wanted}; if it is a served system, talk to it"
            f" with 'xmlactors ask --admin-port {wanted}', else choose another --admin-port"
        )
    return chosen


def _register(runtime: Any, listeners: Any) -> int:
    placed = [decl for decl in listeners if decl.requires]
    if placed:
        names = ", ".join(f"{d.name} ({describe(d.requires)})" for d in placed)
        print(f"xmlactors: placing {names}; waiting up to {runtime.placement_wait:g} s"
              " for members offering them", file=sys.stderr, flush=True)
    runtime.register_all(listeners)
    return len(listeners)


def _serving_line(
    count: int, host: str, admin: int, convention: str | None, caps: list[tuple[str, str]]
) -> str:
    line = f"xmlactors: serving {count} listeners on {host}:{admin} ({TCP})"
    if convention:
        line += f" as a member of {convention}"
    if caps:
        line += f", offering {describe(dict(caps))}"
    return line + "; stop with Ctrl-C or SIGTERM"
