"""``records.lean``: frozen dataclasses with a plain ``__init__`` behave as the dataclass did."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from actors.messages import Delivery, Hop, WorkDone
from actors.primitives.results import ItemResult
from actors.records import lean


@lean
@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.x < 0:
            raise ValueError("x must be >= 0")


def test_a_lean_record_keeps_its_fields_defaults_and_checks() -> None:
    assert (Point(1).x, Point(1).y, Point(1, 2, ("a",)).tags) == (1, 0, ("a",))
    assert Point(x=3, y=4) == Point(3, 4)
    assert hash(Point(3, 4)) == hash(Point(3, 4))
    assert repr(Point(3, 4)) == "Point(x=3, y=4, tags=())"
    with pytest.raises(ValueError, match="x must be >= 0"):
        Point(-1)
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        Point(1).z = 2  # type: ignore[attr-defined]  # slots: no other attribute


def test_a_lean_record_pickles_and_replaces_like_the_dataclass() -> None:
    point = Point(5, 6, ("t",))
    assert pickle.loads(pickle.dumps(point)) == point
    assert dataclasses.replace(point, y=7) == Point(5, 7, ("t",))
    with pytest.raises(ValueError):
        dataclasses.replace(point, x=-2)  # the check runs on replace too


def test_the_per_item_messages_are_lean_and_round_trip() -> None:
    delivery = Delivery("a", "b", "t", b"<X/>", (Hop("c", None, 3),), token=3, deadline=1.5)
    assert pickle.loads(pickle.dumps(delivery)) == delivery
    assert pickle.loads(pickle.dumps(WorkDone(1, "respond", b"<Y/>"))).payload == b"<Y/>"
    with pytest.raises(ValueError):
        ItemResult(0, False, b"", reason="no such reason")
    assert "__setattr__" not in Delivery.__dict__


def test_lean_takes_only_frozen_slotted_dataclasses() -> None:
    @dataclass(slots=True)
    class Loose:
        x: int

    @dataclass(frozen=True)
    class Unslotted:
        x: int

    for cls in (Loose, Unslotted, int):
        with pytest.raises(TypeError, match="frozen, slotted dataclass"):
            lean(cls)
