"""Payloads and handlers the integration tests register (importable by name)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from lxml import etree

from actors import HandlerMetadata, HandlerResponse, xmlify


@xmlify
@dataclass
class Add:
    a: int = 0
    b: int = 0


@xmlify
@dataclass
class Sum:
    value: int = 0


@xmlify
@dataclass
class Echo:
    text: str = ""


@xmlify
@dataclass
class Work:
    """A job for the test workers: sleep, crash, record a side effect, or die."""

    value: int = 0
    sleep_ms: int = 0
    crash: bool = False
    die: bool = False
    hang: bool = False
    log_path: str = ""


@xmlify
@dataclass
class Done:
    value: int = 0
    pid: int = 0


def add(payload: Add, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Sum(payload.a + payload.b))


async def add_async(payload: Add, meta: HandlerMetadata) -> HandlerResponse:
    await asyncio.sleep(0)
    return HandlerResponse.respond(Sum(payload.a + payload.b))


def echo(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Echo(payload.text))


def whoami(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Echo(f"{meta.own_name} from {meta.from_id}"))


def raw_reply(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    """Answers with an element whose tag no payload class has."""
    element = etree.Element("NoClass", said=payload.text)
    return HandlerResponse.respond(element)


def crash(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    raise ValueError(f"bad input {payload.text}")


def silent(payload: Echo, meta: HandlerMetadata) -> None:
    return None


def front(payload: Add | Sum, meta: HandlerMetadata) -> HandlerResponse:
    """Forwards an Add to calculator.add and answers its caller with the Sum it gets back."""
    if isinstance(payload, Add):
        return HandlerResponse.forward(payload, to="calculator.add")
    return HandlerResponse.respond(Sum(payload.value * 10))


def forward_to_named(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    """Forwards a request to the listener named by its text; passes that listener's answer back.

    A respond from the listener it forwarded to comes back to this handler (the
    previous hop), with that listener as the sender.
    """
    if meta.from_id == "outside":
        return HandlerResponse.forward(Echo("via " + meta.own_name), to=payload.text)
    return HandlerResponse.respond(payload)


def work(payload: Work, meta: HandlerMetadata) -> HandlerResponse | None:
    """Records a side effect, then sleeps, crashes, hangs or kills its own process."""
    if payload.log_path:
        with open(payload.log_path, "a", encoding="utf-8") as log:
            log.write(f"{payload.value}\n")
    if payload.die:
        os._exit(3)
    if payload.hang:
        return None
    if payload.sleep_ms:
        time.sleep(payload.sleep_ms / 1000)
    if payload.crash:
        raise RuntimeError(f"item {payload.value} failed")
    return HandlerResponse.respond(Done(payload.value * 2, os.getpid()))


def wrong_output(payload: Echo, meta: HandlerMetadata) -> int:
    return 42  # not a HandlerResponse


def make_lambda_handler():  # type: ignore[no-untyped-def]
    return lambda payload, meta: None


# -- for Sequence and nesting tests ------------------------------------------------


def double(payload: Sum, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Sum(payload.value * 2))


def show(payload: Sum, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Echo(f"Result: {payload.value}"))


def fan_out_adds(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    """Turns Echo("n") into a BufferStart of n Adds for calculator.add."""
    from actors.primitives import BufferStart

    items = [Add(i, i) for i in range(int(payload.text))]
    return HandlerResponse.respond(BufferStart(target="calculator.add", items=items, timeout=20))


def count_successes(payload: object, meta: HandlerMetadata) -> HandlerResponse:
    """Answers a BufferComplete with Sum(successful)."""
    return HandlerResponse.respond(Sum(payload.successful))  # type: ignore[attr-defined]


def buffer_then_answer(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    """Asked by the outside with Echo("n"): starts a Buffer, answers with its success count."""
    from actors.primitives import BufferStart

    if isinstance(payload, Echo):
        items = [Add(i, 1) for i in range(int(payload.text))]
        start = BufferStart(target="calculator.add", items=items, timeout=20)
        return HandlerResponse.forward(start, to="system.buffer")
    return HandlerResponse.respond(Sum(payload.successful))


# -- for the property tests ----------------------------------------------------------


@xmlify
@dataclass
class Job:
    """A generated Buffer item: ``index`` is its place in the items; fail or never answer."""

    index: int = 0
    text: str = ""
    fail: bool = False
    hang: bool = False


@xmlify
@dataclass
class JobDone:
    index: int = 0
    text: str = ""


def job(payload: Job, meta: HandlerMetadata) -> HandlerResponse | None:
    """Answers JobDone with the text reversed; crashes when ``fail``; never answers when ``hang``."""
    if payload.hang:
        return None
    if payload.fail:
        raise ValueError(f"job {payload.index} failed")
    return HandlerResponse.respond(JobDone(payload.index, payload.text[::-1]))


def job_dropping_odd(payload: Job, meta: HandlerMetadata) -> HandlerResponse | None:
    """Deliberately broken: never answers a job with an odd index (the kit must catch it)."""
    if payload.index % 2:
        return None
    return job(payload, meta)


def increment(payload: Sum, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Sum(payload.value + 1))


class Exploding:
    """Looks like a payload, but fails to encode."""

    def to_bytes(self) -> bytes:
        raise RuntimeError("boom")


def explode_on_encode(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    return HandlerResponse.respond(Exploding())


# -- for the concurrency tests ------------------------------------------------------


@xmlify
@dataclass
class Nap:
    """A call that waits ``ms`` milliseconds (awaiting, or blocking its thread), then answers.

    With ``log_path``, the call appends ``+ index pid`` when it starts and
    ``- index pid`` when it ends (one short append each, atomic across
    processes), so a test can count the calls in flight at any moment.
    """

    index: int = 0
    ms: int = 0
    crash: bool = False
    block_ms: int = 0
    log_path: str = ""


@xmlify
@dataclass
class Napped:
    index: int = 0
    pid: int = 0


def _mark(payload: Nap, sign: str) -> None:
    if payload.log_path:
        with open(payload.log_path, "a", encoding="utf-8") as log:
            log.write(f"{sign} {payload.index} {os.getpid()}\n")


async def nap_async(payload: Nap, meta: HandlerMetadata) -> HandlerResponse:
    """Awaits ``ms``; blocks the loop for ``block_ms`` first (what a handler must not do)."""
    _mark(payload, "+")
    try:
        if payload.block_ms:
            time.sleep(payload.block_ms / 1000)
        await asyncio.sleep(payload.ms / 1000)
        if payload.crash:
            raise ValueError(f"nap {payload.index} failed")
        return HandlerResponse.respond(Napped(payload.index, os.getpid()))
    finally:
        _mark(payload, "-")


def nap_blocking(payload: Nap, meta: HandlerMetadata) -> HandlerResponse:
    """Blocks its thread for ``ms`` (a blocking I/O library's call)."""
    _mark(payload, "+")
    try:
        time.sleep(payload.ms / 1000)
        if payload.crash:
            raise ValueError(f"nap {payload.index} failed")
        return HandlerResponse.respond(Napped(payload.index, os.getpid()))
    finally:
        _mark(payload, "-")


def most_in_flight(log_path: str) -> int:
    """The largest number of calls in flight at once, from a ``Nap`` log."""
    level = peak = 0
    with open(log_path, encoding="utf-8") as log:
        for line in log:
            level += 1 if line.startswith("+") else -1
            peak = max(peak, level)
    return peak


def started(log_path: str) -> list[tuple[int, int]]:
    """``(index, pid)`` of each call that started, in the order they started."""
    try:
        with open(log_path, encoding="utf-8") as log:
            lines = [line.split() for line in log if line.startswith("+")]
    except FileNotFoundError:
        return []
    return [(int(index), int(pid)) for _, index, pid in lines]


def blow_up(payload: Echo, meta: HandlerMetadata) -> HandlerResponse:
    """Answers ``Echo(n)`` with an Echo of n characters: a small ask, as large a reply as asked."""
    return HandlerResponse.respond(Echo("x" * int(payload.text)))


@xmlify
@dataclass
class Flaky:
    """An item whose first ``fail_first`` attempts raise and first ``hang_first`` hang (each
    attempt is one byte appended to ``log_dir/INDEX``, so processes count them together)."""

    index: int = 0
    fail_first: int = 0
    hang_first: int = 0
    log_dir: str = ""
    sleep_ms: int = 0


async def flaky(payload: Flaky, meta: HandlerMetadata) -> HandlerResponse:
    with open(os.path.join(payload.log_dir, str(payload.index)), "ab") as log:
        attempt = log.seek(0, os.SEEK_END) + 1
        log.write(b"x")
    if attempt <= payload.hang_first:
        await asyncio.sleep(30)
    await asyncio.sleep(payload.sleep_ms / 1000)
    if attempt <= payload.fail_first:
        raise RuntimeError(f"item {payload.index} attempt {attempt} fails")
    return HandlerResponse.respond(Napped(payload.index, meta.attempt))  # the runtime's count


def attempts_of(log_dir: str, index: int) -> int:
    """How many attempts of ``index`` a ``flaky`` handler started."""
    try:
        return os.path.getsize(os.path.join(log_dir, str(index)))
    except FileNotFoundError:
        return 0


async def keep_letters(payload: object, meta: HandlerMetadata) -> None:
    """A dead-letter listener: appends each letter's XML, one per line, to ``LETTERS``."""
    from actors.primitives import DeadLetter

    assert isinstance(payload, DeadLetter)
    with open(os.environ["XMLACTORS_TEST_LETTERS"], "a", encoding="utf-8") as out:
        out.write(payload.to_bytes().decode("utf-8").replace("\n", " ") + "\n")


@xmlify
@dataclass
class Stamp:
    """A call that appends the wall-clock time it started to ``log_path``."""

    index: int = 0
    log_path: str = ""


async def stamp(payload: Stamp, meta: HandlerMetadata) -> HandlerResponse:
    with open(payload.log_path, "a", encoding="utf-8") as log:
        log.write(f"{time.time()}\n")
    await asyncio.sleep(0.01)
    return HandlerResponse.respond(Napped(payload.index, os.getpid()))


async def attempt_of(payload: Flaky, meta: HandlerMetadata) -> HandlerResponse:
    """Answers with the attempt number the runtime gave the call (and fails ``fail_first``)."""
    if meta.attempt <= payload.fail_first:
        raise RuntimeError(f"attempt {meta.attempt} fails")
    return HandlerResponse.respond(Napped(payload.index, meta.attempt))
