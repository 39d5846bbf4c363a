"""A progress bar on standard error for a Buffer asked from the command line."""

from __future__ import annotations

from typing import Any, TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """Draws ``BufferProgress(done, total)`` updates: in place on a terminal, a line each otherwise.

    Give it to ``Runtime.ask(..., on_progress=bar)`` and call ``close()`` after
    the reply, so a terminal's cursor ends on a fresh line.
    """

    width = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.in_place = stream.isatty()
        self.drawn = False

    def __call__(self, update: Any) -> None:
        done, total = int(update.done), max(int(update.total), 1)
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"xmlactors: buffer {update.buffer_id} [{bar}] {done}/{total}"
        self.stream.write(("\r" + line) if self.in_place else (line + "\n"))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn and self.in_place:
            self.stream.write("\n")
            self.stream.flush()
