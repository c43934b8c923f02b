"""Checking derivations: exactly where the sizes allow, numerically always.

For every step of a derivation (lhs = rhs) and every binding of its indices:

- **exact** (any T): both sides reduced to canonical path sums in the free
  algebra of edge Jacobians (`derive.canon`) must be equal; a step written as a
  local formula (diag(σ'(a_j)) W ...) is compared with SymPy's element-level
  Jacobian entry by entry (`derive.structure`);
- **numeric** (seeded instances, several sizes, float64): the step evaluated
  from the lambdified symbolic Jacobians must match central finite differences
  of the forward pass, and, for the gradient of the total loss of a cell that
  ships a NumPy BPTT reference, that reference.

A failed check names the derivation, the step, the instance and the entry,
with both values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .terms import D, Term, is_algebra
from .canon import Canon
from .errors import DeriveError, NotSupported
from .expand import Derivation
from .graph import Graph
from .numeric import Evaluator, Instance, unrolled
from .step import StepSymbols, is_zero, lower

__all__ = ["CheckResult", "Report", "verify", "default_sizes", "compare", "RTOL_FD", "RTOL_EXACT"]

RTOL_FD = 1e-6      # central differences, eps = 1e-5, float64 (MEASUREMENTS.md: ~1e-10 typical)
RTOL_EXACT = 1e-9   # two exact computations in float64


@dataclass
class CheckResult:
    """One check of one step: what, how, on which instance, and the outcome."""

    derivation: str
    step: int           # 0-based index into derivation.steps
    method: str         # "exact", "symbolic", "numeric-fd", "numeric-reference"
    passed: bool
    detail: str = ""
    where: str = ""     # binding, sizes and seed
    seconds: float = 0.0

    def __str__(self):
        mark = "ok  " if self.passed else "FAIL"
        return f"{mark} {self.derivation} step {self.step + 1} [{self.method}] {self.where} {self.detail}".rstrip()


@dataclass
class Report:
    """All checks of one or more derivations."""

    results: "list[CheckResult]" = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def failures(self) -> "list[CheckResult]":
        return [r for r in self.results if not r.passed]

    def verdict(self, derivation: str, step: int) -> str:
        """"symbolic and numeric", "symbolic", "numeric" or "FAILED" for one step."""
        rs = [r for r in self.results if r.derivation == derivation and r.step == step]
        if not rs:
            return "unchecked"
        if not all(r.passed for r in rs):
            return "FAILED"
        kinds = {"symbolic" if r.method in ("exact", "symbolic") else "numeric" for r in rs}
        return " and ".join(sorted(kinds, reverse=True))

    def extend(self, other: "Report") -> None:
        self.results.extend(other.results)

    def summary(self) -> str:
        n, f = len(self.results), len(self.failures())
        return f"{n - f} passed, {f} failed"


def default_sizes(cell, ds=(1, 2, 3, 5)) -> "list[dict[str, int]]":
    """Sizes for numeric checks: d in {1, 2, 3, 5}, every other dimension different from d.

    Distinct sizes make a transposed matrix a shape error or a wrong value,
    never an accident that happens to fit.
    """
    out = []
    for v in ds:
        sizes, extra = {}, 1
        for dim in cell.dims:
            if dim.name == "d":
                sizes["d"] = v
            else:
                sizes[dim.name] = v + extra
                extra += 1
        out.append(sizes)
    return out


def compare(got, want, *, rtol: float, what: str, against: str) -> "tuple[bool, str]":
    """Scale-aware comparison: max|got - want| <= rtol * max(1, max|want|); names the worst entry."""
    if got is None and want is None:
        return True, "both exactly zero"
    got = np.zeros_like(want) if got is None else np.asarray(got, dtype=float)
    want = np.zeros_like(got) if want is None else np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return False, f"{what} has shape {got.shape} but {against} has shape {want.shape}"
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        bad = "the step" if not np.all(np.isfinite(got)) else against
        return False, f"non-finite values in {bad} (overflow or a division by zero on this instance)"
    if got.size == 0:
        return True, "empty"
    err = np.abs(got - want)
    scale = max(1.0, float(np.max(np.abs(want))))
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    rel = float(err[i]) / scale
    entry = tuple(int(v) for v in i)
    msg = f"entry {entry}: {what} = {got[i]:.12g}, {against} = {want[i]:.12g} (relative error {rel:.2e})"
    return rel <= rtol, msg


def _check_exact(canon: Canon, der: Derivation, lhs: Term, rhs: Term, i: int, where: str, graph: Graph):
    """Exact: path sums in the free algebra; a formula against a local Jacobian element by element;
    a step mixing both has its formulas lowered to the derivatives they equal (`derive.step.lower`)."""
    t0 = time.perf_counter()
    if is_algebra(lhs) and is_algebra(rhs):
        diff = canon.difference(lhs, rhs)
        detail = "canonical path sums agree" if not diff else "; ".join(diff)
        return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0)
    if isinstance(lhs, D) and not any(isinstance(t, D) for t in rhs.walk()) and _is_local(canon, graph, lhs):
        return _check_local(canon, der, lhs, rhs, i, where, graph, t0)
    try:
        a, b = lower(lhs, graph, canon.view), lower(rhs, graph, canon.view)
    except NotSupported as exc:
        return CheckResult(der.id, i, "exact", False, f"cannot check: {exc}", where, time.perf_counter() - t0)
    diff = canon.difference(a, b)
    detail = "canonical path sums agree, each formula proved equal to a one-step Jacobian" if not diff \
        else "; ".join(diff)
    return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0)


def _is_local(canon: Canon, graph: Graph, lhs: D) -> bool:
    """∂f/∂x within one step: explicit, or total with no path through another kept variable."""
    f, x = graph.node(lhs.f), graph.node(lhs.x)
    return lhs.explicit or (canon.paths(f, x) == canon.explicit(f, x) and x in canon.view.parents(f))


def _check_local(canon: Canon, der: Derivation, lhs: D, rhs: Term, i: int, where: str, graph: Graph, t0: float):
    """A formula for one local Jacobian (diag(σ'(a_j)) W), compared with SymPy's element by element."""
    f, x = graph.node(lhs.f), graph.node(lhs.x)
    if not lhs.explicit and canon.paths(f, x) != canon.explicit(f, x):
        return CheckResult(der.id, i, "symbolic", False, f"{lhs} has paths through other variables of the "
                           "ordered network, so it is not a local Jacobian", where)
    if not (lhs.explicit or x in canon.view.parents(f)):
        return CheckResult(der.id, i, "symbolic", False, f"{lhs} is not a local Jacobian", where)
    detail = "element by element"
    for expand in (False, True):  # the step's own symbols first; then with its equations substituted
        st = StepSymbols(graph, canon.view, f.t, expand=expand)
        try:
            J, R = st.value(D(f, x, True)), st.value(rhs)
        except NotSupported as exc:
            return CheckResult(der.id, i, "symbolic", False, f"cannot check: {exc}", where, time.perf_counter() - t0)
        if R.shape != J.shape:
            return CheckResult(der.id, i, "symbolic", False, f"the formula is {R.shape[0]}x{R.shape[1]} but {lhs} "
                               f"is {J.shape[0]}x{J.shape[1]}", where, time.perf_counter() - t0)
        bad = next(((r, c) for r in range(J.rows) for c in range(J.cols) if not is_zero(J[r, c] - R[r, c])), None)
        if bad is None:
            if expand:
                detail += ", with the step's equations substituted"
            return CheckResult(der.id, i, "symbolic", True, detail, where, time.perf_counter() - t0)
        if not expand:
            first = (bad, J[bad], R[bad])
    (r, c), j, got = first
    return CheckResult(der.id, i, "symbolic", False, f"entry ({r}, {c}): SymPy gives {j}, the formula gives {got}",
                       where, time.perf_counter() - t0)


def _value(ev: Evaluator, term: Term, lhs: Term):
    v = ev.evaluate(term)
    if v is None:  # an exact zero: the zero matrix of the left side's shape
        g = ev.graph
        return np.zeros((g.size(g.node(lhs.f)), g.size(g.node(lhs.x))))
    return v


def verify(der: Derivation, *, sizes: "list[dict] | None" = None, seeds=(0,), exact: bool = True,
           numeric: bool = True, fd: bool = True, max_fd_T: int = 12) -> Report:
    """Check every step of ``der`` for every binding; returns a `Report`."""
    report = Report()
    sizes = sizes if sizes is not None else default_sizes(der.cell)
    for binding in der.bindings or [{}]:
        T = der.graph_T(binding)
        lhs, steps = der.instantiate(binding)
        bind = ", ".join(f"{k}={v}" for k, v in binding.items())
        if exact:
            needs_sizes = not all(is_algebra(s) for s in [lhs, *steps])
            g = unrolled(der.cell, T, sizes[min(1, len(sizes) - 1)] if needs_sizes else None)
            canon = Canon(g, g.view(list(der.keep) if der.keep else None))
            where = f"({bind}{', ' + _fmt(sizes[min(1, len(sizes) - 1)]) if needs_sizes else ''})"
            for i, rhs in enumerate(steps):
                try:
                    report.results.append(_check_exact(canon, der, lhs, rhs, i, where, g))
                except DeriveError as exc:
                    report.results.append(CheckResult(der.id, i, "exact", False, f"cannot check: {exc}", where))
        if not numeric:
            continue
        for size in sizes:
            g = unrolled(der.cell, T, size)
            for seed in seeds:
                ev = Evaluator(g, Instance.random(g, seed), g.view(list(der.keep) if der.keep else None))
                where = f"({bind}, {_fmt(size)}, seed {seed})"
                report.results.extend(_check_numeric(ev, der, lhs, steps, where, fd and T <= max_fd_T))
    return report


def _fmt(size: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in size.items())


def _check_numeric(ev: Evaluator, der: Derivation, lhs: Term, steps, where: str, fd: bool):
    out = []
    t0 = time.perf_counter()
    if not isinstance(lhs, D):
        raise DeriveError(f"{der.id}: the left-hand side must be one derivative, got {lhs}")
    f, x = ev.graph.node(lhs.f), ev.graph.node(lhs.x)
    reference = None
    if fd and not lhs.explicit:
        reference, against = ev.finite_difference(f, x), "finite differences"
    else:
        reference, against = ev.evaluate(lhs), "the engine's " + ("explicit" if lhs.explicit else "total") + " derivative"
    ref_values = _reference_gradient(ev, f, x)
    for i, rhs in enumerate(steps):
        t1 = time.perf_counter()
        try:
            got = _value(ev, rhs, lhs)
        except DeriveError as exc:
            out.append(CheckResult(der.id, i, "numeric-fd", False, f"the step cannot be evaluated: {exc}", where))
            continue
        if reference is not None and isinstance(reference, np.ndarray):
            rtol = RTOL_FD if against == "finite differences" else RTOL_EXACT
            ok, msg = compare(got, reference, rtol=rtol, what="the step", against=against)
            out.append(CheckResult(der.id, i, "numeric-fd" if rtol == RTOL_FD else "numeric", ok, msg, where,
                                   time.perf_counter() - t1))
        if ref_values is not None:
            ok, msg = compare(got, ref_values, rtol=RTOL_EXACT, what="the step", against="the NumPy BPTT")
            out.append(CheckResult(der.id, i, "numeric-reference", ok, msg, where, time.perf_counter() - t1))
    return out


def _reference_gradient(ev: Evaluator, f, x):
    """The NumPy BPTT gradient ∂L/∂θ (1 x size) when the cell ships a reference and f is the total loss."""
    ref = getattr(ev.graph.cell, "reference", None)
    if ref is None or ev.graph.nodes[f].kind != "total" or ev.graph.nodes[x].kind not in ("param", "init"):
        return None
    grads = ref(ev.graph, ev.instance)
    g = grads.get(x)
    return None if g is None else np.ravel(g)[None, :]
