"""Checking derivations: exactly where the sizes allow, numerically always.

For every step of a derivation (lhs = rhs) and every binding of its indices:

- **exact** (any T): both sides reduced to canonical path sums in the free
  algebra of edge Jacobians (`derive.canon`) must be equal; a step written as a
  local formula (diag(σ'(a_j)) W ...) is compared with SymPy's element-level
  Jacobian entry by entry (`derive.structure`); a proof past its size budget
  (`derive.canon.WORD_BUDGET`) is reported as not applicable and the step is
  decided by the independent numeric checks, or is undecided (a failure);
- **numeric** (seeded instances, several sizes, float64): the step evaluated
  from the lambdified symbolic Jacobians must match central finite differences
  of the forward pass, and, for the gradient of the total loss of a cell that
  ships a NumPy BPTT reference, that reference.

A failed check names the derivation, the step, the instance and the entry,
with both values.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .terms import Brace, D, Prod, Sum, SumOver, Term, Zero, is_algebra
from .canon import Canon
from derive.canon import TooLarge
from .errors import DeriveError, NotSupported
from .expand import Derivation
from .graph import Graph
from .instances import alive
from .numeric import Evaluator, Instance, unrolled
from .step import StepSymbols, is_zero, lower, textbook

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
        kinds = {"symbolic" if r.method in ("exact", "symbolic", "label") else "numeric" for r in rs}
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


def compare(got, want, *, rtol: float, what: str, against: str, scale: "float | None" = None,
            atol: float = 0.0) -> "tuple[bool, str]":
    """max|got - want| <= rtol * scale + atol; names the worst entry and its error relative to the scale.

    ``scale`` is the size of the terms being compared (the largest |term| of
    the step's expansion, see `term_scale`); without it, max(1, max|want|).
    ``atol`` is the noise floor of the reference (finite differences).
    """
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
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(want))))
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    rel = float(err[i]) / scale if scale > 0 else (0.0 if err[i] == 0 else float("inf"))
    entry = tuple(int(v) for v in i)
    msg = (f"entry {entry}: {what} = {got[i]:.12g}, {against} = {want[i]:.12g} "
           f"(error {rel:.2e} relative to the terms' size {scale:.3g})")
    return bool(err[i] <= rtol * scale + atol), msg


def _summands(term: Term, limit: int = 256) -> "list[Term]":
    """The terms a step adds up: sums and indexed sums expanded, a product distributed over its one sum factor."""
    if isinstance(term, Brace):
        return _summands(term.body, limit)
    if isinstance(term, SumOver):
        return _summands(term.expand_indexed(), limit)
    if isinstance(term, Sum):
        out = []
        for t in term.terms:
            out.extend(_summands(t, limit))
            if len(out) > limit:
                return [term]
        return out
    if isinstance(term, Prod):
        idx = [i for i, f in enumerate(term.factors) if isinstance(f, (Sum, SumOver, Brace))]
        if len(idx) == 1:
            i = idx[0]
            inner = _summands(term.factors[i], limit)
            if 1 < len(inner) <= limit:
                return [Prod(term.factors[:i] + (t,) + term.factors[i + 1:]) for t in inner]
    return [term]


def term_scale(ev: Evaluator, rhs: Term, lhs: Term, got) -> float:
    """The size of the terms of a step: max |entry| over the values of its summands (and of the step itself)."""
    scale = 0.0 if got is None else float(np.max(np.abs(got), initial=0.0))
    parts = _summands(rhs)
    if len(parts) > 1:
        for t in parts:
            v = _value(ev, t, lhs)
            if v is not None:
                scale = max(scale, float(np.max(np.abs(v), initial=0.0)))
    return scale


def _check_exact(canon: Canon, der: Derivation, lhs: Term, rhs: Term, i: int, where: str, graph: Graph):
    """Exact: path sums in the free algebra; a formula against a local Jacobian element by element;
    a step mixing both has its formulas lowered to the derivatives they equal (`derive.step.lower`)."""
    t0 = time.perf_counter()
    if is_algebra(lhs) and is_algebra(rhs):
        diff, how = canon.compare(lhs, rhs)
        detail = how if not diff else "; ".join(diff)
        return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0)
    if isinstance(lhs, D) and not any(isinstance(t, D) for t in rhs.walk()):
        local = _local_canon(canon, graph, lhs)
        if local is not None:
            return _check_local(local, der, lhs, rhs, i, where, graph, t0)
    try:
        a, b = lower(lhs, graph, canon.view), lower(rhs, graph, canon.view)
    except TooLarge:
        raise
    except NotSupported as exc:
        return CheckResult(der.id, i, "exact", False, f"cannot check: {exc}", where, time.perf_counter() - t0)
    diff, how = canon.compare(a, b)
    detail = f"{how}, each formula proved equal to a one-step Jacobian" if not diff else "; ".join(diff)
    return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0)


def _local_canon(canon: Canon, graph: Graph, lhs: D) -> "Canon | None":
    """A Canon in which ∂f/∂x is a local Jacobian (explicit, or total with no path through another
    kept variable), or None.  ∂s_j/∂a_j with a_j folded in the derivation's view is still local: the
    check then keeps f and x as variables (a total derivative does not depend on the view)."""
    f, x = graph.node(lhs.f), graph.node(lhs.x)
    if lhs.explicit or _is_local(canon, graph, lhs):
        return canon
    if x in graph.nodes[f].parents and not (canon.view.is_variable(f) and canon.view.is_variable(x)):
        keep = tuple(dict.fromkeys(tuple(canon.view.keep) + (f.name, x.name)))
        wider = Canon(graph, graph.view(list(keep)))
        if _is_local(wider, graph, lhs):
            return wider
    return None


# -- underbrace labels ------------------------------------------------------------------
# "explicit" and "implicit" (CS7015 Lecture 14, Module 14.3: ∂s_4/∂W = ∂⁺s_4/∂W (explicit)
# + ∂s_4/∂s_3 ∂s_3/∂W (implicit)) say which paths a term holds: an explicit term's paths
# pass through no other variable of the ordered network, an implicit term's paths each pass
# through at least one.  Other labels are descriptions and are not checked.
LABEL_KINDS = ("explicit", "implicit")


def _label_kind(label: str) -> "str | None":
    head = label.strip().lower()
    for kind in LABEL_KINDS:
        if head == kind or head.startswith(kind + ":") or head.startswith(kind + " "):
            return kind
    return None


def _check_labels(canon: Canon, der: Derivation, rhs: Term, i: int, where: str) -> "list[CheckResult]":
    """One check per distinct "explicit"/"implicit" underbrace of a step: the kinds of paths it holds."""
    out, seen = [], set()
    for b in _braces(rhs):
        if (b.body, b.label) in seen:
            continue
        seen.add((b.body, b.label))
        want = _label_kind(b.label)
        if want is None:
            continue
        t0 = time.perf_counter()
        kinds = _path_kinds(canon, b.body, {})
        if kinds is None:
            out.append(CheckResult(der.id, i, "skipped", True, f"the label {b.label!r} of {b.body} is not checked: "
                                   "it is not a term of derivatives (write the formula as ∂⁺ to check it)", where))
            continue
        ok = kinds == {want}
        got = "no path at all" if not kinds else " and ".join(sorted(kinds)) + " paths"
        detail = f"{b.body} labelled {b.label!r}: it holds {got}"
        out.append(CheckResult(der.id, i, "label", ok, detail, where, time.perf_counter() - t0))
    return out


def _braces(term: Term) -> "list[Brace]":
    """The underbraces of a term in `Term.walk` order, skipping sub-terms that hold none (cached on
    each term, so the many lines of a recursive expansion that share their terms cost their length)."""
    out: list = []

    def visit(t):
        if isinstance(t, Brace):
            out.append(t)
        for c in t.children():
            if _has_brace(c):
                visit(c)

    if _has_brace(term):
        visit(term)
    return out


def _has_brace(term: Term) -> bool:
    hit = term.__dict__.get("_has_brace_")
    if hit is None:
        hit = isinstance(term, Brace) or any(_has_brace(c) for c in term.children())
        object.__setattr__(term, "_has_brace_", hit)
    return hit


def _ends(term):
    """(f, x) of a derivative term, or None when its terms do not share their ends."""
    if isinstance(term, Brace):
        return _ends(term.body)
    if isinstance(term, D):
        return (term.f, term.x)
    if isinstance(term, Prod) and term.factors:
        first, last = _ends(term.factors[0]), _ends(term.factors[-1])
        return None if first is None or last is None else (first[0], last[1])
    if isinstance(term, Sum) and term.terms:
        ends = {_ends(t) for t in term.terms}
        return ends.pop() if len(ends) == 1 else None
    return None


def _path_kinds(canon: Canon, term: Term, memo: dict) -> "set | None":
    """The kinds of the paths a term of derivatives holds ({"explicit"}, {"implicit"}, both, or none),
    without listing them: a product whose factors meet at a variable is implicit."""
    hit = memo.get(term)
    if hit is not None or term in memo:
        return hit
    term = term.expand_indexed()
    g, view = canon.graph, canon.view
    if isinstance(term, Brace):
        out = _path_kinds(canon, term.body, memo)
    elif isinstance(term, Zero):
        out = set()
    elif isinstance(term, D):
        f, x = g.node(term.f), g.node(term.x)
        explicit = canon.explicit(f, x)
        out = {"explicit"} if explicit else set()
        if not term.explicit and canon.has_implicit(f, x):
            out.add("implicit")
    elif isinstance(term, Sum):
        parts = [_path_kinds(canon, t, memo) for t in term.terms]
        out = None if any(p is None for p in parts) else set().union(*parts)
    elif isinstance(term, Prod):
        parts = [_path_kinds(canon, t, memo) for t in term.factors]
        if any(p is None for p in parts):
            out = None
        elif any(not p for p in parts):
            out = set()
        else:
            out = {"explicit"} if all("explicit" in p for p in parts) else set()
            if any("implicit" in p for p in parts):
                out.add("implicit")
            for left, right in zip(term.factors[:-1], term.factors[1:]):
                ends = _ends(left)
                if ends is None:
                    return None
                meet = g.node(ends[1])
                if _ends(right) is not None and g.nodes[meet].kind in ("node", "total") and view.is_variable(meet) \
                        and meet != g.node(ends[0]):
                    out = {"implicit"}  # every path of the product passes through the variable they meet at
                    break
    else:
        out = None
    memo[term] = out
    return out


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
    first = None
    # The step's own symbols first; then with s = σ(a) where the step names s (σ' = σ(1 − σ),
    # tanh' = 1 − tanh²); then with all its equations substituted.
    for expand in (False, "activations", True):
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
            if expand == "activations":
                detail += ", with the activations' outputs substituted (σ' written through σ)"
            elif expand:
                detail += ", with the step's equations substituted"
            return CheckResult(der.id, i, "symbolic", True, detail, where, time.perf_counter() - t0)
        if expand == "activations" and st.expand:
            first = (bad, textbook(J[bad]), R[bad])
        elif first is None:
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
           numeric: bool = True, fd: bool = True, max_fd_T: int = 12, alive_paths: bool = True) -> Report:
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
                    report.results.extend(_check_labels(canon, der, rhs, i, where))
                except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check
                    report.results.append(CheckResult(der.id, i, "label", False,
                                                      f"cannot check the labels: {type(exc).__name__}: {exc}", where))
                try:
                    report.results.append(_check_exact(canon, der, lhs, rhs, i, where, g))
                except TooLarge as exc:
                    report.results.append(CheckResult(der.id, i, "skipped", True, f"{BUDGET_NOTE} ({exc})", where))
                    canon = Canon(g, canon.view)   # the spent one may hold half-done sweeps
                except DeriveError as exc:
                    report.results.append(CheckResult(der.id, i, "exact", False, f"cannot check: {exc}", where))
                except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check, never a crash
                    report.results.append(CheckResult(der.id, i, "exact", False,
                                                      f"cannot check: {type(exc).__name__}: {exc}", where))
        if not numeric:
            continue
        for size in sizes:
            g = unrolled(der.cell, T, size)
            view = g.view(list(der.keep) if der.keep else None)
            for seed in seeds:
                ev = Evaluator(g, Instance.random(g, seed), view)
                where = f"({bind}, {_fmt(size)}, seed {seed})"
                report.results.extend(_check_numeric(ev, der, lhs, steps, where, fd, T <= max_fd_T, False))
            if alive_paths:
                where = f"({bind}, {_fmt(size)}, alive-path instance, seed {seeds[0]})"
                try:
                    ev = Evaluator(g, alive(g, seeds[0]), view)
                except DeriveError as exc:
                    report.results.append(CheckResult(der.id, 0, "numeric-fd", False,
                                                      f"no alive-path instance: {exc}", where))
                    continue
                where = f"({bind}, {_fmt(size)}, {ev.instance.describe()})"
                report.results.extend(_check_numeric(ev, der, lhs, steps, where, fd, T <= max_fd_T, True))
    _undecided(report, der)
    return report


BUDGET_NOTE = "exact: not applicable (size budget), decided by independent numeric proof"
INDEPENDENT = ("numeric-fd", "numeric-directional", "numeric-reference")


def _undecided(report: Report, der: Derivation) -> None:
    """A step whose exact proof exceeded its budget is decided by the independent numeric checks; with
    none that passed (numeric checks off, or only skipped ones), it is undecided: a failure, never a pass."""
    for r in list(report.results):
        if r.derivation != der.id or r.method != "skipped" or not r.detail.startswith(BUDGET_NOTE):
            continue
        if not any(o.derivation == der.id and o.step == r.step and o.method in INDEPENDENT and o.passed
                   for o in report.results):
            report.results.append(CheckResult(der.id, r.step, "exact", False,
                                              "exact: not applicable (size budget) and no independent numeric "
                                              "proof of this step ran: undecided", r.where))


def _fmt(size: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in size.items())


FD_NOISE = 1e-9     # absolute noise floor of central differences, per unit of max(1, |f|) (eps = 1e-5)
DEGENERATE = 1e3    # terms within a factor 1e3 of that floor: the instance cannot tell paths apart
N_DIRECTIONS = 3    # random directions for the directional differences beyond max_fd_T


def _check_numeric(ev: Evaluator, der: Derivation, lhs: Term, steps, where: str, fd: bool, full_fd: bool,
                   alive_instance: bool):
    """Each step against an independent reference on one instance.

    References: the full Jacobian by central differences (T <= max_fd_T), the
    Jacobian applied to a few seeded random directions against two forward
    passes each (any T), finite differences by intervention for an explicit
    ∂⁺ (the other parents held), and the NumPy BPTT for the total loss.  The
    tolerance is relative to the size of the step's terms (`term_scale`), plus
    the differences' noise floor; an instance on which every term is below that
    floor is degenerate: a failure on an alive-path instance, a skipped check
    (not evidence) on a random one.
    """
    out = []
    if not isinstance(lhs, D):
        raise DeriveError(f"{der.id}: the left-hand side must be one derivative, got {lhs}")
    f, x = ev.graph.node(lhs.f), ev.graph.node(lhs.x)
    noise = FD_NOISE * max(1.0, float(np.max(np.abs(ev.values[f]))))
    reference, against, method, directions = None, "", "numeric-fd", None
    if fd and lhs.explicit:
        reference, against = ev.explicit_difference(f, x), "finite differences (explicit: other parents held)"
    elif fd and full_fd:
        reference, against = ev.finite_difference(f, x), "finite differences"
    elif fd:
        rng = np.random.default_rng(zlib.crc32(f"{f} {x} {where}".encode()))  # fixed, per check
        directions = rng.standard_normal((ev.graph.size(x), N_DIRECTIONS))
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        reference = np.stack([ev.directional_difference(f, x, directions[:, i]) for i in range(N_DIRECTIONS)], axis=1)
        against, method = f"directional differences ({N_DIRECTIONS} random directions)", "numeric-directional"
    ref_values = _reference_gradient(ev, f, x)
    for i, rhs in enumerate(steps):
        t1 = time.perf_counter()
        try:
            got = _value(ev, rhs, lhs)
            scale = term_scale(ev, rhs, lhs, got)
        except DeriveError as exc:
            out.append(CheckResult(der.id, i, method, False, f"the step cannot be evaluated: {exc}", where))
            continue
        except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check, never a crash
            out.append(CheckResult(der.id, i, method, False,
                                   f"the step cannot be evaluated: {type(exc).__name__}: {exc}", where))
            continue
        if got is not None:
            got = np.asarray(got, dtype=float)
        if reference is not None:
            want = reference
            if directions is not None and got is not None:
                if got.ndim != 2 or got.shape[1] != directions.shape[0]:
                    out.append(CheckResult(der.id, i, method, False, f"the step is {got.shape[0]}x"
                                           f"{got.shape[1] if got.ndim > 1 else 1}, but {lhs} is "
                                           f"{ev.graph.size(f)}x{ev.graph.size(x)}", where))
                    continue
                got_d = got @ directions
            else:
                got_d = None if got is None else got
            want_scale = float(np.max(np.abs(want), initial=0.0))
            sc = max(scale, want_scale)
            if 0.0 < sc <= DEGENERATE * noise:
                detail = (f"degenerate instance: every term is below {DEGENERATE * noise:.1e} (largest {sc:.1e}), "
                          f"so {against} cannot tell paths apart")
                out.append(CheckResult(der.id, i, method if alive_instance else "skipped", not alive_instance,
                                       detail, where, time.perf_counter() - t1))
            else:
                ok, msg = compare(got_d, want, rtol=RTOL_FD, what="the step" + (" · v" if directions is not None
                                                                                  else ""),
                                  against=against, scale=sc if sc > 0 else 1.0, atol=noise)
                out.append(CheckResult(der.id, i, method, ok, msg, where, time.perf_counter() - t1))
        if ref_values is not None:
            sc = max(scale, float(np.max(np.abs(ref_values), initial=0.0)))
            ok, msg = compare(got, ref_values, rtol=RTOL_EXACT, what="the step", against="the NumPy BPTT",
                              scale=sc if sc > 0 else 1.0, atol=1e-13)
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
