"""One step τ of the unrolled graph in SymPy: the exact meaning of formulas, and lowering them to derivatives.

`StepSymbols` gives every term that lives at one step its SymPy matrix in the
element symbols of the step's leaves: nodes at step τ are replaced by their
equations (a_τ becomes W s_{τ−1} + U x_τ + b), leaves of step τ keep their
symbols, and any other value (x_{τ−1}) gets fresh symbols, so a formula that
needs it cannot equal a one-step Jacobian unless it cancels.

`lower` rewrites the formulas of a derivation step (diag(σ'(a_j)) W, f_t, ...)
as the explicit derivatives they equal, each equality proved here element by
element, so the step can then be proved exactly in the free algebra of path
sums (`derive.prove.canon`).  The lecture's ∂s_t/∂s_k = Π_{j=k+1}^{t} diag(σ'(a_j)) W
(CS7015 Lecture 14, Module 14.4) is proved this way.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.model import activations, ir
from .canon import Canon
from derive.errors import NotSupported
from derive.model.graph import Graph, NodeRef, View
from .local import _flat, element_symbols
from derive.prove.local import local_jacobians
from .structure import symbolic_explicit
from derive.terms import ALGEBRA, D, Prod, Term, Value

__all__ = ["StepSymbols", "NotLocal", "symbolic_equal", "is_zero", "lower", "textbook"]


class NotLocal(NotSupported):
    """A term with a derivative across steps, or a value not of this step: no one-step SymPy form."""


class StepSymbols:
    """SymPy matrices for the terms of one step τ, in the element symbols of its leaves.

    ``expand=False`` keeps the step's nodes as symbols of their own (a_τ stays a_τ):
    cheaper, and enough when both sides are written in the same nodes.
    ``expand="activations"`` replaces only the outputs of activations by what they
    are (s_τ = σ(a_τ), f_τ = σ(W_f h_{τ−1} + ...)), so a textbook σ' written
    through the output, s ⊙ (1 − s) or 1 − s ⊙ s, meets SymPy's σ'(a)
    (σ' = σ(1 − σ), tanh' = 1 − tanh², `derive.model.activations`).
    """

    def __init__(self, graph: Graph, view: View, tau: int, act: "activations.Activation | str | None" = None,
                 expand: "bool | str" = True):
        self.graph, self.view, self.tau = graph, view, tau
        self.act = activations.get(act) if act is not None else None
        self.local = local_jacobians(graph)
        self.expand: dict = {}
        if expand == "activations":
            for name in graph.cell.nodes:
                if isinstance(graph.cell.equations[name], ir.Apply):
                    self.expand.update(zip(_flat(self.local.env[(name, 0)]), self.local.lowered(name)))
        else:
            for name in graph.cell.nodes if expand else ():
                lowered = self.local.lowered(name).xreplace(self.expand)
                self.expand.update(zip(_flat(self.local.env[(name, 0)]), lowered))
        self.canon = Canon(graph, view)

    def value(self, term) -> sp.Matrix:
        """The SymPy matrix of ``term``; `NotLocal` if it has none at this step."""
        try:
            return term.symbolic(self) if isinstance(term, Term) else self.node(term)
        except NotLocal:
            raise
        except NotSupported as exc:
            raise NotLocal(str(exc)) from None

    # -- what the terms ask for ------------------------------------------------------------
    def activation(self) -> activations.Activation:
        if self.act is None:
            raise NotSupported("σ without an activation: say which (Prime(x, 'tanh')) or give the cell's")
        return self.act

    def derivative(self, term: D) -> sp.Matrix:
        g = self.graph
        f, x = g.node(term.f), g.node(term.x)
        if f.t != self.tau or (not term.explicit and self.canon.paths(f, x) != self.canon.explicit(f, x)):
            raise NotLocal(f"{term} is not a derivative within step {self.tau}")
        return symbolic_explicit(g, self.view, f, x, self.local).xreplace(self.expand)

    def node(self, ref, outside: str = "error") -> sp.Matrix:
        if not isinstance(ref, NodeRef):
            raise NotLocal(f"{ref!r} is not a node")
        g = self.graph
        if ref.name not in g.cell.symbols:
            g.node(ref)  # raises UnknownName listing the graph's nodes
        sym = g.cell.symbols[ref.name]
        if ref.t is None:
            if sym.role != "param":
                raise NotLocal(f"{ref} (a total over all steps)")
            return self.local.env[(ref.name, 0)]
        lag = self.tau - ref.t
        if ref not in g.nodes and outside == "zero":
            return sp.zeros(int(g.shape_of(sym.shape)[0]), 1)
        g.node(ref)
        key = (ref.name, lag)
        if key in self.local.env:  # a leaf of step τ, or a node of step τ (replaced by its equation)
            return self.local.env[key].xreplace(self.expand)
        return element_symbols(f"{ref.name}_at{ref.t}", 0, g.shape_of(sym.shape))


def symbolic_equal(a: sp.Matrix, b: sp.Matrix, *, detail: bool = True) -> "tuple[bool, str]":
    """Element by element, exactly; the detail names the first entry that differs (``detail=False``: no
    detail, for a caller that only wants the answer: printing the entries costs more than comparing them)."""
    if a.shape != b.shape:
        return False, f"the left side is {a.shape[0]}x{a.shape[1]}, the right side {b.shape[0]}x{b.shape[1]}"

    def differ(r, c):
        return False, (f"entry ({r}, {c}): left {a[r, c]}, right {b[r, c]}" if detail else "")

    for r in range(a.rows):  # a cheap screen first: an entry visibly different at a rational point
        for c in range(a.cols):
            if _visibly_nonzero(a[r, c] - b[r, c]):
                return differ(r, c)
    for r in range(a.rows):
        for c in range(a.cols):
            if not is_zero(a[r, c] - b[r, c], screened=True):
                return differ(r, c)
    return True, "equal element by element"


def _visibly_nonzero(expr, tries: int = 2) -> bool:
    """expr is not 0 at some rational point (a proof that it is not identically 0).

    The point's coordinates are binary fractions (floats, so exact rationals) near k/997; SymPy's evalf
    gives the value there to 15 significant digits, raising its working precision through cancellations,
    so a value above 1e-8 is a non-zero (the entries here are O(1) at such points).  A value the double
    precision look cannot place, not a finite number, is evaluated again at the rational point to 30 digits."""
    if expr == 0:
        return False
    e = sp.sympify(expr).rewrite("elementary")
    symbols = sorted(e.free_symbols, key=str)
    rng = np.random.default_rng(0)
    for _ in range(tries):
        point = {x: sp.Rational(int(rng.integers(-900, 900)), 997) for x in symbols}
        v = e.xreplace({x: sp.Float(float(p), 15) for x, p in point.items()}).evalf(15)
        if v.is_number and v.is_finite:
            if abs(v) > 1e-8:
                return True
            continue
        v = sp.N(e.xreplace(point), 30)
        if not v.is_number or abs(v) > 1e-20:
            return True
    return False


def textbook(expr):
    """σ'(z) written through the output, as the rule table does (σ(z)(1 − σ(z)), 1 − tanh(z)²): for messages."""
    return expr.replace(lambda e: isinstance(e, activations.ActivationPrime),
                        lambda e: e.activation.prime(e.args[0], e.activation.function(e.args[0])))


def is_zero(expr, *, screened: bool = False) -> bool:
    """expr == 0 identically: expanded to 0, or simplified to 0 after a numeric screen.

    A difference that is visibly non-zero at a random point (30 digits) is
    rejected at once; SymPy's simplify, slow on sums of tanh, is only asked
    to prove the zeros.  ``screened``: the caller has just run that screen.
    """
    if not screened and _visibly_nonzero(expr):
        return False
    e = sp.expand(expr)
    if e == 0:
        return True
    return sp.simplify(e.rewrite("elementary")) == 0


# ---------------------------------------------------------------------------
# Lowering: a formula factor becomes the explicit derivative it equals.
# ---------------------------------------------------------------------------
class _Lowering:
    def __init__(self, graph: Graph, view: View, act):
        self.graph, self.view, self.act = graph, view, act
        self.steps: dict = {}
        self.found: dict = {}

    def _step(self, tau: int) -> StepSymbols:
        if tau not in self.steps:
            self.steps[tau] = StepSymbols(self.graph, self.view, tau, self.act)
        return self.steps[tau]

    def candidates(self, tau: int, rows: int, cols: int):
        g, canon = self.graph, self._step(tau).canon
        for f, info in g.nodes.items():
            if f.t != tau or info.kind != "node" or g.size(f) != rows:
                continue
            for x in g.nodes:
                if x != f and g.size(x) == cols and canon.explicit(f, x):
                    yield D(f, x, True)

    def match(self, formula: Term, tau_hint=None) -> "D | None":
        """The explicit derivative equal to ``formula`` at its step (proved element by element), or None."""
        times = {t for t in formula.times() if isinstance(t, int)}
        if any(not isinstance(t, int) for t in formula.times()):
            return None
        taus = [max(times)] if times else ([tau_hint] if tau_hint is not None else [])
        for tau in taus:
            key = (formula, tau)
            if key in self.found:
                return self.found[key]
            st = self._step(tau)
            try:
                M = st.value(formula)
            except NotSupported:
                self.found[key] = None
                continue
            hit = None
            for cand in self.candidates(tau, M.rows, M.cols):
                try:
                    J = st.value(cand)
                except NotSupported:
                    continue
                if symbolic_equal(J, M, detail=False)[0]:
                    hit = cand
                    break
            self.found[key] = hit
            if hit is not None:
                return hit
        return None

    def lower(self, term):
        if isinstance(term, Prod):
            return self._product(term)
        if isinstance(term, ALGEBRA):
            return term.map(self.lower)
        return self._whole(term)

    def _whole(self, term):
        hit = self.match(term) if isinstance(term, Term) else None
        if hit is None:
            raise NotSupported(f"the formula {term} equals no explicit derivative of one step")
        return hit

    def _product(self, p: Prod):
        factors = list(p.factors)
        out, i = [], 0
        hint = max((t for f in factors if isinstance(f, Term) for t in f.times() if isinstance(t, int)), default=None)
        while i < len(factors):
            if isinstance(factors[i], ALGEBRA):
                out.append(self.lower(factors[i]))
                i += 1
                continue
            j = i
            while j < len(factors) and not isinstance(factors[j], ALGEBRA):
                j += 1
            out.extend(self._run(factors[i:j], hint))
            i = j
        return Prod(tuple(out))

    def _run(self, run, hint):
        """A run of adjacent formula factors: the longest prefix that is one derivative, then the rest."""
        run = [Value(f) if isinstance(f, NodeRef) else f for f in run]
        for end in range(len(run), 0, -1):
            part = run[0] if end == 1 else Prod(tuple(run[:end]))
            times = [t for t in part.times() if isinstance(t, int)] if isinstance(part, Term) else []
            hit = self.match(part, None if times else _neighbour_time(run, end, hint)) \
                if isinstance(part, Term) else None
            if hit is not None:
                return [hit] + (self._run(run[end:], hint) if end < len(run) else [])
        raise NotSupported(f"the formula {Prod(tuple(run))} equals no explicit derivative of one step")


def _neighbour_time(run, end, hint):
    for f in run[end:]:
        ts = [t for t in f.times() if isinstance(t, int)] if isinstance(f, Term) else []
        if ts:
            return max(ts)
    return hint


def lower(term: Term, graph: Graph, view: View, act=None) -> Term:
    """``term`` with every formula (maximal run of formula factors) replaced by the explicit derivative
    it equals at its step; `NotSupported` when some formula equals none.

    Sound by construction: a replacement is made only after SymPy proved the
    formula's matrix equal to the derivative's element by element (`symbolic_equal`).
    """
    return _Lowering(graph, view, act).lower(term)
