"""The registry actor: one actor under a global name that answers who is where.

Runs in its own process on the multiprocess bases. It answers ``Register``
and ``Resolve``; a ``Resolve``'s pending message comes back untouched with
the answer, so askers keep no waiting state.
"""

from __future__ import annotations

import os
from typing import Any

from actors.messages import (
    Address,
    PidsReply,
    PidsRequest,
    Register,
    Registered,
    Resolve,
    Resolved,
    StatsReply,
    StatsRequest,
)
from actors.shell import Shell

from .directory import Directory, Entry

__all__ = ["RegistryActor", "GLOBAL_NAME"]

GLOBAL_NAME = "xmlactors.registry"


class RegistryActor(Shell):
    """Keeps the ``Directory``; one per actor system (``globalName`` GLOBAL_NAME)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Directory()

    def on_message(self, message: Any, sender: Address) -> None:
        if isinstance(message, Resolve):
            self.answer(message, sender, self.resolution(message))
        elif isinstance(message, Register):
            error = self.directory.add(Entry(message.info, message.address), message.replace)
            self.answer(message, sender, Registered(message.info.name, error, message.token))
        elif isinstance(message, StatsRequest):
            counters = (("listeners", len(self.directory)),)
            self.answer(message, sender, StatsReply(counters, message.token))
        elif isinstance(message, PidsRequest):
            self.answer(message, sender, PidsReply((("registry", os.getpid()),), os.getsid(0), message.token))

    def resolution(self, question: Resolve) -> Resolved:
        entry = self.directory.get(question.name)
        if entry is None:
            return Resolved(question.name, None, None, question.pending, question.token)
        return Resolved(entry.name, entry.address, entry.info, question.pending, question.token)
