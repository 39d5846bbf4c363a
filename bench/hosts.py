"""Hosts: a convention across network namespaces, against the same on loopback.

Two layouts of one leader and one member offering ``gpu=true`` (``xmlactors
serve``, a listener of 2 workers placed on the member), each driven by a
client on the leader's host (``tests/hosts_client.py``): the leader and the
member on two hosts joined by veth links and a bridge (``tests/netns.py``),
and both systems on loopback inside one namespace. Rows:

- a Buffer of small items leader -> member across the link, against the
  same on loopback (medians, the layouts taking turns);
- the member's cable pulled mid-Buffer: seconds from the cut to the
  Buffer's end (its items failed), against the heartbeat setting;
- the cable back in: seconds until a Buffer runs whole on the member again.

The last two are skipped in quick mode. The family needs root and ``ip
netns``: elsewhere (and with ``--in-process``) it prints why on stderr and
gives no row, or one saying it was skipped.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .measure import Row, Settings, fmt_rate, fmt_time

__all__ = ["run", "ORGANISM"]

PORT = 1900
ORGANISM = """<?xml version="1.0" encoding="UTF-8"?>
<organism name="bench-hosts">
  <listener name="bench.member" handler="examples.three_hosts:run"
            payload="examples.three_hosts:Job" workers="2">
    <requires gpu="true"/>
  </listener>
</organism>
"""
"""One listener, placed on the member."""


def run(settings: Settings) -> list[Row]:
    if not settings.multiproc:
        print("  hosts: skipped: needs the multiprocess base", file=sys.stderr)
        return []
    try:
        from tests import netns
    except ImportError as exc:  # the bench run outside the repository
        return _skipped(f"no tests/netns.py here ({exc})")
    reason = netns.unavailable()
    if reason is not None:
        return _skipped(reason)
    with tempfile.TemporaryDirectory() as tmp:
        return _measure(settings, Path(tmp))


def _skipped(reason: str) -> list[Row]:
    print(f"  hosts: skipped: {reason}", file=sys.stderr)
    return [Row(f"hosts: skipped ({reason})", "-", "-", "", None)]


def _measure(settings: Settings, tmp: Path) -> list[Row]:
    from actors.supervision import HEARTBEAT
    from examples.two_members import Served
    from tests import netns
    from tests.hosts_client import Driver
    from tests.processes import ROOT, WAIT, command

    organism = tmp / "hosts.xml"
    organism.write_text(ORGANISM)
    env = dict(os.environ)

    with netns.Hosts(3) as net:
        leader, member, alone = net[0], net[1], net[2]

        def serve(name: str, host: netns.Host, bind: str, port: int, *args: str) -> Served:
            log = tmp / f"{name}.log"
            with open(log, "wb") as stderr:
                process = net.start(host, [*command(), "serve", str(organism), "--bind", bind,
                                           "--admin-port", str(port), *args],
                                    env=dict(env, XMLACTORS_EXAMPLE_HOST=name), cwd=ROOT,
                                    stderr=stderr)
            return Served(process, log)

        wide = [serve("leader", leader, leader.address, PORT),
                serve("member", member, member.address, PORT, "--convention",
                      f"{leader.address}:{PORT}", "--capability", "gpu=true")]
        narrow = [serve("leader-lo", alone, "127.0.0.1", PORT),
                  serve("member-lo", alone, "127.0.0.1", PORT + 1, "--convention",
                        f"127.0.0.1:{PORT}", "--capability", "gpu=true")]
        for served in (*wide, *narrow):
            served.wait_for_line("serving", WAIT)
        across, loop = Driver.start(net, leader, env), Driver.start(net, alone, env)
        across.call({"op": "connect", "host": leader.address, "port": PORT})
        loop.call({"op": "connect", "host": "127.0.0.1", "port": PORT})

        n = settings.n(2_000, 50)
        buffer = {"target": "bench.member", "items": n, "timeout": 120}

        def seconds(driver: Driver) -> float:
            (answer,) = driver.call({"op": "buffers", "runs": [buffer]}, timeout=180)["runs"]
            assert answer.get("successful") == n, answer
            return float(answer["seconds"])

        wide_times: list[float] = []
        loop_times: list[float] = []
        for _ in range(settings.warmup):
            seconds(across), seconds(loop)
        for rep in range(settings.reps):
            for driver in ((across, loop) if rep % 2 == 0 else (loop, across)):
                (wide_times if driver is across else loop_times).append(seconds(driver))
        ours, theirs = statistics.median(wide_times), statistics.median(loop_times)
        rows = [Row(f"hosts: Buffer N={n:,} leader -> member across a veth link (multiprocTCPBase)",
                    fmt_rate(n, ours), fmt_rate(n, theirs),
                    "the same, both systems on loopback", theirs / ours)]
        if settings.quick:
            return rows

        # The member's cable pulled mid-Buffer, then plugged back in.
        across.send({"op": "buffers", "runs": [
            {"target": "bench.member", "items": 24, "sleep_ms": 250, "timeout": 30}]})
        try:
            while "event" not in across.read(WAIT):
                pass
            cut = time.monotonic()
            net.cut(member)
            while "event" in (answer := across.read(60)):
                pass
            ended = time.monotonic()
        finally:
            net.restore(member)
        restored = time.monotonic()
        (cut_off,) = answer["runs"]
        back = across.call({"op": "until", "target": "bench.member", "host": "member",
                            "items": 4, "within": 60}, timeout=120)
        rejoined = time.monotonic() - restored
        noticed = ended - cut
        bound = HEARTBEAT * 4 / 3  # silent for the setting, after a ping a third of it apart
        rows.append(Row(f"hosts: a cut member's Buffer ends (heartbeat {HEARTBEAT:g} s;"
                        f" {cut_off['failed'] + cut_off['missing']} of 24 items failed)",
                        fmt_time(noticed), fmt_time(HEARTBEAT), "the heartbeat setting",
                        HEARTBEAT / noticed, f"<= {bound:g} s + 0.5 s", noticed <= bound + 0.5))
        rows.append(Row(f"hosts: serving again after the link is back ({back['tries']} tries)",
                        fmt_time(rejoined), "-", "", None))
        return rows
