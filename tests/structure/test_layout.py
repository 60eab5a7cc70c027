"""The tree keeps its rooms: a small core top level, no import cycles, tests by feature."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"xtrarestore.core": REPO / "core", "xtrarestore.tui": REPO / "tui"}


def modules(package: str) -> dict[str, Path]:
    """Every module of *package* by dotted name (a package by its own name, for its __init__)."""
    root = PACKAGES[package]
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def compiled(package: Path | None, name: str) -> bool:
    """Is *name* a C extension module of *package* (built from `name.c`, so not a Python module we list)?"""
    return package is not None and package.name == "__init__.py" and (package.parent / f"{name}.c").exists()


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of *known* that *name* imports anywhere in its file, inside functions too."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin
                       for alias in node.names if not compiled(known.get(origin), alias.name)]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles(package):
    known = modules(package)
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import x\n")
    known = {"p.a": tmp_path / "a.py", "p.b": tmp_path / "b.py"}
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    assert cycles(graph) == [["p.a", "p.b"]]


def test_core_keeps_a_small_top_level_and_rooms_for_each_stage():
    top = [p.name for p in (REPO / "core").glob("*.py") if p.name != "__init__.py"]
    rooms = [p.name for p in (REPO / "core").iterdir() if (p / "__init__.py").exists()]
    assert len(top) <= 6, top
    assert {"inventory", "archive", "restore", "drills"} <= set(rooms)


def test_tests_live_in_feature_folders():
    assert sorted(p.name for p in (REPO / "tests").glob("test_*.py")) == []


def test_no_screen_module_imports_another():
    known = modules("xtrarestore.tui")
    screens = {name for name in known if name.startswith("xtrarestore.tui.screens.")}
    for name in screens:
        assert imports_of(name, known[name], known) & screens == set(), name


def test_every_package_is_listed_for_installation():
    text = (REPO / "pyproject.toml").read_text()
    listed = set(text.split("packages = [", 1)[1].split("]", 1)[0].replace('"', " ").replace(",", " ").split())
    found = {name for package in PACKAGES for name, path in modules(package).items() if path.name == "__init__.py"}
    assert found == listed
