"""The library's module-level imports form no cycle: each module of ``retrieval/`` can be
understood, and imported, without the ones that import it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "retrieval"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """The retrieval modules ``name`` imports when it is imported (not inside functions,
    not under ``if TYPE_CHECKING``); importing ``a.b.c`` also runs ``a.b``."""
    found: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for h in node.handlers:
                stack.extend(h.body)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    out: set[str] = set()
    for target in found:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in MODULES and candidate != name:
                out.add(candidate)
    return out


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = _top_level_imports(tree, name, path.name == "__init__.py")
    # A package's own __init__ runs before its submodules; that edge is no cycle.
    return {n: {d for d in deps if not n.startswith(d + ".")} for n, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_the_known_edges() -> None:
    graph = _graph()
    assert "retrieval.spans" in graph["retrieval.condense"]
    assert "retrieval.condense" in graph["retrieval.answering.extractive"]


def test_no_import_cycle_in_retrieval() -> None:
    assert _cycles(_graph()) == []


def _collapsed(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    """The graph with ``package``'s modules as one node: a module that reaches into the
    package and is imported by one of its modules makes the two depend on each other."""

    def node(name: str) -> str:
        return package if name == package or name.startswith(package + ".") else name

    out: dict[str, set[str]] = {}
    for name, deps in graph.items():
        out.setdefault(node(name), set()).update(node(d) for d in deps if node(d) != node(name))
    return out


def test_no_cycle_through_the_answering_package() -> None:
    # retrieval.condense once imported retrieval.answering.spans, and
    # retrieval.answering.extractive imports retrieval.condense.
    assert _cycles(_collapsed(_graph(), "retrieval.answering")) == []


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
