"""A convention across hosts: three ``xmlactors serve`` and a client, each on a host of its own.

The hosts are network namespaces on a private bridge (``tests/netns.py``):
the leader (10.77.0.1), a member offering ``gpu=true`` (10.77.0.2), a
member offering ``role=batch`` (10.77.0.3) and a client (10.77.0.4), which
drives the leader with ``Runtime.connect`` (``tests/hosts_client.py``, run
inside its namespace) and with ``xmlactors ask --host``. The organism is
``examples/three_hosts.xml``. One convention serves the whole module; the
last test stops it. Skipped, with the reason, where namespaces cannot be
made (not root, no ``ip netns``).

Every wait is bounded; whatever happens, every process is ended by pid and
every namespace (with its links) is deleted, and the module fails if a
process carrying its mark is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import actors.supervision
from examples.two_members import Served
from tests import netns
from tests.hosts_client import Driver
from tests.processes import ROOT, WAIT, command, kill_marked

pytestmark = pytest.mark.multiproc

PORT = 1900
"""Every system's admin port: each host has a network stack of its own."""
DETECTION_BOUND = float(os.environ.get("XMLACTORS_DETECTION_BOUND",
                                        getattr(actors.supervision, "HEARTBEAT", 3.0) * 4 / 3))
"""Seconds from a member's cut to the end of a Buffer to it, when the runtime notices a lost
member by heartbeats: the default ``heartbeat`` (3 s) and one ping interval (a third of it)."""
MARGIN = 2.0
"""Seconds allowed on top of a bound, for a loaded machine of 2 cores."""
RUN_TIMEOUT = 12.0
"""The cut Buffer's own deadline: without detection, its items fail at this."""
REJOIN_WITHIN = 30.0
"""Seconds a member whose link came back has to serve again."""


# -- the hosts --------------------------------------------------------------------


@dataclass
class Cluster:
    net: netns.Hosts
    env: dict[str, str]
    logs: Path
    served: dict[str, Served] = field(default_factory=dict)
    driver: Driver | None = None

    @property
    def leader(self) -> netns.Host:
        return self.net[0]

    @property
    def gpu(self) -> netns.Host:
        return self.net[1]

    @property
    def batch(self) -> netns.Host:
        return self.net[2]

    @property
    def client(self) -> netns.Host:
        return self.net[3]

    def serve(self, name: str, host: netns.Host, *args: str) -> Served:
        log = self.logs / f"{name}.log"
        with open(log, "wb") as stderr:
            process = self.net.start(
                host, [*command(), "serve", "examples/three_hosts.xml", "--bind", host.address,
                       "--admin-port", str(PORT), *args],
                env=dict(self.env, XMLACTORS_EXAMPLE_HOST=name), cwd=ROOT, stderr=stderr)
        self.served[name] = Served(process, log)
        return self.served[name]

    def ask(self, target: str, payload: str, port: int = PORT) -> subprocess.CompletedProcess[str]:
        """``xmlactors ask --host LEADER`` on the client's host."""
        return self.net.run(
            self.client, [*command(), "ask", "--host", self.leader.address, "--admin-port",
                          str(port), "--timeout", "20", target, "-"],
            input=payload, env=self.env, cwd=ROOT, timeout=WAIT)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(reason)
    mark = f"xmlactors-test-{uuid.uuid4().hex}"
    env = dict(os.environ, XMLACTORS_TEST_MARK=mark)
    try:
        with netns.Hosts(4) as net:
            made = Cluster(net, env, tmp_path_factory.mktemp("hosts"))
            convention = f"{made.leader.address}:{PORT}"
            leader = made.serve("leader", made.leader)
            members = [made.serve("gpu", made.gpu, "--convention", convention,
                                  "--capability", "gpu=true"),
                       made.serve("batch", made.batch, "--convention", convention,
                                  "--capability", "role=batch")]
            # The leader says "serving" once both placed listeners are on their members.
            leader.wait_for_line("serving 4 listeners", WAIT)
            for member in members:
                member.wait_for_line("serving", WAIT)
            made.driver = Driver.start(net, made.client, env)
            made.driver.call({"op": "connect", "host": made.leader.address, "port": PORT})
            yield made
            client = made.driver.process
            if client.poll() is None:
                made.driver.send({"op": "close"})
                client.wait(WAIT)
    finally:
        leftovers = kill_marked(mark)
        assert leftovers == [], f"processes left behind: {leftovers}"


def listening(pid: int) -> set[str]:
    """The addresses TCP sockets listen on in the network namespace of process ``pid``."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address = fields[1].split(":")[0]
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if table == "tcp"
                      else f"ipv6 {address}")
    return found


JOB = "<Job><N>{n}</N></Job>"


# -- the tests ----------------------------------------------------------------------


def test_the_harness_ends_every_process_and_deletes_every_namespace_whatever_happens() -> None:
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(reason)
    with pytest.raises(RuntimeError, match="on purpose"), netns.Hosts(2) as net:
        names = {net.bridge, net[0].namespace, net[1].namespace}
        assert names <= set(netns.namespaces())
        # One process started here, and one it detached (as Thespian's admin does).
        net.start(net[0], ["sh", "-c", "setsid sleep 60 & exec sleep 60"])
        deadline = time.monotonic() + 10.0
        while len(inside := net.pids(net[0])) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the process table for the detached one
        assert len(inside) == 2, inside
        raise RuntimeError("on purpose")
    assert not names & set(netns.namespaces())
    assert [pid for pid in inside if netns.alive(pid)] == []


def test_listeners_are_placed_on_the_hosts_offering_what_they_require(cluster: Cluster) -> None:
    assert cluster.driver is not None
    where = {target: cluster.driver.call({"op": "ask", "target": target, "n": 1})
             for target in ("hosts.where", "hosts.gpu", "hosts.batch")}
    assert {target: answer["host"] for target, answer in where.items()} == {
        "hosts.where": "leader", "hosts.gpu": "gpu", "hosts.batch": "batch"}
    # Each answer came from a process inside that host's namespace.
    hosts = {"hosts.where": cluster.leader, "hosts.gpu": cluster.gpu, "hosts.batch": cluster.batch}
    for target, answer in where.items():
        assert answer["pid"] in cluster.net.pids(hosts[target]), target
    # Every socket of a host listens on that host's own address, none on all interfaces.
    for name, host in (("leader", cluster.leader), ("gpu", cluster.gpu), ("batch", cluster.batch)):
        assert listening(cluster.served[name].process.pid) == {host.address}, name


def test_a_buffer_from_the_client_host_runs_on_both_members(cluster: Cluster) -> None:
    assert cluster.driver is not None
    answer = cluster.driver.call({"op": "buffers", "runs": [
        {"target": "hosts.spread", "items": 20, "sleep_ms": 10, "timeout": 30}]})
    (run,) = answer["runs"]
    assert "error" not in run, run
    assert (run["total"], run["successful"]) == (20, 20), run
    assert run["hosts"] == ["gpu" if n % 2 == 0 else "batch" for n in range(20)]
    # The client listens for its replies on its own address, the end of its route to the leader.
    assert listening(cluster.driver.process.pid) == {cluster.client.address}


def test_xmlactors_ask_answers_on_the_client_host(cluster: Cluster) -> None:
    answer = cluster.ask("hosts.gpu", JOB.format(n=7))
    assert answer.returncode == 0, answer.stderr
    assert "<N>7</N>" in answer.stdout and "<Host>gpu</Host>" in answer.stdout
    nobody = cluster.ask("hosts.gpu", JOB.format(n=7), port=PORT + 1)
    assert nobody.returncode == 1
    assert f"no actor system at {cluster.leader.address}:{PORT + 1}" in nobody.stderr


def test_a_member_cut_off_mid_buffer_fails_its_items_and_serves_again_once_its_link_is_back(
    cluster: Cluster,
) -> None:
    driver = cluster.driver
    assert driver is not None
    driver.send({"op": "buffers", "runs": [
        {"target": "hosts.batch", "items": 24, "sleep_ms": 250, "timeout": RUN_TIMEOUT},
        {"target": "hosts.gpu", "items": 12, "sleep_ms": 100, "timeout": RUN_TIMEOUT},
    ]})
    try:
        while driver.read(WAIT) != {"event": "progress", "run": 0}:
            pass  # the other run's first item: not the cue
        cut = time.monotonic()
        cluster.net.cut(cluster.batch)
        answer = driver.read(RUN_TIMEOUT + WAIT)
        while answer.get("event") == "progress":
            answer = driver.read(RUN_TIMEOUT + WAIT)
        ended = time.monotonic()
    finally:
        cluster.net.restore(cluster.batch)
    restored = time.monotonic()
    cut_off, other = answer["runs"]
    assert "error" not in cut_off and "error" not in other, answer
    # The member that stayed ran every item of its Buffer.
    assert (other["total"], other["successful"]) == (12, 12), other
    assert set(other["hosts"]) == {"gpu"}
    # The cut member's items failed, at the latest at the run's deadline; the call returned.
    assert cut_off["total"] == 24 and cut_off["successful"] < 24, cut_off
    assert cut_off["failed"] + cut_off["missing"] == 24 - cut_off["successful"], cut_off
    assert ended - cut < RUN_TIMEOUT + MARGIN, ended - cut
    # The leader's own listeners kept serving.
    assert driver.call({"op": "ask", "target": "hosts.where", "n": 2})["host"] == "leader"

    # The link is back: the next Buffers use the member again.
    back = driver.call({"op": "until", "target": "hosts.batch", "host": "batch", "items": 4,
                        "within": REJOIN_WITHIN}, timeout=REJOIN_WITHIN + WAIT)
    print(f"cut: the Buffer ended {ended - cut:.2f} s after the cut ({cut_off['successful']} of 24"
          f" done, reasons {sorted(set(cut_off['reasons']))}); "
          f"served again {time.monotonic() - restored:.2f} s after the link came back "
          f"({back['tries']} tries)")

    # Noticed by our own clock (heartbeats), the cut member's items fail well before the
    # run's deadline. Strict only where the runtime has heartbeats.
    if ended - cut > DETECTION_BOUND + MARGIN:
        if not hasattr(actors.supervision, "HEARTBEAT"):
            pytest.skip(f"no heartbeats in this runtime: the cut Buffer ended at its deadline,"
                        f" {ended - cut:.1f} s after the cut")
        pytest.fail(f"the cut member's Buffer ended {ended - cut:.1f} s after the cut,"
                    f" past the detection bound ({DETECTION_BOUND:g} s + {MARGIN:g} s)")
    if hasattr(actors.supervision, "HEARTBEAT"):
        assert set(cut_off["reasons"]) <= {"exited"}, cut_off


def test_sigterm_to_each_serve_leaves_nothing_in_its_namespace(cluster: Cluster) -> None:
    driver = cluster.driver
    assert driver is not None
    assert driver.call({"op": "close"}) == {"closed": True}
    assert driver.process.wait(WAIT) == 0
    for name, host in (("gpu", cluster.gpu), ("batch", cluster.batch), ("leader", cluster.leader)):
        served = cluster.served[name]
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(WAIT) == 0, served.log.read_text()
        assert "xmlactors: stopping" in served.log.read_text()
        deadline = time.monotonic() + 10.0
        while cluster.net.pids(host) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the process table, not waiting for an actor
        assert cluster.net.pids(host) == [], name
    assert cluster.net.pids(cluster.client) == []
