"""Checking derivations: exactly where the sizes allow, numerically always.

For every step of a derivation (lhs = rhs) and every binding of its indices:

- **exact** (any T): both sides reduced to canonical path sums in the free
  algebra of edge Jacobians (`derive.prove.canon`) must be equal; a step written as a
  local formula (diag(σ'(a_j)) W ...) is compared with SymPy's element-level
  Jacobian entry by entry (`derive.prove.structure`); a proof past its size budget
  (`derive.prove.canon.WORD_BUDGET`) is reported as not applicable and the step is
  decided by the independent numeric checks, or is undecided (a failure);
- **numeric** (seeded instances, several sizes, float64): the step evaluated
  from the lambdified symbolic Jacobians must match central finite differences
  of the forward pass, and, for the gradient of the total loss of a cell that
  ships a NumPy BPTT reference, that reference.

A failed check names the derivation, the step, the instance and the entry,
with both values.
"""

from __future__ import annotations

import itertools
import time
import zlib
import numpy as np
import sympy as sp

from derive.terms import Brace, D, Prod, Sum, SumOver, Term, Zero, is_algebra
from derive.prove.canon import Canon
from derive.errors import DeriveError, NotSupported
from derive.prove.expand import Derivation
from derive.model.graph import Graph
from derive.numeric.instances import alive
from derive.numeric.evaluator import Evaluator, Instance, unrolled
from derive.prove.step import StepSymbols, is_zero, lower, textbook
from derive.checks.results import CheckResult, Counterexample, Report, compare
from derive.model.graph import NodeRef
from derive.prove.local import _flat
from derive.numeric.evaluator import Numbers
from derive.terms import GradientLayout, ParamCount
from derive.prove.canon import TooLarge

__all__ = ["CheckResult", "Counterexample", "Report", "verify", "default_sizes", "compare", "RTOL_FD", "RTOL_EXACT"]

RTOL_FD = 1e-6      # central differences, eps = 1e-5, float64 (MEASUREMENTS.md: ~1e-10 typical)
RTOL_EXACT = 1e-9   # two exact computations in float64
PATH_SUMS = "canonical path sums in the free algebra"
LOCAL_JACOBIAN = "SymPy's element-level local Jacobian"


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


def summands(term: Term, limit: int = 256) -> "list[Term]":
    """The terms a step adds up: sums and indexed sums expanded, a product distributed over its one sum factor."""
    if isinstance(term, Brace):
        return summands(term.body, limit)
    if isinstance(term, SumOver):
        return summands(term.expand_indexed(), limit)
    if isinstance(term, Sum):
        out = []
        for t in term.terms:
            out.extend(summands(t, limit))
            if len(out) > limit:
                return [term]
        return out
    if isinstance(term, Prod):
        idx = [i for i, f in enumerate(term.factors) if isinstance(f, (Sum, SumOver, Brace))]
        if len(idx) == 1:
            i = idx[0]
            inner = summands(term.factors[i], limit)
            if 1 < len(inner) <= limit:
                return [Prod(term.factors[:i] + (t,) + term.factors[i + 1:]) for t in inner]
    return [term]


_summands = summands


def term_scale(ev: Evaluator, rhs: Term, lhs: Term, got) -> float:
    """The size of the terms of a step: max |entry| over the values of its summands (and of the step itself)."""
    scale = 0.0 if got is None else float(np.max(np.abs(got), initial=0.0))
    parts = summands(rhs)
    if len(parts) > 1:
        for t in parts:
            v = _value(ev, t, lhs)
            if v is not None:
                scale = max(scale, float(np.max(np.abs(v), initial=0.0)))
    return scale


def _check_exact(canon: Canon, der: Derivation, lhs: Term, rhs: Term, i: int, where: str, graph: Graph):
    """Exact: path sums in the free algebra; a formula against a local Jacobian element by element;
    a step mixing both has its formulas lowered to the derivatives they equal (`derive.prove.step.lower`)."""
    t0 = time.perf_counter()
    if is_algebra(lhs) and is_algebra(rhs):
        diff, how = canon.compare(lhs, rhs)
        detail = how if not diff else "; ".join(diff)
        return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0,
                           reference=PATH_SUMS)
    if isinstance(lhs, D) and not any(isinstance(t, D) for t in rhs.walk()):
        local = _local_canon(canon, graph, lhs)
        if local is not None:
            return _check_local(local, der, lhs, rhs, i, where, graph, t0)
    try:
        a, b = (lower(jacobian_layout(x), graph, canon.view) for x in (lhs, rhs))
    except TooLarge:
        raise
    except NotSupported as exc:
        return CheckResult(der.id, i, "exact", False, f"cannot check: {exc}", where, time.perf_counter() - t0)
    diff, how = canon.compare(a, b)
    detail = f"{how}, each formula proved equal to a one-step Jacobian" if not diff else "; ".join(diff)
    return CheckResult(der.id, i, "exact", not diff, detail, where, time.perf_counter() - t0, reference=PATH_SUMS)


def jacobian_layout(term: Term) -> Term:
    """``term`` with every `derive.terms.GradientLayout` (∂L/∂W stored like W) written back in the
    Jacobian layout, so that the outer products students accumulate are proved in the free algebra."""
    if isinstance(term, GradientLayout):
        return term.jacobian_layout()
    if isinstance(term, (Prod, Sum, SumOver, Brace)):
        return term.map(jacobian_layout)
    return term


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
            return CheckResult(der.id, i, "symbolic", True, detail, where, time.perf_counter() - t0,
                               reference=LOCAL_JACOBIAN)
        if expand == "activations" and st.expand:
            first = (bad, textbook(J[bad]), R[bad])
        elif first is None:
            first = (bad, J[bad], R[bad])
    if _holds_for_every_label(StepSymbols(graph, canon.view, f.t, expand=False), D(f, x, True), rhs):
        return CheckResult(der.id, i, "symbolic", True, detail + ", with the folded nodes substituted, for every "
                           "one-hot label (each class c)", where, time.perf_counter() - t0)
    (r, c), j, got = first
    return CheckResult(der.id, i, "symbolic", False, f"entry ({r}, {c}): SymPy gives {j}, the formula gives {got}",
                       where, time.perf_counter() - t0, reference=LOCAL_JACOBIAN)


MAX_LABEL_CASES = 64


def _holds_for_every_label(st: StepSymbols, lhs: D, rhs: Term) -> bool:
    """∂⁺f/∂x = rhs entry by entry once each label of the step is a one-hot vector, for every class.

    A label is one-hot by definition (`derive.Cell.label`: e_{c_t}), so an identity that
    needs 1ᵀe_t = 1, such as ∂L_t/∂o_t = ŷ_t − e_t for the softmax–cross-entropy loss, is
    exact when it holds for each class c.  The nodes folded in the view (ŷ_t between L_t and
    o_t) are replaced by their equations; the kept ones stay symbols, as the explicit
    derivative holds them.  Never tried on a step without labels.
    """
    g, tau = st.graph, st.tau
    labels = [NodeRef(sym.name, tau) for sym in g.cell.of_role("label") if NodeRef(sym.name, tau) in g.nodes]
    if not labels:
        return False
    try:
        J, R = st.value(lhs), st.value(rhs)
    except NotSupported:
        return False
    if J.shape != R.shape:
        return False
    folded: dict = {}
    for name in g.cell.nodes:  # in evaluation order, so each equation is written in kept nodes and leaves
        if not st.view.is_variable(NodeRef(name, tau)):
            folded.update(zip(_flat(st.local.env[(name, 0)]), st.local.lowered(name).xreplace(folded)))
    J, R = J.xreplace(folded), R.xreplace(folded)
    free = J.free_symbols | R.free_symbols
    vectors = [v for v in (list(st.node(r)) for r in labels) if set(v) & free]
    cases = 1
    for v in vectors:
        cases *= len(v)
    if not vectors or cases > MAX_LABEL_CASES:
        return False
    for classes in itertools.product(*[range(len(v)) for v in vectors]):
        one_hot = {sym: int(n == c) for v, c in zip(vectors, classes) for n, sym in enumerate(v)}
        Jc, Rc = J.xreplace(one_hot), R.xreplace(one_hot)
        if any(not _is_zero_exp(Jc[r, c] - Rc[r, c]) for r in range(J.rows) for c in range(J.cols)):
            return False
    return True


def _is_zero_exp(expr) -> bool:
    """`derive.prove.step.is_zero`, with a fast proof first: every symbol v written log(z_v), z_v > 0, so that
    exponentials (softmax) become powers and the difference a rational function that cancels to 0."""
    e = sp.sympify(expr).rewrite("elementary")
    if e == 0:
        return True
    logs = {v: sp.log(sp.Dummy(positive=True)) for v in sorted(e.free_symbols, key=str)}
    try:
        if sp.cancel(e.xreplace(logs)) == 0:
            return True
    except (sp.PolynomialError, TypeError, ValueError):  # pragma: no cover - not a rational function
        pass
    return is_zero(expr)


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
    if isinstance(der.lhs, ParamCount):
        return _check_count(der, sizes, exact, numeric)
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
                where = f"({bind}, {_fmt(size)}, seed {seed})"
                report.results.extend(_guarded_numeric(lambda: _check_numeric(
                    Evaluator(g, Instance.random(g, seed), view), der, lhs, steps, where, fd, T <= max_fd_T, False),
                    der, steps, where))
            if alive_paths:
                where = f"({bind}, {_fmt(size)}, alive-path instance, seed {seeds[0]})"
                try:
                    ev = Evaluator(g, alive(g, seeds[0]), view)
                except DeriveError as exc:
                    report.results.append(CheckResult(der.id, 0, "numeric-fd", False,
                                                      f"no alive-path instance: {exc}", where))
                    continue
                where = f"({bind}, {_fmt(size)}, {ev.instance.describe()})"
                report.results.extend(_guarded_numeric(lambda: _check_numeric(
                    ev, der, lhs, steps, where, fd, T <= max_fd_T, True), der, steps, where))
    _undecided(report, der)
    return report


def _guarded_numeric(run, der: Derivation, steps, where: str) -> "list[CheckResult]":
    """The numeric checks of one instance; an exception in building the instance or its reference (finite
    differences, the NumPy BPTT) fails every step's numeric check with its reason, never crashes `verify`."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check, never a crash
        reason = f"cannot check numerically: {type(exc).__name__}: {exc}"
        return [CheckResult(der.id, i, "numeric-fd", False, reason, where) for i in range(len(steps))]


def _check_count(der: Derivation, sizes, exact: bool, numeric: bool) -> Report:
    """|θ| = a polynomial in the cell's dimensions: exactly, the sum of the products of the parameters'
    declared shapes against the formula (SymPy, expanded); numerically, on each size, the entries of the
    parameters' arrays of a seeded instance against the formula's value."""
    report, cell = Report(), der.cell
    dims = ", ".join(map(str, cell.dims))
    for i, step in enumerate(der.steps):
        t0 = time.perf_counter()
        if exact:
            try:
                want, got = sp.expand(der.lhs.polynomial(cell)), sp.expand(step.rhs.polynomial(cell))
                ok = sp.expand(want - got) == 0
                detail = f"the shapes give {want}, the formula {got}" + ("" if ok else f": they differ by {want - got}")
            except (DeriveError, AttributeError) as exc:
                ok, detail = False, f"cannot check: {exc}"
            report.results.append(CheckResult(der.id, i, "exact", ok, detail, f"(in {dims})",
                                              time.perf_counter() - t0))
        for size in sizes if numeric else ():
            g = unrolled(cell, 1, size)
            ctx = Numbers(Evaluator(g, Instance.random(g, 0)))
            try:
                want, got = der.lhs.numeric(ctx), step.rhs.numeric(ctx)
                ok, detail = got == want, f"the parameters have {want:.0f} entries, the formula gives {got:.0f}"
            except (DeriveError, AttributeError) as exc:
                ok, detail = False, f"cannot evaluate: {exc}"
            report.results.append(CheckResult(der.id, i, "numeric-count", ok, detail, f"({_fmt(size)})"))
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
        reference = ev.directional_difference(f, x, directions)   # size of f x N_DIRECTIONS, one batched pass
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
                cmp = compare(got_d, want, rtol=RTOL_FD, what="the step" + (" · v" if directions is not None else ""),
                              against=against, scale=sc if sc > 0 else 1.0, atol=noise)
                out.append(CheckResult(der.id, i, method, cmp.passed, cmp.detail, where, time.perf_counter() - t1,
                                       reference=against, counterexample=_counterexample(cmp, got_d, want, where)))
        if ref_values is not None:
            sc = max(scale, float(np.max(np.abs(ref_values), initial=0.0)))
            cmp = compare(got, ref_values, rtol=RTOL_EXACT, what="the step", against="the NumPy BPTT",
                          scale=sc if sc > 0 else 1.0, atol=1e-13)
            out.append(CheckResult(der.id, i, "numeric-reference", cmp.passed, cmp.detail, where,
                                   time.perf_counter() - t1, reference="the NumPy BPTT",
                                   counterexample=_counterexample(cmp, got, ref_values, where)))
    return out


def _counterexample(cmp, got, want, where: str) -> "Counterexample | None":
    """A failed comparison as the one counterexample type: the instance, both values, the worst entry."""
    if cmp.passed:
        return None
    return Counterexample({"instance": where}, got, want, cmp.entry, cmp.error, cmp.detail, cmp.relative)


def _reference_gradient(ev: Evaluator, f, x):
    """The NumPy BPTT gradient ∂L/∂θ (1 x size) when the cell ships a reference and f is the total loss."""
    ref = getattr(ev.graph.cell, "reference", None)
    if ref is None or ev.graph.nodes[f].kind != "total" or ev.graph.nodes[x].kind not in ("param", "init"):
        return None
    def run():   # one BPTT per instance, shared by every derivation checked on it: read-only
        out = {}
        for key, value in ref(ev.graph, ev.instance).items():
            out[key] = np.array(value, dtype=np.float64)
            out[key].flags.writeable = False
        return out

    grads = ev.shared("reference gradients", run)
    g = grads.get(x)
    return None if g is None else np.ravel(g)[None, :]
