"""Prometheus metrics: scraped over HTTP on loopback while real runs go through (both bases)."""

from __future__ import annotations

import logging
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from thespian.actors import ActorExitRequest

from actors import ConfigError, ListenerError, Runtime
from actors.bases import free_port, free_ports
from actors.metrics import families
from actors.primitives import (
    BufferComplete,
    BufferStart,
    SequenceComplete,
    SequenceError,
    SequenceStart,
)
from actors.primitives.service import EXIT_GRACE
from actors.testing import RuntimeFactory
from examples import agents as P
from examples.two_members import Served
from tests import listeners as L
from tests.processes import WAIT, ask, serve
from tests.test_cli import ADD, SUM

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""(sample name, its labels) -> value, of one scrape."""


def scrape(port: int) -> Samples:
    """One GET of ``/metrics``, parsed by prometheus_client's own text parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode("utf-8")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when it is not there (a counter nobody reported yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_until(port: int, holds: Callable[[Samples], bool], timeout: float = 20.0) -> Samples:
    """Scrape until ``holds`` (each scrape asks every actor: no sleep); the last one otherwise."""
    deadline = time.monotonic() + timeout
    samples = scrape(port)
    while not holds(samples) and time.monotonic() < deadline:
        samples = scrape(port)
    return samples


def _served(factory: RuntimeFactory) -> tuple[Runtime, int]:
    port = free_port()
    rt = factory.started(metrics_port=port)
    rt.register("w", L.work, L.Work, workers=2)
    return rt, port


def test_a_buffer_moves_the_scraped_counters_by_its_items(factory: RuntimeFactory) -> None:
    rt, port = _served(factory)
    before = scrape(port)
    assert value(before, "xmlactors_up") == 1.0
    items = [L.Work(value=i, crash=i % 4 == 0) for i in range(12)]  # 0, 4 and 8 crash

    done = rt.ask("system.buffer", BufferStart(target="w", items=items, timeout=30), timeout=60)

    assert isinstance(done, BufferComplete) and (done.successful, done.failed) == (9, 3)
    buffer = {"service": "system.buffer"}
    after = scrape_until(port, lambda s: value(s, "xmlactors_runs_finished_total", **buffer,
                                               outcome="partial") == 1
                         and value(s, "xmlactors_runs_active", **buffer) == 0)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("xmlactors_handled_total", listener="w") == 12
    assert moved("xmlactors_failed_total", listener="w") == 3
    assert moved("xmlactors_call_seconds_count", listener="w") == 12
    assert moved("xmlactors_call_seconds_bucket", listener="w", le="+Inf") == 12
    assert moved("xmlactors_call_seconds_bucket", listener="w", le="10.0") == 12
    assert 0 < moved("xmlactors_call_seconds_sum", listener="w") < 10
    assert moved("xmlactors_runs_started_total", **buffer) == 1
    assert moved("xmlactors_runs_finished_total", **buffer, outcome="partial") == 1
    assert moved("xmlactors_runs_finished_total", **buffer, outcome="complete") == 0
    assert value(after, "xmlactors_in_flight", listener="w") == 0
    assert value(after, "xmlactors_waiting", listener="w") == 0
    assert value(after, "xmlactors_worker_restarts_total", listener="w") == 0

    good = BufferStart(target="w", items=[L.Work(value=i) for i in range(5)], timeout=30)
    assert rt.ask("system.buffer", good, timeout=60).successful == 5
    last = scrape_until(port, lambda s: value(s, "xmlactors_runs_finished_total", **buffer,
                                              outcome="complete") == 1)
    assert value(last, "xmlactors_runs_finished_total", **buffer, outcome="complete") == 1
    assert value(last, "xmlactors_handled_total", listener="w") == 12 + 5


def test_sequences_count_as_complete_or_failed(factory: RuntimeFactory) -> None:
    port = free_port()
    rt = factory.started(metrics_port=port)
    rt.register("echo", L.echo, L.Echo)
    rt.register("crash", L.crash, L.Echo)
    done = rt.ask("system.sequence", SequenceStart(["echo", "echo"], L.Echo("a"), timeout=20), timeout=30)
    failed = rt.ask("system.sequence", SequenceStart(["echo", "crash"], L.Echo("b"), timeout=20), timeout=30)
    assert isinstance(done, SequenceComplete) and isinstance(failed, SequenceError)
    sequence = {"service": "system.sequence"}
    samples = scrape_until(port, lambda s: value(s, "xmlactors_runs_finished_total", **sequence,
                                                 outcome="failed") == 1
                           and value(s, "xmlactors_runs_finished_total", **sequence,
                                     outcome="complete") == 1)
    assert value(samples, "xmlactors_runs_finished_total", **sequence, outcome="complete") == 1
    assert value(samples, "xmlactors_runs_finished_total", **sequence, outcome="failed") == 1
    assert value(samples, "xmlactors_failed_total", listener="crash") == 1
    assert value(samples, "xmlactors_handled_total", listener="echo") == 3


def test_a_run_that_said_its_last_word_is_never_counted_lost(factory: RuntimeFactory) -> None:
    """Its actor exits after its RunFinished; nothing is owed, so nothing is "lost" later."""
    rt = factory.started()
    rt.register("add", L.add, L.Add)
    rt.register("work", L.work, L.Work)
    assert rt.map("add", [L.Add(1, 1)] * 3, timeout=WAIT) == [L.Sum(2)] * 3
    # Outlast the grace a service gives an exited run's RunFinished, waiting on a reply.
    rt.ask("work", L.Work(sleep_ms=int((EXIT_GRACE + 1.0) * 1000)), timeout=WAIT)
    counters = rt.counters()["system.buffer"]
    assert counters.get("finished_complete") == 1
    assert "finished_lost" not in counters, counters


def test_a_dead_worker_counts_as_a_failure_and_a_restart(
    factory: RuntimeFactory, multiproc: bool
) -> None:
    if not multiproc:
        pytest.skip("in process a dying handler would end the test's own process")
    rt, port = _served(factory)
    with pytest.raises(ListenerError, match="worker exited"):
        rt.ask("w", L.Work(value=1, die=True), timeout=20)
    samples = scrape_until(port, lambda s: value(s, "xmlactors_worker_restarts_total",
                                                 listener="w") == 1)
    assert value(samples, "xmlactors_worker_restarts_total", listener="w") == 1
    assert value(samples, "xmlactors_failed_total", listener="w") == 1
    assert value(samples, "xmlactors_call_seconds_count", listener="w") == 0  # it never answered


def test_a_restarted_component_is_counted_by_name(factory: RuntimeFactory) -> None:
    rt, port = _served(factory)
    assert rt.system is not None
    rt.system.mailbox.send(rt.addresses["w"], ActorExitRequest())  # what a crash looks like
    samples = scrape_until(port, lambda s: value(s, "xmlactors_component_restarts_total",
                                                 component="w") == 1)
    assert value(samples, "xmlactors_component_restarts_total", component="w") == 1
    assert value(samples, "xmlactors_component_restarts_total", component="system.buffer") == 0


def test_the_endpoint_stops_with_the_runtime(factory: RuntimeFactory) -> None:
    port = free_port()
    rt = factory.started(metrics_port=port)
    assert rt.metrics is not None and rt.metrics.url == f"http://127.0.0.1:{port}/metrics"
    thread = rt.metrics._thread
    assert value(scrape(port), "xmlactors_runs_active", service="system.buffer") == 0
    rt.shutdown()
    assert rt.metrics is None and not thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.multiproc
def test_serve_with_a_metrics_port_serves_them_until_it_stops(
    serving: list[Served], marked_env: dict[str, str], tmp_path: Path
) -> None:
    admin, port = free_ports(2)
    served = serve(serving, marked_env, tmp_path / "serve.log", "examples/calc.xml",
                   "--admin-port", str(admin), "--metrics-port", str(port))
    served.wait_for_line("serving", WAIT)
    assert served.wait_for_line("metrics at", WAIT).endswith(f"http://127.0.0.1:{port}/metrics")
    answered = ask(marked_env, admin, "calculator.add", ADD)
    assert (answered.returncode, answered.stdout) == (0, SUM + "\n"), answered.stderr
    assert value(scrape(port), "xmlactors_handled_total", listener="calculator.add") == 1
    assert served.stop() == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_metrics_port_in_use_is_a_config_error_and_nothing_is_left_running() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rt = Runtime(metrics_port=port)
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            rt.start()
    assert not rt.running and rt.metrics is None


def test_metrics_without_prometheus_client_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import prometheus_client fails
    with pytest.raises(ConfigError, match=r"pip install 'xmlactors\[metrics\]'"):
        Runtime(metrics_port=free_port())
    with Runtime() as rt:  # and without metrics the runtime needs none of it
        rt.register("calculator.add", L.add, L.Add)
        assert rt.ask("calculator.add", L.Add(2, 3), timeout=10) == L.Sum(5)


def test_counters_become_metric_families() -> None:
    listener = {"handled": 5.0, "failed": 1.0, "refused": 2.0, "replaced": 1.0, "in_flight": 3.0,
                "waiting": 4.0, "latency_le_0.005": 2.0, "latency_le_1": 4.0, "latency_le_10": 4.0,
                "latency_count": 5.0, "latency_sum": 12.5}
    service = {"active": 1.0, "warm": 2.0, "started": 4.0, "rejected": 1.0, "refused": 1.0,
               "finished_complete": 2.0, "finished_lost": 1.0}
    registry = CollectorRegistry()

    class Fixed:
        def collect(self):  # type: ignore[no-untyped-def]
            return families({"calc": listener, "system.buffer": service})

    registry.register(Fixed())
    lines = set(generate_latest(registry).decode().splitlines())
    assert lines >= {
        "# TYPE xmlactors_handled_total counter",
        'xmlactors_handled_total{listener="calc"} 5.0',
        'xmlactors_failed_total{listener="calc"} 1.0',
        'xmlactors_refused_total{listener="calc"} 2.0',
        'xmlactors_refused_total{listener="system.buffer"} 1.0',
        'xmlactors_worker_restarts_total{listener="calc"} 1.0',
        'xmlactors_in_flight{listener="calc"} 3.0',
        'xmlactors_waiting{listener="calc"} 4.0',
        "# TYPE xmlactors_call_seconds histogram",
        'xmlactors_call_seconds_bucket{le="0.005",listener="calc"} 2.0',
        'xmlactors_call_seconds_bucket{le="1.0",listener="calc"} 4.0',
        'xmlactors_call_seconds_bucket{le="10.0",listener="calc"} 4.0',
        'xmlactors_call_seconds_bucket{le="+Inf",listener="calc"} 5.0',
        'xmlactors_call_seconds_count{listener="calc"} 5.0',
        'xmlactors_call_seconds_sum{listener="calc"} 12.5',
        'xmlactors_runs_active{service="system.buffer"} 1.0',
        'xmlactors_runs_started_total{service="system.buffer"} 4.0',
        'xmlactors_runs_rejected_total{service="system.buffer"} 1.0',
        'xmlactors_runs_finished_total{outcome="complete",service="system.buffer"} 2.0',
        'xmlactors_runs_finished_total{outcome="lost",service="system.buffer"} 1.0',
    }
    # A service is no listener, nor a listener a service.
    assert not any("system.buffer" in line for line in lines if line.startswith("xmlactors_handled"))
    assert not any('service="calc"' in line for line in lines)


class _Kept(logging.Handler):
    """Keeps the records it is given (caplog's handler is gone once Thespian configures logging)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_refused_send_is_one_key_value_line_with_the_thread(tmp_path: Path) -> None:
    kept, logger = _Kept(), logging.getLogger("xmlactors")
    with Runtime() as rt:  # in process: the actors log in this process
        rt.register("agent", P.agent, (P.Order, P.Mark), peers=("allowed",))
        rt.register("secret", P.mark, P.Mark)
        logger.addHandler(kept)
        try:
            with pytest.raises(ListenerError, match="may not send to secret"):
                rt.ask("agent", P.Order("secret", "forward", str(tmp_path / "log")), timeout=20)
        finally:
            logger.removeHandler(kept)
    (line,) = [r.getMessage() for r in kept.records if r.getMessage().startswith("refused_send")]
    assert line.startswith('refused_send sender="agent" target="secret" thread="')
    assert line.endswith('"') and len(line.split('thread="', 1)[1]) > 1 and "\n" not in line
    assert kept.records[0].levelno == logging.WARNING
