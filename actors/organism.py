"""The organism file: an XML declaration of the listeners a Runtime starts.

``load_organism(path)`` parses the file with the project's hardened parser,
validates it against the shipped ``organism.xsd``, then imports every
handler and payload class. Every problem is a ``ConfigError`` whose message
starts with ``FILE:LINE:`` so editors and terminals can jump to it.
This module runs in the user's process only; it imports no ``thespian``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

from lxml import etree

from ._importable import check_importable, import_ref
from .codec import is_xmlify
from .errors import ConfigError, NotImportableError, PayloadError
from .parsing import parse

__all__ = ["RESERVED_PREFIX", "ListenerDecl", "Organism", "load_organism", "load_organism_text"]

RESERVED_PREFIX = "system."
"""Listener names under this prefix belong to the runtime (``system.buffer``, ...)."""


@dataclass(frozen=True, slots=True)
class ListenerDecl:
    """One ``<listener>`` of an organism file, imported and checked.

    ``concurrency`` is None when the attribute is absent (the handler's
    default). ``peers`` is None when the attribute is absent (the listener may send
    anywhere) and ``()`` when it is present but empty (nowhere).
    ``requires`` holds the attributes of ``<requires>`` (placement
    capabilities); ``line`` is the line of the ``<listener>`` start tag (its
    last line when it spans several: libxml2 counts there, in its own
    validation errors too, so every message about one listener agrees).
    """

    name: str
    handler: Any
    payload_classes: tuple[type, ...]
    description: str
    workers: int
    concurrency: int | None
    peers: tuple[str, ...] | None
    timeout: float
    requires: dict[str, str]
    line: int
    rate: str = ""  # "20/s": handler starts allowed in any one second


@dataclass(frozen=True, slots=True)
class Organism:
    """A loaded organism file: its name, its listeners in file order, and where it came from."""

    name: str
    listeners: tuple[ListenerDecl, ...]
    path: Path | None


def load_organism(path: str | Path) -> Organism:
    """Load, validate and import the organism file at ``path``; raises ``ConfigError``."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the organism file: {exc.strerror or exc}") from None
    return _load(data, source, Path(path))


def load_organism_text(text: str | bytes, source: str = "<string>") -> Organism:
    """Load an organism from XML text; errors name ``source`` as the file."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _load(data, source, None)


# -- steps -----------------------------------------------------------------


def _load(data: bytes, source: str, path: Path | None) -> Organism:
    root = _parse(data, source)
    _validate(root, source)
    listeners = tuple(_listener(element, source) for element in root.iterchildren("listener"))
    return Organism(name=str(root.get("name")), listeners=listeners, path=path)


def _parse(data: bytes, source: str) -> Any:
    try:
        return parse(data)
    except PayloadError as exc:
        line = _error_line(exc)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{where}: not a well-formed organism file: {exc}") from None


def _error_line(exc: BaseException) -> int:
    """The line a parser error points at, if the error (or its cause) carries one."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        for attribute in ("line", "lineno"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, int) and value > 0:
                return value
    match = re.search(r"\bline (\d+)", str(exc))
    return int(match.group(1)) if match else 0


@functools.cache
def _schema() -> etree.XMLSchema:
    """The organism schema, compiled on first use (trusted package data)."""
    text = resources.files(__package__).joinpath("organism.xsd").read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.fromstring(text, parser))


def _validate(root: Any, source: str) -> None:
    schema = _schema()
    if schema.validate(root):
        return
    errors = cast("Iterable[etree._LogEntry]", schema.error_log)  # iterable; lxml-stubs omit it
    names = {int(el.sourceline or 0): el.get("name") for el in root.iterchildren("listener")}
    lines = [f"{source}:{error.line}: {_naming(names.get(error.line), error.message)}"
             for error in errors]
    raise ConfigError("\n".join(lines))


def _naming(name: str | None, message: str) -> str:
    """The explained message, prefixed ``listener 'NAME': `` unless it names the listener already."""
    explained = _explain(message)
    if name and f"'{name}'" not in explained:
        return f"listener '{name}': {explained}"
    return explained


_DUPLICATE = re.compile(r"Duplicate key-sequence \['(.*)'\] in unique identity-constraint")
_REF_PATTERN = re.compile(r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '.*:.*'\.")


def _explain(message: str) -> str:
    """libxml2's message, with a plain-words version for the cryptic cases."""
    duplicate = _DUPLICATE.search(message)
    if duplicate:
        return (
            f"listener name '{duplicate.group(1)}' is declared twice;"
            " each listener needs its own name"
        )
    ref = _REF_PATTERN.search(message)
    if ref:
        head = message[: ref.start()].rstrip()
        return f"{head} '{ref.group(1)}' is not of the form 'package.module:name'"
    return message.rstrip(".")


def _listener(element: Any, source: str) -> ListenerDecl:
    """One validated ``<listener>`` element, its references imported and checked."""
    name = str(element.get("name"))
    line = int(element.sourceline or 0)
    where = f"{source}:{line}: listener '{name}'"
    if name.startswith(RESERVED_PREFIX):
        raise ConfigError(f"{where}: names starting with '{RESERVED_PREFIX}' are reserved for the runtime")
    handler = _import(str(element.get("handler")), where)
    if not callable(handler):
        raise ConfigError(f"{where}: handler {element.get('handler')!r} is not callable")
    _check_importable(handler, "handler", where)
    classes = tuple(_payload_class(ref, where) for ref in str(element.get("payload")).split())
    peers_text = element.get("peers")
    requires = element.find("requires")
    return ListenerDecl(
        name=name,
        handler=handler,
        payload_classes=classes,
        description=" ".join(element.findtext("description", "").split()),
        workers=int(element.get("workers", "1")),
        concurrency=int(element.get("concurrency")) if element.get("concurrency") else None,
        peers=None if peers_text is None else tuple(peers_text.split()),
        timeout=float(element.get("timeout", "0")),
        requires={} if requires is None else {str(k): str(v) for k, v in requires.attrib.items()},
        line=line,
        rate=str(element.get("rate", "")),
    )


def _payload_class(ref: str, where: str) -> type:
    cls = _import(ref, where)
    if not isinstance(cls, type) or not is_xmlify(cls):
        raise ConfigError(f"{where}: payload {ref!r} is not an @xmlify class (got {cls!r})")
    _check_importable(cls, "payload class", where)
    return cls


def _import(ref: str, where: str) -> Any:
    try:
        return import_ref(ref)
    except NotImportableError as exc:
        raise ConfigError(f"{where}: cannot import '{ref}': {exc}") from None
    except Exception as exc:  # noqa: BLE001 -- a module may raise anything while it loads
        raise ConfigError(
            f"{where}: importing '{ref}' raised {type(exc).__name__}: {exc}"
        ) from None


def _check_importable(obj: Any, what: str, where: str) -> None:
    try:
        check_importable(obj, what)
    except NotImportableError as exc:
        raise ConfigError(f"{where}: {exc}") from None
