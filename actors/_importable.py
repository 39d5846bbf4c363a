"""Import by name, and the check that an object can be imported by name.

The multiprocess bases pickle handlers and payload classes by reference
(module + qualified name) and import them in the actor's process, so a
lambda or a function nested in another cannot cross.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from .errors import NotImportableError

__all__ = ["check_importable", "import_ref"]


def check_importable(obj: Any, what: str) -> None:
    """Raise ``NotImportableError`` unless ``obj`` is reachable as module.qualname."""
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname:
        raise NotImportableError(
            f"{what} ({qualname or obj!r}) is not an importable module-level name;"
            " define it at module level (lambdas and nested functions cannot be sent"
            " to another process)"
        )
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise NotImportableError(
            f"{what} {module_name}:{qualname} cannot be imported by that name;"
            " define it at module level under the name it was defined with"
        )


def import_ref(ref: str) -> Any:
    """The object named by ``"package.module:qualname"``."""
    module_name, sep, qualname = ref.partition(":")
    if not sep or not module_name or not qualname:
        raise NotImportableError(f"{ref!r} is not of the form 'package.module:name'")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise NotImportableError(f"cannot import module {module_name!r} for {ref!r}: {exc}") from exc
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise NotImportableError(f"module {module_name!r} has no {qualname!r}") from None
    return found
