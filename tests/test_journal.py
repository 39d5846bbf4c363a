"""Durable runs: the journal file, and a Buffer that survives a crash of every process.

The journal's logic is tested on real SQLite files (a crash is a connection
closed at any point); the crash test SIGKILLs a process holding a
``multiprocTCPBase`` runtime and every actor process of it, mid-run, and a
new runtime on the same journal finishes the run.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import ConfigError, Runtime
from actors.journal import Journal, JournalError
from actors.primitives import BufferStart
from actors.primitives.results import ItemResult
from actors.processes import end_session, kill, session_pids
from actors.testing import RuntimeFactory
from tests import listeners as L

ROOT = Path(__file__).resolve().parent.parent


def _result(index: int) -> ItemResult:
    return ItemResult(index, True, f"<r>{index}</r>".encode())


@settings(max_examples=40, deadline=None)
@given(total=st.integers(1, 30), data=st.data())
def test_any_crash_point_then_resume_gives_each_index_exactly_one_result(
    tmp_path_factory: pytest.TempPathFactory, total: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("j") / "runs.sqlite"
    order = data.draw(st.permutations(range(total)))
    crash_at = data.draw(st.integers(0, total))
    batch = data.draw(st.integers(1, 5))
    journal = Journal(path)
    journal.start("b", "w", [f"<i>{i}</i>".encode() for i in range(total)], {})
    done = order[:crash_at]
    for k in range(0, len(done), batch):
        journal.record("b", [_result(i) for i in done[k:k + batch]])
    journal.db.close()  # the crash: nothing more is written

    again = Journal(path)
    assert [r.buffer_id for r in again.unfinished()] == ["b"]
    todo = [index for index, _item in again.unanswered("b")]
    assert sorted(todo) == sorted(set(range(total)) - set(done))
    again.record("b", [_result(i) for i in todo] + [_result(i) for i in done])  # duplicates too
    again.finish("b")
    results = again.results("b")
    assert sorted(results) == list(range(total))
    assert all(results[i] == _result(i) for i in range(total))
    assert again.unfinished() == []
    again.close()


def test_a_file_that_is_not_a_journal_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"my notes, not a database\n" * 100)
    with pytest.raises(JournalError, match="is not an xmlactors journal"):
        Journal(text)
    assert text.read_bytes() == b"my notes, not a database\n" * 100
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    before = other.read_bytes()
    with pytest.raises(JournalError, match="application_id 0x0"):
        Journal(other)
    assert other.read_bytes() == before
    with pytest.raises(JournalError):
        Runtime(journal=text).start()


def test_a_durable_run_is_recorded_and_resume_answers_from_the_journal(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    path = tmp_path / "runs.sqlite"
    rt = factory.started(journal=path)
    rt.register("w", L.work, L.Work)
    outcome = rt.buffer("w", [L.Work(value=i) for i in range(5)], durable=True, buffer_id="d1")
    assert outcome.ok
    (record,) = rt.runs()
    assert (record.buffer_id, record.total, record.recorded, record.done) == ("d1", 5, 5, True)
    again = rt.resume("d1")
    assert [v.value for v in again.values] == [0, 2, 4, 6, 8] and again.buffer_id == "d1"


def test_every_run_is_durable_when_the_runtime_says_so(factory: RuntimeFactory,
                                                        tmp_path: Path) -> None:
    rt = factory.started(journal=tmp_path / "runs.sqlite", durable=True)
    rt.register("w", L.work, L.Work)
    rt.map("w", [L.Work(value=1)])
    assert [r.total for r in rt.runs()] == [1]


def test_durable_without_a_journal_is_refused(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("w", L.work, L.Work)
    refused = rt.ask("system.buffer", BufferStart("w", [L.Work()], durable=True))
    assert "durable=True needs a journal" in refused.error
    with pytest.raises(ConfigError, match="no journal"):
        rt.runs()


CHILD = textwrap.dedent("""
    import sys
    from actors import Runtime
    from tests import listeners as L
    journal, log_dir = sys.argv[1], sys.argv[2]
    rt = Runtime("multiprocTCPBase", journal=journal)
    rt.register("slow", L.flaky, L.Flaky, workers=2, concurrency=4)
    rt.start()
    print(rt.session_id, flush=True)
    items = [L.Flaky(index=i, log_dir=log_dir, sleep_ms=50) for i in range(200)]
    for index, _ in rt.stream("slow", items, durable=True, buffer_id="crash", timeout=120,
                              max_in_flight=8):
        print(index, flush=True)  # each is in the journal before it is streamed here

""")


@pytest.mark.multiproc
def test_a_durable_run_survives_the_sigkill_of_every_process_and_resumes(
    tmp_path: Path, marked_env: dict[str, str], runtime_factory: RuntimeFactory,
    xmlactors_base: str,
) -> None:
    if xmlactors_base != "multiprocTCPBase":
        pytest.skip("a crash of every process: multiprocTCPBase (run once, not once per base)")
    journal, logs = tmp_path / "runs.sqlite", tmp_path / "attempts"
    logs.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(journal), str(logs)], cwd=ROOT,
                             env=dict(marked_env, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        session = int(child.stdout.readline())
        streamed = [child.stdout.readline() for _ in range(100)]  # bounded by the test timeout
        assert all(line.strip() for line in streamed)
        kill([child.pid, *session_pids(session)])  # the owner and every actor process at once
        end_session(session, grace=0.0)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    before = Journal(journal)
    recorded = set(before.results("crash"))
    before.close()
    ran_before = {i for i in range(200) if L.attempts_of(str(logs), i) > 0}
    assert 100 <= len(recorded) < 200, len(recorded)

    rt = runtime_factory.started("multiprocTCPBase", journal=journal)
    rt.register("slow", L.flaky, L.Flaky, workers=2, concurrency=4)
    assert [r.buffer_id for r in rt.runs() if not r.done] == ["crash"]
    outcome = rt.resume("crash", timeout=120)
    assert outcome.ok and outcome.total == 200
    assert [v.index for v in outcome.values] == list(range(200))
    attempts = {v.index: v.pid for v in outcome.values}  # Napped.pid: HandlerMetadata.attempt
    assert all(attempts[i] >= 2 for i in ran_before - recorded), "a repeat said attempt 1"
    runs = [L.attempts_of(str(logs), i) for i in range(200)]
    assert all(runs[i] == 1 for i in recorded), "a recorded item ran again"
    assert all(1 <= runs[i] <= 2 for i in range(200) if i not in recorded)
    assert rt.runs()[0].done




def test_the_runs_command_lists_shows_and_resumes_a_run(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    journal = Journal(path)
    items = [f"<Add><A>{i}</A><B>1</B></Add>".encode() for i in range(4)]
    journal.start("r1", "calculator.add", items, {"timeout": 30.0})
    journal.record("r1", [ItemResult(0, True, b"<Sum><Value>1</Value></Sum>")])
    journal.close()

    def runs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "actors", "runs", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)

    listed = runs("list", str(path))
    assert listed.returncode == 0 and "r1\tcalculator.add\t1/4\tunfinished" in listed.stdout
    shown = runs("show", str(path), "r1")
    assert "1 of 4 items recorded; 3 to run again" in shown.stdout
    assert "1\t<Add><A>1</A><B>1</B></Add>" in shown.stdout
    resumed = runs("resume", str(path), "r1", "--config", "examples/calc.xml")
    assert resumed.returncode == 0, resumed.stderr
    assert "r1: 4 of 4 succeeded, 0 failed, 0 missing" in resumed.stdout
    assert "finished" in runs("list", str(path)).stdout
    bad = tmp_path / "bad.sqlite"
    bad.write_text("nope " * 50)
    refused = runs("list", str(bad))
    assert refused.returncode == 2 and "is not an xmlactors journal" in refused.stderr
