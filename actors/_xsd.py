"""The XSD of an ``@xmlify`` class: one global element (its root), one complexType per class.

Built from the same field codecs as the wire form (``_fields``), so the schema
and the codec cannot disagree. Private to ``actors``; no ``thespian`` import.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ._fields import Kind, ListKind, NestedKind, XmlKind, spec_of

__all__ = ["XS", "build_xsd", "build_holder_xsd"]

XS = "http://www.w3.org/2001/XMLSchema"


def _xs(name: str) -> str:
    return f"{{{XS}}}{name}"


def build_xsd(cls: type[Any]) -> etree._Element:
    """The schema tree: one global element (the root), one named complexType per class."""
    schema = etree.Element(_xs("schema"), nsmap={"xs": XS})
    etree.SubElement(schema, _xs("element"), name=cls.__xml_tag__, type=cls.__xml_tag__)
    seen: dict[str, type[Any]] = {}
    pending = [cls]
    while pending:
        current = pending.pop()
        known = seen.get(current.__xml_tag__)
        if known is current:
            continue
        if known is not None:
            raise TypeError(f"schema of {cls.__name__}: two different classes named {known.__name__}")
        seen[current.__xml_tag__] = current
        pending.extend(_complex_type(schema, current))
    return schema


def build_holder_xsd(cls: type[Any], holder: str) -> etree._Element:
    """The schema of a ``holder`` element whose children are any number of ``cls`` payloads
    (a Buffer's items, checked in one validation; whitespace and comments between them)."""
    schema = build_xsd(cls)
    element = etree.SubElement(schema, _xs("element"), name=holder)
    sequence = etree.SubElement(etree.SubElement(element, _xs("complexType")), _xs("sequence"))
    etree.SubElement(sequence, _xs("element"), ref=cls.__xml_tag__, minOccurs="0",
                     maxOccurs="unbounded")
    return schema


def _complex_type(schema: etree._Element, cls: type[Any]) -> list[type[Any]]:
    """Append ``cls``'s complexType; return the nested classes it refers to."""
    ctype = etree.SubElement(schema, _xs("complexType"), name=cls.__xml_tag__)
    fields = spec_of(cls).fields
    group = etree.SubElement(ctype, _xs("all")) if fields else ctype
    nested: list[type[Any]] = []
    for f in fields:
        decl = etree.SubElement(group, _xs("element"), name=f.tag)
        if f.optional or f.has_default:
            decl.set("minOccurs", "0")
        nested.extend(_declare(decl, f.kind, many=False))
    return nested


def _declare(decl: etree._Element, kind: Kind, many: bool) -> list[type[Any]]:
    """Give ``decl`` the type of ``kind``; returns nested classes met."""
    if many:
        decl.set("minOccurs", "0")
        decl.set("maxOccurs", "unbounded")
    if isinstance(kind, XmlKind):
        ctype = etree.SubElement(decl, _xs("complexType"), mixed="true")
        seq = etree.SubElement(ctype, _xs("sequence"))
        etree.SubElement(seq, _xs("any"), minOccurs="0", maxOccurs="unbounded", processContents="skip")
        return []
    if isinstance(kind, (ListKind, NestedKind)):
        inner = kind.inner if isinstance(kind, ListKind) else kind
        seq = etree.SubElement(etree.SubElement(decl, _xs("complexType")), _xs("sequence"))
        entry = etree.SubElement(seq, _xs("element"), name=inner.item_tag)
        if isinstance(inner, NestedKind):
            entry.set("type", inner.item_tag)
            if isinstance(kind, ListKind):
                entry.set("minOccurs", "0")
                entry.set("maxOccurs", "unbounded")
            return [inner.cls]
        return _declare(entry, inner, many=True)
    decl.set("type", kind.xsd_type)
    return []
