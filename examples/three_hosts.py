"""A convention of three hosts: a leader, a member with a GPU, a member for batch work.

The organism (``three_hosts.xml``) is the one docs/deployment.md walks
through on three machines, and ``tests/test_hosts.py`` runs on three
network namespaces:

- ``hosts.where`` runs on the leader; ``hosts.gpu`` requires ``gpu=true``
  and ``hosts.batch`` requires ``role=batch``, so the leader creates their
  actors on the member offering each;
- ``hosts.spread`` (on the leader) sends each job on to ``hosts.gpu`` or
  ``hosts.batch`` by its number, even or odd, and answers with what comes
  back: one Buffer to it runs on both members.

Every answer says which host ran the job: ``$XMLACTORS_EXAMPLE_HOST`` if
set, else the machine's host name.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from actors import HandlerMetadata, HandlerResponse, xmlify

__all__ = ["Job", "Ran", "run", "spread", "host_name", "HOST"]

HOST = "XMLACTORS_EXAMPLE_HOST"
"""The environment variable naming the host in answers (the tests set one per namespace)."""


@xmlify
@dataclass
class Job:
    """Job ``n``, taking ``sleep_ms`` milliseconds."""

    n: int = 0
    sleep_ms: int = 0


@xmlify
@dataclass
class Ran:
    """Job ``n`` ran on ``host``, in process ``pid``."""

    n: int = 0
    host: str = ""
    pid: int = 0


def host_name() -> str:
    """The name this host goes by in answers."""
    return os.environ.get(HOST) or socket.gethostname()


def run(payload: Job, meta: HandlerMetadata) -> HandlerResponse:
    """Do the job (sleep), and say where it ran."""
    if payload.sleep_ms:
        time.sleep(payload.sleep_ms / 1000)
    return HandlerResponse.respond(Ran(payload.n, host_name(), os.getpid()))


def spread(payload: Job | Ran, meta: HandlerMetadata) -> HandlerResponse:
    """Even jobs to ``hosts.gpu``, odd ones to ``hosts.batch``; their answer back to the caller."""
    if isinstance(payload, Job):
        return HandlerResponse.forward(payload, to="hosts.batch" if payload.n % 2 else "hosts.gpu")
    return HandlerResponse.respond(payload)
