"""Replies nobody waits for any more never stop a system (issue: the wedge).

On ``multiprocTCPBase`` a send waits for its receiver's acknowledgement and
an actor has at most 20 sends in flight: replies to callers that gave up
used to hold those slots for minutes, until the listener could send nothing
at all. Each test here makes many callers give up, then checks that the
system still answers.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from actors import AskTimeoutError, Runtime
from actors.bases import free_port
from actors.primitives import BufferComplete, BufferStart
from actors.testing import RuntimeFactory, wait_for_statistics
from examples.two_members import Served
from tests import listeners as L
from tests.processes import WAIT, ask, serve

pytestmark = pytest.mark.multiproc

TCP = "multiprocTCPBase"


@pytest.fixture
def xmlactors_base() -> str:
    return TCP


def _give_up_often(rt: Runtime, threads: int, calls: int, call: object) -> int:
    """Run ``call()`` ``calls`` times in each of ``threads`` threads; count the timeouts."""
    timeouts = 0
    lock = threading.Lock()

    def caller() -> None:
        nonlocal timeouts
        for _ in range(calls):
            try:
                call()  # type: ignore[operator]
            except AskTimeoutError:
                with lock:
                    timeouts += 1

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(caller) for _ in range(threads)]:
            future.result(timeout=WAIT)
    return timeouts


def test_asks_that_time_out_under_load_leave_the_listener_answering(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("slow", L.work, L.Work, workers=1)
    rt.ask("slow", L.Work(value=0), timeout=WAIT)

    timeouts = _give_up_often(
        rt, 8, 25, lambda: rt.ask("slow", L.Work(value=1, sleep_ms=50), timeout=0.1)
    )
    assert timeouts > 20  # more late replies than Thespian has send slots

    # The fresh ask queues behind the ~200 abandoned jobs, then answers. Each of them was
    # answered to a caller that had left: run (50 ms), or "expired" unstarted once its
    # caller's deadline had passed.
    assert rt.ask("slow", L.Work(value=7), timeout=WAIT).value == 14
    stats = rt.statistics(timeout=10)
    assert stats.handled + stats.expired >= 200 and stats.expired > 20


def test_buffers_whose_askers_left_all_end_and_leave_no_run(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("slow", L.work, L.Work, workers=2)
    items = [L.Work(value=i, sleep_ms=20) for i in range(25)]

    def buffer() -> object:
        start = BufferStart(target="slow", items=items, timeout=WAIT, progress=True)
        return rt.ask("system.buffer", start, timeout=0.2, on_progress=lambda update: None)

    timeouts = _give_up_often(rt, 8, 2, buffer)
    assert timeouts > 8  # each of those runs sends progress and its answer to nobody

    wait_for_statistics(rt, lambda s: s.active_buffers == 0, timeout=WAIT)
    done = rt.ask("system.buffer", BufferStart(target="slow", items=items[:4]), timeout=WAIT)
    assert isinstance(done, BufferComplete) and done.successful == 4


SLOW_ORGANISM = """\
<organism name="slow">
  <listener name="slow" handler="tests.listeners:work" payload="tests.listeners:Work"/>
</organism>
"""


def test_ask_processes_that_exited_before_their_reply_leave_the_system_answering(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    organism = tmp_path / "slow.xml"
    organism.write_text(SLOW_ORGANISM)
    port = free_port()
    served = serve(serving, marked_env, tmp_path / "serve.log", str(organism),
                   "--admin-port", str(port))
    served.wait_for_line("serving", WAIT)
    slow = L.Work(value=1, sleep_ms=150).to_bytes()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda _: ask(marked_env, port, "slow", slow, timeout=0.1), range(20)
        ))
    assert all(r.returncode == 1 and "within 0.1 s" in r.stderr for r in results), [
        r.stderr for r in results if r.returncode != 1
    ]

    # Each of those 20 replies went to a process that had exited; the next asks still answer.
    for value in (5, 6):
        fresh = ask(marked_env, port, "slow", L.Work(value=value).to_bytes(), timeout=WAIT / 2)
        assert fresh.returncode == 0, fresh.stderr
        assert f"<Value>{2 * value}</Value>" in fresh.stdout
