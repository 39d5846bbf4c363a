"""The ``@xmlify`` payload codec: a dataclass to XML and back, and its XSD.

Remember:
- Wire form: root = class name, one child per field = PascalCase of the field name
  (``return_to`` -> ``<ReturnTo>``), in declaration order; ``None`` -> element absent.
  Booleans ``true``/``false`` (``1``/``0`` also read); floats ``repr`` (``INF``, ``-INF``, ``NaN``).
- ``list[X]``: the field element holds one child per entry, named ``Str``, ``Int``, ``Float``,
  ``Bool`` or ``Xml`` for scalars, or the nested class's own root (``<Adds><Add>..</Add></Adds>``).
- ``Xml`` (a ``str``): XML elements embedded as child elements; a value that is not
  elements-only (or not XML at all) travels as escaped text, and escaped text is read back
  as it was. Embedded XML comes back in lxml's canonical form (``<A></A>`` -> ``<A/>``).
- ``str`` is kept exactly; text XML 1.0 cannot carry (NUL, control characters, lone
  surrogates, U+FFFE/U+FFFF) makes ``to_xml`` raise ``PayloadError`` naming the field.
- An ``Optional`` field's default must be ``None`` (absent on the wire means ``None``).
- Tags are process-wide and may be shared (``examples.calc.Sum`` and ``tests.listeners.Sum``):
  ``payload_class_for(tag, prefer_module=...)`` gives the class from that module if there is
  one, else the one decorated last. Redefining the same ``module:qualname`` replaces it.
- Field codecs are resolved once per class: at decoration, or at first use when an
  annotation names a class defined later. No ``thespian`` import here.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import types
from collections.abc import Callable, Iterable
from typing import (
    Any,
    ClassVar,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from lxml import etree

from .errors import PayloadError
from .parsing import ParseLimits, invalid_char_at, parse

__all__ = [
    "Xml",
    "XmlPayload",
    "is_xmlify",
    "pascal_case",
    "payload_class_for",
    "payload_classes_for",
    "schema_for",
    "validate",
    "xmlify",
]

T = TypeVar("T")
P = TypeVar("P", bound="XmlPayload")
XS = "http://www.w3.org/2001/XMLSchema"
_WS = " \t\r\n"
# Our own Xml field values are embedded after a parse with the size caps lifted; libxml2
# (huge_tree=False) still bounds depth at 256 and text nodes at 10 MB.
_EMBED_LIMITS = ParseLimits(max_bytes=1 << 31, max_depth=250, max_elements=1 << 31)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SPECIAL_FLOATS = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_BOOLS = {"true": True, "1": True, "false": False, "0": False}


class Xml(str):
    """A ``str`` of XML elements, embedded as elements on the wire (see module docstring)."""

    __slots__ = ()


class XmlPayload:
    """What ``@xmlify`` adds to a class; inherit it too if mypy should see these methods."""

    __slots__ = ()
    __xml_tag__: ClassVar[str]

    def to_element(self) -> etree._Element:
        """A new lxml element for this payload."""
        return _encode(self)

    def to_xml(self) -> str:
        """The payload as XML text, e.g. ``'<Add><A>2</A><B>3</B></Add>'``."""
        return etree.tostring(_encode(self), encoding="unicode")

    def to_bytes(self) -> bytes:
        """The payload as UTF-8 bytes without XML declaration (the wire form)."""
        return etree.tostring(_encode(self), encoding="UTF-8", xml_declaration=False)

    @classmethod
    def from_xml(cls: type[P], data: str | bytes | etree._Element) -> P:
        """Decode text or bytes (through the hardened parser) or an element (used as is)."""
        if isinstance(data, (str, bytes)):
            data = parse(data)
        elif not isinstance(data, etree._Element):
            raise PayloadError(f"<{cls.__name__}>.from_xml takes str, bytes or an lxml element,"
                               f" not {type(data).__name__}")
        return _decode(cls, data)  # type: ignore[no-any-return]

    @classmethod
    def xsd(cls) -> str:
        """The XSD for this payload class (nested classes included)."""
        return etree.tostring(_build_xsd(cls), encoding="unicode", pretty_print=True)


_METHODS = ("to_element", "to_xml", "to_bytes", "from_xml", "xsd")
# tag -> {"module:qualname": class}, in decoration order (a redefinition moves to the end).
_registry: dict[str, dict[str, type[Any]]] = {}
_schemas: dict[type[Any], tuple[etree.XMLSchema, threading.Lock]] = {}
_schemas_lock = threading.Lock()


def xmlify(cls: type[T]) -> type[T]:
    """Make a ``@dataclass`` an XML payload: adds ``to_xml``, ``from_xml``, ``xsd``, ... and registers it.

    Put it above ``@dataclass``. Unsupported field types raise ``TypeError`` here.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"@xmlify needs a dataclass: put @dataclass below @xmlify on {cls.__name__}")
    clashes = sorted({f.name for f in dataclasses.fields(cls)} & set(_METHODS))
    if clashes:
        raise TypeError(
            f"@xmlify class {cls.__name__}: field {clashes[0]!r} would hide the payload method"
            f" of that name; rename the field"
        )
    for name in _METHODS:
        setattr(cls, name, XmlPayload.__dict__[name])
    target: Any = cls  # attributes the type checker cannot know about
    target.__xml_tag__ = cls.__name__
    target.__xml_spec__ = None
    try:
        target.__xml_spec__ = _resolve(cls)
    except NameError:
        pass  # an annotation names a class not defined yet: resolved at first use
    same_tag = _registry.setdefault(cls.__name__, {})
    key = f"{cls.__module__}:{cls.__qualname__}"
    same_tag.pop(key, None)
    same_tag[key] = cls
    return cls


def payload_class_for(tag: str, prefer_module: str | None = None) -> type[Any] | None:
    """The @xmlify class for a root tag, or None.

    Several classes may share a tag: the one defined in ``prefer_module`` wins (pass the
    module of the request's class when decoding its reply), else the one decorated last.
    """
    classes = list(_registry.get(tag, {}).values())
    preferred = [c for c in classes if c.__module__ == prefer_module]
    candidates = preferred or classes
    return candidates[-1] if candidates else None


def payload_classes_for(tag: str) -> tuple[type[Any], ...]:
    """Every @xmlify class decorated with this root tag, oldest first."""
    return tuple(_registry.get(tag, {}).values())


def is_xmlify(obj_or_cls: object) -> bool:
    """True for an @xmlify class or an instance of one (not for undecorated subclasses)."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return "__xml_tag__" in cls.__dict__


def pascal_case(name: str) -> str:
    """``return_to`` -> ``ReturnTo``: the element name of a field."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def schema_for(cls: type[Any]) -> etree.XMLSchema:
    """The compiled XSD of an @xmlify class, built once per class and cached."""
    return _schema_entry(cls)[0]


def validate(cls: type[Any], el: etree._Element) -> None:
    """Raise ``PayloadError`` unless ``el`` satisfies ``cls``'s schema.

    The message starts with what failed (the caller prefixes its own name):
    ``expects <Add> but got <Sum> (line 1): ...`` or ``<Add> failed its schema (line 1): ...``.
    """
    schema, lock = _schema_entry(cls)
    with lock:  # the error log lives on the schema object
        if schema.validate(el):
            return
        error = next(iter(cast(Iterable[Any], schema.error_log)), None)
    tag = cls.__xml_tag__
    line = f" (line {error.line})" if error is not None and error.line else ""
    message = error.message if error is not None else "invalid"
    if el.tag != tag:
        raise PayloadError(f"expects <{tag}> but got <{el.tag}>{line}: {message}")
    raise PayloadError(f"<{tag}> failed its schema{line}: {message}")


def _schema_entry(cls: type[Any]) -> tuple[etree.XMLSchema, threading.Lock]:
    entry = _schemas.get(cls)
    if entry is None:
        with _schemas_lock:
            entry = _schemas.get(cls)
            if entry is None:
                entry = _schemas[cls] = (etree.XMLSchema(_build_xsd(cls)), threading.Lock())
    return entry


# --- field kinds: how one value sits in its field element -------------------------------


class _Kind:
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
        el.text = text
    except ValueError:
        pos = invalid_char_at(text)
        char = text[pos] if pos >= 0 else "?"
        raise PayloadError(
            f"{where} holds {char!r} at position {pos}, which XML 1.0 cannot carry;"
            " remove it or encode the text (e.g. base64)"
        ) from None


def _scalar_text(el: etree._Element, where: str) -> str:
    if len(el):
        raise PayloadError(f"{where} must hold text, not elements{_at(el)}")
    return el.text or ""


def _check_type(value: Any, expected: type | tuple[type, ...], where: str) -> None:
    """Refuse a value of the wrong Python type (a bool is not an int here)."""
    if not isinstance(value, expected) or isinstance(value, bool) is not (expected is bool):
        names = [t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))]
        raise PayloadError(f"{where} must be {' or '.join(names)}, got {value!r}")


def _read_int(text: str) -> int:
    if not _INTEGER.fullmatch(text.strip(_WS)):
        raise ValueError(text)
    return int(text)


def _write_float(value: float) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    return ("INF" if number > 0 else "-INF") if math.isinf(number) else repr(number)


def _read_float(text: str) -> float:
    text = text.strip(_WS)
    if _DOUBLE.fullmatch(text):
        return float(text)
    return _SPECIAL_FLOATS[text.lower()]  # KeyError: not a number


class _Scalar(_Kind):
    """A value written as the text of its element."""

    def __init__(self, tag: str, xsd_type: str, types: type | tuple[type, ...],
                 write: Callable[[Any], str], read: Callable[[str], Any], what: str) -> None:
        self.item_tag, self.xsd_type, self.types = tag, xsd_type, types
        self.write, self.read, self.what = write, read, what

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        _check_type(value, self.types, where)
        _set_text(el, self.write(value), where)

    def take(self, el: etree._Element, where: str) -> Any:
        text = _scalar_text(el, where)
        try:
            return self.read(text)
        except (ValueError, KeyError):
            raise PayloadError(f"{where}: {text.strip(_WS)!r} is not {self.what}{_at(el)}") from None


class _XmlKind(_Kind):
    item_tag = "Xml"

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        _check_type(value, str, where)
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
        return Xml(text + "".join(etree.tostring(c, encoding="unicode", with_tail=True) for c in el))


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


class _Nested(_Kind):
    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.item_tag = self.xsd_type = cls.__xml_tag__

    def put_item(self, parent: etree._Element, value: Any, where: str) -> None:
        _check_type(value, self.cls, where)
        parent.append(_encode(value))

    def take_item(self, child: etree._Element, where: str) -> Any:
        return _decode(self.cls, child)

    def put(self, el: etree._Element, value: Any, where: str) -> None:
        self.put_item(el, value, where)

    def take(self, el: etree._Element, where: str) -> Any:
        children = _element_children(el, where)
        if len(children) != 1:
            raise PayloadError(
                f"{where} must hold one <{self.item_tag}>, got {len(children)} elements{_at(el)}"
            )
        return self.take_item(children[0], where)


class _List(_Kind):
    def __init__(self, inner: _Kind) -> None:
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
    if _loose_text(el):
        raise PayloadError(f"{where} must hold elements, not text{_at(el)}")
    return [c for c in el if isinstance(c.tag, str)]


def _at(el: etree._Element) -> str:
    return f" (line {el.sourceline})" if el.sourceline else ""


_SCALARS: dict[Any, _Kind] = {
    str: _Scalar("Str", "xs:string", str, str, str, "text"),
    int: _Scalar("Int", "xs:integer", int, str, _read_int, "an integer"),
    float: _Scalar("Float", "xs:double", (float, int), _write_float, _read_float, "a number"),
    bool: _Scalar("Bool", "xs:boolean", bool, lambda v: "true" if v else "false",
                  lambda t: _BOOLS[t.strip(_WS)], "a boolean (true, false, 1, 0)"),
    Xml: _XmlKind(),
}


# --- per-class specification -------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    tag: str
    kind: _Kind
    optional: bool
    has_default: bool
    where: str


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    tag: str
    fields: tuple[_Field, ...]
    by_tag: dict[str, _Field]


def _spec(cls: type[Any]) -> _Spec:
    spec: _Spec | None = cls.__dict__.get("__xml_spec__")
    if spec is None:
        if "__xml_tag__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} is not an @xmlify class; decorate it with @xmlify")
        try:
            spec = _resolve(cls)
        except NameError as exc:
            raise TypeError(
                f"cannot resolve the annotations of {cls.__name__}: {exc} (a class defined"
                " inside a function cannot name another local class in a string annotation)"
            ) from None
        target: Any = cls
        target.__xml_spec__ = spec
    return spec


def _resolve(cls: type[Any]) -> _Spec:
    """Build the field codecs of a class once (raises NameError for a forward reference)."""
    hints = get_type_hints(cls, localns={cls.__name__: cls})
    fields = tuple(_field(cls, f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)
    by_tag = {f.tag: f for f in fields}
    if len(by_tag) != len(fields):
        raise TypeError(f"{cls.__name__}: two fields share one element name {[f.tag for f in fields]}")
    return _Spec(cls.__xml_tag__, fields, by_tag)


def _field(cls: type[Any], f: dataclasses.Field[Any], hint: Any) -> _Field:
    where = f"<{cls.__name__}> field {f.name!r}"
    has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    optional, hint = _unwrap_optional(hint)
    if optional and has_default and f.default is not None:
        raise TypeError(f"{where}: an Optional field's default must be None (absent means None)")
    return _Field(f.name, pascal_case(f.name), _kind_for(hint, where), optional, has_default, where)


def _unwrap_optional(hint: Any) -> tuple[bool, Any]:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return True, args[0]
    return False, hint


def _kind_for(hint: Any, where: str) -> _Kind:
    if hint in _SCALARS:
        return _SCALARS[hint]
    if get_origin(hint) is list and len(get_args(hint)) == 1:
        inner = _kind_for(get_args(hint)[0], where)
        if not isinstance(inner, _List):
            return _List(inner)
    if isinstance(hint, type) and is_xmlify(hint):
        return _Nested(hint)
    raise TypeError(
        f"{where}: type {hint!r} is not supported; use str, int, float, bool, Xml,"
        " Optional[...] or list[...] of those, or an @xmlify class"
    )


def _encode(obj: Any) -> etree._Element:
    spec = _spec(type(obj))
    root = etree.Element(spec.tag)
    for f in spec.fields:
        value = getattr(obj, f.name)
        if value is None:
            if f.optional:
                continue
            raise PayloadError(f"{f.where} is None but its type is not Optional")
        f.kind.put(etree.SubElement(root, f.tag), value, f.where)
    return root


def _decode(cls: type[Any], el: etree._Element) -> Any:
    spec = _spec(cls)
    if el.tag != spec.tag:
        raise PayloadError(f"expects <{spec.tag}> but got <{el.tag}>{_at(el)}")
    if el.attrib:
        raise PayloadError(f"<{spec.tag}> takes no attributes, got {sorted(el.attrib)}{_at(el)}")
    values: dict[str, Any] = {}
    for child in _element_children(el, f"<{spec.tag}>"):
        f = spec.by_tag.get(str(child.tag))
        if f is None:
            known = ", ".join(f"<{t}>" for t in spec.by_tag) or "none"
            raise PayloadError(f"<{spec.tag}> has no field <{child.tag}>{_at(child)}; its fields: {known}")
        if f.name in values:
            raise PayloadError(f"{f.where} appears twice{_at(child)}")
        values[f.name] = f.kind.take(child, f.where)
    for f in spec.fields:
        if f.name not in values and not f.has_default:
            if not f.optional:
                raise PayloadError(f"<{spec.tag}> lacks its required field <{f.tag}>{_at(el)}")
            values[f.name] = None
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"<{spec.tag}> could not be built: {type(exc).__name__}: {exc}") from None


# --- XSD ---------------------------------------------------------------------------------


def _xs(name: str) -> str:
    return f"{{{XS}}}{name}"


def _build_xsd(cls: type[Any]) -> etree._Element:
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


def _complex_type(schema: etree._Element, cls: type[Any]) -> list[type[Any]]:
    """Append ``cls``'s complexType; return the nested classes it refers to."""
    ctype = etree.SubElement(schema, _xs("complexType"), name=cls.__xml_tag__)
    fields = _spec(cls).fields
    group = etree.SubElement(ctype, _xs("all")) if fields else ctype
    nested: list[type[Any]] = []
    for f in fields:
        decl = etree.SubElement(group, _xs("element"), name=f.tag)
        if f.optional or f.has_default:
            decl.set("minOccurs", "0")
        nested.extend(_declare(decl, f.kind, many=False))
    return nested


def _declare(decl: etree._Element, kind: _Kind, many: bool) -> list[type[Any]]:
    """Give ``decl`` the type of ``kind``; returns nested classes met."""
    if many:
        decl.set("minOccurs", "0")
        decl.set("maxOccurs", "unbounded")
    if isinstance(kind, _XmlKind):
        ctype = etree.SubElement(decl, _xs("complexType"), mixed="true")
        seq = etree.SubElement(ctype, _xs("sequence"))
        etree.SubElement(seq, _xs("any"), minOccurs="0", maxOccurs="unbounded", processContents="skip")
        return []
    if isinstance(kind, (_List, _Nested)):
        inner = kind.inner if isinstance(kind, _List) else kind
        seq = etree.SubElement(etree.SubElement(decl, _xs("complexType")), _xs("sequence"))
        entry = etree.SubElement(seq, _xs("element"), name=inner.item_tag)
        if isinstance(inner, _Nested):
            entry.set("type", inner.item_tag)
            if isinstance(kind, _List):
                entry.set("minOccurs", "0")
                entry.set("maxOccurs", "unbounded")
            return [inner.cls]
        return _declare(entry, inner, many=True)
    decl.set("type", kind.xsd_type)
    return []
