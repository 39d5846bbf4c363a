"""Buffers that survive failed attempts: retries with backoff, per-attempt deadlines, dead letters.

The pure core is driven with a fake clock; the runs go through real actor
systems on both bases, with a handler that counts its attempts in files (so
worker processes count together).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.primitives import BufferStart, DeadLetter, parse_results
from actors.primitives.buffer_run import BufferRun
from actors.primitives.retry import RetryPolicy, parse_retry_on
from actors.testing import FakeClock, RuntimeFactory
from tests import listeners as L

# -- the pure core -----------------------------------------------------------------


def _run(clock: FakeClock, retries: int, **kwargs: object) -> BufferRun:
    return BufferRun("r", 1, window=1, timeout=600, clock=clock,
                     retry=RetryPolicy(retries, backoff=1.0), uniform=lambda: 0.5, **kwargs)


def test_a_failure_goes_again_after_a_backoff_that_doubles() -> None:
    clock = FakeClock()
    run = _run(clock, retries=3)
    waits = []
    for _attempt in range(3):
        assert run.take_dispatches() == [0]
        assert run.record(0, False, b"<huh>no</huh>", "error") is False  # not filled: again
        due = run.next_wakeup()
        assert due is not None
        waits.append(due - clock())
        assert run.take_dispatches() == []  # not before its time
        clock.advance(due - clock())
    assert waits == [0.5, 1.0, 2.0]  # half (the fake jitter) of 1, 2, 4 s
    assert run.take_dispatches() == [0]
    assert run.record(0, True, b"<ok/>")
    assert run.finished and run.ordered_results()[0].attempts == 4  # type: ignore[union-attr]


def test_the_last_allowed_failure_stands_with_its_attempts() -> None:
    clock = FakeClock()
    run = _run(clock, retries=1)
    run.take_dispatches()
    run.record(0, False, b"<huh>a</huh>", "error")
    clock.advance(10)
    run.take_dispatches()
    assert run.record(0, False, b"<huh>b</huh>", "error")
    result = run.ordered_results()[0]
    assert result is not None and (result.reason, result.attempts) == ("error", 2)


def test_a_reason_outside_retry_on_is_not_retried() -> None:
    clock = FakeClock()
    run = BufferRun("r", 1, window=1, timeout=600, clock=clock,
                    retry=RetryPolicy(5, retry_on=parse_retry_on("timeout")))
    run.take_dispatches()
    assert run.record(0, False, b"<huh>x</huh>", "error")
    with pytest.raises(ValueError, match="unknown reason 'nope'"):
        parse_retry_on("timeout nope")


def test_an_attempt_past_item_timeout_times_out_and_goes_again() -> None:
    clock = FakeClock()
    run = _run(clock, retries=1, item_timeout=2.0)
    run.take_dispatches()
    assert run.next_wakeup() == clock() + 2.0
    clock.advance(2.0)
    assert run.expire_items() == 1
    clock.advance(10)
    assert run.take_dispatches() == [0]
    assert run.record(0, True, b"<ok/>")
    assert run.ordered_results()[0].attempts == 2  # type: ignore[union-attr]


def test_at_the_deadline_an_item_waiting_to_go_again_keeps_its_failure() -> None:
    clock = FakeClock()
    run = BufferRun("r", 1, window=1, timeout=5, clock=clock, retry=RetryPolicy(3, backoff=100))
    run.take_dispatches()
    run.record(0, False, b"<huh>x</huh>", "error")
    clock.advance(5)
    assert run.expire()
    result = run.ordered_results()[0]
    assert result is not None and result.reason == "error" and result.payload == b"<huh>x</huh>"


def test_the_original_failed_item_without_a_reason_reads_as_an_error() -> None:
    (result,) = parse_results(b'<results><item index="0" success="false"><huh>x</huh></item>'
                              b"</results>")
    assert result is not None and result.reason == "error" and result.payload == b"<huh>x</huh>"


# -- on both bases -------------------------------------------------------------------


def _items(tmp_path: Path, n: int, **fields: int) -> list[L.Flaky]:
    return [L.Flaky(index=i, log_dir=str(tmp_path), **fields) for i in range(n)]


def test_retries_turn_two_failures_into_a_success_on_the_third_attempt(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("flaky", L.flaky, L.Flaky, workers=2)
    start = BufferStart("flaky", _items(tmp_path, 6, fail_first=2), timeout=60, retries=2,
                        retry_backoff=0.01)
    done = rt.ask("system.buffer", start, timeout=60)
    assert done.successful == 6
    assert [r.attempts for r in parse_results(done.results.encode()) if r] == [3] * 6
    assert b'attempts="3"' in done.results.encode()
    assert [L.attempts_of(str(tmp_path), i) for i in range(6)] == [3] * 6


def test_too_few_retries_fail_the_item_with_its_reason_and_attempts(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("flaky", L.flaky, L.Flaky)
    outcome = rt.buffer("flaky", _items(tmp_path, 3, fail_first=2), timeout=60, retries=1,
                        retry_backoff=0.01)
    assert (outcome.successful, outcome.failed) == (0, 3)
    assert {(f.reason, f.attempts) for f in outcome.failures} == {("error", 2)}
    assert "attempt 2 fails" in outcome.failures[0].text


def test_item_timeout_fails_a_hung_attempt_and_the_retry_answers(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = factory.started()
    rt.register("flaky", L.flaky, L.Flaky)
    values = rt.map("flaky", _items(tmp_path, 4, hang_first=1), timeout=20, retries=1,
                    retry_backoff=0.01, item_timeout=0.5)
    assert [v.pid for v in values] == [2, 2, 2, 2]  # Napped.pid carries the attempt here


def test_dead_letters_arrive_once_per_item_that_failed_for_good(
    factory: RuntimeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = tmp_path / "letters.txt"
    monkeypatch.setenv("XMLACTORS_TEST_LETTERS", str(letters))
    rt = factory.started()
    rt.register("flaky", L.flaky, L.Flaky)
    rt.register("letters", L.keep_letters, DeadLetter)
    items = [L.Flaky(index=i, fail_first=99 if i in (1, 3) else 0, log_dir=str(tmp_path))
             for i in range(5)]
    outcome = rt.buffer("flaky", items, timeout=60, retries=1, retry_backoff=0.01,
                        dead_letter="letters")
    assert outcome.failed == 2
    assert _until_lines(rt, letters, 2)
    got = [DeadLetter.from_xml(line.encode()) for line in letters.read_text().splitlines()]
    assert sorted((d.index, d.reason, d.attempts) for d in got) == [(1, "error", 2), (3, "error", 2)]
    assert all(d.buffer_id == outcome.buffer_id and "<Flaky>" in d.item for d in got)
    assert all("fails" in d.error for d in got)


def test_bad_retry_fields_are_refused_at_admission(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("flaky", L.flaky, L.Flaky)
    for fields, text in [({"retries": -1}, "must not be negative"),
                         ({"retry_on": "sometimes"}, "unknown reason 'sometimes'"),
                         ({"item_timeout": -1.0}, "item_timeout must be"),
                         ({"dead_letter": "nobody"}, "Unknown dead_letter listener: nobody")]:
        refused = rt.ask("system.buffer", BufferStart("flaky", [L.Flaky()], **fields))
        assert text in refused.error


def _until_lines(rt: object, path: Path, n: int) -> bool:
    """Ask the system (a statistics round trip) until ``path`` has ``n`` lines, up to 10 s."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return True
        rt.statistics()  # type: ignore[attr-defined]
    return False


def test_a_handler_sees_its_attempt_number(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("counted", L.attempt_of, L.Flaky)
    values = rt.map("counted", [L.Flaky(index=i, fail_first=i) for i in range(3)], retries=2,
                    retry_backoff=0.01, timeout=30)
    assert [v.pid for v in values] == [1, 2, 3]  # Napped.pid carries meta.attempt here


def test_the_runtime_default_dead_letter_listener_takes_the_failures_of_every_buffer(
    factory: RuntimeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = tmp_path / "letters.txt"
    monkeypatch.setenv("XMLACTORS_TEST_LETTERS", str(letters))
    rt = factory.started(dead_letter="letters")
    rt.register("flaky", L.flaky, L.Flaky)
    rt.register("letters", L.keep_letters, DeadLetter)
    outcome = rt.buffer("flaky", [L.Flaky(index=0, fail_first=9, log_dir=str(tmp_path))])
    assert outcome.failed == 1
    assert _until_lines(rt, letters, 1)
    (letter,) = [DeadLetter.from_xml(line.encode()) for line in letters.read_text().splitlines()]
    assert (letter.index, letter.reason, letter.attempts) == (0, "error", 1)
