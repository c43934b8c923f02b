"""Evaluating terms: numbers (float64, on one instance) and SymPy matrices (one step, exact)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import activations
from ..algebra import Brace, D, Prod, ProdOver, Sum, SumOver, Zero
from ..canon import Canon
from ..errors import InvalidValue, NotSupported, ShapeError, UnknownName
from ..graph import Graph, NodeRef
from ..local import _flat, element_symbols
from ..numeric import Evaluator, local_jacobians
from ..structure import symbolic_explicit
from .terms import (Const, DeltaOuter, Diag, Gamma, Hadamard, Lam, MatPow, Norm, Sigma, SigmaPrime,
                    SpectralRadius, Value)


class _Numbers:
    """Numeric values of terms on one instance (derivatives from the engine's Evaluator)."""

    def __init__(self, ev: Evaluator, act: activations.Activation):
        self.ev, self.act, self.graph = ev, act, ev.graph

    def value(self, term):
        g = self.graph
        if isinstance(term, D):
            f, x = g.node(term.f), g.node(term.x)
            return self.ev.explicit(f, x) if term.explicit else self.total(f, x)
        return self._value(term)

    def total(self, f: NodeRef, x: NodeRef) -> np.ndarray:
        """∂f/∂x by reverse accumulation through the nodes that depend on x only.

        The engine's `Evaluator.total` sweeps every parent of every node (so it
        builds ∂y/∂V even for ∂s_4/∂s_1); pruning to x's descendants gives the
        same sum over paths with only the Jacobians on those paths.
        """
        cache = self.ev.__dict__.setdefault("_catalog_totals", {})
        key = (f, x)
        if key not in cache:
            g = self.graph
            desc, stack = {x}, [x]
            while stack:
                for c in g.children[stack.pop()]:
                    if c not in desc:
                        desc.add(c)
                        stack.append(c)
            G = {f: np.eye(g.size(f))}
            if f in desc and f != x:
                for v in reversed(g.order[: g.order.index(f) + 1]):
                    Gv = G.get(v)
                    if Gv is None or v == x:
                        continue
                    for p in g.nodes[v].parents:
                        if p in desc:
                            contrib = Gv @ self.ev.atomic(v, p)
                            G[p] = G[p] + contrib if p in G else contrib
            cache[key] = G.get(x, np.zeros((g.size(f), g.size(x))))
        return cache[key]

    def _value(self, term):
        g = self.graph
        if isinstance(term, Prod):
            out = None
            for f in term.factors:
                v = self.value(f)
                out = v if out is None else _mul(out, v, term)
            return out
        if isinstance(term, Sum):
            out = None
            for t in term.terms:
                v = self.value(t)
                out = v if out is None else _add(out, v, term)
            return out
        if isinstance(term, Brace):
            return self.value(term.body)
        if isinstance(term, Zero):
            return 0.0
        if isinstance(term, (SumOver, ProdOver)):
            return self.value(term.expand_indexed())
        if isinstance(term, Value):
            ref = term.ref
            if ref not in g.nodes:
                if term.outside == "zero" and ref.name in g.cell.symbols:
                    return np.zeros((g.size(_any_ref(g, ref.name)), 1))
                g.node(ref)  # raises UnknownName listing the graph's nodes
            v = np.asarray(self.ev.values[ref], dtype=np.float64)
            return v.reshape(-1, 1) if v.ndim == 1 else v
        if isinstance(term, Diag):
            return np.diag(np.ravel(self.value(term.v)))
        if isinstance(term, (SigmaPrime, Sigma)):
            act = activations.get(term.act) if term.act else self.act
            x = np.asarray(self.value(term.x), dtype=np.float64)
            return act.numpy_prime(x) if isinstance(term, SigmaPrime) else act.numpy(x)
        if isinstance(term, MatPow):
            base, e = self.value(term.base), term.exponent
            if not isinstance(e, int):
                raise InvalidValue(f"the exponent {e} of {term} is not an integer at this binding")
            if np.ndim(base) == 0 or np.size(base) == 1 and np.ndim(base) < 2:
                return float(base) ** e
            if e < 0:
                raise InvalidValue(f"negative matrix power in {term}")
            return np.linalg.matrix_power(base, e)
        if isinstance(term, Norm):
            x = np.asarray(self.value(term.x), dtype=np.float64)
            return float(np.linalg.norm(x.ravel()) if min(x.shape or (1,)) == 1 else np.linalg.norm(x, 2))
        if isinstance(term, SpectralRadius):
            return float(np.max(np.abs(np.linalg.eigvals(np.asarray(self.value(term.x), dtype=np.float64)))))
        if isinstance(term, Const):
            return float(term.value)
        if isinstance(term, Gamma):
            return float(_gamma(term.act or self.act.name).value)
        if isinstance(term, Lam):
            return float(np.linalg.norm(self.ev.values[NodeRef(term.param)], 2))
        if isinstance(term, Hadamard):
            a, b = self.value(term.left), self.value(term.right)
            if np.shape(a) != np.shape(b):
                raise ShapeError(f"in {term}: element-wise product of {np.shape(a)} and {np.shape(b)}")
            return a * b
        if isinstance(term, DeltaOuter):
            v, u = np.ravel(self.value(term.v)), np.ravel(self.value(term.u))
            return np.einsum("pq,r->pqr", np.diag(v), u).reshape(v.size, -1)
        raise NotSupported(f"cannot evaluate a {type(term).__name__} numerically")


def _any_ref(g: Graph, name: str) -> NodeRef:
    for ref in g.nodes:
        if ref.name == name:
            return ref
    raise UnknownName("node", name, sorted({r.name for r in g.nodes}))


def _mul(a, b, where):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    try:
        return a @ b
    except ValueError:
        raise ShapeError(f"in {where}: cannot multiply a {np.shape(a)[0]}x{np.shape(a)[1]} matrix by a "
                         f"{np.shape(b)[0]}x{np.shape(b)[1]} matrix") from None


def _add(a, b, where):
    if np.ndim(a) and np.ndim(b) and np.shape(a) != np.shape(b):
        raise ShapeError(f"in {where}: cannot add {np.shape(a)} and {np.shape(b)}")
    return a + b


def _gamma(act_name: str):
    try:
        from ..bounds import gamma
    except ImportError:  # pragma: no cover - depends on the installation
        raise _Pending("derive.bounds (γ by symbolic maximisation) is not installed") from None
    return gamma(act_name)


def gamma_of(activation: str) -> sp.Expr:
    """γ = sup σ' as an exact SymPy number (`derive.bounds.gamma`); a claim using it is pending without bounds."""
    return _gamma(activation).value


class _Pending(NotSupported):
    """A check that needs a module which is not installed."""


Pending = _Pending


class _NotLocal(Exception):
    """A term with a derivative across steps: no one-step SymPy form."""


class _StepSymbols:
    """SymPy matrices for the terms of one step τ, in the element symbols of its leaves.

    Nodes at step τ are replaced by their equations (so a_τ becomes
    W s_{τ-1} + U x_τ + b), leaves of step τ keep their symbols, and any other
    value (x_{τ-1}, a_{τ-1}) gets fresh symbols: a formula that needs it cannot
    equal a one-step Jacobian unless it cancels.
    """

    def __init__(self, graph: Graph, view, tau: int, act: activations.Activation):
        self.graph, self.view, self.tau, self.act = graph, view, tau, act
        self.local = local_jacobians(graph)
        self.expand: dict = {}
        for name in graph.cell.nodes:
            lowered = self.local.lowered(name).xreplace(self.expand)
            self.expand.update(zip(_flat(self.local.env[(name, 0)]), lowered))
        self.canon = Canon(graph, view)

    def value(self, term) -> sp.Matrix:
        g = self.graph
        if isinstance(term, D):
            f, x = g.node(term.f), g.node(term.x)
            if f.t != self.tau or (not term.explicit and self.canon.paths(f, x) != self.canon.explicit(f, x)):
                raise _NotLocal(str(term))
            return symbolic_explicit(g, self.view, f, x, self.local).xreplace(self.expand)
        if isinstance(term, Prod):
            out = None
            for f in term.factors:
                v = self.value(f)
                out = v if out is None else (out * v)
            return out
        if isinstance(term, Sum):
            out = None
            for t in term.terms:
                v = self.value(t)
                out = v if out is None else out + v
            return out
        if isinstance(term, (Brace,)):
            return self.value(term.body)
        if isinstance(term, (SumOver, ProdOver)):
            return self.value(term.expand_indexed())
        if isinstance(term, Value):
            return self._leaf(term)
        if isinstance(term, Diag):
            return sp.diag(*list(self.value(term.v)))
        if isinstance(term, (SigmaPrime, Sigma)):
            act = activations.get(term.act) if term.act else self.act
            fn = act.derivative_function if isinstance(term, SigmaPrime) else act.function
            return self.value(term.x).applyfunc(fn)
        if isinstance(term, MatPow):
            return self.value(term.base) ** int(term.exponent)
        if isinstance(term, Const):
            return sp.Matrix([[term.value]])
        if isinstance(term, Hadamard):
            return self.value(term.left).multiply_elementwise(self.value(term.right))
        if isinstance(term, DeltaOuter):
            v, u = list(self.value(term.v)), list(self.value(term.u))
            m, c = len(v), len(u)
            return sp.Matrix(m, m * c, lambda p, col: v[p] * u[col % c] if col // c == p else 0)
        raise _NotLocal(type(term).__name__)

    def _leaf(self, term: Value) -> sp.Matrix:
        g, ref = self.graph, term.ref
        sym = g.cell.symbols[ref.name]
        if ref.t is None:
            if sym.role != "param":
                raise _NotLocal(f"{ref} (a total over all steps)")
            return self.local.env[(ref.name, 0)]
        lag = self.tau - ref.t
        if ref not in g.nodes and term.outside == "zero":
            return sp.zeros(int(g.shape_of(sym.shape)[0]), 1)
        g.node(ref)
        key = (ref.name, lag)
        if key in self.local.env:  # a leaf of step τ, or a node of step τ (replaced by its equation)
            return self.local.env[key].xreplace(self.expand)
        return element_symbols(f"{ref.name}_at{ref.t}", 0, g.shape_of(sym.shape))


def _symbolic_equal(a: sp.Matrix, b: sp.Matrix) -> "tuple[bool, str]":
    if a.shape != b.shape:
        return False, f"the left side is {a.shape[0]}x{a.shape[1]}, the right side {b.shape[0]}x{b.shape[1]}"
    for r in range(a.rows):
        for c in range(a.cols):
            if not _is_zero(a[r, c] - b[r, c]):
                return False, f"entry ({r}, {c}): left {a[r, c]}, right {b[r, c]}"
    return True, "equal element by element"


def _is_zero(expr) -> bool:
    """expr == 0 identically: expanded to 0, or simplified to 0 after a numeric screen.

    A difference that is visibly non-zero at a random point (30 digits) is
    rejected at once; SymPy's simplify, slow on sums of tanh, is only asked
    to prove the zeros.
    """
    e = sp.expand(expr)
    if e == 0:
        return True
    e = e.rewrite("elementary")
    rng = np.random.default_rng(0)
    for _ in range(2):
        point = {x: sp.Rational(int(rng.integers(-900, 900)), 997) for x in sorted(e.free_symbols, key=str)}
        v = sp.N(e.subs(point), 30)
        if not v.is_number or abs(v) > 1e-20:
            return False
    return sp.simplify(e) == 0
