"""Codec properties, written with the testing kit's strategies.

- Any generated ``@xmlify`` class, any value the kit builds for it: the value
  survives ``to_xml``/``from_xml``, satisfies its schema, and the wire form is canonical.
- Equal payloads have equal canonical XML, however the XML they were read from
  was written (field order, whitespace between fields, ``1``/``0`` booleans,
  defaulted fields left out, an XML declaration).
- The kit's documents, envelopes and Buffer items are what they promise.

Generated classes take their names from a small fixed pool (``PropGen*``), so
the process-wide tag registry stays small: a redefinition replaces the last one.
"""

from __future__ import annotations

import dataclasses
import keyword
import subprocess
import sys
from typing import Any, Optional, get_type_hints

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from actors.codec import Xml, XmlPayload, pascal_case, schema_for, xmlify
from actors.envelope import Envelope
from actors.parsing import parse, parse_items, to_bytes
from actors.testing.strategies import (
    buffer_items,
    buffer_items_text,
    envelopes,
    payloads,
    xml_documents,
)
from tests.listeners import Add, Work

# --- generated classes -------------------------------------------------------------------

_RESERVED = {"to_element", "to_xml", "to_bytes", "from_xml", "xsd"}  # methods @xmlify adds
field_names = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,4}){0,2}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name) and name not in _RESERVED
)
SCALARS: list[Any] = [str, int, float, bool, Xml]


@st.composite
def field_types(draw: st.DrawFn, nested: list[type[Any]]) -> Any:
    inner = draw(st.sampled_from(SCALARS + nested))
    shape = draw(st.sampled_from(["plain", "optional", "list"]))
    if shape == "optional":
        return Optional[inner]  # noqa: UP045 - the form users write as often as X | None
    if shape == "list":
        return list[inner]  # type: ignore[valid-type]
    return inner


@st.composite
def xmlify_classes(draw: st.DrawFn, level: int = 0) -> type[Any]:
    """A new @xmlify dataclass with 0-6 fields of any supported type, nesting up to two levels."""
    nested = [draw(xmlify_classes(level + 1))] if level < 2 and draw(st.booleans()) else []
    names = draw(st.lists(field_names, max_size=6, unique_by=pascal_case))
    specs: list[tuple[str, Any, Any]] = []
    for name in names:
        hint = draw(field_types(nested))
        if dataclasses.is_dataclass(hint) or not draw(st.booleans()):
            specs.append((name, hint, dataclasses.MISSING))
        elif getattr(hint, "__origin__", None) is list:
            specs.append((name, hint, dataclasses.field(default_factory=list)))
        else:
            specs.append((name, hint, None if _is_optional(hint) else _default_for(hint)))
    specs.sort(key=lambda spec: spec[2] is not dataclasses.MISSING)  # required fields first
    fields = [(n, h) if d is dataclasses.MISSING else (n, h, d) for n, h, d in specs]
    cls = dataclasses.make_dataclass(
        f"PropGen{level}", fields, namespace={"__module__": __name__}
    )
    return xmlify(cls)


def _is_optional(hint: Any) -> bool:
    return type(None) in getattr(hint, "__args__", ())


def _default_for(hint: Any) -> Any:
    return {str: "", int: 0, float: 0.0, bool: False, Xml: Xml("")}[hint]


@settings(max_examples=60)
@given(xmlify_classes(), st.data())
def test_any_generated_class_round_trips_every_value_the_kit_builds(
    cls: type[Any], data: st.DataObject
) -> None:
    value = data.draw(payloads(cls))
    assert cls.from_xml(value.to_xml()) == value
    assert cls.from_xml(value.to_bytes()) == value
    assert cls.from_xml(value.to_element()) == value
    assert schema_for(cls).validate(value.to_element())
    # Reading the wire form and writing it again keeps its canonical (C14N) form.
    # (Not its bytes: an empty str field is written <A></A> and read back as <A/>.)
    c14n = etree.tostring(value.to_element(), method="c14n")
    assert etree.tostring(parse(value.to_bytes()), method="c14n") == c14n


# --- equal payloads, equal canonical XML -------------------------------------------------


@xmlify
@dataclasses.dataclass
class PropPoint:
    x: int = 0
    label: str = ""


@xmlify
@dataclasses.dataclass
class PropEverything(XmlPayload):
    text: str
    number: int = 0
    ratio: float = 0.0
    flag: bool = False
    maybe: Optional[bool] = None  # noqa: UP045
    words: list[str] = dataclasses.field(default_factory=list)
    flags: list[bool] = dataclasses.field(default_factory=list)
    point: PropPoint | None = None
    points: list[PropPoint] = dataclasses.field(default_factory=list)
    body: Xml = Xml("")


@st.composite
def rewritten(draw: st.DrawFn, value: Any) -> bytes:
    """The same payload written differently: what another producer might send."""
    cls = type(value)
    root = parse(value.to_bytes())
    hints = get_type_hints(cls)
    fields = {pascal_case(f.name): f for f in dataclasses.fields(cls)}
    for child in list(root):
        f = fields[str(child.tag)]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        current = getattr(value, f.name)
        # The default, really: -0.0 == 0.0, but the codec keeps the sign, so it is not 0.0's default.
        same = current == default and repr(current) == repr(default)
        if default is not dataclasses.MISSING and same and draw(st.booleans()):
            root.remove(child)  # absent on the wire means the default
        elif hints[f.name] in (bool, Optional[bool]) and draw(st.booleans()):  # noqa: UP045
            child.text = {"true": "1", "false": "0"}[child.text or ""]
    order = draw(st.permutations(list(root)))
    for child in list(root):
        root.remove(child)
    for child in order:
        root.append(child)
        child.tail = draw(st.sampled_from([None, "\n", "\n  ", " \t"]))
    root.text = draw(st.sampled_from([None, "\n  ", " "]))
    declaration = draw(st.sampled_from([b"", b'<?xml version="1.0" encoding="UTF-8"?>\n', b"\xef\xbb\xbf"]))
    return declaration + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


@given(st.data())
def test_equal_payloads_have_equal_canonical_xml_however_they_were_written(data: st.DataObject) -> None:
    value = data.draw(payloads(PropEverything))
    other = data.draw(rewritten(value))
    decoded = PropEverything.from_xml(other)
    assert decoded == value
    assert decoded.to_bytes() == value.to_bytes()
    c14n = etree.tostring(decoded.to_element(), method="c14n")
    assert c14n == etree.tostring(value.to_element(), method="c14n")


@given(payloads(PropEverything))
def test_a_copy_of_a_payload_writes_the_same_bytes(value: PropEverything) -> None:
    copy = dataclasses.replace(value)
    assert copy == value and copy.to_bytes() == value.to_bytes()


# --- the kit's other strategies keep their promises --------------------------------------


@given(xml_documents())
def test_kit_documents_are_canonical_single_elements(doc: bytes) -> None:
    assert to_bytes(parse(doc)) == doc


@given(envelopes() | envelopes(payloads(Add)))
def test_kit_envelopes_parse_back_equal(envelope: Envelope) -> None:
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


@given(buffer_items(Work, min_size=1, max_size=5))
def test_kit_buffer_items_are_valid_payloads_of_their_class(items: list[Work]) -> None:
    assert 1 <= len(items) <= 5
    assert all(isinstance(item, Work) and Work.from_xml(item.to_xml()) == item for item in items)


@given(st.data())
def test_kit_buffer_items_text_parses_into_the_items_it_was_written_from(data: st.DataObject) -> None:
    text = data.draw(buffer_items_text(PropEverything, max_size=4))
    elements = parse_items(text)
    assert 1 <= len(elements) <= 4
    for element in elements:
        item = PropEverything.from_xml(element)
        assert PropEverything.from_xml(item.to_bytes()) == item


def test_the_kit_package_and_its_plugin_do_not_need_hypothesis() -> None:
    # The plugin loads in every pytest run where xmlactors is installed; the runtime
    # does not depend on hypothesis, so only actors.testing.strategies may import it.
    code = "import sys, actors.testing, actors.testing.plugin; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
