"""The layering of the packages, written once and kept by this test (see docs/architecture.md).

The import graph is built from every module of ``actors`` and ``registry``,
package ``__init__`` files included, from every import statement wherever it
stands: at module level, inside a function, under ``if TYPE_CHECKING:`` (a
type-only cycle is still a cycle in the design). Importing ``a.b`` also
depends on what ``a/__init__.py`` imports when it runs (its executed
module-level imports: a package facade's type-only imports are the facade's
own, and nothing below imports the facade).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("actors", "registry")

LAYERS: list[tuple[str, set[str]]] = [
    ("wire, XML and pure cores", {
        "actors.errors", "actors.limits", "actors.shape", "actors.parsing", "actors.parsed", "actors.records",
        "actors._framestack",
        "actors._scalars", "actors._fields", "actors._xsd",
        "actors.codec",
        "actors.envelope", "actors.messages", "actors.run_messages", "actors.placement", "actors.huh", "actors.routing",
        "actors.handler", "actors.handling", "actors.dispatch", "actors.calls", "actors.specs",
        "actors.statistics", "actors.outcomes", "actors.latency", "actors.rate",
        "actors._importable", "actors._lazy", "actors.primitives", "actors.primitives.payloads",
        "actors.primitives.results", "actors.primitives.buffer_run", "actors.primitives.run_core",
        "actors.primitives.sequence_run", "registry.directory", "actors.supervision",
        "actors.primitives.retry", "actors.journal",
        "actors.logs", "actors.worker_routes", "actors.primitives.item_routes",
        "actors.processes",  # /proc and signals only: the owner watchdog uses it in its actor
    }),
    ("actors", {
        "actors.links", "actors._repairs", "actors.shell",  "actors.worker", "actors.workers",
        "actors.listener", "actors.listener_routes", "actors.primitives.service",
        "actors.primitives.run_actor", "actors.primitives.buffer_actor", "actors.primitives.buffer_service",
        "actors.primitives.straight_items", "actors.primitives.service_routes",
        "actors.primitives.sequence_actor", "actors.primitives.run_pool", "actors.services",
        "actors.primitives.resolving",
        "registry", "registry.actor", "actors.watchdog", "actors.root",
    }),
    ("the user's process", {
        "actors.bases", "actors._inprocess", "actors._mailbox", "actors._straight",
        "actors._boundary", "actors.deploy", "actors.organism", "actors.runtime", "actors._runs",
        "actors._system", "actors.metrics", "actors._observing", "actors._durable",
    }),
    ("tools on top", {"actors", "actors.__main__"}),
]
"""Bottom first. A module imports only from its own layer or the layers below it.
``actors.cli.*`` and ``actors.testing.*`` are tools on top too (matched by prefix)."""

PURE = sorted(LAYERS[0][1])
"""Modules that must not depend on Thespian, directly or through what they import."""

THESPIAN_ADAPTERS = {"actors.shell", "actors._repairs", "actors.links", "actors.bases", "actors._inprocess",
                     "actors._system"}
"""The only modules that import Thespian themselves; everything else goes through them."""

MAX_LINES = 400


def _layer_of(module: str) -> int:
    for index, (_name, members) in enumerate(LAYERS):
        if module in members:
            return index
    if module.startswith(("actors.cli", "actors.testing")):
        return len(LAYERS) - 1
    raise AssertionError(f"{module} is in no layer of tests/test_layering.py: add it to one")


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _statements(path: Path, executed_only: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements of a module: every one, or only those that run when it loads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not executed_only:
        return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        elif isinstance(node, (ast.If, ast.Try)):
            found += [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return found


def _targets(module: str, path: Path, executed_only: bool) -> set[str]:
    """The dotted names a module imports (modules of the project, or any outside name)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _statements(path, executed_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        submodules = {f"{base}.{a.name}" for a in node.names} & set(_modules())
        names |= submodules
        if len(submodules) < len(node.names):  # some names are attributes of ``base`` itself
            names.add(base)
    return names


@cache
def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it depends on (see the module docstring)."""
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        edges = {n for n in _targets(module, path, executed_only=False) if n in modules}
        graph[module] = edges - {module}
    for module in modules:  # importing a.b runs a/__init__.py first
        parent = module.rpartition(".")[0]
        while parent:
            graph[module] |= {n for n in _targets(parent, modules[parent], executed_only=True)
                              if n in modules and n != module}
            parent = parent.rpartition(".")[0]
    return graph


def _closure(module: str) -> set[str]:
    """Every name ``module`` imports, directly or through the project modules it reaches."""
    reached: set[str] = set()
    todo, seen = [module], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        modules = _modules()
        reached |= _targets(current, modules[current], executed_only=False)
        todo += [n for n in _graph()[current] if n not in seen]
    return reached


def test_the_import_graph_has_no_cycle() -> None:
    graph, state, cycles = _graph(), {}, []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_every_import_goes_to_the_same_layer_or_below() -> None:
    upward = [
        f"{module} ({LAYERS[_layer_of(module)][0]}) imports {target}"
        f" ({LAYERS[_layer_of(target)][0]})"
        for module, targets in sorted(_graph().items())
        for target in sorted(targets) if _layer_of(target) > _layer_of(module)
    ]
    assert upward == []


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_depends_on_no_thespian(module: str) -> None:
    reached = _closure(module)
    assert not any(name.split(".")[0] == "thespian" for name in reached), sorted(reached)


@pytest.mark.parametrize("module", ["actors", "actors.codec", "actors.primitives.buffer_run",
                                    "actors.primitives.sequence_run", "actors.dispatch"])
def test_importing_the_codec_or_a_pure_core_loads_no_thespian(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('thespian')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_only_the_adapters_import_thespian() -> None:
    offenders = [
        module for module, path in sorted(_modules().items())
        if module not in THESPIAN_ADAPTERS
        and any(n.split(".")[0] == "thespian" for n in _targets(module, path, executed_only=False))
    ]
    assert offenders == []


def test_private_modules_are_imported_only_inside_their_package() -> None:
    """``_name`` modules are private to their package (tests may import anything)."""
    outside = [
        f"{module} imports {target}"
        for module, targets in sorted(_graph().items()) for target in sorted(targets)
        if target.rpartition(".")[2].startswith("_")
        and not (module + ".").startswith(target.rpartition(".")[0] + ".")
    ]
    assert outside == []


def test_the_registry_knows_nothing_of_the_primitives() -> None:
    assert not any(name.startswith("actors.primitives") for name in _closure("registry.actor"))


def test_modules_stay_small() -> None:
    too_long = {
        module: lines for module, path in sorted(_modules().items())
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}
