"""A payload already parsed in process (``actors.parsed``): kept as its element, pickled as its
bytes, and checked like a parse wherever limits are not known to be met."""

from __future__ import annotations

import pickle

import pytest
from lxml import etree

from actors.errors import PayloadError
from actors.huh import is_expired, is_huh, reply_outcome
from actors.limits import DEFAULT_LIMITS, ParseLimits
from actors.parsed import Parsed, element_of
from actors.parsing import parse
from actors.shape import items_within


def test_pickled_it_is_its_bytes() -> None:
    element = parse(b"<Add><A>1</A><B>2</B></Add>")
    assert pickle.loads(pickle.dumps(Parsed(element))) == b"<Add><A>1</A><B>2</B></Add>"


def test_within_known_limits_the_element_is_taken_as_it_is() -> None:
    element = parse(b"<Add><A>1</A></Add>")
    assert element_of(Parsed(element, DEFAULT_LIMITS), DEFAULT_LIMITS) is element


@pytest.mark.parametrize("limits, refusal", [
    (ParseLimits(max_bytes=20), "over the 20-byte limit"),
    (ParseLimits(max_depth=2), "nesting deeper than 2 levels"),
    (ParseLimits(max_elements=3), "over the 3-element limit"),
])
def test_under_tighter_limits_it_is_refused_as_its_parse_would_be(
    limits: ParseLimits, refusal: str
) -> None:
    data = b"<a><b><c><d>deep enough and long enough</d></c></b></a>"
    with pytest.raises(PayloadError, match=refusal):
        parse(data, limits)
    for within in (None, DEFAULT_LIMITS):
        with pytest.raises(PayloadError, match=refusal):
            element_of(Parsed(parse(data), within), limits)


def test_a_buffers_items_are_vouched_for_only_when_all_of_them_fit() -> None:
    holder = etree.fromstring(b"<Items><a/><b><c/></b></Items>")
    assert items_within(holder, 30, ParseLimits(max_bytes=100))
    assert not items_within(holder, 300, ParseLimits(max_bytes=100))  # one might be too big
    deep = etree.fromstring(b"<Items><a/><b><c><d/></c></b></Items>" + b" " * 30)
    assert not items_within(deep, 70, ParseLimits(max_depth=2))
    assert items_within(deep, 70, ParseLimits(max_depth=3))


def test_errors_are_recognized_on_elements_as_on_bytes() -> None:
    for data in (b'<huh reason="expired">late</huh>', b'<huh reason="exited">x</huh>',
                 b"<huh>bad</huh>", b"<BufferError><Error>x</Error></BufferError>", b"<Sum/>"):
        parsed = Parsed(parse(data))
        assert (is_huh(parsed), is_expired(parsed), reply_outcome(parsed)) == (
            is_huh(data), is_expired(data), reply_outcome(data))
