"""Word statistics as a two-step chain: ``text.tokenize`` then ``text.summarize``.

``examples/word_stats.py`` runs one Sequence per shipped text, all of them
inside one Buffer whose target is ``system.sequence`` (see docs/chaining.md).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from actors import HandlerMetadata, HandlerResponse, xmlify
from actors.primitives import BufferStart

__all__ = ["Document", "Words", "Summary", "tokenize", "summarize", "sentences"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have in is it its not of on or that the this"
    " to was were which with".split()
)


@xmlify
@dataclass
class Document:
    """A text to study, with its title."""

    title: str = ""
    text: str = ""


@xmlify
@dataclass
class Words:
    """The lower-cased words of a document, in order (step 1's output, step 2's input)."""

    title: str = ""
    words: list[str] = field(default_factory=list)


@xmlify
@dataclass
class Summary:
    """What a document is made of: word count, distinct words, the three most frequent."""

    title: str = ""
    words: int = 0
    distinct: int = 0
    top: list[str] = field(default_factory=list)


def tokenize(payload: Document, meta: HandlerMetadata) -> HandlerResponse:
    """Split a document into lower-case words; an empty document is an error."""
    words = _WORD.findall(payload.text.lower())
    if not words:
        raise ValueError(f"document {payload.title!r} has no words")
    return HandlerResponse.respond(Words(payload.title, words))


def summarize(payload: Words, meta: HandlerMetadata) -> HandlerResponse:
    """Count the words; the most frequent ones leave stop words out (ties: first seen wins)."""
    counts = Counter(word for word in payload.words if word not in _STOP_WORDS)
    top = [word for word, _ in counts.most_common(3)]
    return HandlerResponse.respond(
        Summary(payload.title, len(payload.words), len(set(payload.words)), top)
    )


def sentences(payload: Document, meta: HandlerMetadata) -> HandlerResponse:
    """Turn a document into a Buffer over its sentences (a step whose output feeds system.buffer)."""
    parts = [part for part in _SENTENCE_END.split(payload.text.strip()) if part]
    items = [Document(f"{payload.title} #{n}", part) for n, part in enumerate(parts, 1)]
    return HandlerResponse.respond(BufferStart(target="text.tokenize", items=items, timeout=30))
