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
import threading
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar, cast

from lxml import etree

from ._fields import Xml, decode, encode, is_xmlify, pascal_case, resolve
from ._xsd import build_holder_xsd, build_xsd
from .errors import PayloadError
from .parsing import parse, to_bytes, to_text

__all__ = [
    "Xml",
    "XmlPayload",
    "is_xmlify",
    "pascal_case",
    "payload_class_for",
    "payload_classes_for",
    "schema_for",
    "validate",
    "children_valid",
    "xmlify",
]

T = TypeVar("T")
P = TypeVar("P", bound="XmlPayload")


class XmlPayload:
    """What ``@xmlify`` adds to a class; inherit it too if mypy should see these methods."""

    __slots__ = ()
    __xml_tag__: ClassVar[str]

    def to_element(self) -> etree._Element:
        """A new lxml element for this payload."""
        return encode(self)

    def to_xml(self) -> str:
        """The payload as XML text, e.g. ``'<Add><A>2</A><B>3</B></Add>'``."""
        return to_text(encode(self))

    def to_bytes(self) -> bytes:
        """The payload as UTF-8 bytes without XML declaration (the wire form)."""
        return to_bytes(encode(self))

    @classmethod
    def from_xml(cls: type[P], data: str | bytes | etree._Element) -> P:
        """Decode text or bytes (through the hardened parser) or an element (used as is)."""
        if isinstance(data, (str, bytes)):
            data = parse(data)
        elif not isinstance(data, etree._Element):
            raise PayloadError(f"<{cls.__name__}>.from_xml takes str, bytes or an lxml element,"
                               f" not {type(data).__name__}")
        return decode(cls, data)  # type: ignore[no-any-return]

    @classmethod
    def xsd(cls) -> str:
        """The XSD for this payload class (nested classes included)."""
        return etree.tostring(build_xsd(cls), encoding="unicode", pretty_print=True)


_METHODS = ("to_element", "to_xml", "to_bytes", "from_xml", "xsd")
# tag -> {"module:qualname": class}, in decoration order (a redefinition moves to the end).
_registry: dict[str, dict[str, type[Any]]] = {}
_schemas: dict[Any, tuple[etree.XMLSchema, threading.Lock]] = {}  # by class, or (class, holder)
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
        target.__xml_spec__ = resolve(cls)
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


def children_valid(cls: type[Any], holder: etree._Element) -> bool:
    """Whether every child element of ``holder`` satisfies ``cls``'s schema, in one validation
    (0.4 us an item here, against 1 us each alone). False when any does not, or when
    ``holder``'s tag cannot sit beside ``cls``'s in a schema: validate each then, for its error."""
    tag = holder.tag
    if not isinstance(tag, str) or "{" in tag or tag == cls.__xml_tag__:
        return False
    schema, lock = _schema_entry(cls, tag)
    with lock:
        return bool(schema.validate(holder))


def _schema_entry(cls: type[Any], holder: str = "") -> tuple[etree.XMLSchema, threading.Lock]:
    """``cls``'s compiled schema (or its ``holder``'s: ``build_holder_xsd``), built once."""
    key = (cls, holder) if holder else cls
    entry = _schemas.get(key)
    if entry is None:
        with _schemas_lock:
            entry = _schemas.get(key)
            if entry is None:
                tree = build_holder_xsd(cls, holder) if holder else build_xsd(cls)
                entry = _schemas[key] = (etree.XMLSchema(tree), threading.Lock())
    return entry
