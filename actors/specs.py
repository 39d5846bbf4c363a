"""A listener's declaration checked and turned into its ``ListenerSpec``: every check of ``register``.

Pure (no Thespian): the same checks serve ``Runtime.register`` and the
organism file's listeners (through ``Runtime.register_all``). Every error is
a ``ConfigError`` or ``NotImportableError`` naming the listener.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._importable import check_importable
from .calls import default_concurrency
from .codec import is_xmlify
from .errors import ConfigError
from .messages import ListenerSpec
from .parsing import ParseLimits
from .rate import parse_rate

__all__ = ["listener_spec", "name_error"]


def name_error(name: str) -> str:
    """Why ``name`` cannot name a listener (empty, or holding whitespace), or ``""``."""
    if not name or any(c.isspace() for c in name):
        return f"invalid listener name {name!r}: use a non-empty name without spaces"
    return ""


def listener_spec(
    name: str,
    handler: Any,
    payload: type | Iterable[type],
    *,
    description: str = "",
    workers: int = 1,
    concurrency: int | None = None,
    peers: str | Iterable[str] | None = None,
    timeout: float = 0.0,
    rate: str = "",
    limits: ParseLimits,
    inline: bool,
) -> ListenerSpec:
    """The spec of listener ``name``, or an error naming it and what is wrong."""
    if name_error(name):
        raise ConfigError(name_error(name))
    classes = (payload,) if isinstance(payload, type) else tuple(payload)
    if not callable(handler):
        raise ConfigError(f"handler for listener {name!r} is not callable: {handler!r}")
    if not classes or not all(is_xmlify(c) for c in classes):
        raise ConfigError(f"listener {name!r} needs @xmlify payload classes, got {classes!r}")
    if workers < 1:
        raise ConfigError(f"listener {name!r} needs workers >= 1, got {workers}")
    concurrency = default_concurrency(handler) if concurrency is None else concurrency
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(
            f"listener {name!r} needs concurrency to be an int >= 1 (calls in flight per"
            f" worker), got {concurrency!r}"
        )
    try:
        per_second = parse_rate(rate)
    except ValueError as exc:
        raise ConfigError(f"listener {name!r}: {exc}") from None
    check_importable(handler, f"handler of listener {name!r}")
    for cls in classes:
        check_importable(cls, f"payload class of listener {name!r}")
    return ListenerSpec(
        name=name, description=description,
        payload_tags=tuple(getattr(cls, "__xml_tag__", cls.__name__) for cls in classes),
        peers=None if peers is None else frozenset(peers.split() if isinstance(peers, str)
                                                   else peers),
        workers=workers, concurrency=concurrency, rate=per_second,
        handler=handler, payload_classes=classes, timeout=timeout, limits=limits, inline=inline,
    )
