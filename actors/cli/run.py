"""``xmlactors run FILE``: start an organism; ask it once (``--ask``) or run until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal

from ..bases import BASES
from ._common import (
    OK,
    ask_and_print,
    interrupt_on,
    log_level_option,
    read_payload,
    seconds,
    stop_on_signal,
    wait_for,
)

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the organism file to start")
    parser.add_argument(
        "--base", default="simpleSystemBase", choices=BASES, metavar="NAME",
        help=f"the Thespian system base ({', '.join(BASES)}; default: %(default)s)",
    )
    parser.add_argument(
        "--ask", nargs=2, metavar=("TARGET", "PAYLOAD"),
        help="send PAYLOAD (a file, or - for standard input) to listener TARGET,"
        " print the reply and stop",
    )
    parser.add_argument(
        "--timeout", type=seconds, default=None, metavar="SECONDS",
        help="how long --ask waits for the reply (default: the runtime's, 30 s)",
    )
    log_level_option(parser)


def run(args: argparse.Namespace) -> int:
    from ..runtime import Runtime

    data = read_payload(args.ask[1]) if args.ask else b""
    runtime = Runtime.from_config(args.file, base=args.base, log_level=args.log_level)
    if args.ask:
        with runtime, interrupt_on(signal.SIGTERM):
            return ask_and_print(runtime, args.ask[0], data, args.timeout)
    # Handlers go in after start: the admin process is forked during start and
    # must not inherit a handler that turns its SIGTERM into a no-op event.
    with runtime, stop_on_signal() as stop:
        where = f"admin port {runtime.admin_port}" if runtime.admin_port else "in process"
        print(
            f"xmlactors: running {args.file} on {runtime.base} ({where});"
            " stop with Ctrl-C or SIGTERM",
            flush=True,
        )
        wait_for(stop)
    return OK
