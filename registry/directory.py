"""The listener directory: listener name -> address and description. Pure, no Thespian.

Thespian addresses are unhashable, so the directory is keyed by name.
It holds no orchestration state: Buffer and Sequence runs own theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from actors.messages import ListenerInfo
from actors.specs import name_error

__all__ = ["Entry", "Directory"]


@dataclass(frozen=True, slots=True)
class Entry:
    """What the directory knows of one listener: its info and its address."""

    info: ListenerInfo
    address: Any

    @property
    def name(self) -> str:
        return self.info.name


class Directory:
    """Listener names to entries; a name is registered at most once."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def add(self, entry: Entry, replace: bool = False) -> str:
        """Record ``entry`` (``replace``: over the entry of that name); an error text, or empty."""
        if name_error(entry.name):
            return name_error(entry.name)
        if entry.name in self._entries and not replace:
            return (
                f"a listener named {entry.name!r} is already registered;"
                " choose another name"
            )
        self._entries[entry.name] = entry
        return ""

    def get(self, name: str) -> Entry | None:
        """The entry for ``name``, or None if nobody registered it."""
        return self._entries.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)
