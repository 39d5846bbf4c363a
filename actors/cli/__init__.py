"""The ``xmlactors`` command: one module per subcommand, the shared parts in ``_common``.

Handlers are imported by ``package.module:name``; like ``python -m``, the
command puts the current directory first on ``sys.path`` so an organism's
own modules (``examples.calc``) import without being installed. Exit
statuses are listed in ``_common``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("check", "validate an organism file and list its listeners"),
    ("run", "start an organism; with --ask, send one payload and print the reply"),
    ("serve", "serve an organism until SIGINT/SIGTERM; --convention joins a leader"),
    ("ask", "send one payload to a served system and print the reply"),
    ("runs", "list, show or resume the durable runs of a journal"),
)
"""Each ``xmlactors NAME`` and its help; module ``actors.cli.NAME`` has its ``configure`` and ``run``."""


def build_parser() -> argparse.ArgumentParser:
    """The ``xmlactors`` argument parser, one subparser per entry of ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="xmlactors", description="Run XML listener organisms on Thespian actors."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, text in SUBCOMMANDS:
        module = importlib.import_module(f".{name}", __name__)
        sub_parser = commands.add_parser(name, help=text, description=text)
        module.configure(sub_parser)
        sub_parser.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmlactors`` console script and ``python -m actors``."""
    # Imported here: a package __init__ that imports its own modules would make
    # each of them depend on the others (see tests/test_layering.py).
    from ._common import BAD_FILE_ERRORS, BAD_USAGE, INTERRUPTED, UsageError

    args = build_parser().parse_args(argv)
    _import_from_cwd()
    try:
        status: int = args.handler(args)
    except BAD_FILE_ERRORS as exc:
        print(f"xmlactors: {exc}", file=sys.stderr)
        return BAD_USAGE
    except UsageError as exc:
        print(f"xmlactors {args.command}: {exc}", file=sys.stderr)
        return BAD_USAGE
    except KeyboardInterrupt:
        print("xmlactors: interrupted", file=sys.stderr)
        return INTERRUPTED
    return status


def _import_from_cwd() -> None:
    """Put the current directory first on ``sys.path`` (as ``python -m`` does)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
