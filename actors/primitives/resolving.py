"""How a service learns the addresses of the listeners a run needs, from the registry.

A service keeps each admission that waits for names as a ``Pending`` under a
number; the registry's ``Resolved`` brings the number back. If the registry
is restarted meanwhile, the new one is asked again (``on_moved``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..messages import Address, Resolve, Resolved
from ..shell import Shell
from ..supervision import REGISTRY

__all__ = ["Resolving", "Pending"]

Continuation = Callable[[dict[str, Address]], None]
Failure = Callable[[str], None]


class Pending:
    """Names still to resolve before an admission can go on.

    Kept in the service under a number while the registry answers (the
    continuation is a closure and cannot travel through a pickling base).
    """

    __slots__ = ("names", "found", "proceed", "unknown")

    def __init__(self, names: list[str], proceed: Continuation, unknown: Failure) -> None:
        self.names = names
        self.found: dict[str, Address] = {}
        self.proceed = proceed
        self.unknown = unknown


class Resolving(Shell):
    """A shell that resolves several names before going on (``resolve``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting: dict[int, Pending] = {}
        self.next_wait = 0

    def resolve(self, names: list[str], proceed: Continuation, unknown: Failure) -> None:
        """Call ``proceed({name: address})`` once every name is known, else ``unknown(name)``."""
        self._continue(Pending(list(dict.fromkeys(names)), proceed, unknown))

    def _continue(self, pending: Pending) -> None:
        while pending.names:
            name = pending.names[0]
            address = self.addresses.get(name)
            if address is None:
                self.next_wait += 1
                self.waiting[self.next_wait] = pending
                self.lookup(name, self.next_wait)
                return  # the registry answers in on_resolved
            pending.found[name] = address
            pending.names.pop(0)
        pending.proceed(pending.found)

    def on_moved(self, name: str, address: Address) -> None:
        """A new registry is asked again what the old one took with it."""
        super().on_moved(name, address)
        if name == REGISTRY and address is not None:
            for number, pending in self.waiting.items():
                self.send(address, Resolve(pending.names[0], number))

    def on_resolved(self, answer: Resolved) -> None:
        super().on_resolved(answer)
        pending = self.waiting.pop(answer.pending, None)
        if pending is None:
            return
        if answer.address is None:
            pending.unknown(answer.name)
        else:
            self._continue(pending)
