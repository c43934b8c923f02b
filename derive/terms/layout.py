"""Gradient layout: what students store (∂L/∂W shaped like W), read as the engine's Jacobian row; and a
formula pinned to one step (`AtStep`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.errors import NotSupported
from derive.model.graph import NodeRef
from .base import Term, numeric_of, symbolic_of
from .formula import DeltaOuter, Diag, Identity, Prime, Transpose, Value

__all__ = ["GradientLayout", "AtStep"]


# ---------------------------------------------------------------------------
# Gradient layout: what students store (∂L/∂W shaped like W), read as the engine's Jacobian row
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientLayout(Term):
    """A gradient as an implementation stores it: a column for a vector parameter, a matrix shaped like
    a matrix parameter, e.g. ∂L/∂W = Σ_t diag(σ'(a_t)) δ_t s_{t-1}ᵀ with δ_t = (∂L/∂s_t)ᵀ; its value is
    read as the engine's Jacobian row (1 × size, row by row, as `derive.numeric.evaluator` flattens W).

    The body is a product A (∂L/∂s)ᵀ [uᵀ]: A a diag(·) or nothing, then the transpose of a row of
    derivatives, then for a matrix parameter the transpose of a column u.  `jacobian_layout` writes
    it back in the Jacobian layout, ∂L/∂s diag(·) or ∂L/∂s [δ_pq (·)_p u_r], for the exact check:
    row by row, entry (p, r) of diag(w) gᵀ uᵀ is g_p w_p u_r = (g [δ_pq w_p u_r])_{(p, r)}.
    """

    body: Any

    def numeric(self, ctx):
        v = numeric_of(self.body, ctx)
        return None if v is None else np.asarray(v, dtype=np.float64).reshape(1, -1)

    def symbolic(self, ctx):
        M = symbolic_of(self.body, ctx)
        return M.reshape(1, M.rows * M.cols)

    def jacobian_layout(self) -> Term:
        """The same gradient in the Jacobian layout (a product of derivatives and one-step formulas);
        `NotSupported` for a body of another shape (a transposed outer product u gᵀ among them)."""
        return _jacobian_layout(self.body)

    def __str__(self):
        return f"grad[{self.body}]"


def _jacobian_layout(body) -> Term:
    from .calculus import Brace, Prod, Sum, SumOver

    if isinstance(body, Brace):
        return _jacobian_layout(body.body)
    if isinstance(body, Sum):
        return Sum(tuple(_jacobian_layout(t) for t in body.terms))
    if isinstance(body, SumOver):
        return SumOver(body.index, body.lo, body.hi, _jacobian_layout(body.body))
    factors = list(body.factors) if isinstance(body, Prod) else [body]
    outer = None
    if len(factors) >= 2 and isinstance(factors[-1], Transpose) and not _has_derivative(factors[-1]) \
            and isinstance(factors[-2], Transpose) and _has_derivative(factors[-2]):
        outer = factors.pop().x
    if not factors or not isinstance(factors[-1], Transpose) or not _has_derivative(factors[-1]):
        raise NotSupported(f"the gradient {body} is not A (∂L/∂x)ᵀ or A (∂L/∂x)ᵀ uᵀ with A a diag(·)")
    row, scale = factors[-1].x, factors[:-1]
    if _has_derivative(scale):
        raise NotSupported(f"the gradient {body}: only (∂L/∂x)ᵀ may hold derivatives")
    end = _last_node(row)
    if outer is None:  # (A_1 ... A_p gᵀ)ᵀ = g A_pᵀ ... A_1ᵀ
        back = tuple(_transposed(a) for a in reversed(scale))
        return Prod((row,) + (back or (Identity(end),)))
    if len(scale) > 1 or (scale and not isinstance(scale[0], Diag)):
        raise NotSupported(f"the gradient {body}: an outer product is diag(w) (∂L/∂x)ᵀ uᵀ or (∂L/∂x)ᵀ uᵀ")
    w = scale[0].v if scale else Prime(Value(end), "identity")   # δ_pq u_r: a column of ones
    local = DeltaOuter(w, outer)
    return Prod((row, AtStep(local, end.t) if isinstance(end.t, int) else local))


@dataclass(frozen=True)
class AtStep(Term):
    """``body``, a one-step formula of the step of ``step`` (∂⁺g_t/∂W_g = δ_pq σ'(a_g,t)_p (g_{t+1})_r
    is a formula of step t that reads the next state): `derive.prove.step.lower` proves it at that step, not at
    the latest time it mentions.  Made by `GradientLayout.jacobian_layout` for the exact check only."""

    body: Any
    step: int
    _data = ("step",)

    def times(self) -> set:
        return {self.step}

    def numeric(self, ctx):
        return numeric_of(self.body, ctx)

    def symbolic(self, ctx):
        return symbolic_of(self.body, ctx)

    def __str__(self):
        return str(self.body)


def _transposed(a):
    """aᵀ for a one-step formula: diag(v)ᵀ = diag(v), (Mᵀ)ᵀ = M."""
    if isinstance(a, Diag):
        return a
    if isinstance(a, Transpose):
        return a.x
    return Transpose(a)


def _has_derivative(x) -> bool:
    if isinstance(x, (list, tuple)):
        return any(_has_derivative(v) for v in x)
    return isinstance(x, Term) and any(type(t).__name__ == "D" for t in x.walk())


def _last_node(row) -> NodeRef:
    """x of a row of derivatives ∂L/∂x (a sum or product of them ends at x)."""
    for t in reversed(list(row.walk())):
        if type(t).__name__ == "D":
            return t.x
    raise NotSupported(f"{row} is not a row of derivatives")  # pragma: no cover - checked by the caller
