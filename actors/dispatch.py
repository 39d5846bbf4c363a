"""The pure core of a listener: which job runs on which worker, which wait their turn.

A listener has ``slots`` workers (one in process: the listener itself), each
running up to ``capacity`` handler calls at once (the listener's
``concurrency``). Jobs beyond that wait here in arrival order. The
listener's actor feeds every arrival, answer and worker death to a
``Dispatch`` and sends what it says; no Thespian here, so Hypothesis drives
it directly.

Invariants (tested as a state machine):

- a job is held by at most one slot, and a slot is handed a job only while it
  holds fewer than ``capacity`` (which ``resize`` may change);
- waiting jobs are handed out in arrival order, and only while some live slot
  has room (no job waits while a live slot has room);
- each job ends exactly once: answered (``done``), failed with its slot
  (``lost``), or expired while it waited (``take_expired``); an answer for a job
  its slot no longer holds is stale and ignored;
- a job whose deadline has passed (by the injected clock) is never handed out:
  when its turn comes it goes to ``take_expired`` instead;
- a lost slot takes nothing until it is ``restored`` (its replacement started);
- with a ``limit`` (a ``rate.SlidingWindow``), no more jobs are handed out in
  any window than it allows: the rest wait, in order, until ``rate_wait()``.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

from .rate import SlidingWindow

__all__ = [
    "Dispatch", "Assignment", "CallTimes", "prefetch_for", "deadline_passed", "QUEUED_SECONDS",
    "PREFETCH_MAX",
]

QUEUED_SECONDS = 0.002
"""About how much queued work a worker may hold beyond the calls it runs.

A job travels to its worker and its answer back as one transport send each
way (a round trip of about 1 ms on multiprocTCPBase here): a worker of small
items that held only what it runs would wait on the wire more than it works
(1,000 small items to one worker: 620/s). Holding a couple of milliseconds of
work covers the wire (4,700/s). A worker that dies fails everything it held,
so the queue is kept that short: slow calls get none.
"""

PREFETCH_MAX = 64
"""The most jobs a worker holds beyond the calls it runs.

Small items are the case it bounds: 10,000 of them to one TCP worker moved in
batches of 10-19 with 16 (160 us an item here), in batches of about half the
window with 64 (85 us an item); 128 and 256 gained nothing more that the
noise showed. A death still fails at most ``QUEUED_SECONDS`` of calls.
"""


def prefetch_for(call_seconds: float | None) -> int:
    """Jobs to queue at a worker beyond its calls, for calls that take ``call_seconds``.

    None (no call measured yet) gives 0: nothing is queued until the calls
    have shown they are short.
    """
    if call_seconds is None:
        return 0
    return min(PREFETCH_MAX, int(QUEUED_SECONDS / max(call_seconds, 1e-6)))


class CallTimes:
    """How long a listener's last few calls took, and the prefetch that allows.

    The longest of the last ``keep`` calls counts, and nothing is queued before
    that many were measured: one slow call stops the queueing at once.
    """

    def __init__(self, keep: int = 8) -> None:
        self.recent: collections.deque[float] = collections.deque(maxlen=keep)

    def prefetch(self, seconds: float) -> int:
        """Record one call of ``seconds``; the jobs a worker may now queue beyond its calls."""
        self.recent.append(seconds)
        return prefetch_for(max(self.recent) if len(self.recent) == self.recent.maxlen else None)


def deadline_passed(deadline: float, now: float) -> bool:
    """Whether a call whose caller stops waiting at ``deadline`` (0: never) is too late at ``now``.

    Both are ``time.time()`` readings: a ``Delivery``'s deadline is set in the caller's
    process and read in a listener's or a worker's, on the same host.
    """
    return 0 < deadline <= now


Assignment = tuple[int, int]
"""``(slot, job)``: hand ``job`` to the worker in ``slot`` now."""


class Dispatch:
    """Jobs held per slot, and the queue of jobs waiting for room.

    ``clock`` (``time.time`` in the runtime, a fake in tests) is read only
    while some waiting job has a deadline.
    """

    __slots__ = ("capacity", "limit", "_clock", "_deadlines", "_expired", "_held", "_live",
                 "_waiting")

    def __init__(self, slots: int, capacity: int, clock: Callable[[], float] = time.time) -> None:
        if slots < 1 or capacity < 1:
            raise ValueError(f"a dispatch needs slots >= 1 and capacity >= 1 (got {slots}, {capacity})")
        self.capacity = capacity
        self.limit: SlidingWindow | None = None  # a listener's rate (None: none)
        self._clock = clock
        self._held: list[dict[int, None]] = [{} for _ in range(slots)]  # insertion-ordered sets
        self._live = [True] * slots
        self._waiting: collections.deque[int] = collections.deque()
        self._deadlines: dict[int, float] = {}  # waiting job -> its deadline (only jobs with one)
        self._expired: list[int] = []  # jobs whose deadline passed while they waited

    # -- transitions ---------------------------------------------------------

    def add(self, job: int, deadline: float = 0.0) -> list[Assignment]:
        """A new job arrives (its caller waits until ``deadline``, 0: for ever); returns what
        to hand out now (possibly this job; not if it is past its deadline when its turn comes)."""
        self._waiting.append(job)
        if deadline > 0:
            self._deadlines[job] = deadline
        return self.assign()

    def take_expired(self) -> list[int]:
        """The jobs found past their deadline when their turn came, oldest first; each once."""
        expired, self._expired = self._expired, []
        return expired

    def done(self, slot: int, job: int) -> bool:
        """Slot ``slot`` answered ``job``; False (ignored) if it does not hold it."""
        if job not in self._held[slot]:
            return False
        del self._held[slot][job]
        return True

    def lost(self, slot: int) -> list[int]:
        """The worker in ``slot`` died: the jobs it held, in the order given; none is kept."""
        jobs = list(self._held[slot])
        self._held[slot].clear()
        self._live[slot] = False
        return jobs

    def restored(self, slot: int) -> list[Assignment]:
        """The replacement of a lost slot is started: it takes work again."""
        self._live[slot] = True
        return self.assign()

    def resize(self, capacity: int) -> list[Assignment]:
        """Let each slot hold ``capacity`` jobs from now on; a fuller slot keeps what it holds."""
        if capacity < 1:
            raise ValueError(f"a dispatch needs capacity >= 1 (got {capacity})")
        self.capacity = capacity
        return self.assign()

    def assign(self) -> list[Assignment]:
        """Hand waiting jobs to live slots with room, least loaded first, in arrival order.

        A job at the head of the queue whose deadline has passed is taken off it,
        room or not, and kept for ``take_expired``: it is never handed out.
        """
        handed: list[Assignment] = []
        now = 0.0  # read once, on the first job with a deadline
        while self._waiting:
            job = self._waiting[0]
            deadline = self._deadlines.get(job, 0.0) if self._deadlines else 0.0
            if deadline:
                now = now or self._clock()
                if deadline_passed(deadline, now):
                    self._waiting.popleft()
                    del self._deadlines[job]
                    self._expired.append(job)
                    continue
            slot = self._roomiest()
            if slot is None:
                break
            if self.limit is not None:
                now = now or self._clock()
                if not self.limit.take(now):
                    break  # the rate's budget is spent until rate_wait()
            self._waiting.popleft()
            if deadline:
                del self._deadlines[job]
            self._held[slot][job] = None
            handed.append((slot, job))
        return handed

    def _roomiest(self) -> int | None:
        best, room = None, 0
        for slot, held in enumerate(self._held):
            free = self.capacity - len(held)
            if self._live[slot] and free > room:
                best, room = slot, free
        return best

    # -- queries ----------------------------------------------------------

    def rate_wait(self) -> float:
        """When a job held back by the rate limit may go (clock time), or 0 if none is."""
        if self.limit is None or not self._waiting:
            return 0.0
        return self.limit.next_free()

    def held(self, slot: int) -> tuple[int, ...]:
        """The jobs slot ``slot`` runs now, in the order they were handed to it."""
        return tuple(self._held[slot])

    def holder(self, job: int) -> int | None:
        """The slot running ``job``, or None (waiting, or ended)."""
        return next((slot for slot, held in enumerate(self._held) if job in held), None)

    def live(self, slot: int) -> bool:
        return self._live[slot]

    @property
    def slots(self) -> int:
        return len(self._held)

    @property
    def waiting(self) -> tuple[int, ...]:
        """Jobs waiting for room, oldest first (an expired one stays until its turn comes)."""
        return tuple(self._waiting)

    @property
    def in_flight(self) -> int:
        """Jobs handed to a worker and not yet ended."""
        return sum(len(held) for held in self._held)

    def __repr__(self) -> str:
        return (
            f"<Dispatch {self.in_flight} running on {self.slots} slots x {self.capacity},"
            f" {len(self._waiting)} waiting>"
        )
