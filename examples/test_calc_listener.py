"""Tests of the calculator listener, written with the xmlactors testing kit.

Run them with ``pytest examples/test_calc_listener.py``; docs/testing.md explains each one.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from actors import ListenerError, PayloadError, Runtime
from actors.testing import RuntimeFactory, check_buffer, wait_until_idle
from actors.testing.strategies import buffer_items, hostile_xml, payloads
from examples.calc import Add, Sum, add


def calculator(factory: RuntimeFactory) -> Runtime:
    """A started runtime with the listener under test; the fixture shuts it down."""
    rt = factory.started()
    rt.register("calculator.add", add, Add, workers=2)
    return rt


@pytest.mark.parametrize("xmlactors_base", ["simpleSystemBase", "multiprocTCPBase"], indirect=True)
def test_add_answers_the_sum_on_each_base(runtime_factory: RuntimeFactory) -> None:
    rt = calculator(runtime_factory)
    assert rt.ask("calculator.add", Add(2, 3), timeout=10) == Sum(5)


def test_add_answers_every_generated_payload(runtime_factory: RuntimeFactory) -> None:
    rt = calculator(runtime_factory)  # one runtime for all the examples: starting one costs more

    @settings(max_examples=25)
    @given(payloads(Add))
    def answers_the_sum(payload: Add) -> None:
        assert rt.ask("calculator.add", payload, timeout=10) == Sum(payload.a + payload.b)

    answers_the_sum()


def test_a_buffer_of_adds_gives_each_sum_at_its_index(runtime_factory: RuntimeFactory) -> None:
    rt = calculator(runtime_factory)

    @settings(max_examples=15)
    @given(buffer_items(Add, max_size=10))
    def each_sum_at_its_index(items: list[Add]) -> None:
        check_buffer(rt, "calculator.add", items, lambda index, item: Sum(item.a + item.b))

    each_sum_at_its_index()


def test_hostile_input_gets_an_error_and_the_listener_keeps_serving(
    runtime_factory: RuntimeFactory,
) -> None:
    rt = calculator(runtime_factory)

    @settings(max_examples=30)
    @given(hostile_xml(documents=payloads(Add).map(Add.to_bytes)))
    def refused(document: bytes) -> None:
        with pytest.raises((ListenerError, PayloadError)):  # PayloadError: too big to send
            rt.ask("calculator.add", document, timeout=10)
        assert rt.ask("calculator.add", Add(1, 1), timeout=10) == Sum(2)
        wait_until_idle(rt)

    refused()
