"""A calculator listener: the smallest organism (see ``calc.xml``).

Run it with::

    xmlactors run examples/calc.xml --ask calculator.add payload.xml

where ``payload.xml`` holds ``<Add><A>2</A><B>3</B></Add>``; it prints
``<Sum><Value>5</Value></Sum>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from actors import HandlerMetadata, HandlerResponse, xmlify

__all__ = ["Add", "Sum", "add"]


@xmlify
@dataclass
class Add:
    """Two integers to add."""

    a: int = 0
    b: int = 0


@xmlify
@dataclass
class Sum:
    """The result of an ``Add``."""

    value: int = 0


def add(payload: Add, meta: HandlerMetadata) -> HandlerResponse:
    """Answer the caller with the sum of ``a`` and ``b``."""
    return HandlerResponse.respond(Sum(payload.a + payload.b))
