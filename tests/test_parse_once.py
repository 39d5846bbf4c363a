"""XML is parsed and written once each way (the house issue): counted, and held at that minimum.

Every parse and every write of the runtime goes through ``actors.parsing``'s
two seams (``_fromstring``, ``_tostring``); the test wraps them and runs a
Buffer in process, where the client, the services, the run, the listener
and the handler calls all run in this process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from actors import Runtime, parsing
from actors.primitives import BufferComplete, BufferStart, parse_results
from tests import listeners as L


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    parse, write = parsing._fromstring, parsing._tostring

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        counts["parse"] += 1
        return parse(*args, **kwargs)

    def counting_write(*args: Any, **kwargs: Any) -> Any:
        counts["write"] += 1
        return write(*args, **kwargs)

    monkeypatch.setattr(parsing, "_fromstring", counting_parse)
    monkeypatch.setattr(parsing, "_tostring", counting_write)
    yield counts


@pytest.mark.parametrize("n", [1, 100])
def test_in_process_a_buffer_parses_and_writes_no_item_on_its_way(
    counted: Counter[str], n: int
) -> None:
    with Runtime() as rt:
        rt.register("calculator.add", L.add, L.Add)
        start = BufferStart(target="calculator.add", items=[L.Add(i, i) for i in range(n)])
        counted.clear()
        done = rt.ask("system.buffer", start, timeout=30)
        seen = dict(counted)
    assert isinstance(done, BufferComplete) and done.successful == n
    # Parses: the start at the service, and the run's <results> skeleton (every <item> with
    # its attributes, no payload: one parse is cheaper than setting attributes item by item).
    # Writes: the start at the client, the BufferComplete the run made as its element,
    # measured at the boundary against the runtime's limits, <results> as the Xml field's
    # text. Each item goes to its listener as the element split from the parsed start, and
    # each answer into <results> as the element its handler's payload made: the counts are
    # the same for 1 item and for 100.
    assert seen == {"parse": 2, "write": 3}


def test_reading_the_results_parses_them_once_more(counted: Counter[str]) -> None:
    with Runtime() as rt:
        rt.register("calculator.add", L.add, L.Add)
        done = rt.ask("system.buffer", BufferStart(target="calculator.add",
                                                   items=[L.Add(1, 1), L.Add(2, 2)]), timeout=30)
        counted.clear()
        sums = [L.Sum.from_xml(r.payload) for r in parse_results(done.results) if r]
    assert [s.value for s in sums] == [2, 4]
    assert counted["parse"] == 1 + 2  # the document, then each item's bytes
