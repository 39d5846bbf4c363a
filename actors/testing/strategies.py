"""Hypothesis strategies for testing listeners: payloads, documents, envelopes, hostile XML.

Import this module from tests only: it needs ``hypothesis`` (the ``test`` extra),
which the runtime itself does not. That is why ``actors.testing`` does not
import it (the pytest plugin loads ``actors.testing`` in every pytest run).

What each strategy promises:

- ``payloads(cls)``: valid instances of any ``@xmlify`` class, built from its
  field types; every value survives ``cls.from_xml(value.to_xml()) == value``.
- ``xml_documents()``: one element, as the UTF-8 bytes lxml writes (canonical:
  parsing and writing again gives the same bytes).
- ``envelopes()``: ``Envelope`` objects whose ``to_bytes()`` parses back equal.
- ``buffer_items(cls)`` / ``buffer_items_text(cls)``: a Buffer's ``items``, as a list
  or in the original's text form (elements one after another, some spanning lines).
- ``hostile_xml()``: documents the hardened parser refuses, each in its own way
  (``HOSTILE_KINDS``); a listener must answer every one with an error, never hang.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from hypothesis import strategies as st
from lxml import etree

from ..codec import Xml, is_xmlify
from ..envelope import Envelope
from ..parsing import DEFAULT_LIMITS, ParseLimits
from ._hostile import BUILDERS, HOSTILE_KINDS

__all__ = [
    "HOSTILE_KINDS",
    "payloads",
    "xml_text",
    "xml_names",
    "xml_documents",
    "xml_fragments",
    "listener_names",
    "envelopes",
    "buffer_items",
    "buffer_items_text",
    "hostile_xml",
]

T = TypeVar("T")

# XML 1.0 characters: tab, newline, carriage return, U+0020..U+D7FF, U+E000..U+FFFD and
# above U+FFFF. The surrogates between the first two ranges cannot be encoded to UTF-8.
_XML_CHARS = st.characters(
    codec="utf-8", min_codepoint=0x20, exclude_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r")
# Strings that have broken XML code before: markup, entities, CDATA ends, whitespace, digits.
_TRICKY = st.sampled_from([
    "<", ">", "&", "&amp;", "&lt;x&gt;", "]]>", '"', "'", "<![CDATA[x]]>", "<a>", "</a>",
    "\u00e9\u4e2d\U0001f389", " lead", "trail ", "a\r\nb", "\t", "0042", "-0", "",
])


def xml_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text XML 1.0 can carry, with markup characters and non-ASCII text often mixed in."""
    pieces = st.lists(_TRICKY | st.text(_XML_CHARS, max_size=max_size), max_size=3).map("".join)
    return pieces | st.text(_XML_CHARS, max_size=max_size)


_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_\u00c0\u00c9\u00e9\u00df\u4e2d"
_NAME_CHARS = _NAME_START + "0123456789.-"


def xml_names() -> st.SearchStrategy[str]:
    """Element or attribute names (no namespace prefix; never starting with ``xml``)."""
    # Built from characters rather than with from_regex: five times faster to draw.
    common = st.sampled_from(["A", "Sum", "item", "x.y", "_z", "r-1", "\u00e9t\u00e9", "\u4e2d"])
    generated = st.builds(
        str.__add__, st.sampled_from(_NAME_START), st.text(_NAME_CHARS, max_size=10)
    )
    return (common | generated).filter(lambda name: not name.lower().startswith("xml"))


def listener_names() -> st.SearchStrategy[str]:
    """Listener names as organisms write them: ``calculator.add``, ``w``, ``text_stats.count``."""
    part = st.builds(str.__add__, st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
                     st.text("abcdefghijklmnopqrstuvwxyz0123456789_", max_size=8))
    return st.lists(part, min_size=1, max_size=3).map(".".join)


# --- documents ---------------------------------------------------------------------------


@functools.cache
def _elements(depth: int, attributes: bool) -> st.SearchStrategy[etree._Element]:
    """Elements up to ``depth`` levels; one strategy object per shape (building them is slow)."""
    names, text, short = xml_names(), xml_text(), xml_text(10)
    attribute_names = st.lists(names, max_size=2 if attributes else 0, unique=True)
    children = st.lists(_elements(depth - 1, attributes), max_size=2) if depth > 1 else st.just([])

    @st.composite
    def element(draw: st.DrawFn) -> etree._Element:
        made = etree.Element(draw(names))
        for name in draw(attribute_names):
            made.set(name, draw(short))
        made.text = draw(text) or None
        for child in draw(children):
            child.tail = draw(short) or None
            made.append(child)
        return made

    return element()


def xml_documents(max_depth: int = 3, attributes: bool = True) -> st.SearchStrategy[bytes]:
    """One element with text, attributes and children, as canonical UTF-8 bytes (no declaration)."""
    return _elements(max_depth, attributes).map(
        lambda el: etree.tostring(el, encoding="UTF-8", xml_declaration=False)
    )


def xml_fragments(max_elements: int = 3) -> st.SearchStrategy[Xml]:
    """Values for an ``Xml`` field: canonical elements one after another, or plain text.

    The plain text holds no ``<``, so it never reads as elements; either way the
    codec gives the value back exactly.
    """
    elements = st.lists(
        _elements(2, attributes=True).map(lambda el: etree.tostring(el, encoding="unicode")),
        min_size=1, max_size=max_elements,
    )
    joined = st.builds(lambda items, sep: sep.join(items), elements, st.sampled_from(["", "\n", " "]))
    text = xml_text().filter(lambda s: "<" not in s)
    return (joined | text).map(Xml)


# --- payloads of @xmlify classes ------------------------------------------------------------


def payloads(
    cls: type[T], *, max_list: int = 3, max_depth: int = 3, **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[T]:
    """Valid instances of the ``@xmlify`` class ``cls``, built from its field types.

    ``str`` fields get any text XML can carry (markup characters, non-ASCII);
    ``int`` any integer; ``float`` finite numbers; ``list`` up to ``max_list``
    entries; nested classes up to ``max_depth`` levels (a class that contains
    itself gets empty lists and ``None`` below that). Give a field's strategy by
    name to narrow it: ``payloads(Work, crash=st.just(False))``.
    """
    _check_fields(cls, fields)
    return _payloads(cls, max_list, max_depth, fields)


def _check_fields(cls: type[Any], fields: dict[str, st.SearchStrategy[Any]]) -> None:
    if not is_xmlify(cls):
        raise TypeError(f"payloads() needs an @xmlify class, got {cls!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise TypeError(f"payloads({cls.__name__}): no field named {unknown}; its fields: {sorted(names)}")


def _payloads(
    cls: type[T], max_list: int, depth: int, overrides: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[T]:
    hints = get_type_hints(cls, localns={cls.__name__: cls})
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init:
            continue
        where = f"<{cls.__name__}> field {f.name!r}"
        given = overrides.get(f.name)
        kwargs[f.name] = given if given is not None else _for_hint(hints[f.name], max_list, depth, where)
    return st.builds(cls, **kwargs)


_SCALARS: dict[Any, Callable[[], st.SearchStrategy[Any]]] = {
    str: xml_text,
    Xml: xml_fragments,
    int: st.integers,
    float: lambda: st.floats(allow_nan=False, allow_infinity=False),
    bool: st.booleans,
}


def _for_hint(hint: Any, max_list: int, depth: int, where: str) -> st.SearchStrategy[Any]:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            if depth <= 1 and _is_class(args[0]):
                return st.none()
            return st.none() | _for_hint(args[0], max_list, depth, where)
    if hint in _SCALARS:
        return _SCALARS[hint]()
    if get_origin(hint) is list and len(get_args(hint)) == 1:
        (inner,) = get_args(hint)
        if depth <= 1 and _is_class(inner):
            return st.builds(list)  # a new list each time: values may be mutated
        return st.lists(_for_hint(inner, max_list, depth, where), max_size=max_list)
    if _is_class(hint):
        if depth <= 1:
            raise TypeError(f"{where}: nesting deeper than max_depth; raise max_depth")
        return _payloads(hint, max_list, depth - 1, {})
    raise TypeError(f"{where}: payloads() cannot build a value of type {hint!r}")


def _is_class(hint: Any) -> bool:
    return isinstance(hint, type) and is_xmlify(hint)


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if is_xmlify(payload):
        data: bytes = payload.to_bytes()
        return data
    raise TypeError(f"expected an @xmlify object, str or bytes, got {type(payload).__name__}")


# --- envelopes and Buffer items ---------------------------------------------------------


def envelopes(
    payload: st.SearchStrategy[Any] | None = None,
    *,
    senders: st.SearchStrategy[str] | None = None,
    targets: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Envelope]:
    """Envelopes (from, to, thread, payload); ``payload`` yields xmlify objects, str or bytes.

    The default payload is ``xml_documents()``; ``Envelope.from_bytes(e.to_bytes()) == e``
    holds for every value when the payload is canonical (as these are).
    """
    threads = st.uuids().map(lambda u: u.hex) | st.from_regex(r"[0-9a-f]{8}", fullmatch=True)
    return st.builds(
        Envelope,
        sender=senders if senders is not None else (st.just("outside") | listener_names()),
        target=targets if targets is not None else listener_names(),
        thread=threads,
        payload=(payload if payload is not None else xml_documents()).map(_payload_bytes),
    )


def buffer_items(
    cls: type[T], *, min_size: int = 1, max_size: int = 8, **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[list[T]]:
    """A Buffer's ``items`` as a list of ``cls`` instances (``fields`` narrow them, as in ``payloads``)."""
    _check_fields(cls, fields)
    return st.lists(_payloads(cls, 3, 3, fields), min_size=min_size, max_size=max_size)


def buffer_items_text(
    cls: type[Any], *, min_size: int = 1, max_size: int = 8, **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[str]:
    """A Buffer's ``items`` in the original's text form: elements one after another.

    Items are separated by whitespace (a newline mostly), and some span several
    lines (whitespace between their field elements, which the codec ignores).
    """
    _check_fields(cls, fields)
    return st.lists(_item_text(_payloads(cls, 3, 3, fields)), min_size=min_size, max_size=max_size).flatmap(
        lambda items: st.lists(
            st.sampled_from(["\n", "\n\n", " ", "\n  ", "\t"]), min_size=len(items), max_size=len(items)
        ).map(lambda seps: "".join(item + sep for item, sep in zip(items, seps, strict=True)))
    )


@st.composite
def _item_text(draw: st.DrawFn, items: st.SearchStrategy[Any]) -> str:
    element = draw(items).to_element()
    if len(element) and draw(st.booleans()):
        element.text = "\n  "
        for child in element:
            child.tail = "\n  "
        element[-1].tail = "\n"
    return etree.tostring(element, encoding="unicode")


# --- hostile XML ----------------------------------------------------------------------------


def hostile_xml(
    kinds: Iterable[str] | None = None,
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    documents: st.SearchStrategy[bytes] | None = None,
) -> st.SearchStrategy[bytes]:
    """Documents the hardened parser refuses: malformed, XXE, entity bombs, too deep or big, ...

    ``limits`` are the parse limits of the runtime under test (``Runtime(limits=...)``),
    so that "too deep", "too many elements" and "too big" are just over them.
    ``documents`` are valid documents to corrupt (default ``xml_documents()``); pass
    your payloads' bytes (``payloads(Add).map(Add.to_bytes)``) to aim at one listener.
    """
    chosen = tuple(HOSTILE_KINDS if kinds is None else kinds)
    unknown = sorted(set(chosen) - set(HOSTILE_KINDS))
    if unknown or not chosen:
        raise ValueError(f"hostile_xml kinds must be a non-empty subset of {HOSTILE_KINDS}, got {unknown}")
    docs = documents if documents is not None else xml_documents(max_depth=2)
    return st.one_of([BUILDERS[kind](docs, limits) for kind in chosen])
