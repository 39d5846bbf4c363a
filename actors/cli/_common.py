"""What every ``xmlactors`` subcommand shares: exit statuses, errors, and the steps they repeat.

Exit status (the same for every subcommand):

- 0: the file is valid / a reply was printed;
- 1: the listener answered ``<huh>``, the target is unknown, or no reply came in time;
- 2: bad usage (argparse's own status) or a bad organism file;
- 130: interrupted (Ctrl-C or SIGTERM while asking).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

from lxml import etree

from ..errors import (
    ConfigError,
    DuplicateListenerError,
    ListenerError,
    NotImportableError,
    PayloadError,
    UnknownListenerError,
)
from ._progress import ProgressBar

__all__ = [
    "OK", "FAILED", "BAD_USAGE", "INTERRUPTED", "BAD_FILE_ERRORS", "UsageError",
    "seconds", "port", "log_level_option", "read_payload", "ask_and_print", "print_reply",
    "stop_on_signal", "interrupt_on", "wait_for",
]

OK, FAILED, BAD_USAGE = 0, 1, 2
INTERRUPTED = 130  # the shell's 128 + SIGINT, for an ask cut short by Ctrl-C or SIGTERM

BAD_FILE_ERRORS = (ConfigError, NotImportableError, DuplicateListenerError)
"""Errors that mean the organism file (or what it names) is wrong: exit 2."""


class UsageError(Exception):
    """A problem with the command line that argparse could not see (exit 2)."""


def seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"the timeout must be > 0 seconds, got {text!r}")
    return value


def port(text: str) -> int:
    """An argparse type: a TCP port number."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {text!r}")
    return number


def log_level_option(parser: argparse.ArgumentParser) -> None:
    """``--log-level``: of xmlactors' own lines on standard error (``info``: one per run)."""
    parser.add_argument(
        "--log-level", default="warning", choices=("debug", "info", "warning", "error"),
        metavar="LEVEL",
        help="xmlactors' own log lines on stderr: debug, info (adds one line per run),"
        " warning (default) or error",
    )


def read_payload(source: str) -> bytes:
    """The bytes to send, from a file or ``-`` (standard input), passed on unparsed."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise UsageError(f"cannot read payload {source!r}: {exc.strerror or exc}") from None


def ask_and_print(runtime: Any, target: str, data: bytes, timeout: float | None) -> int:
    """Ask ``target`` once, print the reply XML (or the error), return the exit status."""
    bar = ProgressBar(sys.stderr)  # draws only for a Buffer started with progress=true
    try:
        reply = runtime.ask(target, data, timeout, on_progress=bar)
    except ListenerError as exc:
        bar.close()
        print(f"xmlactors: {target} answered <huh>: {exc.huh}", file=sys.stderr)
        return FAILED
    except (UnknownListenerError, TimeoutError, PayloadError) as exc:
        bar.close()
        print(f"xmlactors: {exc}", file=sys.stderr)
        return FAILED
    bar.close(finished=True)
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
def stop_on_signal() -> Iterator[threading.Event]:
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
def interrupt_on(*signums: signal.Signals) -> Iterator[None]:
    """Make these signals raise ``KeyboardInterrupt``, as Ctrl-C does, so ``with runtime:`` shuts down.

    Without it SIGTERM would end this process at once and leave the
    daemonized actor-system processes of a multiprocess base running. It
    also cuts short a wait a stop-event could not (a placement wait). The
    previous handlers are restored on exit.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handle) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_for(stop: threading.Event) -> None:
    """Block until ``stop`` is set (a timed wait, so signal handlers run promptly)."""
    while not stop.wait(1.0):
        pass
