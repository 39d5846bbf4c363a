"""A progress bar on standard error for a Buffer asked from the command line.

It draws on a terminal only (nothing goes to a file or a pipe), in place:
the items done of the total, the rate, and the time left at that rate. It is
small enough not to need a library (a ``tqdm`` or ``rich`` bar would add a
dependency for one line).
"""

from __future__ import annotations

import time
from typing import Any, TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Draws ``BufferProgress(done, total)`` updates; ``close()`` ends the line after the reply.

    Give it to ``Runtime.ask(..., on_progress=bar)``; call ``close(finished=True)``
    once the Buffer answered, so the bar ends full and the cursor on a fresh line.
    """

    width = 30

    def __init__(self, stream: TextIO, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.drawing = stream.isatty()
        self.clock = clock
        self.started = clock()
        self.last: Any = None  # the latest update

    def __call__(self, update: Any) -> None:
        self.last = update
        if self.drawing:
            self.stream.write("\r" + self.line(int(update.done), int(update.total)))
            self.stream.flush()

    def line(self, done: int, total: int, finished: bool = False) -> str:
        """The bar for ``done`` of ``total`` items so far: rate and time left, or "done"."""
        total = max(total, 1)
        filled = self.width * min(done, total) // total
        bar = "#" * filled + "-" * (self.width - filled)
        rate = done / max(self.clock() - self.started, 1e-9)
        if finished:
            tail = "done"
        else:
            tail = f"{(total - done) / rate:.0f} s left" if rate > 0 else "--"
        buffer_id = getattr(self.last, "buffer_id", "")
        return f"xmlactors: buffer {buffer_id} [{bar}] {done}/{total} {rate:,.0f}/s {tail}"

    def close(self, finished: bool = False) -> None:
        """End the bar: full when the Buffer ``finished``, then a line end (terminals only)."""
        if not self.drawing or self.last is None:
            return
        if finished:
            total = int(self.last.total)
            self.stream.write("\r" + self.line(total, total, finished=True))
        self.stream.write("\n")
        self.stream.flush()
