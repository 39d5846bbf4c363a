"""Prometheus metrics of a running system: the actors' own counters, read at each scrape.

Nothing is counted here. Every listener and service keeps its counters and
answers a ``StatsRequest`` with them; on each scrape the collector asks all of
them at once (``Runtime.counters``: one round trip per component, in parallel)
and translates what they answered into metric families. A counter starts at 0
with its actor, so a listener re-registered in a new system starts over.

What a component answers (counter name -> value, ``StatsReply.counters``):

- a listener: ``handled`` (outcomes routed), ``failed`` (jobs answered with a
  ``<huh>``: the handler's own, a refused payload or forward, a timeout, a
  worker's exit, an expiry), ``refused`` (forwards outside its peers),
  ``replaced`` (workers restarted), ``expired`` (jobs not started because
  their caller's deadline had passed: answered, not ``handled``),
  ``in_flight`` and ``waiting`` (jobs at its workers and queued in it, now),
  and the call-duration histogram: ``latency_le_<bound>``
  for each bound of ``latency.LATENCY_BOUNDS`` written with ``:g``
  (``latency_le_0.005``, ``latency_le_1``), each the number of calls that ran
  at most that many seconds (cumulative, as Prometheus buckets are);
  ``latency_count``, every call that ran (the +Inf bucket); ``latency_sum``,
  their seconds. A job that never ran (a payload refused before the call, a
  worker's death) is in ``failed`` but not in the histogram.
- a service (``system.buffer``, ``system.sequence``): ``active``, ``warm``,
  ``started``, ``rejected``, ``refused``, and ``finished_<outcome>`` per
  outcome a run reported: ``complete``, ``partial`` (a Buffer some of whose
  items failed or went missing), ``failed`` (a Buffer none of whose items
  succeeded, a Sequence whose step failed), or ``lost`` (its actor ended first;
  the service answered in its place).

The families (``families``) are named ``xmlactors_*``; ``xmlactors_up`` is 0
when some component did not answer in time (then only it is reported).

Needs the ``metrics`` extra (``prometheus_client``), imported only when
metrics are asked for: the runtime works without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

from .errors import ConfigError, XmlActorsError
from .statistics import Counters

if TYPE_CHECKING:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.metrics_core import Metric

__all__ = ["MetricsServer", "families", "require_client", "SCRAPE_TIMEOUT"]

SCRAPE_TIMEOUT = 5.0
"""Seconds a scrape waits for every component's counters (Prometheus's own default is 10 s)."""

LATENCY_PREFIX = "latency_le_"

# (family, counter it reads, kind, help) of the listeners' plain counters and gauges.
LISTENER_FAMILIES = (
    ("xmlactors_handled", "handled", "counter", "Outcomes a listener routed (answers, forwards, ends)."),
    ("xmlactors_failed", "failed", "counter", "Jobs a listener answered with a <huh> error."),
    ("xmlactors_refused", "refused", "counter", "Sends refused because the target is not a peer."),
    ("xmlactors_worker_restarts", "replaced", "counter", "Workers that exited and were replaced."),
    ("xmlactors_expired", "expired", "counter",
     "Jobs not started because their caller's deadline had passed (answered expired)."),
    ("xmlactors_in_flight", "in_flight", "gauge", "Jobs handed to workers and not yet answered."),
    ("xmlactors_waiting", "waiting", "gauge", "Jobs queued in the listener, waiting for room."),
)
SERVICE_FAMILIES = (
    ("xmlactors_runs_active", "active", "gauge", "Buffer or Sequence runs going on now."),
    ("xmlactors_runs_started", "started", "counter", "Runs admitted and started."),
    ("xmlactors_runs_rejected", "rejected", "counter", "Runs refused at admission."),
)


def require_client() -> ModuleType:
    """The ``prometheus_client`` module, or ``ConfigError`` naming the extra to install."""
    try:
        import prometheus_client
    except ImportError:
        raise ConfigError(
            "metrics need prometheus_client: pip install 'xmlactors[metrics]'"
        ) from None
    return prometheus_client


def _family(name: str, kind: str, doc: str,
            labels: list[str]) -> CounterMetricFamily | GaugeMetricFamily:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    if kind == "counter":
        return CounterMetricFamily(name, doc, labels=labels)
    return GaugeMetricFamily(name, doc, labels=labels)


def _histogram(listeners: Counters) -> Metric:
    """``xmlactors_call_seconds``: each listener's ``latency_*`` counters as one histogram."""
    from prometheus_client.core import HistogramMetricFamily

    family = HistogramMetricFamily(
        "xmlactors_call_seconds", "How long handler calls ran, by the worker's clock.",
        labels=["listener"],
    )
    for name, counters in listeners.items():
        bounds = sorted((float(key[len(LATENCY_PREFIX):]), value)
                        for key, value in counters.items() if key.startswith(LATENCY_PREFIX))
        buckets = [(str(bound), value) for bound, value in bounds]
        buckets.append(("+Inf", counters.get("latency_count", 0.0)))
        family.add_metric([name], buckets, counters.get("latency_sum", 0.0))
    return family


def families(counters: Counters) -> list[Metric]:
    """The metric families of every component's ``counters`` (pure: no actor is asked).

    A component with ``handled`` is a listener, one with ``active`` a service;
    ``refused`` is reported for both (a service refuses runs that would send
    outside the requester's peers), labelled ``listener``.
    """
    require_client()
    listeners = {name: c for name, c in counters.items() if "handled" in c}
    services = {name: c for name, c in counters.items() if "active" in c}
    found: list[Metric] = []
    for family_name, key, kind, doc in LISTENER_FAMILIES:
        family = _family(family_name, kind, doc, ["listener"])
        for name, c in (counters if key == "refused" else listeners).items():
            if key in c:
                family.add_metric([name], c[key])
        found.append(family)
    found.append(_histogram(listeners))
    for family_name, key, kind, doc in SERVICE_FAMILIES:
        family = _family(family_name, kind, doc, ["service"])
        for name, c in services.items():
            family.add_metric([name], c.get(key, 0.0))
        found.append(family)
    finished = _family("xmlactors_runs_finished", "counter",
                       "Runs ended, by outcome: complete, partial, failed, lost.",
                       ["service", "outcome"])
    for name, c in services.items():
        for key, value in sorted(c.items()):
            if key.startswith("finished_"):
                finished.add_metric([name, key[len("finished_"):]], value)
    found.append(finished)
    restarts = _family("xmlactors_component_restarts", "counter",
                       "Times the root restarted a component (registry, service, listener).",
                       ["component"])
    for key, value in sorted(counters.get("root", {}).items()):
        if key.startswith("restarts:"):
            restarts.add_metric([key[len("restarts:"):]], value)
    found.append(restarts)
    return found


class _Collector:
    """What the registry calls on each scrape: the system's counters, translated."""

    def __init__(self, counters: Callable[[float], Counters]) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("xmlactors_up", "1 if every component answered in time, else 0.")
        try:
            counted = self.counters(SCRAPE_TIMEOUT)
        except (XmlActorsError, RuntimeError):  # timed out, or the runtime is stopping
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families(counted)


class MetricsServer:
    """``/metrics`` served on ``host:port`` by prometheus_client's own HTTP server, until ``close``.

    ``counters(timeout)`` is what each scrape reads (``Runtime.counters``). The
    server has a registry of its own: nothing of the process's default registry
    (which other code may fill) is mixed in.
    """

    def __init__(self, counters: Callable[[float], Counters], port: int,
                 host: str = "127.0.0.1") -> None:
        require_client()
        from prometheus_client import CollectorRegistry, start_http_server

        self.registry = CollectorRegistry()
        self.registry.register(_Collector(counters))
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        self.host = host
        self.port: int = self._server.server_port  # the one chosen, if ``port`` was 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and close the socket; the serving thread is joined."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
