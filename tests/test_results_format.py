"""The Buffer's ``<results>`` document: the original format, built with lxml."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from actors.errors import PayloadError
from actors.primitives.results import ItemResult, format_results, parse_results
from tests.strategies import result_lists

SUM = b"<Sum><Value>3</Value></Sum>"
HUH = b"<huh>Handler w crashed: ...</huh>"


def test_results_read_exactly_as_the_design_shows() -> None:
    results = [
        ItemResult(0, True, SUM),
        ItemResult(1, False, HUH, "error"),
        ItemResult(2, False, b"", "timeout"),
    ]
    assert format_results(results) == (
        b'<results><item index="0" success="true"><Sum><Value>3</Value></Sum></item>'
        b'<item index="1" success="false" reason="error">'
        b"<huh>Handler w crashed: ...</huh></item>"
        b'<item index="2" success="false" reason="timeout">missing</item></results>'
    )


def test_an_unfilled_index_reads_missing_without_a_reason() -> None:
    results = [ItemResult(0, True, SUM), None, ItemResult(2, True, b"<Sum/>")]
    formatted = format_results(results)
    assert b'<item index="1" success="false">missing</item>' in formatted


def test_formatted_results_hold_each_result_as_elements_not_text() -> None:
    results = [ItemResult(0, True, SUM), ItemResult(1, False, HUH, "error")]
    formatted = format_results(results)
    for fragment in (b"<results>", b"</results>", b'index="0"', b'index="1"'):
        assert fragment in formatted
    assert b'success="true"' in formatted and b'success="false"' in formatted
    root = etree.fromstring(formatted)
    assert [item[0].tag for item in root] == ["Sum", "huh"]
    assert root[0].findtext("Sum/Value") == "3"
    assert b"&lt;" not in formatted  # embedded, not escaped as text


def test_a_worker_that_exited_is_a_failure_with_reason_exited() -> None:
    huh = b"<huh>worker process exited</huh>"
    formatted = format_results([ItemResult(0, False, huh, "exited")])
    assert formatted == (
        b'<results><item index="0" success="false" reason="exited">'
        b"<huh>worker process exited</huh></item></results>"
    )


def test_results_are_utf8_without_a_declaration() -> None:
    formatted = format_results([ItemResult(0, True, "<T>café ✓</T>".encode())])
    assert not formatted.startswith(b"<?xml")
    assert "café ✓".encode() in formatted


def test_no_results_format_as_an_empty_results_element() -> None:
    assert format_results([]) == b"<results/>"
    assert parse_results(b"<results/>") == []


def test_a_payload_that_is_not_xml_is_kept_as_escaped_text_rather_than_lost() -> None:
    formatted = format_results([ItemResult(0, True, b"plain <text")])
    assert formatted == (
        b'<results><item index="0" success="true">plain &lt;text</item></results>'
    )
    assert parse_results(formatted) == [ItemResult(0, True, b"plain <text")]


@pytest.mark.parametrize(
    "payload",
    [
        b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
        b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x>&e;</x>',
    ],
)
def test_a_payload_with_a_doctype_is_kept_as_text_and_its_entity_never_expanded(
    payload: bytes,
) -> None:
    formatted = format_results([ItemResult(0, True, payload)])
    assert b"<x>" not in formatted  # escaped as text, so &e; stays unexpanded
    assert etree.fromstring(formatted)[0].text == payload.decode()


@given(st.lists(st.binary(max_size=40), max_size=4))
def test_formatted_results_are_well_formed_whatever_the_payload_bytes(
    payloads: list[bytes],
) -> None:
    results = [ItemResult(i, True, p) for i, p in enumerate(payloads)]
    parsed = parse_results(format_results(results))
    assert [r is not None and r.success for r in parsed] == [True] * len(payloads)


def test_a_result_out_of_its_index_position_is_refused() -> None:
    with pytest.raises(ValueError, match="position 0"):
        format_results([ItemResult(1, True, SUM)])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((-1, True, SUM, ""), "index must be >= 0"),
        ((0, True, SUM, "error"), "has no reason"),
        ((0, False, HUH, ""), "needs a reason"),
        ((0, False, HUH, "crashed"), "needs a reason"),
        ((0, False, HUH, "timeout"), "has no payload"),
    ],
)
def test_an_inconsistent_item_result_is_refused(
    fields: tuple[int, bool, bytes, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ItemResult(*fields)


@given(result_lists())
def test_parsing_formatted_results_gives_the_same_results_back(
    results: list[ItemResult | None],
) -> None:
    assert parse_results(format_results(results)) == results


@given(result_lists())
def test_items_come_out_in_index_order(results: list[ItemResult | None]) -> None:
    root = etree.fromstring(format_results(results))
    assert [item.get("index") for item in root] == [str(i) for i in range(len(results))]


@pytest.mark.parametrize(
    "data",
    [b"<results", b"<other/>", b'<results><item index="x"/></results>', b"\xff"],
)
def test_parsing_anything_but_results_raises_a_payload_error(data: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_results(data)
