"""The builders behind ``hostile_xml``: one strategy per kind of document the parser refuses.

Each builder takes the valid documents to start from and the parse limits to
exceed, and gives bytes. Public names are re-exported by ``actors.testing.strategies``.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from lxml import etree

from ..parsing import ParseLimits

__all__ = ["HOSTILE_KINDS", "BUILDERS"]

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


BUILDERS: dict[str, Callable[[st.SearchStrategy[bytes], ParseLimits], st.SearchStrategy[bytes]]] = {
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
