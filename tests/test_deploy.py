"""Deployments: conventions, placement by capability, serve/ask across processes, a member lost.

Every wait is bounded; every port is a free loopback one; every system
started here is shut down, and what is left is killed by pid (session or
environment mark) before the test ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from actors import (
    AskTimeoutError,
    ComponentDiedError,
    NoSystemError,
    PlacementError,
    Runtime,
    UnknownListenerError,
)
from actors.bases import FIXED_PORTS, free_port, free_ports
from actors.placement import meets_requirements
from actors.primitives import BufferStart, parse_results
from actors.processes import end_session, session_pids
from actors.testing import RuntimeFactory
from examples.two_members import Served
from tests import listeners as L
from tests.processes import ROOT, WAIT, ask, command, serve
from tests.test_cli import ADD, SUM

pytestmark = pytest.mark.multiproc

TCP = "multiprocTCPBase"


@pytest.fixture
def xmlactors_base() -> str:
    return TCP


# -- placement, pure ------------------------------------------------------------


def test_a_free_port_is_bindable_and_outside_the_kernels_ephemeral_range() -> None:
    # The kernel hands ephemeral ports to outgoing connections and to every actor's own
    # socket: an admin port among them was taken now and then before the admin bound it.
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = [free_port() for _ in range(20)]
    if low >= FIXED_PORTS[1]:  # else there is no room below it: the kernel's choice
        assert all(FIXED_PORTS[0] <= port < FIXED_PORTS[1] for port in ports)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", ports[0]))


def test_ports_picked_together_differ_and_are_each_bindable() -> None:
    # Two ports picked one after the other may come out the same (a serve once failed with
    # its metrics port in use); each is held while the next is chosen.
    ports = free_ports(50)
    assert len(set(ports)) == 50
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("capabilities", "requirements", "expected"),
    [
        ({}, {}, True),
        ({"gpu": "true"}, {}, True),
        ({"gpu": "true"}, {"gpu": True}, True),
        ({"gpu": True}, {"gpu": "true"}, True),
        ({"gpu": "false"}, {"gpu": True}, False),
        ({}, {"gpu": "true"}, False),
        ({"host": "worker-1", "gpu": "true"}, {"host": "worker-1"}, True),
        ({"host": "worker-1"}, {"host": "worker-1", "gpu": "true"}, False),
    ],
)
def test_a_system_meets_requirements_when_it_offers_every_key_with_the_same_value(
    capabilities: dict[str, object], requirements: dict[str, object], expected: bool
) -> None:
    assert meets_requirements(capabilities, requirements) is expected


# -- two systems in this process ------------------------------------------------


def convention(factory: RuntimeFactory, **member_caps: object) -> tuple[Runtime, Runtime]:
    """A leader and a member that joined it, both started, on free loopback ports."""
    leader = factory.started(TCP, admin_port=free_port(), placement_wait=WAIT)
    member = factory.started(
        TCP, admin_port=free_port(), convention=f"127.0.0.1:{leader.admin_port}",
        capabilities=member_caps,
    )
    return leader, member


def test_a_listener_is_placed_on_the_member_offering_its_capability_and_a_buffer_reaches_it(
    runtime_factory: RuntimeFactory,
) -> None:
    leader, member = convention(runtime_factory, gpu="true")
    leader.register("heavy", L.work, L.Work, workers=2, requires={"gpu": True})
    leader.register("light", L.work, L.Work)

    items = [L.Work(value=i) for i in range(8)]
    done = leader.ask("system.buffer", BufferStart("heavy", items, timeout=30), timeout=WAIT)
    results = parse_results(done.results.encode())
    assert done.successful == 8
    replies = [L.Done.from_xml(r.payload) for r in results if r is not None]
    assert [r.value for r in replies] == [2 * i for i in range(8)]
    # Every item ran in a process of the member's system, none in the leader's.
    member_pids, leader_pids = set(session_pids(member.session_id)), set(session_pids(leader.session_id))
    assert {r.pid for r in replies} <= member_pids
    assert leader.ask("light", L.Work(value=1), timeout=WAIT).pid in leader_pids

    sessions = (leader.session_id, member.session_id)
    leader.shutdown()
    member.shutdown()
    assert [session_pids(s) for s in sessions] == [[], []]


def test_a_placed_listener_whose_supervisor_dies_is_placed_again_on_the_member(
    runtime_factory: RuntimeFactory,
) -> None:
    leader, member = convention(runtime_factory, gpu="true")
    leader.register("heavy", L.work, L.Work, requires={"gpu": True})
    before = leader.processes(timeout=WAIT)["heavy"]
    assert before in session_pids(member.session_id)
    os.kill(before, signal.SIGKILL)
    deadline = time.monotonic() + WAIT
    while leader.statistics(timeout=WAIT).restarts < 1 and time.monotonic() < deadline:
        pass  # asking the root until it says the restart is done
    after = leader.processes(timeout=WAIT)["heavy"]
    assert after != before and after in session_pids(member.session_id)
    assert leader.ask("heavy", L.Work(value=4), timeout=WAIT).pid in session_pids(member.session_id)


def test_a_member_killed_whole_is_noticed_by_heartbeat_and_a_new_one_is_used(
    runtime_factory: RuntimeFactory,
) -> None:
    leader = runtime_factory.started(TCP, admin_port=free_port(), placement_wait=WAIT,
                                     heartbeat=1.0)
    member = runtime_factory.started(TCP, admin_port=free_port(), capabilities={"gpu": "true"},
                                     convention=f"127.0.0.1:{leader.admin_port}")
    leader.register("heavy", L.work, L.Work, requires={"gpu": True})
    assert leader.ask("heavy", L.Work(value=1), timeout=WAIT).value == 2
    box: list[object] = []
    caller = threading.Thread(target=lambda: box.append(leader.buffer(
        "heavy", [L.Work(value=i, sleep_ms=200) for i in range(20)], timeout=60)))
    caller.start()
    deadline = time.monotonic() + WAIT
    while leader.statistics(timeout=WAIT).active_buffers < 1 and time.monotonic() < deadline:
        pass  # asking the leader until the run is under way
    started = time.monotonic()
    for pid in session_pids(member.session_id):  # the whole member host, at once
        os.kill(pid, signal.SIGKILL)
    caller.join(30)
    noticed = time.monotonic() - started
    assert not caller.is_alive() and box, "the Buffer waited for its deadline"
    outcome = box[0]
    assert noticed < 1.0 + 5.0  # the heartbeat bound, with room for a loaded machine; not 60 s
    assert {f.reason for f in outcome.failures} <= {"exited", "timeout"}  # type: ignore[attr-defined]
    assert any(f.reason == "exited" for f in outcome.failures)  # type: ignore[attr-defined]
    with pytest.raises(ComponentDiedError, match="its member stopped answering"):
        leader.ask("heavy", L.Work(value=1), timeout=WAIT)
    end_session(member.session_id, grace=0.0)
    # A member offering the capability again: the listener is placed there, and answers.
    again = runtime_factory.started(TCP, admin_port=free_port(), capabilities={"gpu": "true"},
                                    convention=f"127.0.0.1:{leader.admin_port}")
    deadline = time.monotonic() + WAIT
    while "heavy" in leader.statistics(timeout=WAIT).down and time.monotonic() < deadline:
        pass  # asking the leader until its root placed the listener on the new member
    assert leader.ask("heavy", L.Work(value=3), timeout=WAIT).pid in session_pids(again.session_id)


def test_a_listener_no_member_can_host_is_an_error_at_start_naming_it(
    runtime_factory: RuntimeFactory,
) -> None:
    leader = runtime_factory.started(TCP, placement_wait=0.5)
    leader.register("light", L.echo, L.Echo)
    started = time.monotonic()
    with pytest.raises(PlacementError, match=r"listener 'heavy' requires gpu=true.* within 0\.5 s"):
        leader.register("heavy", L.work, L.Work, requires={"gpu": "true"})
    assert time.monotonic() - started < 10
    with pytest.raises(UnknownListenerError):
        leader.ask("heavy", L.Work(), timeout=5)
    assert leader.ask("light", L.Echo("still here"), timeout=WAIT).text == "still here"


def test_a_member_that_disappears_fails_its_in_flight_items_at_the_buffer_deadline(
    runtime_factory: RuntimeFactory,
) -> None:
    leader, member = convention(runtime_factory, role="heavy")
    leader.register("heavy", L.work, L.Work, workers=2, requires={"role": "heavy"})
    leader.register("light", L.work, L.Work)
    assert leader.ask("heavy", L.Work(value=1), timeout=WAIT).value == 2
    first_item = threading.Event()

    def kill_member_once_items_run() -> None:
        if first_item.wait(WAIT):
            end_session(member.session_id, grace=0.0)  # SIGKILL every process of the member

    killer = threading.Thread(target=kill_member_once_items_run)
    killer.start()
    items = [L.Work(value=i, sleep_ms=200) for i in range(20)]
    started = time.monotonic()
    try:
        done = leader.ask(
            "system.buffer", BufferStart("heavy", items, timeout=3.0, progress=True),
            timeout=WAIT, on_progress=lambda update: first_item.set(),
        )
    finally:
        first_item.set()
        killer.join(WAIT)
    took = time.monotonic() - started
    # The run ends at its own deadline (3 s), not at Thespian's transport timeout (minutes).
    assert 2.5 < took < 10, took
    assert done.total == 20 and done.successful < 20
    assert done.successful + done.failed + done.missing == 20
    # The rest of the organism keeps serving; the lost listener times out, or is already
    # known lost (the heartbeat's 3 s and the run's 3 s race), it does not hang.
    assert leader.ask("light", L.Work(value=4), timeout=WAIT).value == 8
    with pytest.raises((AskTimeoutError, ComponentDiedError)):
        leader.ask("heavy", L.Work(value=1), timeout=1.0)
    leader.shutdown()  # before teardown, whose idle check would ask the lost listener too
    member.shutdown()
    assert session_pids(leader.session_id) == []


def test_a_worker_sigkilled_on_the_member_mid_buffer_fails_its_item_and_the_next_buffer_is_whole(
    runtime_factory: RuntimeFactory,
) -> None:
    leader, member = convention(runtime_factory, role="heavy")
    leader.register("heavy", L.work, L.Work, workers=1, requires={"role": "heavy"})
    worker = leader.ask("heavy", L.Work(value=1), timeout=WAIT).pid
    assert worker in session_pids(member.session_id)
    killed = threading.Event()

    def kill_worker(update: object) -> None:
        if not killed.is_set():
            killed.set()
            os.kill(worker, signal.SIGKILL)

    items = [L.Work(value=i, sleep_ms=100) for i in range(10)]
    started = time.monotonic()
    done = leader.ask(
        "system.buffer", BufferStart("heavy", items, timeout=20.0, progress=True),
        timeout=WAIT, on_progress=kill_worker,
    )
    assert killed.is_set() and time.monotonic() - started < 20
    results = [r for r in parse_results(done.results.encode()) if r is not None]
    assert done.successful + done.failed + done.missing == 10
    assert [r.reason for r in results if not r.success] == ["exited"]
    again = leader.ask("system.buffer", BufferStart("heavy", items[:4], timeout=20.0), timeout=WAIT)
    assert again.successful == 4
    pids = {L.Done.from_xml(r.payload).pid for r in parse_results(again.results.encode()) if r}
    assert worker not in pids and pids <= set(session_pids(member.session_id))


def test_connect_asks_a_running_system_and_closing_it_leaves_the_system_running(
    runtime_factory: RuntimeFactory,
) -> None:
    served = runtime_factory.started(TCP)
    served.register("echo", L.echo, L.Echo)
    assert served.admin_port is not None
    with Runtime.connect(served.admin_port) as client:
        assert client.ask("echo", L.Echo("over there"), timeout=WAIT).text == "over there"
        with pytest.raises(UnknownListenerError, match="nobody"):
            client.ask("nobody", L.Echo(), timeout=WAIT)
    assert not client.running
    assert served.ask("echo", L.Echo("still served"), timeout=WAIT).text == "still served"
    with Runtime.connect(served.admin_port) as again:
        assert again.ask("echo", L.Echo("twice"), timeout=WAIT).text == "twice"


def test_connect_where_nothing_listens_raises_and_starts_no_system() -> None:
    port = free_port()
    with pytest.raises(NoSystemError, match=f"no actor system at 127.0.0.1:{port}"):
        Runtime.connect(port)
    with pytest.raises(NoSystemError):  # still nothing there: no admin was started by the attempt
        Runtime.connect(port)


# -- serve and ask, as separate processes -----------------------------------------


def test_serve_answers_asks_from_other_processes_and_sigterm_leaves_no_process(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    served = serve(serving, marked_env, tmp_path / "serve.log", "examples/calc.xml",
                   "--admin-port", str(port))
    line = served.wait_for_line("serving", WAIT)
    assert f"serving 1 listeners on 127.0.0.1:{port} (multiprocTCPBase)" in line

    first, second = (ask(marked_env, port, "calculator.add", ADD) for _ in range(2))
    assert (first.returncode, first.stdout) == (0, SUM + "\n"), first.stderr
    assert (second.returncode, second.stdout) == (0, SUM + "\n"), second.stderr  # ask did not stop it
    unknown = ask(marked_env, port, "calculator.mul", ADD)
    assert unknown.returncode == 1 and "calculator.mul" in unknown.stderr

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(WAIT) == 0
    assert "xmlactors: stopping" in served.log.read_text()
    # marked_env's teardown checks that no process of the served system is left.


def test_ask_where_nothing_serves_exits_1_and_starts_no_system(marked_env: dict[str, str]) -> None:
    port = free_port()
    result = ask(marked_env, port, "calculator.add", ADD)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"no actor system at 127.0.0.1:{port}" in result.stderr


def test_serve_with_a_listener_no_member_can_host_exits_2_naming_it(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    served = serve(serving, marked_env, tmp_path / "serve.log", "examples/two_members.xml",
                   "--placement-wait", "0.5")
    assert served.process.wait(WAIT) == 2
    log = served.log.read_text()
    assert "listener 'calculator.square' requires role=heavy" in log
    assert "--capability role=heavy" in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bind", "0.0.0.0"), "--bind takes the one address"),
        (("--bind", "192.0.2.1"), "cannot listen on 192.0.2.1"),  # TEST-NET-1: not this host's
        (("--convention", "leader"), "--convention takes HOST:PORT"),
        (("--capability", "gpu"), "a capability is KEY=VALUE"),
        (("--admin-port", "70000"), "a port is between 1 and 65535"),
    ],
)
def test_serve_with_bad_usage_exits_2_and_starts_nothing(
    args: tuple[str, ...], message: str, marked_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [*command(), "serve", "examples/calc.xml", *args], capture_output=True, text=True,
        cwd=ROOT, env=marked_env, timeout=WAIT, check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_on_a_port_something_listens_on_exits_2_rather_than_join_it(
    marked_env: dict[str, str],
) -> None:
    # Thespian would join a system already there, and stop it on the way out.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*command(), "serve", "examples/calc.xml", "--admin-port", str(port)],
            capture_output=True, text=True, cwd=ROOT, env=marked_env, timeout=WAIT, check=False,
        )
    assert result.returncode == 2
    assert f"something already listens on 127.0.0.1:{port}" in result.stderr


def test_the_two_member_example_places_every_item_on_the_member_and_stops_both(
    marked_env: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.two_members"], capture_output=True, text=True,
        cwd=ROOT, env=marked_env, timeout=2 * WAIT, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "calculator.add: 2 + 3 = 5" in lines
    assert "calculator.square: 4 -> 16 on the member" in lines
    assert lines[-1].startswith("squared 5 of 5 items on the member in one Buffer;")
    assert "(exit 0) and the leader (exit 0)" in lines[-1]
