"""The claims' layer on `derive.checks.verify`: the run context of one audit, a meaning's outcome, comparing sides.

A claim's checks are `derive.checks.verify.CheckResult` objects, its counterexample a
`derive.checks.verify.Counterexample`, its two sides are compared by
`derive.checks.verify.compare`; this module adds what is the catalog's own: the
sizes and seeds of an audit (`AuditConfig`), the caches shared by its claims
(`Run`), what a meaning's check returns (`Outcome`), and the `Meaning` base.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from derive.model.cell import Cell
from derive.errors import DeriveError
from derive.model.graph import Graph
from derive.numeric.evaluator import Evaluator
from ..verify import RTOL_EXACT
from .instances import _instance
from derive.numeric.evaluator import cell_fingerprint, unrolled
from derive.terms import Term
from derive.checks.verify import summands
from derive.checks.results import (CheckResult, Comparison, Counterexample, compare, format_where, jsonable,
                            rounded)


@dataclass(frozen=True)
class AuditConfig:
    """Sizes and seeds of the numeric checks; SymPy checks use the first ``symbolic_sizes`` sizes.

    Sizes differ in every dimension (n = d + 1, k = d + 2), so a transposed
    matrix is a shape error or a wrong value, never an accident that fits.
    """

    sizes: tuple = ({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 5})
    seeds: tuple = (0, 1)
    symbolic_sizes: int = 2

    def as_dict(self) -> dict:
        return {"sizes": [dict(s) for s in self.sizes], "seeds": list(self.seeds)}


FAST = AuditConfig(sizes=({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}), seeds=(0,), symbolic_sizes=1)


class Check(CheckResult):
    """Deprecated: a claim's check is a `derive.checks.verify.CheckResult`; ``Check(method, passed, where, detail,
    seconds)`` builds one with the old argument order."""

    def __init__(self, method: str, passed: bool, where: "dict | None" = None, detail: str = "",
                 seconds: float = 0.0, **kwargs):
        warnings.warn("derive.checks.catalog.Check is deprecated: use derive.checks.verify.CheckResult(method=..., passed=..., "
                      "where=..., detail=...)", DeprecationWarning, stacklevel=2)
        super().__init__(method=method, passed=passed, where={} if where is None else where, detail=detail,
                         seconds=seconds, **kwargs)


def check(method: str, passed: bool, where: "dict | None" = None, detail: str = "", seconds: float = 0.0, *,
          reference: str = "", verdict: str = "") -> CheckResult:
    """One check of a claim (the claim's id is set when its verdict is known): a `CheckResult`."""
    return CheckResult(method=method, passed=passed, detail=detail, where={} if where is None else where,
                       seconds=seconds, reference=reference, verdict=verdict)


def failed_check(method: str, exc: BaseException, where: "dict | None" = None, *, reference: str = "",
                 t0: "float | None" = None) -> CheckResult:
    """An exception inside a check: a failed check naming the exception, never a crash."""
    return check(method, False, where, f"cannot check: {type(exc).__name__}: {exc}",
                 0.0 if t0 is None else time.perf_counter() - t0, reference=reference)


def guarded(fn: Callable, method: str, where: "dict | None" = None, *, reference: str = ""):
    """``(fn(), None)``; an exception other than a `DeriveError` (which is the claim's own error) gives
    ``(None, a failed check naming it)``: a failure inside a check is a failed check, never a crash."""
    t0 = time.perf_counter()
    try:
        return fn(), None
    except DeriveError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check
        return None, failed_check(method, exc, where, reference=reference, t0=t0)


def not_applicable(method: str, reason: str, where: "dict | None" = None, *, reference: str = "") -> CheckResult:
    """A method that cannot judge this statement: no evidence either way, and no failure."""
    return check(method, True, where, f"not applicable: {reason}", reference=reference, verdict="not_applicable")


@dataclass
class Outcome:
    """What a meaning's ``check`` returns: its checks, any counterexample, a special case, notes, the sides."""

    checks: "list[CheckResult]"
    counterexample: "Counterexample | None" = None
    special_case: str = ""
    notes: str = ""
    sides: tuple = ()  # engine terms (lhs, rhs) for printing


class Meaning:
    """What a claim means in the engine's terms; ``check`` returns the checks and any counterexample."""

    def text(self) -> str:  # the claim in its own (lecture) symbols
        raise NotImplementedError

    def describe(self, notation: str) -> str:  # what the engine checks, in engine names
        return self.text()

    def check(self, run: "Run", notation: str) -> Outcome:  # pragma: no cover - every meaning overrides
        raise NotImplementedError

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        """Deliberately wrong variants (kind, meaning) for the sensitivity test."""
        return []


def side_text(x) -> str:
    """A claim's side as written: the string, or the engine term printed."""
    return x if isinstance(x, str) else str(x)


class Run:
    """Caches shared by the claims of one audit: cells per activation, graphs and evaluators per instance.

    Graphs and evaluators are keyed by the cell's structure (`derive.numeric.evaluator.cell_fingerprint`), never by
    the object's identity: two claims whose builders give equal cells share them, and a cell built anew
    (with a recycled id) never picks up another cell's graph.
    """

    def __init__(self, config: AuditConfig):
        self.config = config
        self._cells: dict = {}
        self._evs: dict = {}
        self._graphs: dict = {}

    def graph(self, cell: Cell, T: int, size: "dict | None" = None) -> Graph:
        key = (cell_fingerprint(cell), T, tuple(sorted(size.items())) if size else None)
        if key not in self._graphs:
            self._graphs[key] = unrolled(cell, T, size)
        return self._graphs[key]

    def cell(self, builder: Callable[[str], Cell], act: str) -> Cell:
        key = (builder, act)
        if key not in self._cells:
            self._cells[key] = builder(act)
        return self._cells[key]

    def evaluator(self, cell: Cell, T: int, size: dict, seed: int, keep=None, recipe: str = "random",
                  target: float = 1.0) -> "Evaluator | None":
        key = (cell_fingerprint(cell), T, tuple(sorted(size.items())), seed, keep, recipe, target)
        if key not in self._evs:
            g = self.graph(cell, T, size)
            inst = _instance(g, recipe, seed, target)
            self._evs[key] = None if inst is None else Evaluator(g, inst, g.view(list(keep) if keep else None))
        return self._evs[key]


def graph_T(binding: dict) -> int:
    """The length T of the graph a binding needs: its T, else its largest index (at least 1)."""
    if "T" in binding:
        return int(binding["T"])
    return max([int(v) for v in binding.values()] + [1])


def as_matrix(v) -> np.ndarray:
    """A claim's value as a float64 matrix (a number is 1 x 1, an exact zero None is 0)."""
    return np.atleast_2d(np.asarray(0.0 if v is None else v, dtype=np.float64))


def compare_sides(lv, rv, scale: "float | None" = None) -> Comparison:
    """The two sides of a claim, compared by `derive.checks.verify.compare` (relative 1e-9): a scalar 0 stands for
    the zero matrix of the other side's shape.  ``scale``: the size of the terms (`terms_scale`); without
    it max(1, max|lhs|), the claim's left side being the quantity the lecture states."""
    a, b = as_matrix(lv), as_matrix(rv)
    if a.size == 1 and b.size > 1 and a.item() == 0.0:
        a = np.zeros_like(b)
    if b.size == 1 and a.size > 1 and b.item() == 0.0:
        b = np.zeros_like(a)
    if a.shape != b.shape:
        return Comparison(False, f"the left side is {a.shape[0]}x{a.shape[1]} but the right side is "
                                 f"{b.shape[0]}x{b.shape[1]}")
    if scale is None and np.all(np.isfinite(a)):
        scale = max(1.0, float(np.max(np.abs(a))))
    return compare(a, b, rtol=RTOL_EXACT, what="left", against="right", scale=scale)


def terms_scale(value: Callable, rhs, *sides) -> float:
    """The size of the terms of a claim (issue 14, item 2): the largest |entry| of either side and of each
    summand of the right side (`derive.checks.verify.summands`), so a claim whose terms are small -- distant
    paths that vanish like (γλ)^(t-k) -- is compared relative to them, not to 1."""
    scale = max((float(np.max(np.abs(as_matrix(v)), initial=0.0)) for v in sides), default=0.0)
    parts = summands(rhs) if isinstance(rhs, Term) else []
    if len(parts) > 1:
        for t in parts:
            scale = max(scale, float(np.max(np.abs(as_matrix(value(t))), initial=0.0)))
    return scale


# Old private names, kept for code written against them (derive.checks.doccheck, bench/).
_Run = Run
_Outcome = Outcome
_graph_T = graph_T
_compare = compare_sides
_jsonable = jsonable
_round = rounded
_fmt_where = format_where
