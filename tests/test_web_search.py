"""The web search example, run for real: one Buffer of HTTP calls beats the calls one by one."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest

from actors import HandlerMetadata, Runtime
from examples import web_search
from examples.web_search import ORGANISM, URL_VARIABLE, Hits, Query, fan_out, pointed_at, search
from examples.web_search_service import hits_for, search_service

SUMMARY = re.compile(
    r"searched (\d+) of (\d+) queries in one Buffer on (\w+) in ([\d.]+) s \(one call takes [\d.]+ s;"
)
META = HandlerMetadata("t", "outside", "web.search")


@pytest.mark.parametrize(
    ("base", "count"),
    [("simpleSystemBase", 100), pytest.param("multiprocTCPBase", 30, marks=pytest.mark.multiproc)],
)
def test_one_buffer_of_searches_takes_a_fraction_of_the_serial_time(base: str, count: int) -> None:
    delay = 0.2
    out = io.StringIO()
    assert web_search.main(["--base", base, "--queries", str(count), "--delay", str(delay)], out=out) == 0
    *lines, summary = out.getvalue().splitlines()
    match = SUMMARY.match(summary)
    assert match, summary
    assert match.groups()[:3] == (str(count), str(count), base)
    # Every query answered, at its own index; one after another they would take count * delay.
    assert [line.split()[0] for line in lines] == [str(i) for i in range(count)]
    assert all(" hits, first: The " in line for line in lines)
    assert float(match.group(4)) < 0.5 * count * delay


def test_a_query_the_service_refuses_fails_only_its_own_item(xmlactors_base: str) -> None:
    with search_service(delay=0.05) as url, pointed_at(url), \
            Runtime.from_config(ORGANISM, base=xmlactors_base) as rt:
        amber, failed, coral = fan_out(rt, [Query("amber"), Query("fail"), Query("coral")])
    assert amber and failed and coral  # each answered: None would be an item without an answer
    assert Hits.from_xml(amber.payload) == Hits("amber", [hit["title"] for hit in hits_for("amber")])
    assert Hits.from_xml(coral.payload).query == "coral"
    assert (failed.success, failed.reason) == (False, "error")
    assert b"HTTPStatusError" in failed.payload and b"500 Internal Server Error" in failed.payload


def test_the_loop_keeps_one_client_until_the_runtime_stops() -> None:
    before = set(web_search._clients)
    with search_service(delay=0.0) as url, pointed_at(url), Runtime.from_config(ORGANISM) as rt:
        rt.ask("web.search", Query("amber"), timeout=15)
        (loop,) = set(web_search._clients) - before
        client = web_search._clients[loop][0]
        rt.ask("web.search", Query("coral"), timeout=15)
        assert web_search._clients[loop][0] is client  # the second call reused it
    assert client.is_closed and loop not in web_search._clients


def test_a_loop_of_ones_own_closes_the_client_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # asyncio.run cancels what is left on its loop, as the runtime does: the keeper closes it.
    before = set(web_search._clients)
    with search_service(delay=0.0) as url:
        monkeypatch.setenv(URL_VARIABLE, url)
        answer = asyncio.run(search(Query("kelp"), META))
    assert answer.payload == Hits("kelp", [hit["title"] for hit in hits_for("kelp")])
    assert set(web_search._clients) == before


def test_without_the_service_url_the_handler_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    with pytest.raises(LookupError, match=URL_VARIABLE):
        asyncio.run(search(Query("kelp"), META))


def test_the_service_answers_the_same_hits_for_the_same_query() -> None:
    with search_service(delay=0.0) as url, httpx.Client(base_url=url, timeout=5) as client:
        first = client.get("/search", params={"q": "Amber Harbor"})
        again = client.get("/search", params={"q": "Amber Harbor"})
        refused = client.get("/search", params={"q": "fail"})
        elsewhere = client.get("/nothing")
    assert first.status_code == 200 and first.json() == again.json()
    assert first.json()["hits"] == hits_for("Amber Harbor") and 3 <= len(hits_for("Amber Harbor")) <= 5
    assert (refused.status_code, elsewhere.status_code) == (500, 404)
