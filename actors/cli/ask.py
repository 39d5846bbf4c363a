"""``xmlactors ask TARGET PAYLOAD``: ask a served system once, print the reply, detach.

It attaches to the system (``Runtime.connect``), sends one payload, prints
the reply and lets go: the served system keeps running.
"""

from __future__ import annotations

import argparse
import signal
import sys

from ..errors import NoSystemError
from ._common import FAILED, ask_and_print, interrupt_on, port, read_payload, seconds

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help="the listener to ask")
    parser.add_argument(
        "payload", metavar="PAYLOAD", help="the payload: a file, or - for standard input"
    )
    parser.add_argument(
        "--admin-port", type=port, required=True, metavar="N",
        help="the admin port of the served system (its serving line names it)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", metavar="ADDR",
        help="the address the served system (a convention's leader) listens on, on this host or"
        " another one this host reaches (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=seconds, default=None, metavar="SECONDS",
        help="how long to wait for the reply (default: the runtime's, 30 s)",
    )


def run(args: argparse.Namespace) -> int:
    from ..runtime import Runtime

    data = read_payload(args.payload)
    try:
        runtime = Runtime.connect(args.admin_port, args.host)
    except NoSystemError as exc:
        print(f"xmlactors: {exc}", file=sys.stderr)
        return FAILED
    with runtime, interrupt_on(signal.SIGTERM):
        return ask_and_print(runtime, args.target, data, args.timeout)
