"""How an ``@xmlify`` class's fields sit in XML: one codec ("kind") per field type. Private to ``actors``.

``encode`` builds a payload's element, ``decode`` reads one back, both
through the field codecs that ``spec_of`` resolves once per class. The wire
form is described in ``codec``'s docstring. No ``thespian`` import here.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import types
from collections.abc import Callable
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

from lxml import etree

from ._scalars import BOOLS, FlatCodec, FlatField, read_float, read_int, write_float
from .errors import PayloadError
from .parsed import Parsed
from .parsing import ParseLimits, inner_text, invalid_char_at, parse

__all__ = ["Xml", "Kind", "XmlKind", "NestedKind", "ListKind", "Field", "Spec",
           "spec_of", "resolve", "encode", "decode", "is_xmlify", "pascal_case"]

_WS = " \t\r\n"
# Our own Xml field values are embedded after a parse with the size caps lifted; libxml2
# (huge_tree=False) still bounds depth at 256 and text nodes at 10 MB.
_EMBED_LIMITS = ParseLimits(max_bytes=1 << 31, max_depth=250, max_elements=1 << 31)


class Xml(str):
    """A ``str`` of XML elements, embedded as elements on the wire (see ``codec``'s docstring)."""

    __slots__ = ()


def is_xmlify(obj_or_cls: object) -> bool:
    """True for an @xmlify class or an instance of one (not for undecorated subclasses)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return "__xml_tag__" in cls.__dict__


def pascal_case(name: str) -> str:
    """``return_to`` -> ``ReturnTo``: the element name of a field."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class Kind:
    """How a value is written into / read from an element; ``item_tag`` names list entries."""

    item_tag = ""
    xsd_type = ""

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        raise NotImplementedError

    def take(self, el: etree._Element, where: str) -> Any:
        raise NotImplementedError

    def put_item(self, parent: etree._Element, value: Any, where: str) -> None:
        self.put(etree.SubElement(parent, self.item_tag), value, where)

    def take_item(self, child: etree._Element, where: str) -> Any:
        if child.tag != self.item_tag:
            raise PayloadError(f"{where}: expected <{self.item_tag}> entries, got <{child.tag}>{_at(child)}")
        return self.take(child, where)


def _set_text(el: etree._Element, text: str, where: str) -> None:
    try:
        el.text = text or None  # empty: <Tag/>, as a parse reads it back on every base
    except ValueError:
        pos = invalid_char_at(text)
        char = text[pos] if pos >= 0 else "?"
        raise PayloadError(
            f"{where} holds {char!r} at position {pos}, which XML 1.0 cannot carry;"
            " remove it or encode the text (e.g. base64)"
        ) from None


def _check_type(value: Any, expected: type | tuple[type, ...], where: str) -> None:
    """Refuse a value of the wrong Python type (a bool is not an int here)."""
    if not isinstance(value, expected) or isinstance(value, bool) is not (expected is bool):
        names = [t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))]
        raise PayloadError(f"{where} must be {' or '.join(names)}, got {value!r}")


class _Scalar(Kind):
    """A value written as the text of its element."""

    def __init__(self, tag: str, xsd_type: str, types: type | tuple[type, ...],
                 write: Callable[[Any], str], read: Callable[[str], Any], what: str) -> None:
        self.item_tag, self.xsd_type, self.types = tag, xsd_type, types
        self.write, self.read, self.what = write, read, what

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        _check_type(value, self.types, where)
        _set_text(el, self.write(value), where)

    def take(self, el: etree._Element, where: str) -> Any:
        if len(el):
            raise PayloadError(f"{where} must hold text, not elements{_at(el)}")
        text = el.text or ""
        try:
            return self.read(text)
        except (ValueError, KeyError):
            raise PayloadError(f"{where}: {text.strip(_WS)!r} is not {self.what}{_at(el)}") from None


class XmlKind(Kind):
    """XML elements embedded in their field's element.

    On the way out the value may be text (``Xml`` or ``str``: parsed, and
    sent as escaped text when it is not elements only) or, from Python, the
    elements themselves: an ``@xmlify`` object, an lxml element (copied) or
    a list of those or of texts. Objects and elements are embedded as they
    are, with no text written and parsed again. On the way in it is ``Xml``.
    """

    item_tag = "Xml"

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        if not isinstance(value, str):
            for part in value if isinstance(value, (list, tuple)) else [value]:
                el.append(_element_of(part, where))
            return
        holder = _embed(el.tag, value)
        if holder is None:
            _set_text(el, value, where)
            return
        el.text = holder.text
        el.extend(list(holder))

    def take(self, el: etree._Element, where: str) -> Any:
        text = el.text or ""
        if not len(el):
            return Xml(text)
        if _loose_text(el):
            raise PayloadError(f"{where} mixes text and elements{_at(el)}")
        return Xml(inner_text(el))


def _element_of(part: Any, where: str) -> etree._Element:
    """One part of an ``Xml`` value given as elements: its element, ready to embed."""
    if is_xmlify(part) and not isinstance(part, type):
        return encode(part)
    if isinstance(part, (etree._Element, Parsed)):  # a Parsed is moved in, an element copied
        return part.element if isinstance(part, Parsed) else copy.deepcopy(part)
    if isinstance(part, (str, bytes)):
        return parse(part, _EMBED_LIMITS)
    raise PayloadError(
        f"{where} cannot embed a {type(part).__name__}: give XML text, an lxml element"
        " or an @xmlify object (or a list of those)"
    )


def _embed(tag: Any, value: str) -> etree._Element | None:
    """``value`` parsed as elements-only content of a ``tag`` element, or None if it is not.

    Comments and PIs would be dropped by the parser: such values travel as text instead.
    """
    if "<" not in value or "<!--" in value or "<?" in value:
        return None
    try:
        holder = parse(f"<{tag}>{value}</{tag}>", _EMBED_LIMITS)
    except PayloadError:
        return None
    return None if _loose_text(holder) else holder


class NestedKind(Kind):
    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.item_tag = self.xsd_type = cls.__xml_tag__

    def put_item(self, parent: etree._Element, value: Any, where: str) -> None:
        _check_type(value, self.cls, where)
        parent.append(encode(value))

    def take_item(self, child: etree._Element, where: str) -> Any:
        return decode(self.cls, child)

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        self.put_item(el, value, where)

    def take(self, el: etree._Element, where: str) -> Any:
        children = _element_children(el, where)
        if len(children) != 1:
            raise PayloadError(
                f"{where} must hold one <{self.item_tag}>, got {len(children)} elements{_at(el)}"
            )
        return self.take_item(children[0], where)


class ListKind(Kind):
    def __init__(self, inner: Kind) -> None:
        self.inner = inner

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        _check_type(value, list, where)
        for index, entry in enumerate(value):
            self.inner.put_item(el, entry, f"{where} entry {index}")

    def take(self, el: etree._Element, where: str) -> Any:
        children = _element_children(el, where)
        return [self.inner.take_item(c, f"{where} entry {i}") for i, c in enumerate(children)]


def _loose_text(el: etree._Element) -> bool:
    """True when ``el`` has non-whitespace text beside its child elements."""
    return bool((el.text or "").strip(_WS)) or any(c.tail and c.tail.strip(_WS) for c in el)


def _element_children(el: etree._Element, where: str) -> list[etree._Element]:
    """``el``'s child elements, refusing text beside them: one pass (1.3 -> 0.6 us, measured here)."""
    children = []
    for child in el:
        if child.tail and child.tail.strip(_WS):
            break  # loose text: refused below
        if isinstance(child.tag, str):
            children.append(child)
    else:  # every tail was whitespace
        if not (el.text and el.text.strip(_WS)):
            return children
    raise PayloadError(f"{where} must hold elements, not text{_at(el)}")


def _at(el: etree._Element) -> str:
    return f" (line {el.sourceline})" if el.sourceline else ""


_SCALARS: dict[Any, Kind] = {
    str: _Scalar("Str", "xs:string", str, str, str, "text"),
    int: _Scalar("Int", "xs:integer", int, str, read_int, "an integer"),
    float: _Scalar("Float", "xs:double", (float, int), write_float, read_float, "a number"),
    bool: _Scalar("Bool", "xs:boolean", bool, lambda v: "true" if v else "false",
                  lambda t: BOOLS[t.strip(_WS)], "a boolean (true, false, 1, 0)"),
    Xml: XmlKind(),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    name: str
    tag: str
    kind: Kind
    optional: bool
    has_default: bool
    where: str


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    tag: str
    fields: tuple[Field, ...]
    by_tag: dict[str, Field]
    undefaulted: tuple[Field, ...] = ()  # the fields decode must see or set to None
    flat: FlatCodec | None = None  # every field a scalar: the fast path (``_scalars``)
    local: threading.local = dataclasses.field(default_factory=threading.local, compare=False, repr=False)


def spec_of(cls: type[Any]) -> Spec:
    spec: Spec | None = cls.__dict__.get("__xml_spec__")
    if spec is None:
        if "__xml_tag__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} is not an @xmlify class; decorate it with @xmlify")
        try:
            spec = resolve(cls)
        except NameError as exc:
            raise TypeError(
                f"cannot resolve the annotations of {cls.__name__}: {exc} (a class defined"
                " inside a function cannot name another local class in a string annotation)"
            ) from None
        target: Any = cls
        target.__xml_spec__ = spec
    return spec


def resolve(cls: type[Any]) -> Spec:
    """Build the field codecs of a class once (raises NameError for a forward reference)."""
    hints = get_type_hints(cls, localns={cls.__name__: cls})
    fields = tuple(_field(cls, f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)
    by_tag = {f.tag: f for f in fields}
    if len(by_tag) != len(fields):
        raise TypeError(f"{cls.__name__}: two fields share one element name {[f.tag for f in fields]}")
    flat = None
    if all(isinstance(f.kind, _Scalar) for f in fields):
        flat = FlatCodec(cls.__xml_tag__, tuple(_flat_field(f) for f in fields))
    return Spec(cls.__xml_tag__, fields, by_tag, tuple(f for f in fields if not f.has_default), flat)


def _flat_field(f: Field) -> FlatField:
    kind = cast(_Scalar, f.kind)
    types = frozenset(kind.types if isinstance(kind.types, tuple) else (kind.types,))
    return FlatField(f.name, f.tag, types, kind.write, kind.read, f.optional, f.has_default)


def _field(cls: type[Any], f: dataclasses.Field[Any], hint: Any) -> Field:
    where = f"<{cls.__name__}> field {f.name!r}"
    has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    optional, hint = _unwrap_optional(hint)
    if optional and has_default and f.default is not None:
        raise TypeError(f"{where}: an Optional field's default must be None (absent means None)")
    return Field(f.name, pascal_case(f.name), _kind_for(hint, where), optional, has_default, where)


def _unwrap_optional(hint: Any) -> tuple[bool, Any]:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _kind_for(hint: Any, where: str) -> Kind:
    if hint in _SCALARS:
        return _SCALARS[hint]
    if get_origin(hint) is list and len(get_args(hint)) == 1:
        inner = _kind_for(get_args(hint)[0], where)
        if not isinstance(inner, ListKind):
            return ListKind(inner)
    if isinstance(hint, type) and is_xmlify(hint):
        return NestedKind(hint)
    raise TypeError(
        f"{where}: type {hint!r} is not supported; use str, int, float, bool, Xml,"
        " Optional[...] or list[...] of those, or an @xmlify class"
    )


def encode(obj: Any) -> etree._Element:
    spec = spec_of(type(obj))
    fast = spec.flat.encode(obj) if spec.flat is not None else None
    if fast is not None:
        return fast
    root = _empty_element(spec)
    for f, el in zip(spec.fields, list(root), strict=True):  # a list: absent fields are removed
        value = getattr(obj, f.name)
        if value is not None:
            f.kind.put(el, value, f.where)
        elif f.optional:
            root.remove(el)
        else:
            raise PayloadError(f"{f.where} is None but its type is not Optional")
    return root


def _empty_element(spec: Spec) -> etree._Element:
    """A copy of this thread's template: ``spec``'s root holding one empty element per field."""
    template: Any = getattr(spec.local, "template", None)  # per thread: a copy keeps its parser
    if template is None:
        template = spec.local.template = etree.Element(spec.tag)
        for f in spec.fields:
            etree.SubElement(template, f.tag)
    # A copy: 1.0 us; Element + a SubElement per field: 1.9 us (two fields, measured here).
    copied: etree._Element = template.__copy__()  # not copy.copy: its dispatch costs 0.2 us more
    return copied


def decode(cls: type[Any], el: etree._Element) -> Any:
    spec = spec_of(cls)
    values = spec.flat.values(el) if spec.flat is not None else None
    if values is None:
        values = _values(spec, el)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"<{spec.tag}> could not be built: {type(exc).__name__}: {exc}") from None


def _values(spec: Spec, el: etree._Element) -> dict[str, Any]:
    """The field values ``el`` holds, by attribute name; ``PayloadError`` says what is wrong."""
    if el.tag != spec.tag:
        raise PayloadError(f"expects <{spec.tag}> but got <{el.tag}>{_at(el)}")
    if el.attrib:
        raise PayloadError(f"<{spec.tag}> takes no attributes, got {sorted(el.attrib)}{_at(el)}")
    values: dict[str, Any] = {}
    for child in _element_children(el, f"<{spec.tag}>"):
        f = spec.by_tag.get(child.tag)  # a str: _element_children leaves comments out
        if f is None:
            known = ", ".join(f"<{t}>" for t in spec.by_tag) or "none"
            raise PayloadError(f"<{spec.tag}> has no field <{child.tag}>{_at(child)}; its fields: {known}")
        if f.name in values:
            raise PayloadError(f"{f.where} appears twice{_at(child)}")
        values[f.name] = f.kind.take(child, f.where)
    for f in spec.undefaulted:
        if f.name not in values:
            if not f.optional:
                raise PayloadError(f"<{spec.tag}> lacks its required field <{f.tag}>{_at(el)}")
            values[f.name] = None
    return values


