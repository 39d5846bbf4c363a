"""The layering of the packages, written once and kept by this test (see docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PURE = [
    "actors.codec",
    "actors.parsing",
    "actors.envelope",
    "actors.routing",
    "actors.organism",
    "actors.primitives.buffer_run",
    "actors.primitives.sequence_run",
    "actors.primitives.results",
    "registry.directory",
]
"""Modules that must not depend on Thespian, directly or through the modules they import."""

THESPIAN_ADAPTERS = {"_shell.py", "runtime.py", "_thespian_setup.py", "deploy.py"}
"""The only modules that import Thespian themselves; everything else goes through them."""


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_depends_on_no_thespian(module: str) -> None:
    reached = _closure(module)
    assert not any(name.split(".")[0] == "thespian" for name in reached), sorted(reached)


def test_only_the_adapters_import_thespian() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in sorted((ROOT / "actors").rglob("*.py"))
        if path.name not in THESPIAN_ADAPTERS and "thespian" in _imports_of(path)
    ]
    assert offenders == []


def test_the_registry_knows_nothing_of_the_primitives() -> None:
    assert not any(name.startswith("actors.primitives") for name in _closure("registry.actor"))


def test_modules_stay_small() -> None:
    sources = [*(ROOT / "actors").rglob("*.py"), *(ROOT / "registry").rglob("*.py")]
    too_long = {
        str(path.relative_to(ROOT)): lines for path in sorted(sources)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert too_long == {}


def _closure(module: str) -> set[str]:
    """Every name ``module`` imports, following the project's own modules (not package inits)."""
    imported: set[str] = set()
    visited: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        path = ROOT / (current.replace(".", "/") + ".py")
        if current in visited or not path.exists():
            continue
        visited.add(current)
        for name in _imports_of(path):
            imported.add(name)
            if name.split(".")[0] in ("actors", "registry"):
                todo.append(name)
    return imported


def _imports_of(path: Path) -> set[str]:
    """The dotted names a module imports; relative imports resolved; ``from a import b`` gives a.b too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names
