"""The one hardened XML parser: every parse of data from outside a handler goes through here.

Remember:
- Refused, each with a ``PayloadError`` naming the problem (and the line when known):
  bytes over the size cap (checked before parsing), any DOCTYPE or ENTITY declaration
  (so no entity expansion, no XXE, no billion laughs), an encoding other than UTF-8,
  NUL and control characters, nesting deeper than the limit, more elements than the
  limit, malformed XML, two roots or trailing text.
- Depth and size refusals always read as ours, with the limit: libxml2's own (``huge_tree``
  off: 256 levels, 10 MB of one node) are reworded (``limits.libxml_refusal``).
- The text ``<!DOCTYPE`` / ``<!ENTITY`` is refused anywhere in the input, even inside a
  comment or CDATA section: a cheap byte scan that can be trusted. Our own codec never
  emits either (it escapes ``<`` in text).
- lxml parsers must not be shared between threads, so each thread keeps its own
  (building one costs ~1.4 us, parsing ``<Add>`` ~2.7 us: per call would add ~50 %).
- Never pass ``collect_ids=False``: on current lxml it makes libxml2 read external DTDs.
- Every parse and every serialization of the runtime goes through ``_fromstring`` and
  ``_tostring`` here (the codec and the results format call ``parse`` and ``to_bytes``),
  so a test can count them by wrapping those two names.
- No ``thespian`` import here.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

from lxml import etree

from .errors import PayloadError
from .limits import DEFAULT_LIMITS, OWN_OUTPUT, ParseLimits, libxml_refusal
from .shape import check_shape, size_refusal

__all__ = [
    "DEFAULT_LIMITS",
    "OWN_OUTPUT",
    "ParseLimits",
    "RefusingResolver",
    "inner_text",
    "invalid_char_at",
    "new_parser",
    "parse",
    "parse_items",
    "item_elements",
    "split_items",
    "to_bytes",
    "to_text",
    "xml_safe",
]


# Settings of every parser built here (DESIGN.md, Security). ``encoding`` forces UTF-8:
# libxml2 would otherwise guess UTF-16 or EBCDIC from the first bytes.
_SETTINGS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "decompress": False,
    "remove_comments": True,
    "remove_pis": True,
    "encoding": "utf-8",
}

_REFUSED_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)")
_MARKUP = re.compile(rb"<!")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DECLARED_ENCODING = re.compile(
    rb"\A(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']"
)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_LXML_POSITION = re.compile(r",? line \d+, column \d+\s*$")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPED_IN_TEXT = re.compile("[&<>\r]")  # what lxml writes as a reference in text
_WRAPPER = "_items"
_UNCLOSED = re.compile(rf"Opening and ending tag mismatch: (\S+) line (\d+) and {_WRAPPER}")
_UNOPENED = re.compile(rf"Opening and ending tag mismatch: {_WRAPPER} line \d+ and (\S+)")
_OPEN, _CLOSE = f"<{_WRAPPER}>".encode(), f"</{_WRAPPER}>".encode()
_XML_SPACE = " \t\r\n"


def _push_parse(raw: bytes, parser: etree.XMLParser) -> etree._Element:
    """Parse ``raw`` whole through ``parser``'s push interface, as ``etree.fromstring`` would.

    ``feed`` + ``close`` cost 0.3 us less than ``fromstring`` for a 44-byte item (1.5 vs
    1.8 us, measured here). On a syntax error the bytes are parsed again by ``fromstring``,
    so every error reads exactly as that parse's; a fuzz of 24,000 documents found no
    input that one accepts and the other refuses, nor a tree that differs.
    """
    try:
        parser.feed(raw)
        root: etree._Element = parser.close()
    except etree.XMLSyntaxError:  # the parser is reset after one
        return etree.fromstring(raw, parser)  # its own error (or its tree, if it differs)
    except BaseException:  # e.g. Ctrl-C between feed and close: the next feed must start afresh
        with contextlib.suppress(etree.XMLSyntaxError):
            parser.close()
        raise
    return root


_fromstring = _push_parse
"""The one call that parses (a seam: tests wrap it to count parses)."""
_tostring = etree.tostring
"""The one call that serializes (a seam: tests wrap it to count serializations)."""


class RefusingResolver(etree.Resolver):
    """Refuses every URL: no DTD, entity or include is ever fetched, from disk or network."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> Any:
        raise PayloadError(f"XML refused: external resource {system_url!r} is not allowed")


def new_parser() -> etree.XMLParser:
    """A new hardened parser; prefer ``parse``, which keeps one per thread."""
    parser = etree.XMLParser(**_SETTINGS)
    parser.resolvers.add(RefusingResolver())
    return parser


_local = threading.local()


def _thread_parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = new_parser()
    return parser


def parse(data: str | bytes, limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse one XML document from outside into its root element, or raise ``PayloadError``.

    ``str`` is encoded to UTF-8 first, so the size cap always counts bytes.
    """
    raw = data if type(data) is bytes else _as_bytes(data)
    declarations = _precheck(raw, limits)
    try:
        root = _fromstring(raw, _thread_parser())
    except etree.XMLSyntaxError as exc:
        raise PayloadError(_malformed(exc, raw, limits=limits)) from None
    # Defence in depth, for input holding "<!" only: UTF-8 bytes (the parser forces
    # UTF-8; NULs and other BOMs are refused above) cannot declare a DOCTYPE without
    # them, and reading the docinfo costs 0.4 of a 3.5 us parse of a 44-byte item.
    if declarations:
        docinfo = root.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.doctype:
            raise PayloadError("XML refused: DOCTYPE declarations are not allowed")
    size = len(raw)
    # Small inputs cannot break a shape limit (see shape.check_shape): the test inline, not a
    # call, since most payloads are small (0.18 -> 0.06 us, measured here).
    if size >= 7 * limits.max_depth + 4 or size >= 4 * (limits.max_elements + 1):
        check_shape(root, size, limits, offset=0)
    return root


def parse_items(text: str | bytes, limits: ParseLimits = DEFAULT_LIMITS) -> list[etree._Element]:
    """Parse zero or more XML elements written one after another (the Buffer's ``items``).

    Whitespace between and around elements is ignored; other text is refused. Errors
    name the 0-based item index. The elements come back detached from the private
    wrapper (``getparent()`` is None, ``tail`` None), in order, with their source lines.
    """
    raw = _as_bytes(text).removeprefix(b"\xef\xbb\xbf")
    _precheck(raw, limits)
    if not raw.strip(_XML_SPACE.encode()):
        return []
    try:
        wrapper = _fromstring(_OPEN + raw + _CLOSE, _thread_parser())
    except etree.XMLSyntaxError as exc:
        done = _items_before_error(raw)
        message = _malformed(exc, raw, shift=len(_OPEN), limits=limits, depth_offset=1)
        raise PayloadError(f"item {done}: {message}") from None
    _check_loose_text(wrapper)
    check_shape(wrapper, len(raw), limits, offset=1)
    items = list(wrapper)
    for item in items:
        wrapper.remove(item)
        item.tail = None
    return items


def split_items(holder: etree._Element, limits: ParseLimits = DEFAULT_LIMITS) -> list[bytes]:
    """The wire bytes of each item held by an element already parsed (a Buffer's ``<Items>``)."""
    return [to_bytes(item) for item in item_elements(holder, limits)]


def item_elements(holder: etree._Element, limits: ParseLimits = DEFAULT_LIMITS) -> list[etree._Element]:
    """The items held by an element already parsed (a Buffer's ``<Items>``), as elements.

    Items embedded as elements are taken as they are, not parsed again (they stay
    in ``holder``); items in the original bus's escaped-text form are parsed as
    ``parse_items`` does. Text beside elements is refused, as there.
    """
    if not len(holder):
        return parse_items(holder.text or "", limits)
    return _check_loose_text(holder)


def _items_before_error(raw: bytes) -> int:
    """How many items parsed whole before the first error (to name the bad item's index)."""
    pull = etree.XMLPullParser(events=("end",), **_SETTINGS)
    pull.resolvers.add(RefusingResolver())
    try:
        pull.feed(_OPEN)
        pull.feed(raw)
        pull.feed(_CLOSE)
        pull.close()
    except etree.XMLSyntaxError:
        pass
    return sum(1 for _, el in pull.read_events() if isinstance(el, etree._Element) and _is_item(el))


def to_bytes(el: etree._Element) -> bytes:
    """UTF-8 bytes of one element, without XML declaration or the element's tail."""
    return _tostring(el, encoding="UTF-8", xml_declaration=False, with_tail=False)


def to_text(el: etree._Element, with_tail: bool = False) -> str:
    """The element as ``str`` (no declaration; its tail only when asked)."""
    text: str = _tostring(el, encoding="unicode", with_tail=with_tail)
    return text


def inner_text(el: etree._Element) -> str:
    """What ``el`` holds, as text: its own text, then each child with its tail (as if each
    were written alone). Written in one pass where that is the same text (no attributes, no
    namespace in scope, nothing to escape in its own text): a write per child cost ~1.3 us
    a child, one of the whole element ~0.35 us a child (10,000 small children, here)."""
    text = el.text or ""
    if not len(el):
        return text
    if not el.attrib and not el.nsmap and not _ESCAPED_IN_TEXT.search(text):
        whole = to_text(el)
        return whole[len(el.tag) + 2: -(len(el.tag) + 3)]  # without <tag> and </tag>
    return text + "".join(to_text(child, with_tail=True) for child in el)


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry replaced by a visible escape (``\\x00``)."""
    return _NOT_XML_CHAR.sub(lambda m: ascii(m.group())[1:-1], text)


def invalid_char_at(text: str) -> int:
    """Index of the first character XML 1.0 cannot carry (NUL, controls, lone surrogates), or -1."""
    found = _NOT_XML_CHAR.search(text)
    return found.start() if found else -1


def _as_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PayloadError(
                f"XML refused: text holds a lone surrogate at position {exc.start};"
                " it cannot be encoded to UTF-8"
            ) from None
    raise PayloadError(f"XML refused: expected str or bytes, got {type(data).__name__}")


def _precheck(raw: bytes, limits: ParseLimits) -> bool:
    """Refusals decided on the bytes alone, before libxml2 sees them.

    Returns whether ``<!`` occurs (a comment, CDATA section or refused declaration).
    """
    if len(raw) > limits.max_bytes:
        raise PayloadError(size_refusal(len(raw), limits))
    # A byte order mark or an XML declaration cannot start with "<" + not "?": one slice
    # test instead of a startswith and a regex (0.22 -> 0.10 us, measured here).
    if raw[:1] != b"<" or raw[1:2] == b"?":
        _check_encoding(raw)
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise PayloadError(f"XML refused: a NUL byte at {_where(raw, nul)} (NUL is never allowed in XML)")
    markup = _MARKUP.search(raw)  # a regex: twice as fast as bytes.find here on 1 MB of XML
    if markup is None:
        return False
    refused = _REFUSED_DECLARATIONS.search(raw, markup.start())
    if refused:
        kind = refused.group(1).decode()
        raise PayloadError(
            f"XML refused: {kind} declarations are not allowed ({_where(raw, refused.start())})"
        )
    return True


def _check_encoding(raw: bytes) -> None:
    """Refuse a UTF-16/UTF-32 byte order mark and a declared encoding other than UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        raise PayloadError("XML refused: a UTF-16/UTF-32 byte order mark; only UTF-8 is accepted")
    declared = _DECLARED_ENCODING.match(raw)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in _UTF8_NAMES:
        name = declared.group(1).decode("ascii", "replace")
        raise PayloadError(f"XML refused: encoding {name!r} is not allowed; only UTF-8 is accepted")


def _where(raw: bytes, offset: int) -> str:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _malformed(
    exc: etree.XMLSyntaxError, raw: bytes, shift: int = 0,
    limits: ParseLimits = DEFAULT_LIMITS, depth_offset: int = 0,
) -> str:
    """The parser's complaint, with a clearer text for control characters, and our own
    wording for libxml2's depth and size limits (``depth_offset``: levels of a wrapper)."""
    line, column = exc.position
    limit = libxml_refusal(exc.msg or str(exc), line, limits, depth_offset)
    if limit:
        return limit
    control = _CONTROL.search(raw)
    if control and raw.count(b"\n", 0, control.start()) < max(line, 1):
        code = control.group()[0]
        return (
            f"XML refused: control character U+{code:04X} at {_where(raw, control.start())}"
            " is not allowed in XML 1.0"
        )
    message = _LXML_POSITION.sub("", exc.msg or str(exc)).strip()
    message = _UNCLOSED.sub(r"element <\1> opened at line \2 is not closed", message)
    message = _UNOPENED.sub(r"closing tag </\1> has no opening tag", message)
    if message.startswith("Extra content at the end of the document"):
        message += " (one root element only)"
    if line == 1 and shift:
        column = max(column - shift, 1)
    if line:
        return f"malformed XML at line {line}, column {column}: {message}"
    return f"malformed XML: {message}"


def _is_item(el: etree._Element) -> bool:
    parent = el.getparent()
    return parent is not None and parent.getparent() is None


def _check_loose_text(wrapper: etree._Element) -> list[etree._Element]:
    """Refuse text between items: only whitespace may separate them. Returns the element
    children, in order (found in the same pass)."""
    if wrapper.text and wrapper.text.strip(_XML_SPACE):
        raise PayloadError(
            f"item 0: text outside elements is not allowed: {_snippet(wrapper.text)}"
        )
    elements = []
    for index, item in enumerate(wrapper):
        tail = item.tail
        if tail and tail.strip(_XML_SPACE):
            raise PayloadError(
                f"item {index}: text after the element is not allowed: {_snippet(tail)}"
            )
        if isinstance(item.tag, str):
            elements.append(item)
    return elements


def _snippet(text: str) -> str:
    text = text.strip(_XML_SPACE)
    return repr(text if len(text) <= 40 else text[:40] + "...")
