"""A listener's rate limit: never more than N handler starts in any one second."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from actors import ConfigError
from actors.rate import SlidingWindow, parse_rate
from actors.testing import RuntimeFactory
from tests import listeners as L


def _most_in_any_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - window:
            first += 1
        most = max(most, last - first + 1)
    return most


@given(st.integers(1, 5), st.lists(st.floats(0, 0.5), max_size=60))
@example(1, [0.08261022424047117, 0.5, 0.5])  # oldest + window rounded to a refused time
def test_a_sliding_window_never_lets_more_than_its_limit_start_in_any_window(
    limit: int, gaps: list[float]
) -> None:
    window, now, started = SlidingWindow(limit), 0.0, []
    for gap in gaps:
        now += gap
        if window.take(now):
            started.append(now)
        else:
            assert window.next_free() > now
    assert _most_in_any_window(started) <= limit


def test_rates_are_read_as_calls_per_second() -> None:
    assert (parse_rate("20/s"), parse_rate(" 3 / s "), parse_rate("")) == (20, 3, 0)
    with pytest.raises(ValueError, match="rate must look like '20/s'"):
        parse_rate("20 per second")


def test_a_bad_rate_is_a_config_error_naming_the_listener(factory: RuntimeFactory) -> None:
    rt = factory()
    with pytest.raises(ConfigError, match="listener 'api': rate must look like"):
        rt.register("api", L.stamp, L.Stamp, rate="fast")


def test_a_rate_limited_listener_never_starts_more_than_its_budget_in_any_second(
    factory: RuntimeFactory, tmp_path: Path
) -> None:
    log = tmp_path / "starts.log"
    rt = factory.started()
    rt.register("api", L.stamp, L.Stamp, workers=2, rate="10/s")
    values = rt.map("api", [L.Stamp(i, str(log)) for i in range(50)], timeout=60)
    assert [v.index for v in values] == list(range(50))
    starts = [float(line) for line in log.read_text().split()]
    assert len(starts) == 50
    assert _most_in_any_window(starts) <= 10
    assert max(starts) - min(starts) >= 4.0  # 50 starts at 10 a second: it waited, not failed


def test_the_organism_file_takes_a_rate(tmp_path: Path) -> None:
    from actors import Runtime

    path = tmp_path / "rated.xml"
    path.write_text('<organism name="r"><listener name="api" handler="tests.listeners:stamp"'
                    ' payload="tests.listeners:Stamp" rate="5/s"/></organism>')
    assert Runtime.from_config(path).specs["api"].rate == 5
    path.write_text(path.read_text().replace('rate="5/s"', 'rate="5 a second"'))
    with pytest.raises(ConfigError, match="rate"):
        Runtime.from_config(path)
