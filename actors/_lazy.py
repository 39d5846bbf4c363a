"""Package facades that load their public names on first use (PEP 562). Private to ``actors``.

A package ``__init__`` that imports its own modules makes each of them depend
on all the others (Python runs the ``__init__`` before any submodule), and
makes ``import actors.codec`` load Thespian. So ``actors``,
``actors.primitives`` and ``actors.testing`` list where each public name
lives, and import a module only when one of its names is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["facade"]


def facade(
    package: str, namespace: dict[str, Any], where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``where`` maps a name to its module."""

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *where})

    return getattr_, dir_
