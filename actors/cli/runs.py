"""``xmlactors runs list|show|resume JOURNAL``: the durable runs of a journal, and finishing one.

``list`` prints one line per run (id, target, results recorded of total,
finished or not); ``show ID`` prints one run's items without a recorded
result; ``resume ID --config ORGANISM`` starts the organism with the journal
and finishes the run (only the items with no recorded result run again),
printing its ``BufferComplete`` counts. A file that is not a journal exits 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..bases import BASES
from ._common import BAD_USAGE, FAILED, OK, UsageError, log_level_option, seconds

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "show", "resume"), help="what to do")
    parser.add_argument("journal", metavar="JOURNAL", help="the journal file (SQLite)")
    parser.add_argument("buffer_id", nargs="?", metavar="ID", help="the run (show, resume)")
    parser.add_argument("--config", metavar="ORGANISM",
                        help="resume: the organism file whose listeners the run needs")
    parser.add_argument("--base", default="simpleSystemBase", choices=BASES, metavar="NAME",
                        help="resume: the Thespian system base (default: %(default)s)")
    parser.add_argument("--timeout", type=seconds, default=None, metavar="SECONDS",
                        help="resume: how long the rest of the run may take")
    log_level_option(parser)


def run(args: argparse.Namespace) -> int:
    from ..journal import Journal, JournalError
    from ..runtime import Runtime

    if args.action != "list" and not args.buffer_id:
        raise UsageError(f"'{args.action}' needs the run's ID")
    try:
        journal = Journal(args.journal)
    except JournalError as exc:
        print(f"xmlactors runs: {exc}", file=sys.stderr)
        return BAD_USAGE
    try:
        if args.action == "list":
            for record in journal.runs():
                state = "finished" if record.done else "unfinished"
                started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))
                print(f"{record.buffer_id}\t{record.target}\t{record.recorded}/{record.total}"
                      f"\t{state}\t{started}")
            return OK
        record = journal.run(args.buffer_id)
        if args.action == "show":
            todo = journal.unanswered(record.buffer_id)
            print(f"{record.buffer_id}: {record.recorded} of {record.total} items recorded;"
                  f" {len(todo)} to run again")
            for index, item in todo:
                print(f"{index}\t{item.decode('utf-8')}")
            return OK
    except JournalError as exc:
        print(f"xmlactors runs: {exc}", file=sys.stderr)
        return FAILED
    finally:
        journal.close()
    if not args.config:
        raise UsageError("resume needs --config ORGANISM (the listeners the run goes to)")
    runtime = Runtime.from_config(args.config, base=args.base, journal=args.journal,
                                  log_level=args.log_level)
    with runtime:
        outcome = runtime.resume(args.buffer_id, timeout=args.timeout)
    print(f"{outcome.buffer_id}: {outcome.successful} of {outcome.total} succeeded,"
          f" {outcome.failed} failed, {outcome.missing} missing")
    return OK if outcome.ok else FAILED
