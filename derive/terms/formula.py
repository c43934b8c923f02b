"""Formulas a lecture writes beside derivatives: values, diag, σ and σ', ⊙, transposes, powers, norms, ρ, γ, λ.

Each class states its numeric meaning on an instance (`derive.numeric.evaluator.Numbers`)
and, where it has one, its SymPy matrix at one step (`derive.prove.step.StepSymbols`),
so a formula can stand inside a derivation step and be proved: a formula that
equals a one-step Jacobian is *lowered* to that explicit derivative for the
exact check (`derive.prove.step.lower`).

Operands are terms, node references (`derive.node`) or numbers; the printer
also accepts raw LaTeX strings for pure typesetting (``Power(r"\\gamma\\lambda", t - k)``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from derive.model import activations
from derive.errors import InvalidValue, ShapeError
from derive.model.graph import NodeRef
from derive.indices import as_index
from .base import Term, is_scalar, numeric_of, sub_index, sub_time, sym_broadcast, symbolic_of

__all__ = ["Value", "Const", "Identity", "Diag", "Apply", "Prime", "Hadamard", "Transpose", "Power", "Norm",
           "SpectralRadius", "Gamma", "Lam", "DeltaOuter", "Elementwise", "Entry", "Text", "NORM_ORDERS"]

#: The norms a lecture may mean: 2 (spectral for a matrix, Euclidean for a vector), 1, ∞, Frobenius.
NORM_ORDERS = (1, 2, "inf", "fro")


def _act_name(act) -> "str | None":
    if act is None:
        return None
    return activations.get(act).name


@dataclass(frozen=True)
class Value(Term):
    """The value of a node at a time (a column vector) or of a parameter (a matrix).

    ``outside="zero"``: a time outside the graph (x_0: inputs start at x_1) reads
    as the zero vector instead of raising; a claim that needs it says so in its reading.
    """

    ref: NodeRef
    outside: str = "error"
    _data = ("outside",)

    def __post_init__(self):
        if self.outside not in ("error", "zero"):
            raise InvalidValue(f"Value(outside={self.outside!r}): expected 'error' or 'zero'")

    def numeric(self, ctx):
        return ctx.node(self.ref, self.outside)

    def symbolic(self, ctx):
        return ctx.node(self.ref, self.outside)

    def __str__(self):
        return str(self.ref)


@dataclass(frozen=True)
class Const(Term):
    """A number, kept exact (1/4); beside a vector it is broadcast (1 − s_t), beside a matrix it scales."""

    value: Any
    _scalar = True

    def __post_init__(self):
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float, sp.Basic)) or \
                (isinstance(v, sp.Basic) and not v.is_number):
            raise InvalidValue(f"Const({v!r}): expected a number")
        if isinstance(v, complex) or (isinstance(v, sp.Basic) and not v.is_real):
            raise InvalidValue(f"Const({v!r}): expected a real number")

    def subs(self, mapping):
        return self

    def numeric(self, ctx):
        return float(self.value)

    def symbolic(self, ctx):
        return sp.Matrix([[sp.nsimplify(self.value)]])

    def __str__(self):
        return str(self.value)


@dataclass(frozen=True)
class Identity(Term):
    """The identity matrix of the size of a node: ∂x/∂x."""

    of: NodeRef

    def numeric(self, ctx):
        return np.eye(ctx.graph.size(ctx.graph.node(self.of)))

    def symbolic(self, ctx):
        return sp.eye(ctx.graph.size(ctx.graph.node(self.of)))

    def __str__(self):
        return "I"


@dataclass(frozen=True)
class Diag(Term):
    """diag(v): the square matrix with the vector v on its diagonal (CS7015 Lecture 14, Module 14.4)."""

    v: Any

    def numeric(self, ctx):
        v = numeric_of(self.v, ctx)
        return None if v is None else np.diag(np.ravel(v))

    def symbolic(self, ctx):
        return sp.diag(*list(symbolic_of(self.v, ctx)))

    def __str__(self):
        return f"diag({self.v})"


class _Activation(Term):
    """σ(x) or σ'(x) element-wise; ``act=None`` is the cell's activation σ.

    The lecture objects used to take the activation first (``Prime("tanh", x)``);
    that order is still read, with a DeprecationWarning.
    """

    _data = ("act",)

    def __post_init__(self):
        x, act = self.x, self.act
        if isinstance(x, (str, activations.Activation)) and act is not None and \
                not isinstance(act, (str, activations.Activation)):
            warnings.warn(f"{type(self).__name__}(act, x) is deprecated; write {type(self).__name__}(x, act)",
                          DeprecationWarning, stacklevel=3)
            x, act = act, x
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "act", _act_name(act))

    def activation(self, ctx) -> activations.Activation:
        return activations.get(self.act) if self.act else ctx.activation()

    def numeric(self, ctx):
        x = numeric_of(self.x, ctx)
        act = self.activation(ctx)
        x = np.zeros((1, 1)) if x is None else np.asarray(x, dtype=np.float64)
        return act.numpy_prime(x) if self._prime else act.numpy(x)

    def symbolic(self, ctx):
        act = self.activation(ctx)
        fn = act.derivative_function if self._prime else act.function
        return symbolic_of(self.x, ctx).applyfunc(fn)


@dataclass(frozen=True)
class Apply(_Activation):
    """σ(x) element-wise."""

    x: Any
    act: "str | None" = None
    _prime = False

    def __str__(self):
        return f"{self.act or 'σ'}({self.x})"


@dataclass(frozen=True)
class Prime(_Activation):
    """σ'(x) element-wise, the derivative of the activation."""

    x: Any
    act: "str | None" = None
    _prime = True

    def __str__(self):
        return f"{self.act or 'σ'}'({self.x})"


@dataclass(frozen=True)
class Hadamard(Term):
    """u ⊙ v, the element-wise product."""

    left: Any
    right: Any

    def numeric(self, ctx):
        a, b = numeric_of(self.left, ctx), numeric_of(self.right, ctx)
        if a is None or b is None:
            return None
        if np.ndim(a) and np.ndim(b) and np.shape(a) != np.shape(b):
            raise ShapeError(f"in {self}: element-wise product of {np.shape(a)} and {np.shape(b)}")
        return a * b

    def symbolic(self, ctx):
        a, b = sym_broadcast(symbolic_of(self.left, ctx), symbolic_of(self.right, ctx),
                             is_scalar(self.left), is_scalar(self.right), "multiply element-wise")
        return a.multiply_elementwise(b)

    def __str__(self):
        def part(x):
            return f"({x})" if type(x).__name__ in ("Sum", "SumOver") else str(x)

        return f"({part(self.left)} ⊙ {part(self.right)})"


@dataclass(frozen=True)
class Transpose(Term):
    """xᵀ: a transposed matrix or Jacobian (gradient layout: ∂L/∂h_t = Wᵀ ∂L/∂h_{t+1} + ...)."""

    x: Any

    def numeric(self, ctx):
        v = numeric_of(self.x, ctx)
        return None if v is None else (v if np.ndim(v) == 0 else np.asarray(v).T)

    def symbolic(self, ctx):
        return symbolic_of(self.x, ctx).T

    def __str__(self):
        return f"({self.x})^T"


@dataclass(frozen=True)
class Power(Term):
    """base^exponent: a matrix power (U^t), a power of a scalar ((γλ)^{t−k}, ‖W‖^{t−k}), or of a
    column vector element-wise (1 − s_t^2, as notes write tanh')."""

    base: Any
    exponent: Any

    def __post_init__(self):
        if isinstance(self.exponent, str):
            object.__setattr__(self, "exponent", as_index(self.exponent))

    def subs(self, mapping):
        base = self.base.subs(mapping) if isinstance(self.base, Term) else \
            sub_time(self.base, mapping) if isinstance(self.base, NodeRef) else \
            self.base.subs(mapping) if isinstance(self.base, sp.Basic) else self.base
        return Power(base, sub_index(self.exponent, mapping))

    def _exponent(self) -> int:
        e = self.exponent
        if isinstance(e, sp.Basic) and e.is_Integer:
            e = int(e)
        if not isinstance(e, int):
            raise InvalidValue(f"the exponent {e} of {self} is not an integer at this binding")
        return e

    def numeric(self, ctx):
        base, e = numeric_of(self.base, ctx), self._exponent()
        if base is None:
            return None if e > 0 else 1.0
        if np.ndim(base) == 0 or (np.size(base) == 1 and np.ndim(base) < 2):
            return float(base) ** e
        if np.ndim(base) == 2 and np.shape(base)[1] == 1 and np.shape(base)[0] > 1:
            return np.asarray(base) ** e  # a vector squared, h_t^2: element-wise, as notes mean it
        if e < 0:
            raise InvalidValue(f"negative matrix power in {self}")
        return np.linalg.matrix_power(base, e)

    def symbolic(self, ctx):
        base, e = symbolic_of(self.base, ctx), self._exponent()
        if base.cols == 1 and base.rows > 1:
            return base.applyfunc(lambda v: v ** e)  # element-wise, as for numbers
        return base ** e

    def __str__(self):
        return f"({self.base})^{{{self.exponent}}}"


def _spectral_norm(x: np.ndarray) -> float:
    """‖x‖₂, the largest singular value (np.linalg.norm(x, 2) computes the same SVD with more overhead)."""
    return float(np.linalg.svd(x, compute_uv=False)[0])


@dataclass(frozen=True)
class Norm(Term):
    """‖x‖: ``ord=2`` the lectures' norm (spectral for a matrix, Euclidean for a vector);
    ``1``, ``"inf"`` and ``"fro"`` (Frobenius) when the lecture means another."""

    x: Any
    ord: Any = 2
    _data = ("ord",)

    def __post_init__(self):
        if self.ord not in NORM_ORDERS:
            raise InvalidValue(f"norm order must be one of 1, 2, 'inf', 'fro', got {self.ord!r}")

    def numeric(self, ctx):
        x = numeric_of(self.x, ctx)
        if x is None:
            return 0.0
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        vector = min(x.shape) == 1
        if self.ord == "fro" or (vector and self.ord == 2):
            return float(np.linalg.norm(x.ravel()))
        if vector:
            return float(np.linalg.norm(x.ravel(), np.inf if self.ord == "inf" else 1))
        if self.ord == 2:
            return _spectral_norm(x)
        return float(np.linalg.norm(x, np.inf if self.ord == "inf" else self.ord))

    def __str__(self):
        return f"||{self.x}||" + ("" if self.ord == 2 else f"_{self.ord}")


@dataclass(frozen=True)
class SpectralRadius(Term):
    """ρ(M) = max |eigenvalue| (NOT a norm; the CS224n "largest eigenvalue")."""

    x: Any

    def numeric(self, ctx):
        x = numeric_of(self.x, ctx)
        return 0.0 if x is None else float(np.max(np.abs(np.linalg.eigvals(np.asarray(x, dtype=np.float64)))))

    def __str__(self):
        return f"ρ({self.x})"


@dataclass(frozen=True)
class Gamma(Term):
    """γ = sup_x σ'(x) of the cell's activation (proved by `derive.model.supremum.gamma`)."""

    act: "str | None" = None
    _data = ("act",)

    def numeric(self, ctx):
        from derive.model.supremum import gamma

        return float(gamma(self.act or ctx.activation().name).value)

    def __str__(self):
        return "γ"


@dataclass(frozen=True)
class Lam(Term):
    """λ = ‖W‖₂, the tightest λ with ‖W‖ ≤ λ (the worst case for a bound that uses it)."""

    param: str = "W"
    _data = ("param",)

    def numeric(self, ctx):
        return _spectral_norm(np.atleast_2d(np.asarray(ctx.node(NodeRef(self.param)), dtype=np.float64)))

    def __str__(self):
        return "λ"


@dataclass(frozen=True)
class DeltaOuter(Term):
    """The d × d × c tensor T_{pqr} = δ_pq v_p u_r, unfolded to d × (d c) (CS7015 Lecture 14, Module 14.5)."""

    v: Any
    u: Any

    def numeric(self, ctx):
        v, u = np.ravel(numeric_of(self.v, ctx)), np.ravel(numeric_of(self.u, ctx))
        return np.einsum("pq,r->pqr", np.diag(v), u).reshape(v.size, -1)

    def symbolic(self, ctx):
        v, u = list(symbolic_of(self.v, ctx)), list(symbolic_of(self.u, ctx))
        m, c = len(v), len(u)
        return sp.Matrix(m, m * c, lambda p, col: v[p] * u[col % c] if col // c == p else 0)

    def __str__(self):
        return f"δ_pq ({self.v})_p ({self.u})_r"


_LAMBDIFIED: dict = {}


@dataclass(frozen=True)
class Elementwise(Term):
    """A vector formula applied entry by entry, read off a Jacobian by `derive.prove.structure`:
    ``template`` in placeholder symbols, ``vectors`` the node each placeholder stands for,
    e.g. {a: a_j} for σ'(a_j) or {o: o_t, s: s_t} for o_t ⊙ tanh'(s_t)."""

    template: sp.Expr
    vectors: "tuple[tuple[sp.Symbol, NodeRef], ...]"
    _data = ("template",)

    def subs(self, mapping):
        return Elementwise(self.template, tuple((p, sub_time(r, mapping)) for p, r in self.vectors))

    def numeric(self, ctx):
        phs = tuple(ph for ph, _ in self.vectors)
        key = (self.template, phs)
        fn = _LAMBDIFIED.get(key)
        if fn is None:
            mods = [{}, "numpy"]
            for a in activations.names():
                mods[0].update(activations.get(a).lambdify_modules())
            fn = _LAMBDIFIED[key] = sp.lambdify(phs, self.template, modules=mods)
        args = [np.ravel(ctx.node(r)) for _, r in self.vectors]
        m = max((a.size for a in args), default=1)
        return np.broadcast_to(np.asarray(fn(*args), dtype=float), (m,)).reshape(m, 1).copy()

    def symbolic(self, ctx):
        cols = [list(ctx.node(r)) for _, r in self.vectors]
        m = max((len(c) for c in cols), default=1)
        return sp.Matrix([self.template.xreplace({ph: c[i] for (ph, _), c in zip(self.vectors, cols)})
                          for i in range(m)])

    def __str__(self):
        return str(self.template.subs({p: sp.Symbol(str(r)) for p, r in self.vectors}))


@dataclass(frozen=True)
class Entry(Term):
    """One element of a node: ``Entry(node("s", "k"), ("p",))`` is ``s_{k, p}``; of a
    parameter, ``Entry(node("W"), ("q", "r"))`` is ``W_{qr}`` (CS7015 Lecture 14, Module 14.5)."""

    of: Any  # NodeRef
    indices: tuple

    def __post_init__(self):
        if not self.indices:
            raise InvalidValue(f"an entry of {self.of} needs at least one index")
        object.__setattr__(self, "indices", tuple(as_index(i) if isinstance(i, str) else i for i in self.indices))

    def __str__(self):
        return f"{self.of}[{', '.join(map(str, self.indices))}]"


@dataclass(frozen=True)
class Text(Term):
    """Words inside an equation, ``$...$`` marking maths: ``Text("if $\\sigma$ is logistic")``."""

    text: str
    _data = ("text",)

    def __str__(self):
        return self.text
