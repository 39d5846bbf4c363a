"""What only a multiprocess base shows: processes, stale replies, dying workers."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time

import pytest

from actors import AskTimeoutError, ListenerError
from actors.primitives import BufferStart
from actors.processes import session_pids
from actors.testing import RuntimeFactory
from tests import listeners as L
from tests.test_supervision import _until

pytestmark = pytest.mark.multiproc

TCP = "multiprocTCPBase"


@pytest.fixture
def xmlactors_base() -> str:
    return TCP


def test_shutdown_leaves_no_process_behind(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work, workers=3)
    assert rt.ask("w", L.Work(value=1), timeout=20).value == 2
    pids = rt.pids()
    assert len(pids) >= 5  # registry, listener, 3 workers (and the system listeners)
    session = rt.session_id
    assert set(session_pids(session)) >= pids
    rt.shutdown()
    assert session_pids(session) == []
    assert all(not _alive(pid) for pid in pids)


def test_each_actor_process_is_named_for_its_actor_with_the_names_extra(
    runtime_factory: RuntimeFactory,
) -> None:
    pytest.importorskip("setproctitle", reason="the `names` extra is not installed")
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work, workers=2)
    assert rt.ask("w", L.Work(value=1), timeout=20).value == 2
    expected = {"root": "RootActor", "registry": "RegistryActor", "system.buffer": "BufferService",
                "w": "ListenerActor", "w/worker/0": "WorkerActor", "w/worker/1": "WorkerActor"}
    processes = rt.processes()
    for name, actor in expected.items():
        with open(f"/proc/{processes[name]}/cmdline", "rb") as cmdline:
            title = cmdline.read().replace(b"\0", b" ").decode()
        assert title.startswith(actor), (name, title)  # cut to this command line's length
        with open(f"/proc/{processes[name]}/environ", "rb") as environ:  # left in place
            assert f"PATH={os.environ['PATH']}".encode() in environ.read().split(b"\0")


def test_a_late_reply_is_never_handed_to_the_next_ask(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work)
    with pytest.raises(AskTimeoutError):
        rt.ask("w", L.Work(value=1, sleep_ms=600), timeout=0.1)
    # The late Done(2) arrives while we wait for this one: it must be dropped.
    assert rt.ask("w", L.Work(value=5), timeout=20).value == 10


def test_an_answer_goes_from_the_worker_to_its_caller(runtime_factory: RuntimeFactory) -> None:
    # Stop the listener's process once its worker holds the job: the answer still arrives,
    # so it did not pass through the listener (one hop less per call).
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work)
    assert rt.ask("w", L.Work(value=1), timeout=20).value == 2
    listener = rt.processes()["w"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(rt.ask, "w", L.Work(value=4, sleep_ms=1500), timeout=20)
        assert _until(lambda: rt.counters()["w"].get("in_flight", 0) == 1, timeout=10)
        os.kill(listener, signal.SIGSTOP)
        try:
            assert answer.result(timeout=15).value == 8
        finally:
            os.kill(listener, signal.SIGCONT)
    assert rt.counters()["w"]["handled"] == 2  # the listener still counted it, once


def test_a_worker_holding_slow_jobs_sends_each_answer_when_it_is_done(
    runtime_factory: RuntimeFactory,
) -> None:
    # Short calls first, so that the worker is handed several jobs at once (prefetch);
    # then slow ones: each answer must leave as its call ends, not once all have run.
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work)
    assert rt.map("w", [L.Work(value=i) for i in range(200)], timeout=60)[-1].value == 398
    began, seen = time.monotonic(), []
    start = BufferStart(target="w", items=[L.Work(value=i, sleep_ms=150) for i in range(6)],
                        progress=True, timeout=30)
    done = rt.ask("system.buffer", start, timeout=40,
                  on_progress=lambda update: seen.append(time.monotonic() - began))
    total = time.monotonic() - began
    assert done.successful == 6 and len(seen) >= 3
    # Serially 6 x 150 ms: progress after about 150, 300, 450, ... of 900 ms.
    assert seen[0] < total / 2 and seen[len(seen) // 2] < 0.75 * total, (seen, total)


def test_a_dead_worker_fails_its_message_and_is_replaced(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work)
    first = rt.ask("w", L.Work(value=1), timeout=20).pid
    with pytest.raises(ListenerError, match="worker exited"):
        rt.ask("w", L.Work(value=2, die=True), timeout=20)
    reply = rt.ask("w", L.Work(value=3), timeout=20)
    assert reply.value == 6 and reply.pid != first
    assert rt.statistics().replaced_workers == 1


def test_the_system_listens_on_loopback_only(runtime_factory: RuntimeFactory) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("echo", L.echo, L.Echo)
    rt.ask("echo", L.Echo(), timeout=20)
    listening = _listening_addresses(set(session_pids(rt.session_id)))
    assert listening, "expected the actors to listen on some TCP port"
    assert {host for host, _ in listening} == {"127.0.0.1"}


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _listening_addresses(pids: set[int]) -> set[tuple[str, int]]:
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host_hex, port_hex = fields[1].split(":")
                host = ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                found.add((host, int(port_hex, 16)))
    return found


def test_a_handler_past_its_listeners_timeout_is_answered_and_its_worker_replaced(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = runtime_factory.started(TCP)
    rt.register("w", L.work, L.Work, timeout=1.0)
    with pytest.raises(ListenerError, match=r"Handler w did not answer within 1 s"):
        rt.ask("w", L.Work(value=1, sleep_ms=60_000), timeout=20)
    # The stuck worker was killed and replaced: the listener serves at full strength.
    assert rt.ask("w", L.Work(value=4), timeout=20).value == 8
    assert rt.statistics().replaced_workers == 1
