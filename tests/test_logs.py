"""The log lines a deployment follows: one per run, with the thread id.

A run logs its line while it handles its last answer, before its own answer
leaves: once the caller has the answer, the line is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors import BufferFailedError, ConfigError, Envelope, Runtime, SequenceFailedError
from actors.primitives import BufferStart
from examples.two_members import Served
from tests import listeners as L
from tests.processes import WAIT, ask, serve

RUN_LINE = re.compile(
    r'^run_finished run="(?P<run>[^"]+)" kind="(?P<kind>\w+)" label="(?P<label>[^"]*)"'
    r' outcome="(?P<outcome>\w+)" (?P<counts>(?:\w+=\d+ )+)seconds=(?P<seconds>\d+\.\d{3})'
    r' thread="(?P<thread>[^"]+)"$'
)


class _Kept(logging.Handler):
    """Keeps what the ``xmlactors`` logger says in this process (the in-process actors log here)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))

    def attach(self) -> None:
        """After the runtime starts: starting configures logging, dropping earlier handlers."""
        logging.getLogger("xmlactors").addHandler(self)


@pytest.fixture
def kept() -> Iterator[_Kept]:
    handler = _Kept()
    yield handler
    logging.getLogger("xmlactors").removeHandler(handler)


def _run_lines(kept: _Kept) -> list[dict[str, str]]:
    found = []
    for level, line in kept.lines:
        if line.startswith("run_finished"):
            match = RUN_LINE.match(line)
            assert match is not None, line
            assert level == logging.INFO
            found.append(match.groupdict())
    return found


def _counts(line: dict[str, str]) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in line["counts"].split())}


def test_each_run_logs_one_line_with_its_outcome_counts_and_thread(kept: _Kept) -> None:
    with Runtime(log_level="INFO") as rt:
        kept.attach()
        rt.register("work", L.work, L.Work)
        rt.register("add", L.add, L.Add)
        rt.register("crash", L.crash, L.Echo)
        items = [L.Work(value=i, crash=i in (1, 3)) for i in range(5)]
        with pytest.raises(BufferFailedError):
            rt.map("work", items, timeout=WAIT)
        assert rt.map("add", [L.Add(1, 2)], timeout=WAIT) == [L.Sum(3)]
        with pytest.raises(SequenceFailedError):
            rt.sequence("add,crash", L.Add(1, 1), timeout=WAIT)
    partial, complete, failed = _run_lines(kept)
    assert (partial["kind"], partial["label"], partial["outcome"]) == ("buffer", "work", "partial")
    assert _counts(partial) == {"items": 5, "succeeded": 3, "failed": 2, "missing": 0}
    assert (complete["label"], complete["outcome"], _counts(complete)["items"]) == (
        "add", "complete", 1)
    assert (failed["kind"], failed["label"], failed["outcome"]) == ("sequence", "add,crash", "failed")
    assert _counts(failed) == {"steps": 2, "failed_at": 1}
    assert len({line["run"] for line in (partial, complete, failed)}) == 3
    assert all(float(line["seconds"]) < WAIT for line in (partial, complete, failed))


def test_the_run_line_carries_the_thread_of_the_conversation(kept: _Kept) -> None:
    with Runtime(log_level="info") as rt:
        kept.attach()
        rt.register("add", L.add, L.Add)
        start = BufferStart("add", [L.Add(1, 1)], buffer_id="b-7").to_bytes()
        rt.ask("system.buffer", Envelope("me", "system.buffer", "conversation-42", start),
               timeout=WAIT)
    (line,) = _run_lines(kept)
    assert (line["run"], line["thread"]) == ("b-7", "conversation-42")


def test_at_the_default_level_runs_log_nothing(kept: _Kept) -> None:
    with Runtime() as rt:
        kept.attach()
        rt.register("add", L.add, L.Add)
        rt.map("add", [L.Add(1, 1)], timeout=WAIT)
    assert _run_lines(kept) == []


def test_an_unknown_log_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown log level 'loud'"):
        Runtime(log_level="loud")


@pytest.mark.multiproc
def test_serve_at_info_writes_a_run_line_from_the_run_actors_process(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    from actors.bases import free_port

    admin = free_port()
    served = serve(serving, marked_env, tmp_path / "serve.log", "examples/calc.xml",
                   "--admin-port", str(admin), "--log-level", "info")
    served.wait_for_line("serving", WAIT)
    start = BufferStart("calculator.add", ["<Add><A>1</A><B>2</B></Add>"] * 3, buffer_id="b-cli")
    answered = ask(marked_env, admin, "system.buffer", start.to_bytes())
    assert answered.returncode == 0, answered.stderr
    line = served.wait_for_line('run_finished run="b-cli"', WAIT)
    assert 'kind="buffer" label="calculator.add" outcome="complete" items=3 succeeded=3' in line
    assert served.stop() == 0
