"""What a ``Runtime`` can see of its running system: counters, processes, restarts.

Runs in the user's process: a mixin of ``Runtime`` holding the calls that ask
every component at once (``gather``, which sends again to a component
restarted meanwhile and leaves out one that does not answer) and the handler
of the root's ``Moved``/``Down`` notices, which keeps the runtime's address map
true (see docs/architecture.md, "Supervision").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import bases
from .messages import Address, PidsReply, PidsRequest, StatsReply, StatsRequest
from .statistics import Statistics, summarize
from .supervision import REGISTRY, ROOT, Down, Moved

if TYPE_CHECKING:
    from ._mailbox import Mailbox
    from ._system import System
    from .messages import ListenerSpec

__all__ = ["Observing"]


class Observing:
    """Statistics, counters and processes of a running system; restarts heard from its root."""

    base: str
    addresses: dict[str, Address]
    down: dict[str, str]  # component -> why it is down
    specs: dict[str, ListenerSpec]
    system: System | None

    def _system(self) -> System:
        raise NotImplementedError

    def _mailbox(self) -> Mailbox:
        raise NotImplementedError

    def statistics(self, timeout: float = 10.0) -> Statistics:
        """Counters gathered from every actor of the system, at this moment."""
        return summarize(self.counters(timeout), len(self.specs))

    def counters(self, timeout: float = 10.0) -> dict[str, dict[str, float]]:
        """Each component's own counters by name (listeners, services, ``"root"``), asked of
        all at once: what metrics read. One silent for ``timeout`` has ``{"unanswered": 1}``,
        one that is down ``{"down": 1}``."""
        names = [*sorted(n for n in self.addresses if n not in self.down), ROOT]
        replies = self._mailbox().gather([(None, StatsRequest)] * len(names), timeout, names,
                                         self._locate)
        counters = {name: dict(reply.counters) if isinstance(reply, StatsReply) else {"unanswered": 1.0}
                    for name, reply in zip(names, replies, strict=True)}
        counters.update((name, {"down": 1.0}) for name in self.down)
        for name in self.specs:  # what no listener can count: calls sent straight to workers
            out, lost = self._mailbox().straight_counts(name)
            if (out or lost) and "handled" in counters.get(name, {}):
                counters[name]["in_flight"] += out
                counters[name]["failed"] += lost
        return counters

    def pids(self, timeout: float = 10.0) -> set[int]:
        """Process ids of every actor (empty on the in-process base)."""
        if self.base not in bases.MULTIPROCESS_BASES:
            return set()
        return set(self.processes(timeout).values())

    def processes(self, timeout: float = 10.0) -> dict[str, int]:
        """Which process runs which component: ``"root"``, ``"registry"``, ``"system.buffer"``,
        ``"system.sequence"``, each listener's name (its supervisor), ``"NAME/worker/N"``,
        and each active run as ``"system.buffer/run/ID"``. In process every pid is this one."""
        names = [ROOT, REGISTRY, *(n for n in self.addresses if n not in self.down)]
        replies = self._mailbox().gather([(None, PidsRequest)] * len(names), timeout, names,
                                         self._locate)
        return {name: pid for r in replies if isinstance(r, PidsReply) for name, pid in r.processes}

    def _locate(self, name: str) -> Address:
        system = self._system()
        return {ROOT: system.root, REGISTRY: system.registry}.get(name) or self.addresses[name]

    def _restarted(self, notice: Moved | Down) -> None:
        """The root's word that a component was restarted (or is down): where it is now."""
        system = self.system
        if isinstance(notice, Down):
            self.down[notice.name] = notice.why
            return
        self.down.pop(notice.name, None)  # a lost listener placed again
        if notice.name == REGISTRY and system is not None:
            system.registry = notice.address
        elif notice.name in self.addresses:
            self.addresses[notice.name] = notice.address
