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


def _import_nodes(tree, module_level: bool):
    """The import statements of a module that run (not under ``if TYPE_CHECKING``); with ``module_level``,
    only those run when it is imported (not inside a function)."""
    stack = list(tree.body)
    while stack:
        n = stack.pop()
        if module_level and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(n, ast.If) and isinstance(n.test, ast.Name) and n.test.id == "TYPE_CHECKING":
            continue
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            yield n
        stack.extend(ast.iter_child_nodes(n))


def import_graph(module_level: bool = False) -> "dict[str, set[str]]":
    modules = _modules()
    graph: dict = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8")), module_level):
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
    core = ("derive.terms", "derive.algebra", "derive.model", "derive.cells", "derive.prove", "derive.numeric",
            "derive.checks.verify")
    bad = {m: sorted(d for d in ds if d.startswith(("derive.render", "derive.cli")))
           for m, ds in import_graph().items() if m.startswith(core)}
    assert {m: d for m, d in bad.items() if d} == {}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The stages of the pipeline, in order (README "Layout", derive/__init__.py's docstring).
STAGES = {
    "derive.errors": 0, "derive.indices": 0, "derive.notation": 0, "derive.display": 0, "derive.content": 0,
    "derive.model": 1,
    "derive.terms": 2,
    "derive.prove": 3,
    "derive.numeric": 4,
    "derive.cells": 4,   # a built-in cell: equations (model) and its NumPy reference BPTT (numeric)
    "derive.checks": 5,
    "derive.render": 6,
    "derive.algebra": 7, "derive.cli": 7, "derive.__main__": 7,
}


def _stage_of(module: str) -> "int | None":
    if module == "derive":  # the top package's re-export list: the engine never imports through it
        return 7
    head = module
    while head not in STAGES:
        if "." not in head:
            return None
        head = head.rpartition(".")[0]
    return STAGES[head]


def _stage(module: str) -> int:
    stage = _stage_of(module)
    assert stage is not None, f"{module} is in no stage: add it to STAGES (and to README's Layout)"
    return stage


def _upward(graph) -> "dict[str, list[str]]":
    return {m: sorted(d for d in ds if not d.startswith("derive.proofs") and _stage(d) > _stage(m))
            for m, ds in graph.items() if m != "derive" and not m.startswith("derive.proofs")}


def test_every_module_belongs_to_a_stage():
    assert [m for m in _modules() if not m.startswith("derive.proofs") and _stage_of(m) is None] == []
    assert _stage_of("derive.nowhere") is None and _stage_of("derive.render.latex.printer") == 6


def test_a_stage_imports_only_the_stages_before_it():
    """When a module is imported it imports nothing of a later stage (model never needs the checks)."""
    bad = {m: ds for m, ds in _upward(import_graph(module_level=True)).items() if ds}
    assert bad == {}


def test_no_stage_reaches_a_later_one_even_from_inside_a_function():
    """A term asks its context (the evaluator, the prover) instead of importing it."""
    assert {m: ds for m, ds in _upward(import_graph()).items() if ds} == {}


def test_the_stage_check_finds_an_upward_import():
    assert _upward({"derive.model.cell": {"derive.render.latex"}, "derive.render.latex": {"derive.model.cell"}}) \
        == {"derive.model.cell": ["derive.render.latex"], "derive.render.latex": []}


def test_the_flat_layouts_module_paths_still_import_as_the_same_modules():
    import subprocess
    import sys

    code = (
        "import warnings, importlib\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import derive.latex.printer as a, derive.render.latex.printer as b\n"
        "    import derive.reference.rnn as c, derive.numeric.reference.rnn as d\n"
        "    import derive.codegen as e, derive.render.codegen as f\n"
        "import derive, derive.verify\n"
        "print(a is b, c is d, e is f, callable(derive.verify), derive.verify.__module__)\n"
        "print(sorted({str(x.message) for x in w if x.category is DeprecationWarning}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    same, warned = out.splitlines()
    assert same == "True True True True derive.checks.verify"
    assert "derive.codegen is now derive.render.codegen; import it from there" in warned
    assert "derive.latex.printer is now derive.render.latex.printer; import it from there" in warned


def test_a_name_that_never_existed_is_still_an_import_error():
    import importlib

    import pytest

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("derive.verify_nothing")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("derive.latex.no_such_module")
