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

HOSTILE_KINDS = (
    "malformed",
    "two_roots",
    "trailing_text",
    "empty",
    "xxe",
    "external_dtd",
    "parameter_entity",
    "billion_laughs",
    "quadratic_blowup",
    "hidden_doctype",
    "too_deep",
    "too_many_elements",
    "too_big",
    "utf7",
    "foreign_encoding",
    "nul",
    "control_char",
    "bad_char_reference",
    "invalid_utf8",
)
"""Every kind of document ``hostile_xml`` makes; pass a subset as ``kinds``."""

_URLS = st.sampled_from([
    "file:///etc/passwd", "file:///etc/hostname", "/etc/passwd", "http://127.0.0.1:9/x.dtd",
    "http://example.invalid/evil.dtd", "ftp://example.invalid/x", "php://filter/resource=x",
])


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
    return st.one_of([_HOSTILE[kind](docs, limits) for kind in chosen])


def _root(doc: bytes) -> str:
    """The root tag of one of our own valid documents (not outside data)."""
    return str(etree.fromstring(doc).tag)


@st.composite
def _malformed(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    doc = draw(docs)
    tag = _root(doc).encode()
    broken = [
        doc[: draw(st.integers(1, len(doc) - 1))],  # any strict prefix lacks the root's end
        b"<" + tag + b"></" + tag + b"x>",
        b"<" + tag + b">&</" + tag + b">",
        b"<" + tag + b">&undefined;</" + tag + b">",
        b"<" + tag + b"><</" + tag + b">",
        b"<" + tag + b' a=1/>',
        b"<" + tag + b' a="1" a="2"/>',
        b"<" + tag + b"><!-- never closed </" + tag + b">",
        b"<" + tag + b"><![CDATA[ never closed </" + tag + b">",
        b"<" + tag + b"><p:x/></" + tag + b">",  # undeclared prefix
        doc.replace(b"<", b"< ", 1),
    ]
    return draw(st.sampled_from(broken))


@st.composite
def _two_roots(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    return draw(docs) + draw(st.sampled_from([b"", b"\n", b" "])) + draw(docs)


@st.composite
def _trailing_text(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    text = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != "<"),
                        min_size=1, max_size=10))
    return draw(docs) + text.encode()


def _empty(docs: st.SearchStrategy[bytes], limits: ParseLimits) -> st.SearchStrategy[bytes]:
    return st.sampled_from([b"", b" ", b"\n\t", b'<?xml version="1.0" encoding="UTF-8"?>', b"<!-- x -->"])


@st.composite
def _xxe(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs))
    url = draw(_URLS)
    doctype = f'<!DOCTYPE {tag} [<!ENTITY xxe SYSTEM "{url}">]>'
    return f'<?xml version="1.0"?>\n{doctype}\n<{tag}>&xxe;</{tag}>'.encode()


@st.composite
def _external_dtd(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    doc = draw(docs)
    tag, url = _root(doc), draw(_URLS)
    doctype = draw(st.sampled_from([
        f'<!DOCTYPE {tag} SYSTEM "{url}">', f'<!DOCTYPE {tag} PUBLIC "-//X//EN" "{url}">',
    ]))
    return doctype.encode() + b"\n" + doc


@st.composite
def _parameter_entity(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag, url = _root(draw(docs)), draw(_URLS)
    return f'<!DOCTYPE {tag} [<!ENTITY % p SYSTEM "{url}"> %p;]><{tag}/>'.encode()


@st.composite
def _billion_laughs(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs))
    levels, fan = draw(st.integers(2, 10)), draw(st.integers(2, 10))
    lines = ['<!ENTITY l0 "lol">']
    for level in range(1, levels + 1):
        lines.append(f'<!ENTITY l{level} "{f"&l{level - 1};" * fan}">')
    return f"<!DOCTYPE {tag} [\n{chr(10).join(lines)}\n]>\n<{tag}>&l{levels};</{tag}>".encode()


@st.composite
def _quadratic_blowup(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs))
    size, uses = draw(st.integers(1, 50_000)), draw(st.integers(1, 2_000))
    return f'<!DOCTYPE {tag} [<!ENTITY a "{"a" * size}">]><{tag}>{"&a;" * uses}</{tag}>'.encode()


@st.composite
def _hidden_doctype(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    """A declaration hidden where a careless filter would not look: a comment or CDATA."""
    tag = _root(draw(docs))
    hiding = draw(st.sampled_from([
        f"<!-- <!DOCTYPE {tag} [<!ENTITY e SYSTEM 'file:///etc/passwd'>]> -->",
        "<![CDATA[<!ENTITY e 'x'>]]>",
    ]))
    return f"<{tag}>{hiding}</{tag}>".encode()


@st.composite
def _too_deep(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    depth = limits.max_depth + draw(st.integers(1, 300))
    tag = draw(st.sampled_from([b"a", b"Text", _root(draw(docs)).encode()]))
    return (b"<" + tag + b">") * depth + (b"</" + tag + b">") * depth


@st.composite
def _too_many_elements(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs)).encode()
    count = limits.max_elements + draw(st.integers(0, 100))  # plus the root: over the limit
    return b"<" + tag + b">" + b"<a/>" * count + b"</" + tag + b">"


@st.composite
def _too_big(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs)).encode()
    filler = draw(st.sampled_from([b"x", b" ", b"\xc3\xa9"]))
    extra = draw(st.integers(1, 1000))
    return b"<" + tag + b">" + filler * (limits.max_bytes // len(filler) + extra) + b"</" + tag + b">"


@st.composite
def _utf7(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs)).encode()
    body = draw(st.sampled_from([b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-", b"plain"]))
    return b'<?xml version="1.0" encoding="UTF-7"?><' + tag + b">" + body + b"</" + tag + b">"


@st.composite
def _foreign_encoding(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    doc = draw(docs)
    text = doc.decode("utf-8")
    return draw(st.sampled_from([
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + doc,
        b"<?xml version='1.0' encoding='UTF-16'?>" + doc,
        b'<?xml version="1.0" encoding="EBCDIC-US"?>' + doc,
        text.encode("utf-16"),  # with a byte order mark
        text.encode("utf-16-be"),
        text.encode("utf-32"),
    ]))


@st.composite
def _inserted(draw: st.DrawFn, docs: st.SearchStrategy[bytes], chars: st.SearchStrategy[bytes]) -> bytes:
    doc = draw(docs)
    at = draw(st.integers(0, len(doc)))
    return doc[:at] + draw(chars) + doc[at:]


def _nul(docs: st.SearchStrategy[bytes], limits: ParseLimits) -> st.SearchStrategy[bytes]:
    return _inserted(docs, st.just(b"\x00"))


def _control_char(docs: st.SearchStrategy[bytes], limits: ParseLimits) -> st.SearchStrategy[bytes]:
    controls = [bytes([c]) for c in (*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))]
    return _inserted(docs, st.sampled_from(controls))


@st.composite
def _bad_char_reference(draw: st.DrawFn, docs: st.SearchStrategy[bytes], limits: ParseLimits) -> bytes:
    tag = _root(draw(docs)).encode()
    ref = draw(st.sampled_from([b"&#0;", b"&#1;", b"&#x1F;", b"&#xD800;", b"&#xFFFE;", b"&#x110000;"]))
    return b"<" + tag + b">" + ref + b"</" + tag + b">"


def _invalid_utf8(docs: st.SearchStrategy[bytes], limits: ParseLimits) -> st.SearchStrategy[bytes]:
    # A lone continuation byte, a truncated sequence, an encoded surrogate, an overlong "<".
    return _inserted(docs.filter(lambda d: len(d) > 0),
                     st.sampled_from([b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xc0\xbc", b"\xff"]))


_HOSTILE: dict[str, Callable[[st.SearchStrategy[bytes], ParseLimits], st.SearchStrategy[bytes]]] = {
    "malformed": _malformed,
    "two_roots": _two_roots,
    "trailing_text": _trailing_text,
    "empty": _empty,
    "xxe": _xxe,
    "external_dtd": _external_dtd,
    "parameter_entity": _parameter_entity,
    "billion_laughs": _billion_laughs,
    "quadratic_blowup": _quadratic_blowup,
    "hidden_doctype": _hidden_doctype,
    "too_deep": _too_deep,
    "too_many_elements": _too_many_elements,
    "too_big": _too_big,
    "utf7": _utf7,
    "foreign_encoding": _foreign_encoding,
    "nul": _nul,
    "control_char": _control_char,
    "bad_char_reference": _bad_char_reference,
    "invalid_utf8": _invalid_utf8,
}
