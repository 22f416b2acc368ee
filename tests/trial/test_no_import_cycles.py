"""No module of the application imports itself round a loop, not even through an import inside a
function: the import contracts (pyproject.toml) keep the direction between packages, and this
keeps every module graph of the four apps free of cycles."""

from __future__ import annotations

import sys

import grimp

APPS = ("trial", "randomization", "questionnaires", "followup")


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = iter(range(10**9))

    def visit(module: str) -> None:
        index[module] = low[module] = next(counter)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph.modules):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_scan_finds_a_cycle_when_there_is_one():
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    assert _cycles(graph) == [["a.x", "a.y"]]


def test_no_module_of_the_application_is_part_of_an_import_cycle():
    graph = grimp.build_graph(*APPS, include_external_packages=False)
    assert _cycles(graph) == [], "modules that import each other round a loop"
