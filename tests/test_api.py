"""A run in one call from Python: ``map``, ``buffer``, ``stream``, ``sequence``, on both bases."""

from __future__ import annotations

import pytest

from actors import (
    BufferFailedError,
    BufferOutcome,
    ItemFailure,
    ListenerError,
    ParseLimits,
    PayloadError,
    Runtime,
    SequenceFailedError,
    UnknownListenerError,
)
from actors.primitives import BufferStart, parse_results
from actors.testing import RuntimeFactory, wait_until_idle
from tests import listeners as L

WAIT = 60.0


def test_map_gives_what_the_buffer_complete_holds_decoded(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("add", L.add, L.Add, workers=2)
    items = [L.Add(i, 2 * i) for i in range(1000)]
    values = rt.map("add", items, timeout=WAIT)
    done = rt.ask("system.buffer", BufferStart(target="add", items=items, timeout=WAIT),
                  timeout=WAIT)
    assert values == [L.Sum.from_xml(r.payload) for r in parse_results(done.results) if r]
    assert values[999] == L.Sum(2997)


def test_a_failing_item_raises_one_error_naming_it_with_the_others_values(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started()
    rt.register("work", L.work, L.Work)
    items = [L.Work(value=i, crash=i in (1, 4)) for i in range(6)]
    with pytest.raises(BufferFailedError) as caught:
        rt.map("work", items, timeout=WAIT)
    error = caught.value
    assert [(f.index, f.reason) for f in error.failures] == [(1, "error"), (4, "error")]
    assert "Handler work crashed: RuntimeError: item 1 failed" in error.failures[0].text
    assert "item 1 error" in str(error) and "2 of 6 items" in str(error)
    assert [v.value if v else None for v in error.values] == [0, None, 4, 6, None, 10]


def test_buffer_never_raises_for_items_and_counts_them(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("work", L.work, L.Work)
    outcome = rt.buffer("work", [L.Work(value=1), L.Work(value=2, crash=True)], timeout=WAIT)
    assert isinstance(outcome, BufferOutcome) and not outcome.ok
    assert (outcome.total, outcome.successful, outcome.failed, outcome.missing) == (2, 1, 1, 0)
    assert outcome.values[0] == L.Done(2, outcome.values[0].pid) and outcome.values[1] is None
    assert outcome.failures == [ItemFailure(1, "error", outcome.failures[0].text)]


def test_an_unknown_target_is_refused_at_once(factory: RuntimeFactory) -> None:
    rt = factory.started()
    with pytest.raises(UnknownListenerError, match="nobody"):
        rt.map("nobody", [L.Add(1, 1)], timeout=WAIT)


def test_stream_yields_every_index_once_as_each_finishes(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=8)
    # Item i waits longer the smaller its index: they finish last first.
    items = [L.Nap(i, ms=40 * (8 - i)) for i in range(8)]
    seen = list(rt.stream("nap", items, timeout=WAIT))
    assert [index for index, _ in seen] == list(range(7, -1, -1))
    assert all(isinstance(value, L.Napped) and value.index == index for index, value in seen)


def test_stream_reports_a_failed_item_as_an_item_failure(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("work", L.work, L.Work)
    seen = dict(rt.stream("work", [L.Work(value=i, crash=i == 2) for i in range(4)], timeout=WAIT))
    assert sorted(seen) == [0, 1, 2, 3]
    assert isinstance(seen[2], ItemFailure) and seen[2].reason == "error"


def test_leaving_a_stream_early_cancels_its_run(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("nap", L.nap_async, L.Nap, concurrency=4)
    stream = rt.stream("nap", [L.Nap(i, ms=50) for i in range(200)], timeout=WAIT)
    first = [next(stream) for _ in range(10)]
    stream.close()  # as a `break` out of the loop does
    assert len({index for index, _ in first}) == 10
    stats = wait_until_idle(rt, timeout=10)  # the run ended at once, not at its deadline
    assert stats.active_buffers == 0
    assert rt.statistics().handled < 200


def test_a_large_run_comes_back_whole(factory: RuntimeFactory, multiproc: bool) -> None:
    n = 10_000 if multiproc else 20_000
    rt = factory.started()
    rt.register("add", L.add, L.Add, workers=2)
    items = [L.Add(i, 1) for i in range(n)]
    values = rt.map("add", items, timeout=WAIT * 2)
    assert len(values) == n and values[-1] == L.Sum(n)
    seen = sorted(index for index, value in rt.stream("add", items, timeout=WAIT * 2)
                  if isinstance(value, L.Sum))
    assert seen == list(range(n))


def test_sequence_gives_the_last_answer_or_names_the_failed_step(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("add", L.add, L.Add)
    rt.register("double", L.double, L.Sum)
    rt.register("crash", L.crash, L.Echo)
    assert rt.sequence(["add", "double", "double"], L.Add(2, 3), timeout=WAIT) == L.Sum(20)
    with pytest.raises(SequenceFailedError) as caught:
        rt.sequence("add,crash", L.Add(1, 1), timeout=WAIT)
    assert (caught.value.failed_step, caught.value.step_index) == ("crash", 1)
    assert "step 1 (crash)" in str(caught.value)


def test_a_reply_over_the_runtimes_limits_is_refused_naming_listener_and_limit(
    factory: RuntimeFactory,
) -> None:
    rt = factory.started(limits=ParseLimits(max_run_bytes=2_000))
    rt.register("add", L.add, L.Add)
    with pytest.raises(PayloadError, match=r"reply from 'system.buffer' was refused.*2,000-byte"):
        rt.map("add", [L.Add(i, i) for i in range(50)], timeout=WAIT)
    rt.register("big", L.blow_up, L.Echo)
    with pytest.raises(PayloadError, match=r"reply from 'big' was refused.*1,000,000-byte"):
        rt.ask("big", L.Echo("1100000"), timeout=WAIT)


def test_map_refusal_of_the_run_is_a_listener_error(factory: RuntimeFactory) -> None:
    rt = factory.started()
    rt.register("add", L.add, L.Add)
    with pytest.raises(ListenerError, match="timeout must be a finite number"):
        rt.map("add", [L.Add(1, 1)], timeout=-1)


def test_the_one_call_methods_need_a_started_runtime() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        Runtime().map("add", [L.Add(1, 1)])
