"""A child created just before its parent exits is asked to exit too (multiprocess bases).

Thespian lists a child once its process reports ready, and an exiting actor asks
only the children it lists (``_repairs.wait_for_late_children``). A warm run actor
started as the runtime shut down was never asked: its parent waited for it (the
shutdown took 13 s), or, with no other child to wait for, left it behind.
Plain actors here, under a real runtime's admin.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from thespian.actors import ActorExitRequest

from actors import processes
from actors.shell import Shell
from actors.testing import RuntimeFactory
from tests.test_child_deaths import Child

pytestmark = pytest.mark.multiproc


class Parent(Shell):
    """``"sibling"``: start a child and answer once it runs; ``"late"``: start another
    child and exit at once, before that child can be ready."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asker: Any = None

    def on_message(self, message: Any, sender: Any) -> None:
        if message == "sibling":
            self.asker = sender
            self.send(self.createActor(Child), "pid")
        elif isinstance(message, int):
            self.send(self.asker, "running")
        elif message == "late":
            self.send(self.createActor(Child), "pid")
            self.send(self.myAddress, ActorExitRequest())
            self.send(sender, "exiting")


@pytest.fixture
def xmlactors_base() -> str:
    return "multiprocTCPBase"


@pytest.mark.parametrize("sibling", [True, False], ids=["beside-a-running-child", "alone"])
@pytest.mark.parametrize("attempt", range(2))
def test_a_child_not_yet_ready_when_its_parent_exits_exits_with_it(
    factory: RuntimeFactory, caplog: pytest.LogCaptureFixture, sibling: bool, attempt: int
) -> None:
    rt = factory.started()
    assert rt.system is not None
    system = rt.system.thespian
    parent = system.createActor(Parent)
    if sibling:
        assert system.ask(parent, "sibling", 10) == "running"
    assert system.ask(parent, "late", 10) == "exiting"
    session, began = rt.session_id, time.monotonic()
    with caplog.at_level(logging.INFO, logger="actors._system"):
        rt.shutdown()
    took = time.monotonic() - began
    assert "outlived shutdown" not in caplog.text  # the late child was left behind
    assert took < 6.0, f"shutdown took {took:.1f} s"  # 13 s while the parent waited for it
    assert processes.session_pids(session) == []
