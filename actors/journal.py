"""The journal of durable Buffer runs: one SQLite file, so a run survives a crash of everything.

A durable run (``BufferStart(durable=True)``, or every run of a
``Runtime(journal=..., durable=True)``) writes its start (target, options,
every item as sent) when its actor begins, and each item's result as it
arrives, committed before the run sends anything on (one transaction per
batch of replies). After the system dies by any means, a new runtime on the
same file lists the runs that never finished (``Journal.unfinished``) and
resumes one: only the indexes with no recorded result are sent again.

So an item whose result was recorded runs at most once; one that was in flight
at the crash runs at least once, maybe twice. WAL mode lets each run's
process write while others read. A file that is not a journal (another
database, a text file, a newer schema) is refused with ``JournalError``,
never written over. Only ``sqlite3`` of the standard library; no Thespian.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import XmlActorsError
from .parsed import Payload
from .primitives.results import ItemResult

__all__ = ["Journal", "JournalError", "JournalConfig", "RunRecord", "APPLICATION_ID",
           "SCHEMA_VERSION"]

APPLICATION_ID = 0x786D6C61  # "xmla": PRAGMA application_id of every journal
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE runs (
    buffer_id TEXT PRIMARY KEY, target TEXT NOT NULL, total INTEGER NOT NULL,
    options TEXT NOT NULL, started REAL NOT NULL, finished REAL,
    dispatched INTEGER NOT NULL DEFAULT 0  -- every index below it was sent at least once
);
CREATE TABLE items (
    buffer_id TEXT NOT NULL, idx INTEGER NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (buffer_id, idx)
);
CREATE TABLE results (
    buffer_id TEXT NOT NULL, idx INTEGER NOT NULL, success INTEGER NOT NULL,
    reason TEXT NOT NULL, attempts INTEGER NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (buffer_id, idx)
);
"""


@dataclass(frozen=True, slots=True)
class JournalConfig:
    """A runtime's journal as its services see it: the file, and whether every run is durable."""

    path: str
    every_run: bool = False


class JournalError(XmlActorsError, ValueError):
    """A journal file that cannot be used: not one of ours, or damaged. It is left as it is."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One durable run as the journal knows it."""

    buffer_id: str
    target: str
    total: int
    recorded: int  # items with a result
    options: dict[str, Any]
    started: float
    finished: float | None

    @property
    def done(self) -> bool:
        return self.finished is not None


class Journal:
    """One connection to a journal file (each process opens its own)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._check(existed)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} is not an xmlactors journal ({exc}): refused, "
                               "left as it is") from None

    def _check(self, existed: bool) -> None:
        db = self.db
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if existed and (application_id, version) != (APPLICATION_ID, SCHEMA_VERSION):
            raise JournalError(
                f"{self.path} is not an xmlactors journal (application_id {application_id:#x},"
                f" schema {version}; expected {APPLICATION_ID:#x}, {SCHEMA_VERSION}): refused,"
                " left as it is")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a crash of the process
        if not existed:
            db.executescript(f"BEGIN; {_SCHEMA} PRAGMA application_id={APPLICATION_ID};"
                             f" PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")

    def transaction(self) -> Any:
        """``with journal.transaction():`` one atomic write (BEGIN IMMEDIATE ... COMMIT)."""
        return _Transaction(self.db)

    # -- a run writes -------------------------------------------------------

    def start(self, buffer_id: str, target: str, items: Sequence[Payload],
              options: dict[str, Any]) -> None:
        """Record a run's start with every item as sent (nothing, if it is already recorded)."""
        with self.transaction():
            known = self.db.execute("SELECT 1 FROM runs WHERE buffer_id=?", (buffer_id,))
            if known.fetchone():
                return
            self.db.execute("INSERT INTO runs (buffer_id, target, total, options, started)"
                            " VALUES (?, ?, ?, ?, ?)",
                            (buffer_id, target, len(items), json.dumps(options), time.time()))
            self.db.executemany("INSERT INTO items VALUES (?, ?, ?)",
                                ((buffer_id, i, bytes(p)) for i, p in enumerate(items)))

    def record(self, buffer_id: str, results: Iterable[ItemResult], dispatched: int = 0) -> None:
        """Record results (the first one for an index stays) and that every index below
        ``dispatched`` is being sent, in one transaction, before any of it goes out."""
        rows = [(buffer_id, r.index, int(r.success), r.reason, r.attempts, bytes(r.payload))
                for r in results]
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?)", rows)
            if dispatched:
                self.db.execute("UPDATE runs SET dispatched=MAX(dispatched, ?) WHERE buffer_id=?",
                                (dispatched, buffer_id))

    def dispatched(self, buffer_id: str) -> int:
        """Every index below this was sent at least once (before a crash, maybe)."""
        row = self.db.execute("SELECT dispatched FROM runs WHERE buffer_id=?",
                              (buffer_id,)).fetchone()
        return int(row[0]) if row else 0

    def finish(self, buffer_id: str) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET finished=? WHERE buffer_id=?",
                            (time.time(), buffer_id))

    # -- a runtime reads ----------------------------------------------------

    def runs(self) -> list[RunRecord]:
        """Every run of the journal, oldest first."""
        rows = self.db.execute(
            "SELECT r.buffer_id, r.target, r.total, r.options, r.started, r.finished,"
            " (SELECT COUNT(*) FROM results s WHERE s.buffer_id = r.buffer_id)"
            " FROM runs r ORDER BY r.started").fetchall()
        return [RunRecord(b, t, n, c, json.loads(o), s, f) for b, t, n, o, s, f, c in rows]

    def unfinished(self) -> list[RunRecord]:
        return [run for run in self.runs() if not run.done]

    def run(self, buffer_id: str) -> RunRecord:
        """One run; ``JournalError`` naming it if the journal has no such run."""
        found = [run for run in self.runs() if run.buffer_id == buffer_id]
        if not found:
            raise JournalError(f"{self.path} has no run {buffer_id!r}")
        return found[0]

    def results(self, buffer_id: str) -> dict[int, ItemResult]:
        """The recorded results of a run, by index."""
        rows = self.db.execute("SELECT idx, success, reason, attempts, payload FROM results"
                               " WHERE buffer_id=?", (buffer_id,))
        return {i: ItemResult(i, bool(s), bytes(p), r, a) for i, s, r, a, p in rows}

    def items(self, buffer_id: str) -> list[bytes]:
        """Every item of a run as it was sent, in index order."""
        rows = self.db.execute("SELECT payload FROM items WHERE buffer_id=? ORDER BY idx",
                               (buffer_id,))
        return [bytes(p) for (p,) in rows]

    def unanswered(self, buffer_id: str) -> list[tuple[int, bytes]]:
        """``(index, item)`` of each item of the run with no recorded result, in index order."""
        rows = self.db.execute(
            "SELECT i.idx, i.payload FROM items i WHERE i.buffer_id=? AND NOT EXISTS"
            " (SELECT 1 FROM results s WHERE s.buffer_id=i.buffer_id AND s.idx=i.idx)"
            " ORDER BY i.idx", (buffer_id,))
        return [(i, bytes(p)) for i, p in rows]

    def close(self) -> None:
        self.db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
