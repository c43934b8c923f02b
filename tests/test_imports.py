"""Imports flow one way: no cycle among the project's modules, the core never imports the printer or content.

Measured statically from every import statement (module level and inside
functions), with the top packages' re-export lists left out as sources: they exist to
gather names, not to depend on them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("derive", "proofs")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == "proofs":  # shipped as derive.proofs (pyproject.toml's package-dir)
        parts.insert(0, "derive")
    return ".".join(parts)


def _modules() -> "dict[str, Path]":
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _resolve(name: str, modules) -> "str | None":
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> "dict[str, set[str]]":
    modules = _modules()
    graph: dict = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                subs = [f"{stem}.{a.name}" for a in node.names]
                # "from . import rnn" depends on the submodule, not on the package's re-export list
                targets = subs + ([stem] if any(x not in modules for x in subs) else [])
            for target in targets:
                hit = _resolve(target, modules)
                if hit and hit != name:
                    deps.add(hit)
        graph[name] = deps
    return graph


def _cycles(graph) -> "list[list[str]]":
    """Strongly connected components with more than one module (Tarjan); the top packages' re-export lists
    (``derive/__init__.py``, ``proofs/__init__.py``) are left out as sources."""
    edges = {m: set(ds) for m, ds in graph.items() if m not in ("derive", "derive.proofs")}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_the_engine_never_imports_content():
    bad = {m: sorted(d for d in ds if d.startswith("derive.proofs")) for m, ds in import_graph().items()
           if not m.startswith("derive.proofs") and m != "derive"}
    assert {m: d for m, d in bad.items() if d} == {}


def test_the_core_never_imports_the_printer():
    core = ("derive.terms", "derive.algebra", "derive.graph", "derive.cell", "derive.ir", "derive.activations",
            "derive.canon", "derive.numeric", "derive.step", "derive.structure", "derive.verify", "derive.expand")
    bad = {m: sorted(d for d in ds if d.startswith(("derive.latex", "derive.build", "derive.cli")))
           for m, ds in import_graph().items() if m.startswith(core)}
    assert {m: d for m, d in bad.items() if d} == {}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
