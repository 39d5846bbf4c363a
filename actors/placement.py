"""Placement by capability: which actor system of a convention may host a listener. Pure.

Several actor systems (``xmlactors serve``, one per process or host) form a
Thespian *convention*; each offers capabilities (``--capability gpu=true``),
and a listener whose organism entry says ``<requires gpu="true"/>`` is
created on a system that offers them. Thespian calls ``meets_requirements``
in the admin process of each candidate system.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["meets_requirements", "describe", "parse_capability", "capability_flags"]


def _text(value: Any) -> str:
    """A capability value as it compares: booleans as ``true``/``false``, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def meets_requirements(capabilities: Mapping[str, Any], requirements: Mapping[str, Any]) -> bool:
    """Whether a system with ``capabilities`` may host an actor with ``requirements``.

    Every required key must be offered with the same value, compared as text
    (``True`` from Python and ``"true"`` from the command line are equal).
    No requirements: any system.
    """
    return all(
        key in capabilities and _text(capabilities[key]) == _text(value)
        for key, value in requirements.items()
    )


def describe(capabilities: Mapping[str, Any]) -> str:
    """``gpu=true host=worker-1``: capabilities as a user writes them."""
    return " ".join(f"{key}={_text(value)}" for key, value in capabilities.items()) or "nothing"


def capability_flags(requirements: Mapping[str, Any]) -> str:
    """The ``--capability`` flags a member needs to meet ``requirements``."""
    return " ".join(f"--capability {key}={_text(value)}" for key, value in requirements.items())


def parse_capability(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` from the command line; raises ``ValueError`` naming the text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"a capability is KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()
