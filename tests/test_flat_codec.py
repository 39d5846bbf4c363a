"""The flat classes' fast path (``actors._scalars``) against the general codec it stands in for.

Property: for any value of any field, and any element (fields in any order,
repeated, missing, unknown, with attributes, comments, loose text, nested
elements, values that do not read), encoding or decoding through the fast
path gives exactly what the general codec gives: the same bytes, the same
object, or the same error with the same words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.codec import xmlify
from actors.errors import PayloadError
from actors.parsing import parse, to_bytes


@xmlify
@dataclass
class FlatProbe:
    s: str
    i: int
    maybe: int | None
    f: float = 0.0
    b: bool = False
    o: str | None = None


class Level(enum.IntEnum):
    LOW = 1


@contextlib.contextmanager
def general_codec_only() -> Iterator[None]:
    """``FlatProbe`` without its fast path, for the time of the block."""
    spec = FlatProbe.__xml_spec__  # type: ignore[attr-defined]
    assert spec.flat is not None, "FlatProbe is flat: it must have a fast path"
    FlatProbe.__xml_spec__ = dataclasses.replace(spec, flat=None)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        FlatProbe.__xml_spec__ = spec  # type: ignore[attr-defined]


def outcome(step: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", step()
    except (PayloadError, TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


def both_ways(step: Callable[[], Any]) -> None:
    fast = outcome(step)
    with general_codec_only():
        general = outcome(step)
    assert fast == general


wrong_values = st.one_of(
    st.text(max_size=8), st.integers(), st.floats(), st.booleans(), st.none(),
    st.just(Level.LOW), st.just("a\x00b"), st.just("\ud800"), st.just(b"bytes"),
    st.just("  7 "), st.lists(st.integers(), max_size=2),
)
FIELDS = ("s", "i", "maybe", "f", "b", "o")


@st.composite
def probes(draw: st.DrawFn, texts: st.SearchStrategy[str] | None = None) -> FlatProbe:
    """A probe of right values (any text, number, None where optional)."""
    texts = st.text(max_size=8) if texts is None else texts
    return FlatProbe(
        draw(texts), draw(st.integers()), draw(st.none() | st.integers()),
        draw(st.floats()), draw(st.booleans()), draw(st.none() | texts),
    )


xml_texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=8)
"""Texts XML can carry: a decoded element's values."""


@settings(max_examples=500)  # pure and quick: a rare mismatch needs many draws
@given(probe=probes(), spoiled=st.lists(st.tuples(st.sampled_from(FIELDS), wrong_values),
                                         max_size=2))
def test_encoding_any_values_matches_the_general_codec(
    probe: FlatProbe, spoiled: list[tuple[str, Any]],
) -> None:
    for name, value in spoiled:  # a dataclass checks no types: any value can be there
        setattr(probe, name, value)
    both_ways(lambda: to_bytes(probe.to_element()))


TEXTS = ["", "7", " 7 ", "-3", "x", "1.5", "INF", "nan", "true", "0", "False", "a&amp;b",
         "\u00e9", "\u0661", " \n"]
mutations = st.one_of(
    st.tuples(st.just("text"), st.integers(0, 9), st.sampled_from(TEXTS)),
    st.tuples(st.just("drop"), st.integers(0, 9), st.just("")),
    st.tuples(st.just("twice"), st.integers(0, 9), st.just("")),
    st.tuples(st.just("rename"), st.integers(0, 9), st.sampled_from(["Other", "s", "I"])),
    st.tuples(st.just("inside"), st.integers(0, 9), st.sampled_from(["<X/>", "<!--c-->"])),
    st.tuples(st.just("after"), st.integers(0, 9),
              st.sampled_from([" ", "\n  ", "loose", "<!--c-->", "<?pi x?>"])),
    st.tuples(st.just("root"), st.just(0), st.sampled_from(["attribute", "lead", "tag"])),
)


def _mutated(probe: FlatProbe, order: list[int], changes: list[tuple[str, int, str]]) -> str:
    parts = [[child.tag, escape(child.text or ""), "", ""] for child in probe.to_element()]
    parts = [parts[i % len(parts)] for i in order] if order and parts else parts
    root = {"tag": "FlatProbe", "attributes": "", "lead": ""}
    for kind, at, value in changes:
        if kind == "root":
            root.update(tag="Other") if value == "tag" else None
            root.update(attributes=' a="1"') if value == "attribute" else None
            root.update(lead="text") if value == "lead" else None
            continue
        if not parts:
            continue
        part = parts[at % len(parts)]
        if kind == "drop":
            parts.remove(part)
        elif kind == "twice":
            parts.append(list(part))
        else:
            part[{"text": 1, "rename": 0, "inside": 2, "after": 3}[kind]] = value
    inner = "".join(f"<{tag}>{text}{nested}</{tag}>{tail}" for tag, text, nested, tail in parts)
    return f"<{root['tag']}{root['attributes']}>{root['lead']}{inner}</{root['tag']}>"


@settings(max_examples=500)
@given(
    probe=probes(xml_texts),
    order=st.permutations(range(6)) | st.just([]),
    changes=st.lists(mutations, min_size=1, max_size=2),
)
def test_decoding_any_element_matches_the_general_codec(
    probe: FlatProbe, order: list[int], changes: list[tuple[str, int, str]],
) -> None:
    try:
        element = parse(_mutated(probe, order, changes))
    except PayloadError:
        return  # a text XML cannot carry: there is no element to decode
    both_ways(lambda: FlatProbe.from_xml(element))


def test_a_class_with_a_field_that_is_not_a_scalar_has_no_fast_path() -> None:
    @xmlify
    @dataclass
    class Holder:
        probes: list[int]

    assert Holder.__xml_spec__.flat is None  # type: ignore[attr-defined]
