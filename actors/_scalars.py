"""Scalar fields (``str``, ``int``, ``float``, ``bool``): their text forms, and the fast path
of a *flat* payload class, one whose fields are all scalars.

Most payloads that cross a fan-out are flat (a number and a text), and the
general codec of ``_fields`` pays for what flat classes never need: a field
kind's method per value, a list of children, a ``where`` per check. A
``FlatCodec`` does the common case in one loop over the fields and declines
(returns None) at the first thing it does not expect: a value of another
type, an absent or repeated field, an attribute, loose text, a comment, a
value that does not read. The general codec then does the whole work again
and decides, with its own words for every error; so the fast path never
changes what is accepted, what is written or what is said (a property test
holds the two together). Private to ``actors``; no Thespian.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

__all__ = ["FlatField", "FlatCodec", "BOOLS", "read_int", "write_float", "read_float"]

_WS = " \t\r\n"
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SPECIAL_FLOATS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
BOOLS = {"true": True, "1": True, "false": False, "0": False}
"""The texts an xs:boolean may be, read."""


def read_int(text: str) -> int:
    if text.isdigit() and text.isascii():  # the usual case, without the regex: 0.31 -> 0.12 us
        return int(text)
    if not _INTEGER.fullmatch(text.strip(_WS)):
        raise ValueError(text)
    return int(text)


def write_float(value: float) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    return ("INF" if number > 0 else "-INF") if math.isinf(number) else repr(number)


def read_float(text: str) -> float:
    text = text.strip(_WS)
    if _DOUBLE.fullmatch(text):
        return float(text)
    return _SPECIAL_FLOATS[text.lower()]  # KeyError: not a number


@dataclass(frozen=True, slots=True)
class FlatField:
    """One scalar field: its attribute, element, exact types, and how its text is made and read."""

    name: str
    tag: str
    types: frozenset[type]
    write: Callable[[Any], str]
    read: Callable[[str], Any]
    optional: bool
    has_default: bool


class FlatCodec:
    """The fast encode and decode of one flat class (see the module docstring)."""

    __slots__ = ("tag", "fields", "by_tag", "undefaulted", "puts", "_local")

    def __init__(self, tag: str, fields: tuple[FlatField, ...]) -> None:
        self.tag = tag
        self.fields = fields
        self.by_tag = {f.tag: (f.name, f.read) for f in fields}
        self.undefaulted = tuple((f.name, f.optional) for f in fields if not f.has_default)
        self.puts = tuple((f.name, f.types, f.write) for f in fields)  # unpacked per value
        self._local = threading.local()  # a template per thread: a copy keeps its parser

    def encode(self, obj: Any) -> etree._Element | None:
        """``obj``'s element, or None when a value is not of its field's own type (or None)."""
        template: Any = getattr(self._local, "template", None)
        if template is None:
            template = self._local.template = etree.Element(self.tag)
            for f in self.fields:
                etree.SubElement(template, f.tag)
        root: etree._Element = template.__copy__()
        for el, (name, types, write) in zip(root, self.puts, strict=False):  # one child per field
            value = getattr(obj, name)
            if type(value) not in types:
                return None
            try:
                el.text = write(value) or None  # empty: <Tag/>, as the general codec writes
            except ValueError:  # a character XML cannot carry
                return None
        return root

    def values(self, el: etree._Element) -> dict[str, Any] | None:
        """The field values ``el`` holds by attribute name, or None for anything unusual."""
        if el.tag != self.tag or el.attrib or (el.text and el.text.strip(_WS)):
            return None
        values: dict[str, Any] = {}
        by_tag = self.by_tag
        for child in el:
            entry = by_tag.get(child.tag)  # a comment's tag is not a str: None
            if entry is None or len(child) or (child.tail and child.tail.strip(_WS)):
                return None
            name, read = entry
            if name in values:
                return None
            try:
                values[name] = read(child.text or "")
            except (ValueError, KeyError):
                return None
        if len(values) < len(self.fields):
            for name, optional in self.undefaulted:
                if name not in values:
                    if not optional:
                        return None
                    values[name] = None
        return values
