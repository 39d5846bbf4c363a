"""Buffer end to end on real actor systems (both bases)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actors.primitives import (
    BufferComplete,
    BufferDispatched,
    BufferError,
    BufferProgress,
    BufferStart,
    parse_results,
)
from actors.testing import RuntimeFactory, wait_for_statistics
from tests import listeners as L


def _runtime(factory: RuntimeFactory, workers: int = 2):  # type: ignore[no-untyped-def]
    rt = factory.started()
    rt.register("w", L.work, L.Work, workers=workers)
    rt.register("calculator.add", L.add, L.Add)
    return rt


def test_results_come_back_in_index_order_whatever_the_arrival_order(
    factory: RuntimeFactory,
) -> None:
    rt = _runtime(factory, workers=4)
    items = [L.Work(value=i, sleep_ms=(8 - i) * 15) for i in range(8)]
    done = rt.ask("system.buffer", BufferStart(target="w", items=items, timeout=30), timeout=60)
    assert isinstance(done, BufferComplete)
    assert (done.total, done.successful, done.failed, done.missing) == (8, 8, 0, 0)
    results = parse_results(done.results.encode())
    assert [r.index for r in results] == list(range(8))
    assert [L.Done.from_xml(r.payload).value for r in results] == [2 * i for i in range(8)]
    assert done.results.startswith('<results><item index="0" success="true"><Done>')


def test_a_failing_item_is_marked_with_its_error_and_the_rest_succeed(
    factory: RuntimeFactory,
) -> None:
    rt = _runtime(factory)
    items = [L.Work(value=0), L.Work(value=1, crash=True), L.Work(value=2)]
    done = rt.ask("system.buffer", BufferStart(target="w", items=items, timeout=30), timeout=60)
    assert (done.successful, done.failed, done.missing) == (2, 1, 0)
    failed = parse_results(done.results.encode())[1]
    assert (failed.success, failed.reason) == (False, "error")
    assert b"<huh>Handler w crashed: RuntimeError: item 1 failed</huh>" in failed.payload


def test_an_unanswered_item_is_missing_at_the_deadline(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    items = [L.Work(value=0), L.Work(value=1, hang=True), L.Work(value=2)]
    start = BufferStart(target="w", items=items, timeout=0.5)
    done = rt.ask("system.buffer", start, timeout=30)
    assert (done.total, done.successful, done.failed, done.missing) == (3, 2, 0, 1)
    assert '<item index="1" success="false" reason="timeout">missing</item>' in done.results
    wait_for_statistics(rt, lambda s: s.active_buffers == 0)


def test_fire_and_forget_replies_at_once_and_leaves_nothing_behind(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    rt = _runtime(factory)
    log = tmp_path / "items.log"
    items = [L.Work(value=i, log_path=str(log)) for i in range(5)]
    start = BufferStart(target="w", items=items, collect=False, buffer_id="ab12cd34")
    reply = rt.ask("system.buffer", start, timeout=30)
    assert reply == BufferDispatched("ab12cd34", 5)
    wait_for_statistics(rt, lambda s: s.active_buffers == 0)
    assert sorted(log.read_text().split()) == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (BufferStart(target="w", items=""), "No items specified"),
        (BufferStart(target="ghost", items="<Work/>"), "Unknown target listener: ghost"),
        (BufferStart(target="w", items="<Work/>\n<Work>"), "item 1"),
        (BufferStart(target="w", items="hello"), "Malformed items"),
    ],
)
def test_admission_errors_reply_buffer_error_and_create_no_run(
    factory: RuntimeFactory, start: BufferStart, error: str
) -> None:
    rt = _runtime(factory)
    reply = rt.ask("system.buffer", start, timeout=30)
    assert isinstance(reply, BufferError)
    assert error in reply.error
    stats = rt.statistics()
    assert (stats.active_buffers, stats.handled) == (0, 0)


def test_a_buffer_id_already_active_is_refused(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    hanging = BufferStart(target="w", items=[L.Work(hang=True)], collect=False,
                          buffer_id="cafe0001", timeout=0.5)
    assert isinstance(rt.ask("system.buffer", hanging, timeout=30), BufferDispatched)
    again = BufferStart(target="w", items=[L.Work()], buffer_id="cafe0001")
    reply = rt.ask("system.buffer", again, timeout=30)
    assert reply == BufferError("cafe0001", "Buffer cafe0001 is already active")
    wait_for_statistics(rt, lambda s: s.active_buffers == 0, timeout=20)


def test_an_empty_buffer_id_becomes_eight_hex_characters(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    done = rt.ask("system.buffer", BufferStart(target="w", items=[L.Work()]), timeout=30)
    assert len(done.buffer_id) == 8 and int(done.buffer_id, 16) >= 0


def test_items_may_span_lines_in_the_string_form(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    items = "<Add>\n  <A>1</A>\n  <B>2</B>\n</Add>\n<Add><A>3</A>\n<B>4</B></Add>\n"
    done = rt.ask("system.buffer", BufferStart(target="calculator.add", items=items), timeout=30)
    payloads = [L.Sum.from_xml(r.payload) for r in parse_results(done.results.encode())]
    assert payloads == [L.Sum(3), L.Sum(7)]


def test_a_listener_that_starts_a_buffer_answers_its_own_caller(
    factory: RuntimeFactory,
) -> None:
    rt = _runtime(factory)
    rt.register("front", L.buffer_then_answer, (L.Echo, BufferComplete))
    assert rt.ask("front", L.Echo("6"), timeout=60) == L.Sum(6)


def test_return_to_sends_the_terminal_message_to_another_listener(
    factory: RuntimeFactory,
) -> None:
    rt = _runtime(factory)
    rt.register("tally", L.count_successes, BufferComplete)
    start = BufferStart(target="calculator.add", items=[L.Add(1, 2)] * 3, return_to="tally")
    assert rt.ask("system.buffer", start, timeout=30) == L.Sum(3)


def test_a_thousand_items_in_process(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started("simpleSystemBase")
    rt.register("calculator.add", L.add, L.Add)
    items = [L.Add(i, 1) for i in range(1000)]
    done = rt.ask("system.buffer", BufferStart(target="calculator.add", items=items), timeout=60)
    assert (done.total, done.successful) == (1000, 1000)
    last = parse_results(done.results.encode())[-1]
    assert L.Sum.from_xml(last.payload) == L.Sum(1000)


def test_the_terminal_message_does_not_wait_for_the_deadline(factory: RuntimeFactory) -> None:
    # Regression: in process, a reply already queued used to wait for the run's
    # pending deadline timer (Thespian's listen sleeps until the next timer).
    rt = _runtime(factory)
    start = BufferStart(target="calculator.add", items=[L.Add(1, 1)] * 3, timeout=60)
    began = time.monotonic()
    assert rt.ask("system.buffer", start, timeout=90).successful == 3
    assert time.monotonic() - began < 30


def test_progress_updates_reach_the_asker_before_the_terminal_message(
    factory: RuntimeFactory,
) -> None:
    rt = _runtime(factory)
    seen: list[BufferProgress] = []
    start = BufferStart(target="calculator.add", items=[L.Add(i, 1) for i in range(40)],
                        progress=True)
    done = rt.ask("system.buffer", start, timeout=60, on_progress=seen.append)
    assert done.successful == 40
    assert seen, "no progress update arrived"
    assert all(isinstance(p, BufferProgress) and p.total == 40 for p in seen)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert all(0 < p.done < 40 for p in seen)  # the last word is the BufferComplete itself


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")])
def test_a_timeout_no_run_could_keep_is_refused_at_admission(
    factory: RuntimeFactory, timeout: float
) -> None:
    rt = _runtime(factory)
    refused = rt.ask("system.buffer", BufferStart(target="calculator.add", items=[L.Add(1, 1)],
                                                  timeout=timeout), timeout=30)
    assert isinstance(refused, BufferError)
    assert refused.error.startswith("timeout must be a finite number of seconds >= 0")
    assert rt.statistics().active_buffers == 0


def test_progress_of_a_nested_buffer_is_not_its_answer(factory: RuntimeFactory) -> None:
    rt = _runtime(factory)
    inner = [BufferStart(target="calculator.add", items=[L.Add(i, 1) for i in range(30)],
                         progress=True) for _ in range(2)]
    done = rt.ask("system.buffer", BufferStart(target="system.buffer", items=inner), timeout=60)
    assert done.successful == 2
    for result in parse_results(done.results):
        assert result is not None
        assert BufferComplete.from_xml(result.payload).successful == 30


def test_one_batch_of_mixed_items_gets_each_its_own_answer_and_counts(
    factory: RuntimeFactory,
) -> None:
    # In process the run's items reach "front" in one send, and a plain handler runs them
    # in one loop: an answer, a forward (its answer comes back later), a refused payload,
    # a <huh> passed back as it is and a payload failing its schema are each told apart.
    rt = factory.started()
    rt.register("front", L.front, (L.Add, L.Sum))
    rt.register("calculator.add", L.add, L.Add)
    items = ["<Sum><Value>1</Value></Sum>", "<Add><A>1</A><B>2</B></Add>", "<Echo/>",
             "<huh>from elsewhere</huh>", "<Sum><Value>x</Value></Sum>",
             "<Sum><Value>4</Value></Sum>"]
    before = rt.statistics().handled
    done = rt.ask("system.buffer", BufferStart(target="front", items=items, timeout=30),
                  timeout=60)
    assert (done.total, done.successful, done.failed, done.missing) == (6, 3, 3, 0)
    results = parse_results(done.results.encode())
    assert [L.Sum.from_xml(results[i].payload).value for i in (0, 1, 5)] == [10, 30, 40]
    assert b"expects &lt;Add&gt; or &lt;Sum&gt; but got &lt;Echo&gt;" in results[2].payload
    assert results[3].payload == b"<huh>from elsewhere</huh>"
    assert b"&lt;Sum&gt; failed its schema" in results[4].payload
    # Calls that ran: five of front's (the forwarded one twice, a passed <huh> not at all),
    # one of calculator.add's; the refused payloads count as handled (answered <huh>).
    wait_for_statistics(rt, lambda s: s.handled - before == 7)


def test_an_item_failing_its_schema_fails_alone_with_its_own_error(factory: RuntimeFactory) -> None:
    # In process a run's items are validated together, once; when one fails, each is
    # validated alone so that exactly that one is refused, in its own words. Each run is
    # judged on its own items: a valid run after one that failed (and before) is valid.
    rt = factory.started()
    rt.register("calculator.add", L.add, L.Add)
    good = [f"<Add><A>{i}</A><B>1</B></Add>" for i in range(5)]
    bad_value = [*good[:3], "<Add><A>3</A><B>one</B></Add>", good[4]]
    bad_field = [good[0], "<Add><A>1</A><C/></Add>", *good[2:]]
    runs = [(good, None, ""), (bad_value, 3, "'one' is not a valid value of the atomic type"),
            (good, None, ""), (bad_field, 1, "Element 'C': This element is not expected")]
    for items, bad, words in runs:
        done = rt.ask("system.buffer", BufferStart(target="calculator.add", items=items,
                                                   timeout=30), timeout=60)
        results = parse_results(done.results.encode())
        assert (done.successful, done.failed) == ((5, 0) if bad is None else (4, 1))
        ok = [i for i in range(5) if i != bad]
        assert [L.Sum.from_xml(results[i].payload).value for i in ok] == [i + 1 for i in ok]
        if bad is not None:
            assert words.encode() in results[bad].payload
