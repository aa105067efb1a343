"""The layout the design promises, kept true: the core imports nothing above it, no import
cycle between modules, no package reaching into another's private modules, no module over 450
lines (docs/design.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("didvc", "resolvers", "issuer", "wallet", "verifier", "didvc_cli")
ABOVE_THE_CORE = PACKAGES[1:]
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path, *, module_level: bool) -> set[str]:
    """The modules ``path`` imports (a name imported from a package that is a module counts as
    that module); with ``module_level``, only the imports that run when it is loaded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.add(sub if sub in MODULES else node.module)
    return names


def test_the_core_imports_nothing_above_it() -> None:
    for name, path in MODULES.items():
        if name.split(".")[0] == "didvc":
            wrong = {i for i in _imports(path, module_level=False) if i.split(".")[0] in ABOVE_THE_CORE}
            assert not wrong, f"{name} imports {wrong}"


def test_no_package_reaches_into_another_packages_private_modules() -> None:
    for name, path in MODULES.items():
        package = name.split(".")[0]
        for imported in _imports(path, module_level=False):
            parts = imported.split(".")
            private = any(part.startswith("_") and part != "__main__" for part in parts[1:])
            assert not (private and parts[0] != package), f"{name} imports {imported}"


def test_no_import_cycles() -> None:
    graph = {
        name: {i for i in _imports(path, module_level=True) if i in MODULES and i != name}
        for name, path in MODULES.items()
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in visiting:
            cycle = [*visiting[visiting.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_no_module_over_the_limit() -> None:
    over = {
        name: count
        for name, path in MODULES.items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not over
