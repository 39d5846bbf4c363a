"""The hardened parser: what it accepts, what it refuses, and how it says so."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from actors.errors import PayloadError
from actors.parsing import (
    DEFAULT_LIMITS,
    ParseLimits,
    RefusingResolver,
    inner_text,
    new_parser,
    parse,
    parse_items,
    to_bytes,
    to_text,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

SECRET = "xmlactors-secret-3f9a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def refusal(data: str | bytes, limits: ParseLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(PayloadError) as info:
        parse(data, limits)
    return str(info.value)


def item_refusal(text: str | bytes, limits: ParseLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(PayloadError) as info:
        parse_items(text, limits)
    return str(info.value)


# --- parse: accepted input ---------------------------------------------------------------


def test_parse_returns_the_root_element_of_bytes_and_str() -> None:
    assert parse(b"<Add><A>2</A></Add>").findtext("A") == "2"
    assert parse("<T>d\u00e9j\u00e0 \U0001f389</T>").text == "d\u00e9j\u00e0 \U0001f389"


def test_an_xml_declaration_naming_utf8_and_a_utf8_bom_are_accepted() -> None:
    assert parse(b'<?xml version="1.0" encoding="UTF-8"?><a/>').tag == "a"
    assert parse(b"<?xml version='1.0' encoding='utf8'?><a/>").tag == "a"
    assert parse(b"\xef\xbb\xbf<a/>").tag == "a"


def test_comments_and_processing_instructions_are_removed() -> None:
    root = parse(b"<!-- c --><?pi x?><a>t<!-- d --><?q y?><b/></a><!-- e -->")
    assert to_bytes(root) == b"<a>t<b/></a>"


def test_input_at_the_limits_is_accepted() -> None:
    limits = ParseLimits(max_bytes=100, max_depth=3, max_elements=4)
    assert parse(b"<a><b><c/></b><d/></a>", limits).tag == "a"
    deep = b"<a>" * 100 + b"</a>" * 100
    assert parse(deep).tag == "a"


# --- parse: refusals ----------------------------------------------------------------------


def test_malformed_xml_names_the_line_column_and_problem() -> None:
    message = refusal(b"<a>\n<b></a>")
    assert message == "malformed XML at line 2, column 8: Opening and ending tag mismatch: b line 2 and a"


def test_two_roots_and_trailing_garbage_are_refused() -> None:
    assert "Extra content at the end of the document (one root element only)" in refusal(b"<a/><b/>")
    assert refusal(b"<a/>junk").startswith("malformed XML at line 1, column 5: Extra content")


def test_empty_input_is_refused() -> None:
    assert refusal(b"") == "malformed XML at line 1, column 1: Document is empty"


def test_an_undefined_entity_is_refused() -> None:
    assert "Entity 'x' not defined" in refusal(b"<a>&x;</a>")


def test_any_doctype_is_refused() -> None:
    assert refusal(b"<!DOCTYPE a><a/>") == (
        "XML refused: DOCTYPE declarations are not allowed (line 1, column 1)"
    )


def test_xxe_entity_is_refused_and_file_content_never_appears(secret_file: Path) -> None:
    xxe = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]><r>&x;</r>'
    message = refusal(xxe)
    assert message.startswith("XML refused: DOCTYPE declarations are not allowed")
    assert SECRET not in message
    passwd = refusal(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')
    assert "root:" not in passwd


def test_the_parser_itself_never_reads_external_entities(secret_file: Path) -> None:
    # Defence in depth: even without the DOCTYPE pre-scan, nothing is fetched or expanded.
    xxe = f'<!DOCTYPE r [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]><r>&x;</r>'.encode()
    root = etree.fromstring(xxe, new_parser())
    assert SECRET not in etree.tostring(root, encoding="unicode")


def test_an_external_dtd_is_refused(secret_file: Path) -> None:
    message = refusal(f'<!DOCTYPE r SYSTEM "{secret_file.as_uri()}"><r/>')
    assert message.startswith("XML refused: DOCTYPE declarations are not allowed")
    remote = refusal(b'<!DOCTYPE r PUBLIC "-//X//Y" "http://example.invalid/r.dtd"><r/>')
    assert "DOCTYPE" in remote


def test_an_entity_declaration_outside_a_doctype_is_refused() -> None:
    assert "ENTITY declarations are not allowed" in refusal(b'<a><!ENTITY x "y"></a>')


def test_billion_laughs_is_refused_fast_without_expansion() -> None:
    started = time.perf_counter()
    message = refusal(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.1
    assert message == "XML refused: DOCTYPE declarations are not allowed (line 2, column 1)"
    started = time.perf_counter()
    try:  # the parser alone never expands: libxml2 refuses or keeps the references
        assert len(etree.tostring(etree.fromstring(BILLION_LAUGHS, new_parser()))) < 100
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc)
    assert time.perf_counter() - started < 0.1


def test_the_refusing_resolver_refuses_every_url() -> None:
    with pytest.raises(PayloadError, match="external resource 'file:///etc/passwd' is not allowed"):
        RefusingResolver().resolve("file:///etc/passwd", "")


def test_nesting_deeper_than_the_limit_is_refused_with_its_line() -> None:
    deep = b"<a>\n" * 101 + b"</a>" * 101
    assert refusal(deep) == "XML refused: nesting deeper than 100 levels (line 101)"
    small = ParseLimits(max_depth=2)
    assert refusal(b"<a><b><c/></b></a>", small) == "XML refused: nesting deeper than 2 levels (line 1)"


def test_more_elements_than_the_limit_are_refused() -> None:
    message = refusal(b"<r>" + b"<a/>" * 10 + b"</r>", ParseLimits(max_elements=10))
    assert message == "XML refused: 11 elements is over the 10-element limit"
    many = b"<r>" + b"<a/>" * 100_000 + b"</r>"
    assert refusal(many) == "XML refused: 100,001 elements is over the 100,000-element limit"


def test_size_over_the_cap_is_refused_before_parsing() -> None:
    data = b"<" * 2_000_001  # malformed too: the size is reported, so no parse happened
    assert refusal(data) == "XML refused: 2,000,001 bytes is over the 1,000,000-byte limit"


def test_str_size_is_counted_in_utf8_bytes() -> None:
    text = "<a>" + "\u00e9" * 48 + "</a>"  # 103 bytes, 55 characters
    assert refusal(text, ParseLimits(max_bytes=100)) == (
        "XML refused: 103 bytes is over the 100-byte limit"
    )


@pytest.mark.parametrize("encoding", ["UTF-7", "UTF-16", "ISO-8859-1", "utf-32"])
def test_a_declared_encoding_other_than_utf8_is_refused(encoding: str) -> None:
    data = f'<?xml version="1.0" encoding="{encoding}"?><a>+ADw-</a>'.encode("ascii")
    assert refusal(data) == (
        f"XML refused: encoding {encoding!r} is not allowed; only UTF-8 is accepted"
    )


def test_utf16_bytes_are_refused_with_or_without_a_bom() -> None:
    document = '<?xml version="1.0" encoding="UTF-16"?><a/>'
    assert "byte order mark" in refusal(document.encode("utf-16"))
    assert "NUL" in refusal("<a/>".encode("utf-16-le"))


def test_nul_and_control_characters_are_refused_with_a_clear_message() -> None:
    assert refusal(b"<a>\x00</a>") == (
        "XML refused: a NUL byte at line 1, column 4 (NUL is never allowed in XML)"
    )
    assert refusal("<a>\n x\x01</a>") == (
        "XML refused: control character U+0001 at line 2, column 3 is not allowed in XML 1.0"
    )
    assert "invalid xmlChar value 27" in refusal(b"<a>&#27;</a>")


def test_a_lone_surrogate_in_str_is_refused() -> None:
    assert "lone surrogate at position 3" in refusal("<a>\ud800</a>")


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_parse_raises_nothing_but_payload_error_on_any_input(data: bytes | str) -> None:
    try:
        parse(data)
    except PayloadError:
        pass


def test_each_thread_parses_with_its_own_parser() -> None:
    outcomes: list[bool] = []

    def work() -> None:
        for i in range(300):
            outcomes.append(parse(f"<n>{i}</n>").text == str(i))
            try:
                parse(b"<n>")
            except PayloadError:
                outcomes.append(True)
            else:
                outcomes.append(False)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * 2400


# --- parse_items ----------------------------------------------------------------------------


def test_empty_or_blank_items_text_gives_no_items() -> None:
    assert parse_items("") == []
    assert parse_items(b" \n\t\n") == []


def test_several_items_spanning_lines_come_back_in_order_and_detached() -> None:
    text = "\n  <A>\n  <V>1</V>\n</A>\n<B/>\n\n<C x='1'>t</C>  \n"
    items = parse_items(text)
    assert [to_bytes(i) for i in items] == [b"<A>\n  <V>1</V>\n</A>", b"<B/>", b'<C x="1">t</C>']
    assert [i.sourceline for i in items] == [2, 5, 7]
    assert all(i.getparent() is None and i.tail is None for i in items)


def test_a_malformed_item_names_its_index_and_line() -> None:
    message = item_refusal("<A/>\n<B/>\n<C></D>\n<E/>")
    assert message == (
        "item 2: malformed XML at line 3, column 8: Opening and ending tag mismatch: C line 3 and D"
    )


def test_an_unclosed_last_item_and_a_stray_closing_tag_are_explained() -> None:
    assert "item 1: " in item_refusal("<A/>\n<B>")
    assert "element <B> opened at line 2 is not closed" in item_refusal("<A/>\n<B>")
    assert item_refusal("</B><A/>") == (
        "item 0: malformed XML at line 1, column 5: closing tag </B> has no opening tag"
    )


def test_text_outside_elements_is_refused() -> None:
    assert item_refusal("hello <A/>") == "item 0: text outside elements is not allowed: 'hello'"
    assert item_refusal("<A/> <B/> tail") == "item 1: text after the element is not allowed: 'tail'"


def test_items_obey_the_same_refusals_as_parse() -> None:
    assert "DOCTYPE declarations are not allowed" in item_refusal("<!DOCTYPE a><a/>")
    assert item_refusal("<A/>" * 30, ParseLimits(max_bytes=100)) == (
        "XML refused: 120 bytes is over the 100-byte limit"
    )
    assert item_refusal("<A/><B><C/></B>", ParseLimits(max_depth=1)) == (
        "item 1: XML refused: nesting deeper than 1 levels (line 1)"
    )
    assert item_refusal("<A/>" * 11, ParseLimits(max_elements=10)) == (
        "XML refused: 11 elements is over the 10-element limit"
    )
    assert "control character U+0002" in item_refusal("<A/>\n<B>\x02</B>")


_names = st.sampled_from(["A", "B", "Sum", "item", "x.y", "_z"])
_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xD7FF) | st.sampled_from("\n\t"), max_size=10)


@st.composite
def _elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(_names))
    element.text = draw(_text) or None
    if depth < 2:
        for child in draw(st.lists(_elements(depth + 1), max_size=3)):
            child.tail = draw(_text) or None
            element.append(child)
    return element


@given(st.lists(_elements(), max_size=5), st.sampled_from(["\n", " ", "\n\n  ", ""]))
def test_items_joined_by_whitespace_parse_back_to_the_same_elements(
    elements: list[etree._Element], separator: str
) -> None:
    texts = [to_text(e) for e in elements]
    assert [to_text(e) for e in parse_items(separator.join(texts))] == texts


# --- serialization and huh ------------------------------------------------------------------


def test_to_bytes_and_to_text_have_no_declaration_and_no_tail() -> None:
    root = parse("<r><a>\u00e9</a>tail</r>")
    assert to_bytes(root[0]) == "<a>\u00e9</a>".encode()
    assert to_text(root[0]) == "<a>\u00e9</a>"


def test_a_utf8_bom_before_the_items_is_ignored() -> None:
    assert [to_bytes(i) for i in parse_items(b"\xef\xbb\xbf<A/>\n<B/>")] == [b"<A/>", b"<B/>"]


_TEXTS = st.text(st.sampled_from(" \t\r\n&<>\"'aZ\u00e9\u4e2d"), max_size=6)


@st.composite
def _holders(draw: st.DrawFn) -> etree._Element:
    """An element with some children: text and tails of any kind, attributes, namespaces."""
    nsmap = {"p": "urn:p"} if draw(st.booleans()) else None
    holder = etree.Element(draw(st.sampled_from(["holder", "{urn:p}holder"])) if nsmap
                           else "holder", nsmap=nsmap)
    holder.text = draw(_TEXTS) or None
    if draw(st.booleans()):
        holder.set("a", draw(_TEXTS))
    for _ in range(draw(st.integers(0, 4))):
        tag = draw(st.sampled_from(["x", "y", "{urn:q}z"] + (["{urn:p}w"] if nsmap else [])))
        child = etree.SubElement(holder, tag)
        child.text = draw(_TEXTS) or None
        child.tail = draw(_TEXTS) or None
        if draw(st.booleans()):
            etree.SubElement(child, "inner").text = draw(_TEXTS)
    if draw(st.booleans()):
        holder.append(etree.Comment("note"))
    return holder


@given(_holders())
def test_inner_text_is_the_holders_text_then_each_child_written_alone(holder: etree._Element) -> None:
    one_by_one = (holder.text or "") + "".join(to_text(c, with_tail=True) for c in holder)
    assert inner_text(holder) == one_by_one
