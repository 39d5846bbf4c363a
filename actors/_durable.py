"""Durable runs from a ``Runtime``: the journal's runs, and finishing one after a crash.

A mixin of ``Runtime`` (the user's process). The runtime opens its journal
at start (``Runtime(journal=PATH)``, a ``JournalError`` for a file that is
not one) and its services record every durable run there (``actors.journal``).
"""

from __future__ import annotations

from ._runs import resume_run
from .errors import ConfigError
from .journal import Journal, RunRecord
from .outcomes import BufferOutcome

__all__ = ["Durable"]


class Durable:
    """``runs`` and ``resume``, over the runtime's journal."""

    journal: Journal | None

    def runs(self) -> list[RunRecord]:
        """The durable runs of the journal, oldest first (``.done``: finished)."""
        return self._journal().runs()

    def resume(self, buffer_id: str, *, timeout: float | None = None) -> BufferOutcome:
        """Finish durable run ``buffer_id`` after a crash: only its items with no recorded
        result run again; the whole ``BufferOutcome`` comes back."""
        return resume_run(self, self._journal(), buffer_id, timeout)  # type: ignore[arg-type]

    def _journal(self) -> Journal:
        if self.journal is None:
            raise ConfigError("this runtime has no journal: Runtime(journal=PATH)")
        return self.journal
