"""The ``xmlactors`` command: check an organism file, run it, ask it once.

``serve`` and ``ask`` (deployments: a long-running system and a client of
it) live in ``actors.cli_serve`` and are imported only when used.

Exit status (the same for every subcommand):

- 0: the file is valid / a reply was printed;
- 1: the listener answered ``<huh>``, the target is unknown, or no reply came in time;
- 2: bad usage (argparse's own status) or a bad organism file.

Handlers are imported by ``package.module:name``; like ``python -m``, the
command puts the current directory first on ``sys.path`` so an organism's
own modules (``examples.calc``) import without being installed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from lxml import etree

from ._progress import ProgressBar
from .bases import BASES
from .errors import (
    ConfigError,
    DuplicateListenerError,
    ListenerError,
    NotImportableError,
    UnknownListenerError,
)

__all__ = ["SUBCOMMANDS", "Subcommand", "build_parser", "main", "print_reply"]

OK, FAILED, BAD_USAGE = 0, 1, 2
INTERRUPTED = 130  # the shell's 128 + SIGINT, for an ask cut short by Ctrl-C or SIGTERM

BAD_FILE_ERRORS = (ConfigError, NotImportableError, DuplicateListenerError)
"""Errors that mean the organism file (or what it names) is wrong: exit 2."""


@dataclass(frozen=True)
class Subcommand:
    """One ``xmlactors NAME``: how it adds its arguments and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# -- check -----------------------------------------------------------------


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the organism file to validate")


def _run_check(args: argparse.Namespace) -> int:
    """Validate FILE, import its handlers and payloads, list its listeners."""
    from .organism import load_organism

    organism = load_organism(args.file)
    for listener in organism.listeners:
        tags = " ".join(f"<{cls.__name__}>" for cls in listener.payload_classes)
        print(f"{listener.name}\tworkers={listener.workers}\t{tags}\t{listener.description}")
    return OK


# -- run -------------------------------------------------------------------


def _configure_run(parser: argparse.ArgumentParser) -> None:
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
        "--timeout", type=_seconds, default=None, metavar="SECONDS",
        help="how long --ask waits for the reply (default: the runtime's, 30 s)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be > 0 seconds, got {text!r}")
    return value


def _run_run(args: argparse.Namespace) -> int:
    """Start the organism; ask once (``--ask``) or serve until SIGINT/SIGTERM."""
    from .runtime import Runtime

    data = _read_payload(args.ask[1]) if args.ask else b""
    runtime = Runtime.from_config(args.file, base=args.base)
    if args.ask:
        with runtime, _interrupt_on_sigterm():
            return _ask(runtime, args.ask[0], data, args.timeout)
    # Handlers go in after start: the admin process is forked during start and
    # must not inherit a handler that turns its SIGTERM into a no-op event.
    with runtime, _stop_on_signal() as stop:
        where = f"admin port {runtime.admin_port}" if runtime.admin_port else "in process"
        print(
            f"xmlactors: running {args.file} on {runtime.base} ({where});"
            " stop with Ctrl-C or SIGTERM",
            flush=True,
        )
        _wait(stop)
    return OK


def _read_payload(source: str) -> bytes:
    """The bytes to send, from a file or ``-`` (standard input), passed on unparsed."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise _UsageError(f"cannot read payload {source!r}: {exc.strerror or exc}") from None


def _ask(runtime: Any, target: str, data: bytes, timeout: float | None) -> int:
    bar = ProgressBar(sys.stderr)  # draws only for a Buffer started with progress=true
    try:
        reply = runtime.ask(target, data, timeout, on_progress=bar)
    except ListenerError as exc:
        print(f"xmlactors: {target} answered <huh>: {exc.huh}", file=sys.stderr)
        return FAILED
    except (UnknownListenerError, TimeoutError) as exc:
        print(f"xmlactors: {exc}", file=sys.stderr)
        return FAILED
    finally:
        bar.close()
    print_reply(reply)
    return OK


def print_reply(reply: Any, out: TextIO | None = None) -> None:
    """Write a reply's XML, one document per line (xmlify object or lxml element)."""
    stream = sys.stdout if out is None else out
    if hasattr(reply, "to_xml"):
        text = str(reply.to_xml())
    else:
        text = etree.tostring(reply, encoding="unicode")
    stream.write(text + "\n")
    stream.flush()


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set, so the main thread can leave ``with runtime:``.

    Leaving normally (rather than by KeyboardInterrupt mid-call) lets the
    runtime shut the actor system down and end its processes. The previous
    handlers are restored on exit.
    """
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Make SIGTERM raise ``KeyboardInterrupt``, as Ctrl-C does, so ``with runtime:`` shuts down.

    Without it SIGTERM would end this process at once and leave the
    daemonized actor-system processes of a multiprocess base running.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait(stop: threading.Event) -> None:
    # A timed wait, so the signal handler runs promptly whatever the platform's lock semantics.
    while not stop.wait(1.0):
        pass


# -- the table ---------------------------------------------------------------


def _later(name: str) -> Callable[..., Any]:
    """``actors.cli_serve.NAME``, imported on first call (it imports this module)."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(".cli_serve", __package__), name)(*args)

    return call


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("check", "validate an organism file and list its listeners",
               _configure_check, _run_check),
    Subcommand("run", "start an organism; with --ask, send one payload and print the reply",
               _configure_run, _run_run),
    Subcommand("serve", "serve an organism until SIGINT/SIGTERM; --convention joins a leader",
               _later("configure_serve"), _later("run_serve")),
    Subcommand("ask", "send one payload to a served system and print the reply",
               _later("configure_ask"), _later("run_ask")),
)


class _UsageError(Exception):
    """A problem with the command line that argparse could not see (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    """The ``xmlactors`` argument parser, one subparser per entry of ``SUBCOMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="xmlactors", description="Run XML listener organisms on Thespian actors."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for sub in SUBCOMMANDS:
        sub_parser = commands.add_parser(sub.name, help=sub.help, description=sub.help)
        sub.configure(sub_parser)
        sub_parser.set_defaults(handler=sub.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xmlactors`` console script and ``python -m actors``."""
    args = build_parser().parse_args(argv)
    _import_from_cwd()
    try:
        status: int = args.handler(args)
    except BAD_FILE_ERRORS as exc:
        print(f"xmlactors: {exc}", file=sys.stderr)
        return BAD_USAGE
    except _UsageError as exc:
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
