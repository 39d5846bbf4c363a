"""Limits on the shape of a tree already parsed: how deep it nests, how many elements it has.

The hardened parser (``parsing``) applies them to what it parses; a Buffer's
service applies them to the items it splits from its parsed ``BufferStart``
(``items_within``), so that the items can go on as elements (``parsed``).
No Thespian.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from .errors import PayloadError
from .limits import ParseLimits

__all__ = ["check_shape", "items_within", "size_refusal"]


def size_refusal(size: int, limits: ParseLimits) -> str:
    """Why ``size`` bytes are refused, or "" when they are within ``limits.max_bytes``."""
    if size <= limits.max_bytes:
        return ""
    return f"XML refused: {size:,} bytes is over the {limits.max_bytes:,}-byte limit"


def items_within(holder: etree._Element, size: int, limits: ParseLimits) -> bool:
    """Whether every child of ``holder`` (a document of ``size`` bytes) is surely within
    ``limits``, as if parsed alone: checked on the whole at once. False means "not known":
    each item is then checked on its own (``check_shape`` and its written size)."""
    if size_refusal(size, limits):
        return False
    if size >= 7 * limits.max_depth + 4:
        deep = _deeper_than(limits.max_depth + 1)(holder)
        if isinstance(deep, list) and deep:
            return False
    if size < 4 * (limits.max_elements + 1):
        return True
    return int(_COUNT(holder)) - 1 <= limits.max_elements  # type: ignore[arg-type]


def check_shape(root: etree._Element, size: int, limits: ParseLimits, offset: int) -> None:
    """Refuse too deep or too many elements; ``offset`` 1 skips the items wrapper.

    Depth d needs at least 7*(d-1)+4 bytes (``<a>`` ``</a>`` per level, ``<a/>`` inside),
    n elements at least 4*n bytes: smaller inputs skip the walk (most payloads do).
    """
    if size >= 7 * limits.max_depth + 4:
        deep = _deeper_than(limits.max_depth + offset)(root)
        if isinstance(deep, list) and deep and isinstance(deep[0], etree._Element):
            raise PayloadError(
                f"{_item_prefix(deep[0], offset)}XML refused: nesting deeper than"
                f" {limits.max_depth} levels (line {deep[0].sourceline})"
            )
    if size >= 4 * (limits.max_elements + 1):
        count = int(_COUNT(root)) - offset  # type: ignore[arg-type]
        if count > limits.max_elements:
            raise PayloadError(
                f"XML refused: {count:,} elements is over the {limits.max_elements:,}-element limit"
            )


def _item_prefix(el: etree._Element, offset: int) -> str:
    if not offset:
        return ""
    top = el
    for ancestor in el.iterancestors():
        if ancestor.getparent() is None:
            break
        top = ancestor
    parent = top.getparent()
    return f"item {parent.index(top) if parent is not None else 0}: "


_COUNT = etree.XPath("count(descendant-or-self::*)")


@lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    """XPath for the first element more than ``depth`` levels below the context node's level."""
    return etree.XPath("(" + "/".join(["*"] * depth) + ")[1]")
