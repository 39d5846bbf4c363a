"""The @xmlify codec: wire form, exact round trips, refusals and the generated XSD.

Test payload classes have names no other module uses: the tag registry is process-wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from actors.codec import (
    Xml,
    XmlPayload,
    children_valid,
    is_xmlify,
    pascal_case,
    payload_class_for,
    payload_classes_for,
    schema_for,
    validate,
    xmlify,
)
from actors.errors import PayloadError
from actors.parsing import parse
from tests.listeners import Add


@xmlify
@dataclass
class CodecPoint:
    x: int = 0
    y: int = 0


@xmlify
@dataclass
class Everything:
    text: str
    number: int = 0
    ratio: float = 0.0
    flag: bool = False
    maybe_text: Optional[str] = None  # noqa: UP045 (typing.Optional is supported too)
    maybe_number: int | None = None
    words: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    flags: list[bool] = field(default_factory=list)
    point: CodecPoint | None = None
    points: list[CodecPoint] = field(default_factory=list)
    body: Xml = Xml("")


@xmlify
@dataclass
class CodecTree:
    name: str = ""
    children: list[CodecTree] = field(default_factory=list)


@xmlify
@dataclass
class LegacyStart:
    """Shaped like the original bus's BufferStart."""

    target: str
    items: Xml = Xml("")
    collect: bool = True
    return_to: str = ""
    buffer_id: str = ""
    timeout: float = 0.0


@xmlify
@dataclass
class CodecOuter:
    inner: CodecInner | None = None  # defined below: resolved at first use


@xmlify
@dataclass
class CodecInner:
    v: str = ""


# Characters XML 1.0 carries; "\r" included: it travels as &#13; and comes back exact.
xml_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20
)
xml_text = st.text(xml_chars, max_size=30)
tricky_text = st.sampled_from(["<", "&", "]]>", '"', "'", "\u00e9\u4e2d\U0001f389", " lead", "trail ", "a\nb", "0042", ""])
texts = xml_text | tricky_text
finite = st.floats(allow_nan=False)
points = st.builds(CodecPoint, st.integers(), st.integers())
tag_names = st.sampled_from(["A", "B", "Sum", "item", "x.y", "_z"])


@st.composite
def canonical_elements(draw: st.DrawFn, depth: int = 0) -> str:
    """XML elements in lxml's canonical form (what an Xml field gives back)."""
    element = etree.Element(draw(tag_names))
    element.text = draw(xml_text) or None
    if depth < 2:
        for child in draw(st.lists(canonical_elements(depth + 1), max_size=2)):
            element.append(etree.fromstring(child))
    return etree.tostring(element, encoding="unicode")


xml_values = st.builds(
    lambda items, sep: Xml(sep.join(items)),
    st.lists(canonical_elements(), max_size=3),
    st.sampled_from(["\n", "", " "]),
) | xml_text.map(Xml)

everything = st.builds(
    Everything,
    text=texts,
    number=st.integers(),
    ratio=finite,
    flag=st.booleans(),
    maybe_text=st.none() | texts,
    maybe_number=st.none() | st.integers(),
    words=st.lists(texts, max_size=3),
    numbers=st.lists(st.integers(), max_size=3),
    ratios=st.lists(finite, max_size=3),
    flags=st.lists(st.booleans(), max_size=3),
    point=st.none() | points,
    points=st.lists(points, max_size=3),
    body=xml_values,
)


# --- wire form ---------------------------------------------------------------------------


def test_add_serializes_to_the_documented_wire_form() -> None:
    assert Add(2, 3).to_xml() == "<Add><A>2</A><B>3</B></Add>"
    assert Add(2, 3).to_bytes() == b"<Add><A>2</A><B>3</B></Add>"
    assert Add.from_xml("<Add><A>2</A><B>3</B></Add>") == Add(2, 3)
    assert Add.__xml_tag__ == "Add"


def test_field_names_become_pascal_case_elements() -> None:
    assert pascal_case("return_to") == "ReturnTo"
    assert pascal_case("buffer_id") == "BufferId"
    assert pascal_case("a") == "A"
    wire = LegacyStart("w", return_to="r", buffer_id="b").to_xml()
    assert "<ReturnTo>r</ReturnTo><BufferId>b</BufferId>" in wire


def test_booleans_are_written_true_false_and_read_from_1_0_too() -> None:
    assert "<Flag>true</Flag>" in Everything("t", flag=True).to_xml()
    for text, value in [("true", True), ("false", False), ("1", True), ("0", False), (" true ", True)]:
        assert Everything.from_xml(f"<Everything><Text/><Flag>{text}</Flag></Everything>").flag is value
    with pytest.raises(PayloadError, match="'yes' is not a boolean"):
        Everything.from_xml("<Everything><Text/><Flag>yes</Flag></Everything>")


def test_none_leaves_the_element_out_and_absent_means_none() -> None:
    wire = Everything("t").to_xml()
    assert "<MaybeText>" not in wire and "<Point>" not in wire
    assert Everything.from_xml(wire).maybe_text is None
    assert Everything.from_xml("<Everything><Text/><MaybeText/></Everything>").maybe_text == ""


def test_lists_hold_one_child_per_entry_named_after_its_kind() -> None:
    value = Everything("t", numbers=[1, 2], flags=[True], points=[CodecPoint(1, 2)])
    wire = value.to_xml()
    assert "<Numbers><Int>1</Int><Int>2</Int></Numbers>" in wire
    assert "<Flags><Bool>true</Bool></Flags>" in wire
    assert "<Points><CodecPoint><X>1</X><Y>2</Y></CodecPoint></Points>" in wire
    assert "<Words/>" in wire


def test_a_nested_field_holds_the_nested_payload_root() -> None:
    wire = Everything("t", point=CodecPoint(3, 4)).to_xml()
    assert "<Point><CodecPoint><X>3</X><Y>4</Y></CodecPoint></Point>" in wire


def test_an_xml_field_embeds_elements_not_escaped_text() -> None:
    start = LegacyStart("w", items=Xml("<CodecPoint><X>1</X></CodecPoint>\n<CodecPoint/>"))
    wire = start.to_xml()
    assert "<Items><CodecPoint><X>1</X></CodecPoint>\n<CodecPoint/></Items>" in wire
    assert LegacyStart.from_xml(wire) == start


def test_an_xml_field_that_is_not_elements_only_travels_as_escaped_text() -> None:
    for text in ["hello", "a < b", "<A/> tail", "<unclosed>", "<!-- c --><A/>", "<!DOCTYPE x><x/>"]:
        value = LegacyStart("w", items=Xml(text))
        assert LegacyStart.from_xml(value.to_xml()) == value


def test_a_payload_in_the_original_wire_form_parses() -> None:
    wire = (
        "<LegacyStart>\n  <Target>w</Target>\n"
        "  <Items>&lt;CodecPoint&gt;&lt;X&gt;1&lt;/X&gt;&lt;/CodecPoint&gt;\n"
        "&lt;CodecPoint&gt;&lt;X&gt;2&lt;/X&gt;&lt;/CodecPoint&gt;</Items>\n"
        "  <Collect>true</Collect>\n</LegacyStart>"
    )
    start = LegacyStart.from_xml(wire)
    assert start == LegacyStart(
        "w", Xml("<CodecPoint><X>1</X></CodecPoint>\n<CodecPoint><X>2</X></CodecPoint>"), True
    )
    validate(LegacyStart, parse(wire))


def test_floats_keep_their_value_including_infinities_and_nan() -> None:
    for number in [0.1, -0.0, 1e300, 5e-324, math.inf, -math.inf]:
        back = Everything.from_xml(Everything("t", ratio=number).to_xml()).ratio
        assert back == number and math.copysign(1, back) == math.copysign(1, number)
    assert "<Ratio>NaN</Ratio>" in Everything("t", ratio=math.nan).to_xml()
    assert math.isnan(Everything.from_xml(Everything("t", ratio=math.nan).to_xml()).ratio)
    assert Everything.from_xml("<Everything><Text/><Ratio>inf</Ratio></Everything>").ratio == math.inf


# --- round trips ------------------------------------------------------------------------------


@given(everything)
def test_round_trip_preserves_every_field_type(value: Everything) -> None:
    assert Everything.from_xml(value.to_xml()) == value
    assert Everything.from_xml(value.to_bytes()) == value
    assert Everything.from_xml(value.to_element()) == value


@given(texts)
def test_round_trip_preserves_strings_exactly(text: str) -> None:
    assert Everything.from_xml(Everything(text).to_xml()).text == text


@given(st.recursive(st.builds(CodecTree, texts), lambda kids: st.builds(CodecTree, texts, st.lists(kids, max_size=3)), max_leaves=10))
def test_round_trip_preserves_self_referencing_trees(tree: CodecTree) -> None:
    assert CodecTree.from_xml(tree.to_xml()) == tree


@given(everything)
def test_the_schema_accepts_exactly_what_to_xml_emits(value: Everything) -> None:
    validate(Everything, parse(value.to_bytes()))
    validate(Everything, value.to_element())


def test_strings_with_markup_quotes_and_non_ascii_survive_unchanged() -> None:
    for text in ["0042", "  spaced  ", "<a>&amp;</a>", "]]>", "\"'", "d\u00e9j\u00e0 \U0001f389", "a\r\nb", "\t"]:
        assert Everything.from_xml(Everything(text).to_xml()).text == text


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "\x01", "\ud800", "\ufffe"])
def test_text_xml_cannot_carry_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(PayloadError, match=r"<Everything> field 'text' holds .* which XML 1.0 cannot carry"):
        Everything(bad).to_xml()
    with pytest.raises(PayloadError, match=r"<Everything> field 'words' entry 1 holds"):
        Everything("ok", words=["fine", bad]).to_xml()


def test_a_value_of_the_wrong_python_type_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"<Everything> field 'number' must be int, got True"):
        Everything("t", number=True).to_xml()  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match=r"field 'text' must be str, got 5"):
        Everything(5).to_xml()  # type: ignore[arg-type]
    with pytest.raises(PayloadError, match=r"field 'flag' is None but its type is not Optional"):
        Everything("t", flag=None).to_xml()  # type: ignore[arg-type]


def test_a_missing_required_field_names_the_class_and_field() -> None:
    with pytest.raises(PayloadError, match=r"<Everything> lacks its required field <Text> \(line 1\)"):
        Everything.from_xml("<Everything><Number>1</Number></Everything>")


def test_an_unknown_child_element_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"<CodecPoint> has no field <Z> \(line 1\); its fields: <X>, <Y>"):
        CodecPoint.from_xml("<CodecPoint><Z>1</Z></CodecPoint>")


def test_a_duplicated_field_element_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"<CodecPoint> field 'x' appears twice"):
        CodecPoint.from_xml("<CodecPoint><X>1</X><X>2</X></CodecPoint>")


def test_a_bad_scalar_names_the_field_and_line() -> None:
    with pytest.raises(PayloadError, match=r"<CodecPoint> field 'y': '1_000' is not an integer \(line 2\)"):
        CodecPoint.from_xml("<CodecPoint>\n<Y>1_000</Y></CodecPoint>")
    with pytest.raises(PayloadError, match=r"field 'ratio': 'abc' is not a number"):
        Everything.from_xml("<Everything><Text/><Ratio>abc</Ratio></Everything>")


def test_a_wrong_root_tag_is_refused() -> None:
    with pytest.raises(PayloadError, match=r"^expects <CodecPoint> but got <Sum> \(line 1\)$"):
        CodecPoint.from_xml("<Sum><Value>1</Value></Sum>")


def test_text_or_attributes_where_elements_belong_are_refused() -> None:
    with pytest.raises(PayloadError, match="must hold elements, not text"):
        CodecPoint.from_xml("<CodecPoint>x<X>1</X></CodecPoint>")
    with pytest.raises(PayloadError, match=r"<CodecPoint> takes no attributes, got \['id'\]"):
        CodecPoint.from_xml('<CodecPoint id="1"/>')
    with pytest.raises(PayloadError, match="must hold text, not elements"):
        CodecPoint.from_xml("<CodecPoint><X><I/></X></CodecPoint>")


def test_from_xml_accepts_str_bytes_and_an_element_and_uses_the_hardened_parser() -> None:
    element = parse(b"<CodecPoint><X>1</X></CodecPoint>")
    assert CodecPoint.from_xml(element) == CodecPoint.from_xml("<CodecPoint><X>1</X></CodecPoint>") == CodecPoint(1)
    with pytest.raises(PayloadError, match="DOCTYPE declarations are not allowed"):
        CodecPoint.from_xml('<!DOCTYPE CodecPoint [<!ENTITY x "1">]><CodecPoint><X>&x;</X></CodecPoint>')
    with pytest.raises(PayloadError, match="takes str, bytes or an lxml element"):
        CodecPoint.from_xml(42)  # type: ignore[arg-type]


# --- XSD ------------------------------------------------------------------------------------


def test_the_schema_refuses_a_wrong_type_with_a_clear_message() -> None:
    with pytest.raises(PayloadError) as info:
        validate(Add, parse("<Add><A>1</A><B>x</B></Add>"))
    assert str(info.value) == (
        "<Add> failed its schema (line 1): "
        "Element 'B': 'x' is not a valid value of the atomic type 'xs:integer'."
    )


def test_the_schema_refuses_a_wrong_root_tag_with_a_clear_message() -> None:
    with pytest.raises(PayloadError) as info:
        validate(Add, parse("<Sum><Value>5</Value></Sum>"))
    assert str(info.value) == (
        "expects <Add> but got <Sum> (line 1): "
        "Element 'Sum': No matching global declaration available for the validation root."
    )


@pytest.mark.parametrize(("holder", "valid"), [
    ("<Items>\n<Add><A>1</A><B>2</B></Add>\n<!-- c --><Add/>\n</Items>", True),
    ("<Items></Items>", True),
    ("<Items><Add><A>1</A></Add><Add><A>x</A></Add></Items>", False),  # one bad value
    ("<Items><Add/><Sum><Value>1</Value></Sum></Items>", False),  # another class
    ("<Items><Add/>loose</Items>", False),  # text between items
    ("<Add><Add/></Add>", False),  # a holder named as the class cannot share its schema
    ("<x:Items xmlns:x='urn:x'><Add/></x:Items>", False),  # a namespaced holder: not judged
])
def test_a_holder_of_items_is_valid_when_each_of_them_is(holder: str, valid: bool) -> None:
    element = parse(holder)
    assert children_valid(Add, element) is valid
    if valid:  # agreeing with each item's own validation
        for item in element.iterchildren("Add"):
            validate(Add, item)


def test_a_nested_class_is_not_a_valid_root_of_the_outer_schema() -> None:
    with pytest.raises(PayloadError, match=r"^expects <Everything> but got <CodecPoint>"):
        validate(Everything, CodecPoint(1, 2).to_element())


def test_the_schema_refuses_unknown_children_and_missing_required_fields() -> None:
    with pytest.raises(PayloadError, match="Element 'Z': This element is not expected"):
        validate(CodecPoint, parse("<CodecPoint><Z/></CodecPoint>"))
    with pytest.raises(PayloadError, match="Missing child element"):
        validate(Everything, parse("<Everything><Number>1</Number></Everything>"))


def test_the_xsd_uses_xs_types_and_marks_defaulted_fields_optional() -> None:
    xsd = etree.fromstring(Everything.xsd())
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    fields = {e.get("name"): e for e in xsd.xpath("xs:complexType[@name='Everything']/xs:all/xs:element", namespaces=ns)}
    assert fields["Text"].get("type") == "xs:string" and fields["Text"].get("minOccurs") is None
    assert fields["Number"].get("type") == "xs:integer" and fields["Number"].get("minOccurs") == "0"
    assert fields["Ratio"].get("type") == "xs:double"
    assert fields["Flag"].get("type") == "xs:boolean"
    assert xsd.xpath("xs:complexType[@name='CodecPoint']", namespaces=ns)
    assert [e.get("name") for e in xsd.xpath("xs:element", namespaces=ns)] == ["Everything"]


def test_the_schema_is_compiled_once_per_class() -> None:
    assert schema_for(CodecPoint) is schema_for(CodecPoint)
    assert schema_for(CodecPoint) is not schema_for(Everything)


# --- decoration and registry ------------------------------------------------------------------


def test_payload_class_for_prefers_the_given_module_then_the_last_decorated_class() -> None:
    assert payload_class_for("CodecPoint") is CodecPoint
    assert payload_class_for("NoSuchPayload") is None
    here = CodecPoint.__module__
    elsewhere = xmlify(dataclass(type("CodecPoint", (), {"__module__": "elsewhere", "__annotations__": {}})))
    try:
        assert payload_classes_for("CodecPoint") == (CodecPoint, elsewhere)
        assert payload_class_for("CodecPoint") is elsewhere
        assert payload_class_for("CodecPoint", prefer_module=here) is CodecPoint
        assert payload_class_for("CodecPoint", prefer_module="nowhere") is elsewhere
    finally:  # leave the process-wide map as it was for the other tests
        xmlify(CodecPoint)


def test_redefining_a_class_under_the_same_name_replaces_it() -> None:
    def define() -> type:
        @xmlify
        @dataclass
        class CodecProbe:
            n: int = 0

        return CodecProbe

    first, second = define(), define()
    assert first is not second
    assert payload_classes_for("CodecProbe") == (second,)


def test_is_xmlify_is_true_for_decorated_classes_and_their_instances_only() -> None:
    assert is_xmlify(CodecPoint) and is_xmlify(CodecPoint())
    assert not is_xmlify(int) and not is_xmlify("x")

    @dataclass
    class CodecSub(CodecPoint):
        pass

    assert not is_xmlify(CodecSub)
    with pytest.raises(TypeError, match="CodecSub is not an @xmlify class"):
        CodecSub().to_xml()


def test_unsupported_declarations_are_refused_when_decorating() -> None:
    with pytest.raises(TypeError, match="needs a dataclass"):
        xmlify(type("CodecPlain", (), {}))
    with pytest.raises(TypeError, match=r"field 'table': type dict\[str, int\] is not supported"):

        @xmlify
        @dataclass
        class CodecBadType:
            table: dict[str, int] = field(default_factory=dict)

    with pytest.raises(TypeError, match="an Optional field's default must be None"):

        @xmlify
        @dataclass
        class CodecBadDefault:
            n: int | None = 3


def test_an_annotation_naming_a_later_class_is_resolved_at_first_use() -> None:
    value = CodecOuter(CodecInner("x"))
    assert value.to_xml() == "<CodecOuter><Inner><CodecInner><V>x</V></CodecInner></Inner></CodecOuter>"
    assert CodecOuter.from_xml(value.to_xml()) == value


def test_an_annotation_that_never_resolves_is_a_clear_type_error() -> None:
    @xmlify
    @dataclass
    class CodecDangling:
        other: CodecNowhere | None = None  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(TypeError, match="cannot resolve the annotations of CodecDangling: name 'CodecNowhere'"):
        CodecDangling().to_xml()


def test_inheriting_xml_payload_works_like_the_decorator_and_is_visible_to_type_checkers() -> None:
    @xmlify
    @dataclass(frozen=True, slots=True)
    class CodecTyped(XmlPayload):
        n: int = 0

    value = CodecTyped(7)
    assert value.to_xml() == "<CodecTyped><N>7</N></CodecTyped>"
    assert CodecTyped.from_xml(value.to_bytes()) == value


def test_a_field_named_like_a_payload_method_is_refused() -> None:
    with pytest.raises(TypeError, match="field 'to_xml' would hide the payload method"):

        @xmlify
        @dataclass
        class Odd:
            to_xml: str = "x"
