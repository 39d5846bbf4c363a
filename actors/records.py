"""Frozen records that are cheap to make: the messages built once per item.

A frozen dataclass sets each field in ``__init__`` (and in ``__setstate__``,
when the multiprocess bases unpickle it) through ``object.__setattr__``:
0.7 us more than a plain assignment for a record of eight fields, measured
here, and a Buffer item makes about seven such records on its way. ``lean``
keeps a frozen dataclass as its type checker sees it (mypy strict rejects any
assignment to a field, which is what keeps them immutable in this codebase:
a message may be shared between actors in process) and, at run time, gives
it a plain ``__init__`` and ``__setstate__`` and drops the ``__setattr__``
that refuses assignment. Equality, hashing, ``repr``, ``replace`` and pickling
stay the dataclass's own, and so do the checks of a ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["lean"]

T = TypeVar("T")


def lean(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` a plain ``__init__`` (see the module docstring)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"@lean takes a frozen, slotted dataclass, not {cls.__name__}")
    fields = [f for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    defaults: dict[str, Any] = {}
    params_text, body = [], []
    for f in fields:
        if f.default is not dataclasses.MISSING:
            defaults[f"_d_{f.name}"] = f.default
            params_text.append(f"{f.name}=_d_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"@lean: {cls.__name__}.{f.name} has a default_factory")
        else:
            params_text.append(f.name)
        body.append(f"    self.{f.name} = {f.name}")
    if hasattr(cls, "__post_init__"):  # its checks run as the dataclass's would
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params_text)}):\n" + ("\n".join(body) or "    pass")
    namespace: dict[str, Any] = {}
    exec(source, defaults, namespace)  # the text is built from the field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    def __setstate__(self: Any, state: Any) -> None:
        for name, value in zip(names, state, strict=True):
            setattr(self, name, value)

    del cls.__setattr__, cls.__delattr__
    type.__setattr__(cls, "__init__", init)
    type.__setattr__(cls, "__setstate__", __setstate__)
    return cls
