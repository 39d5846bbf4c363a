"""Handler calls in flight: up to K at once, each answer collected the moment it is ready.

A listener's ``concurrency`` K is how many calls of its handler one worker
runs at once (in process: the listener itself); a worker may hold more jobs
than that, and starts each when a place frees. An ``async def`` handler runs
as tasks on one long-lived event loop, so a client session or connection
pool kept at module level survives between calls; a plain function runs in a
pool of K threads (for blocking I/O libraries, and so that a worker's actor
stays free to take jobs and answer while a call runs), except with
``inline``: in process, a plain function with K = 1 runs on the caller's
thread, one call at a time.

Whoever runs a ``Calls`` is woken through ``notify`` (from any thread) when
an answer is ready, and then takes them with ``finished()``: a worker
process wakes on a self-pipe it watches, the in-process system on a message
posted to the listener. No Thespian here.

A call whose caller's deadline has passed is not started: when it is taken
and again just before its handler would run (after a wait for a thread or a
place), it is answered ``<huh reason="expired">`` instead (``Handling.expired``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .handler import HandlerMetadata, HandlerResponse
from .handling import EXPIRED, Call, Handling, Refusal
from .huh import make_huh
from .messages import Address, Work, WorkDone
from .parsed import Payload
from .rate import SlidingWindow

__all__ = [
    "Calls",
    "LoopThread",
    "Host",
    "current_host",
    "hosting",
    "default_concurrency",
    "is_async_handler",
]

Outcome = tuple[str, Payload, str, float]
"""A call's ``(kind, payload, to, seconds)``: what its ``WorkDone`` carries (``Calls.answer_now``)."""

DEFAULT_ASYNC_CONCURRENCY = 16
"""Calls of an ``async def`` handler in flight per worker unless the listener says otherwise."""


def is_async_handler(handler: Any) -> bool:
    """Whether ``handler`` is an ``async def`` function (or an object whose call is one)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - a callable object's own method
    )


def default_concurrency(handler: Any) -> int:
    """16 for an ``async def`` handler, 1 for a plain function."""
    return DEFAULT_ASYNC_CONCURRENCY if is_async_handler(handler) else 1


class Host(Protocol):
    """What the in-process system offers the listeners it runs: its loop, and a way in."""

    loop: asyncio.AbstractEventLoop

    def post(self, address: Address, message: Any) -> None:
        """Deliver ``message`` to the actor at ``address`` soon (from any thread)."""

    def adopt(self, closeable: Calls) -> None:
        """Close ``closeable`` when the system shuts down."""


_hosting = threading.local()


def current_host() -> Host | None:
    """The in-process system running on this thread, if any."""
    host: Host | None = getattr(_hosting, "host", None)
    return host


@contextlib.contextmanager
def hosting(host: Host) -> Iterator[None]:
    """Make ``host`` this thread's ``current_host()`` while the block runs."""
    previous = current_host()
    _hosting.host = host
    try:
        yield
    finally:
        _hosting.host = previous


class LoopThread:
    """An event loop running on a thread of its own, for the life of a worker process."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Cancel what still runs, stop the loop and close it."""
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(timeout=5.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5.0)
        if not self._thread.is_alive():
            # A call's task created after the cancelling pass never ran: close its coroutine,
            # or it is reported "never awaited" when the closed loop lets it go.
            for task in asyncio.all_tasks(self.loop):
                coroutine = task.get_coro()
                if inspect.iscoroutine(coroutine) and (
                        inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED):
                    coroutine.close()
            self.loop.close()


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Calls:
    """Up to ``capacity`` calls of one listener's handler in flight in this process.

    Invariant: every started call yields exactly one ``WorkDone``, through
    ``start`` (answered at once) or ``finished()`` (answered later), never both.
    """

    def __init__(
        self,
        handling: Handling,
        capacity: int,
        notify: Callable[[], None],
        loop: asyncio.AbstractEventLoop | None = None,
        inline: bool = False,
    ) -> None:
        self.handling = handling
        self.capacity = capacity
        self.is_async = is_async_handler(handling.spec.handler)
        if self.is_async and loop is None:
            raise ValueError("an async handler needs an event loop to run on")
        self._loop = loop
        self._notify = notify
        self._done: collections.deque[WorkDone] = collections.deque()
        self._to_spawn: collections.deque[Call] = collections.deque()
        self._signalled = False
        self._running = 0
        self._places: asyncio.Semaphore | None = None  # made on the loop, at the first call
        self.rate: SlidingWindow | None = None  # a listener's rate, counted as each call starts
        self.inline = not self.is_async and capacity == 1 and inline
        """A plain handler with ``capacity`` 1 run on the caller's thread: ``start`` answers at once."""
        self._pool = (
            concurrent.futures.ThreadPoolExecutor(capacity, thread_name_prefix=handling.name)
            if not self.is_async and not self.inline else None
        )

    @property
    def running(self) -> int:
        """Calls started whose answer was not yet taken."""
        return self._running

    def start(self, work: Work) -> WorkDone | None:
        """Start the call for ``work``; its answer now (expired, refused payload, inline call)
        or None."""
        late = self.handling.expired(work)
        if late is not None:
            return late
        call = self.handling.prepare(work)
        if isinstance(call, WorkDone):
            return call
        if self.is_async:
            assert self._loop is not None
            self._running += 1
            # One wake-up of the loop for every call started before it runs (a batch of
            # jobs costs one, not one per call).
            self._to_spawn.append(call)
            if len(self._to_spawn) == 1:
                self._loop.call_soon_threadsafe(self._spawn)
            return None
        if self._pool is not None:
            self._running += 1
            self._pool.submit(self._run_sync, call)
            return None
        return self._answer(call)

    def finished(self) -> list[WorkDone]:
        """The answers ready since the last call, in the order they finished."""
        self._signalled = False
        answers = []
        while self._done:
            answers.append(self._done.popleft())
        self._running -= len(answers)
        return answers

    def close(self) -> None:
        """Stop taking answers; threads still running are left to end on their own."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def answer_now(self, data: Payload, meta: HandlerMetadata, deadline: float) -> Outcome:
        """An inline call from its payload to its outcome, with no job record: what ``start``
        does for a ``Work``, for each item of a Buffer's batch (``ListenerActor.answer_items``).
        Returns ``(kind, payload, to, seconds)``, as a ``WorkDone`` carries them."""
        handling = self.handling
        late = handling.late(deadline)
        if late is not None:
            return EXPIRED, late, "", 0.0
        try:
            payload = handling.decode(data)
        except Refusal as exc:
            return "huh", make_huh(str(exc)), "", 0.0
        return self._call(payload, meta)

    def _answer(self, call: Call) -> WorkDone:
        # A pool thread may have come free only now (inline, ``start`` just looked).
        late = None if self.inline else self.handling.expired(call.work)
        if late is not None:
            return late
        kind, data, to, seconds = self._call(call.payload, call.meta)
        return WorkDone(call.work.job_id, kind, data, to, seconds)

    def _call(self, payload: Any, meta: HandlerMetadata) -> Outcome:
        """Run a plain handler on this thread: its outcome, and how long it ran."""
        handling = self.handling
        began = time.monotonic()
        try:
            result = handling.spec.handler(payload, meta)
            # A plain function that returned a coroutine (the usual answer is tested first:
            # isawaitable costs 0.4 us a call here).
            if type(result) is not HandlerResponse and inspect.isawaitable(result):
                result = asyncio.run(_awaited(result))
        except Exception as exc:  # noqa: BLE001 - any handler failure goes back to its caller once
            return "huh", handling.crash_huh(exc), "", time.monotonic() - began
        seconds = time.monotonic() - began
        try:
            kind, data, to = handling.answer(result)
        except Refusal as exc:
            return "huh", make_huh(str(exc)), "", seconds
        return kind, data, to, seconds

    def _run_sync(self, call: Call) -> None:
        while self.rate is not None and not self.rate.take(time.time()):
            time.sleep(max(self.rate.next_free() - time.time(), 0.001))  # a pool thread: its turn
        self._ready(self._answer(call))

    def _spawn(self) -> None:
        """On the loop: a task for every call started since the last time."""
        assert self._loop is not None
        if self._places is None:
            self._places = asyncio.Semaphore(self.capacity)
        while self._to_spawn:
            self._loop.create_task(self._run_async(self._to_spawn.popleft()))

    async def _run_async(self, call: Call) -> None:
        assert self._places is not None
        async with self._places:  # at most ``capacity`` calls run; the rest wait their turn
            await self._run_now(call)

    async def _run_now(self, call: Call) -> None:
        late = self.handling.expired(call.work)  # it may have waited for a place
        if late is not None:
            self._ready(late)
            return
        while self.rate is not None and not self.rate.take(time.time()):
            await asyncio.sleep(max(self.rate.next_free() - time.time(), 0.001))
        timeout = self.handling.spec.timeout
        began = time.monotonic()
        try:
            if not timeout:
                answer = self.handling.outcome(
                    call.work, await self.handling.spec.handler(call.payload, call.meta)
                )
            else:
                answer = await self._run_bounded(call, timeout)
        except Exception as exc:  # noqa: BLE001 - any handler failure goes back to its caller once
            answer = self.handling.crashed(call.work, exc)
        self._ready(_timed(answer, began))

    async def _run_bounded(self, call: Call, timeout: float) -> WorkDone:
        """The call under the listener's timeout: past it, cancelled and answered "too slow"."""
        task = asyncio.ensure_future(self.handling.spec.handler(call.payload, call.meta))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if task in done:
            return self.handling.outcome(call.work, task.result())
        task.cancel()
        task.add_done_callback(_swallow)
        return self.handling.too_slow(call.work)

    def _ready(self, answer: WorkDone) -> None:
        """Called where the call ended (a pool thread, the loop): keep it, wake the owner once."""
        self._done.append(answer)
        if not self._signalled:
            self._signalled = True
            self._notify()


def _timed(answer: WorkDone, began: float) -> WorkDone:
    """The answer with how long its call ran (built directly: ``replace`` costs twice as much)."""
    return WorkDone(answer.job_id, answer.kind, answer.payload, answer.to, time.monotonic() - began)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _swallow(task: asyncio.Future[Any]) -> None:
    """Retrieve a cancelled call's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
