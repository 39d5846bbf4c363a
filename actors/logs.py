"""How the runtime's actors write their log lines: one logger, one ``event key=value`` form.

No Thespian: the lines go wherever the process's logging goes (in an actor process,
Thespian's logging process).
"""

from __future__ import annotations

import json
import logging
from typing import Any

__all__ = ["logger", "log_event"]


def logger() -> logging.Logger:
    """The ``xmlactors`` logger, looked up at each use: Thespian replaces the logging
    tree of an actor process after start-up (its records go to Thespian's logging
    process), and a logger kept from before would write past it, unformatted."""
    return logging.getLogger("xmlactors")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one line ``event key=value ...``: integers as they are, seconds to the
    millisecond, anything else JSON-quoted (a value from outside cannot break or fake a line)."""
    log = logger()
    if not log.isEnabledFor(level):
        return
    parts = []
    for key, value in fields.items():
        if isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key}={value}")
        elif isinstance(value, float):
            parts.append(f"{key}={value:.3f}")
        else:
            parts.append(f"{key}={json.dumps(str(value))}")
    log.log(level, "%s %s", event, " ".join(parts))
