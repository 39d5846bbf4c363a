"""The xmlactors benchmark suite: every scenario against its floor or peer, in one run.

Run it with ``python -m bench`` (``--quick`` for a smoke run, ``--only`` to pick
families, ``--in-process`` to skip the multiprocess bases). It prints the
core count and one table; see docs/performance.md for a real run's figures.
One module per scenario family; ``workload`` holds the payloads and handlers
(importable by name, as the multiprocess bases require).
"""

from .measure import Row, Settings

__all__ = ["FAMILIES", "Row", "Settings"]

FAMILIES = ("hop", "fanout", "scaling", "memory", "sequence", "concurrency", "stream", "durable",
            "hosts")
"""Scenario families, in the order the table lists them (``bench.<module>.run``)."""
