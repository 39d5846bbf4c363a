"""Room on the interpreter's frame stack for an actor forked from inside a call.

CPython (3.11 on) keeps a thread's Python frames in chunks of 16 KiB: a call
that does not fit in the current chunk gets a new one, and that chunk is
unmapped again as soon as the call returns. A loop whose frames sit across a
chunk boundary therefore maps and unmaps a chunk on nearly every call it
makes. On the multiprocess bases Thespian forks each new actor inside its
parent's ``createActor``: the child's whole life (its transport loop, every
message it handles) runs on top of its parent's stack at that moment, at
whatever depth that happened to be. Measured here: a worker whose loop sat on
a boundary made about 45 ``mmap``/``munmap`` pairs per ask and spent 1.7 ms of
CPU on it instead of 0.5 ms (an ask took 1.8 ms instead of 1.0 ms); two frames
more or less in its listener's call chain made it come and go.

``roomy(call)`` runs ``call`` in a frame of about 33 KiB. That frame fits in
no chunk already in use, so it starts a chunk of its own, which CPython
sizes to 64 KiB (a power of two times 16 KiB); what ``call`` runs has the
other ~31 KiB of it, and the chunk lives as long as the frame does: in a
forked child, for the child's whole life. In the parent it costs one map and
unmap per call. No Thespian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["roomy"]

T = TypeVar("T")

_SLOTS = 4200
"""Local variable slots of the padding frame: 8 bytes each, just over 32 KiB."""


def _padded() -> Callable[[Callable[[], Any]], Any]:
    # The locals are only ever assigned in a branch never taken: the frame has
    # room for all of them, and filling it costs nothing.
    assignments = "\n".join(f"        _{i} = None" for i in range(_SLOTS))
    source = f"def roomy(call):\n    if call is None:\n{assignments}\n    return call()\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, __file__, "exec"), namespace)  # the text is made here, from numbers
    function: Callable[[Callable[[], Any]], Any] = namespace["roomy"]
    return function


_roomy = _padded()


def roomy(call: Callable[[], T]) -> T:
    """``call()``, run on top of a frame that starts a large stack chunk of its own."""
    result: T = _roomy(call)
    return result
