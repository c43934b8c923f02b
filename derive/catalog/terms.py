"""Formula terms beside the derivative algebra: values, diag, σ', powers, norms; walking a term."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

import sympy as sp

from ..algebra import Brace, D, Prod, ProdOver, Sum, SumOver, Term, Zero
from ..graph import NodeRef


def _sub_ref(ref: NodeRef, mapping) -> NodeRef:
    if ref.t is None or isinstance(ref.t, int):
        return ref
    v = sp.sympify(ref.t).subs(mapping)
    return NodeRef(ref.name, int(v) if v.is_Integer else v)


def _sub_expr(e, mapping):
    v = sp.sympify(e).subs(mapping)
    return int(v) if v.is_Integer else v


@dataclass(frozen=True)
class Value(Term):
    """The value of a node at a time (a column vector) or of a parameter (a matrix).

    ``outside="zero"``: a time outside the graph (x_0: inputs start at x_1) reads
    as the zero vector instead of raising; a claim that needs it says so in its reading.
    """

    ref: NodeRef
    outside: str = "error"

    def subs(self, mapping):
        return Value(_sub_ref(self.ref, mapping), self.outside)

    def __str__(self):
        return str(self.ref)


@dataclass(frozen=True)
class _Unary(Term):
    x: Any

    def subs(self, mapping):
        return replace(self, x=self.x.subs(mapping))

    def expand_indexed(self):
        return replace(self, x=self.x.expand_indexed())


@dataclass(frozen=True)
class Diag(Term):
    """diag(v): the square matrix with the vector v on its diagonal."""

    v: Any

    def subs(self, mapping):
        return Diag(self.v.subs(mapping))

    def expand_indexed(self):
        return Diag(self.v.expand_indexed())

    def __str__(self):
        return f"diag({self.v})"


@dataclass(frozen=True)
class SigmaPrime(_Unary):
    """σ'(x) element-wise; ``act=None`` is the cell's activation σ."""

    act: "str | None" = None

    def __str__(self):
        return f"{self.act or 'σ'}'({self.x})"


@dataclass(frozen=True)
class Sigma(_Unary):
    """σ(x) element-wise; ``act=None`` is the cell's activation σ."""

    act: "str | None" = None

    def __str__(self):
        return f"{self.act or 'σ'}({self.x})"


@dataclass(frozen=True)
class MatPow(Term):
    """base^exponent: a matrix power (U^t) or a power of a scalar ((γλ)^{t-k})."""

    base: Any
    exponent: Any

    def subs(self, mapping):
        return MatPow(self.base.subs(mapping), _sub_expr(self.exponent, mapping))

    def expand_indexed(self):
        return MatPow(self.base.expand_indexed(), self.exponent)

    def __str__(self):
        return f"({self.base})^{{{self.exponent}}}"


@dataclass(frozen=True)
class Norm(_Unary):
    """||x||: the spectral norm of a matrix, the Euclidean norm of a vector (the lectures' norm)."""

    ord: int = 2

    def __str__(self):
        return f"||{self.x}||"


@dataclass(frozen=True)
class SpectralRadius(_Unary):
    """ρ(M) = max |eigenvalue| (NOT a norm; the CS224n "largest eigenvalue")."""

    def __str__(self):
        return f"ρ({self.x})"


@dataclass(frozen=True)
class Const(Term):
    """A number (kept exact: 1/4)."""

    value: Any

    def subs(self, mapping):
        return self

    def __str__(self):
        return str(self.value)


@dataclass(frozen=True)
class Gamma(Term):
    """γ = sup_x σ'(x) of the cell's activation (proved by `derive.bounds.gamma`)."""

    act: "str | None" = None

    def subs(self, mapping):
        return self

    def __str__(self):
        return "γ"


@dataclass(frozen=True)
class Lam(Term):
    """λ = ||W||_2, the tightest λ with ||W|| <= λ (the worst case for a bound that uses it)."""

    param: str = "W"

    def subs(self, mapping):
        return self

    def __str__(self):
        return "λ"


@dataclass(frozen=True)
class DeltaOuter(Term):
    """The d x d x c tensor T_{p,q,r} = δ_pq v_p u_r, unfolded to d x (d c) (CS7015 Module 14.5)."""

    v: Any
    u: Any

    def subs(self, mapping):
        return DeltaOuter(self.v.subs(mapping), self.u.subs(mapping))

    def __str__(self):
        return f"δ_pq ({self.v})_p ({self.u})_r"


@dataclass(frozen=True)
class Hadamard(Term):
    """u ⊙ v, the element-wise product of two vectors."""

    left: Any
    right: Any

    def subs(self, mapping):
        return Hadamard(self.left.subs(mapping), self.right.subs(mapping))

    def expand_indexed(self):
        return Hadamard(self.left.expand_indexed(), self.right.expand_indexed())

    def __str__(self):
        return f"({self.left} ⊙ {self.right})"


_FORMULA = (Value, Diag, SigmaPrime, Sigma, MatPow, Norm, SpectralRadius, Const, Gamma, Lam, DeltaOuter)


def _walk(term) -> "Iterable[Any]":
    """Every sub-term, depth first."""
    yield term
    for child in _children(term):
        yield from _walk(child)


def _children(term) -> tuple:
    if isinstance(term, Prod):
        return term.factors
    if isinstance(term, Sum):
        return term.terms
    if isinstance(term, (Brace, SumOver, ProdOver)):
        return (term.body,)
    if isinstance(term, (_Unary,)):
        return (term.x,)
    if isinstance(term, Diag):
        return (term.v,)
    if isinstance(term, MatPow):
        return (term.base,)
    if isinstance(term, DeltaOuter):
        return (term.v, term.u)
    if isinstance(term, Hadamard):
        return (term.left, term.right)
    return ()


def _is_algebra(term) -> bool:
    """Only derivatives, products, sums: an identity of the free algebra of path sums."""
    return all(isinstance(t, (D, Prod, Sum, Brace, Zero, SumOver, ProdOver)) for t in _walk(term))
