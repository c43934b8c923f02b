"""Vector-level expressions: the language in which a cell's equations are written.

A cell equation is written the way a slide writes it, with Python operators:

    a = W @ s.prev + U @ x + b          # CS7015 Lecture 14, Module 14.3
    s = logistic(a)

``@`` is the matrix product, ``+``/``-`` add, ``*`` between two vectors is the
element-wise (Hadamard) product, ``1 - u`` is ``OneMinus(u)``, an activation
applied to a vector is element-wise.  Every node checks its operand shapes when
it is built (a mismatch names both shapes) and knows three things:

- ``lower(env)``: the element-level SymPy matrix, given SymPy matrices for its leaves;
- ``evaluate(env)``: the float64 NumPy value, given arrays for its leaves;
- ``children``: its operands, for printing and dependency analysis.

Shapes are tuples of dimensions; a dimension is a SymPy symbol (n, d, k) or a
positive integer.  Vectors are columns: shape (d,) lowers to a d x 1 matrix.
Scalars have shape ().
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np
import sympy as sp

from derive.display import render
from derive.errors import ShapeError

__all__ = [
    "Expr", "Sym", "MatMul", "Add", "Neg", "Hadamard", "OneMinus", "Apply",
    "Softmax", "NLL", "as_expr", "softmax", "nll", "fmt_shape", "jacobian", "jacobians",
    "as_batch_layout", "evaluate_batch",
]

Shape = tuple


def fmt_shape(shape: Shape) -> str:
    if shape == ():
        return "scalar"
    if len(shape) == 1:
        return f"vector in R^{shape[0]}"
    return "matrix in R^{" + " x ".join(map(str, shape)) + "}"


def _same(d1, d2) -> bool:
    return sp.simplify(sp.sympify(d1) - sp.sympify(d2)) == 0


def _same_shape(s1: Shape, s2: Shape) -> bool:
    return len(s1) == len(s2) and all(_same(a, b) for a, b in zip(s1, s2))


class Expr:
    """Base class of vector-level expressions (immutable, hashable)."""

    children: tuple = ()

    @property
    def shape(self) -> Shape:  # pragma: no cover - every subclass sets it
        raise NotImplementedError

    # -- operators, as on a slide ------------------------------------------
    def __matmul__(self, other):
        return MatMul(self, as_expr(other))

    def __add__(self, other):
        return Add(self, as_expr(other))

    def __radd__(self, other):
        return Add(as_expr(other), self)

    def __sub__(self, other):
        return Add(self, Neg(as_expr(other)))

    def __rsub__(self, other):
        if other == 1:
            return OneMinus(self)
        return Add(as_expr(other), Neg(self))

    def __neg__(self):
        return Neg(self)

    def __mul__(self, other):
        return Hadamard(self, as_expr(other))

    def _repr_latex_(self) -> str:
        """Jupyter: the expression, typeset."""
        return "$\\displaystyle " + render(self) + "$"

    def leaves(self) -> "list[Sym]":
        """Leaf symbols in first-appearance order (deterministic); remembered, as an expression never changes."""
        known = self.__dict__.get("_leaves")
        if known is not None:
            return list(known)
        out: list[Sym] = []
        stack = [self]
        while stack:
            e = stack.pop()
            if isinstance(e, Sym):
                if e not in out:
                    out.append(e)
            else:
                stack.extend(reversed(e.children))
        object.__setattr__(self, "_leaves", tuple(out))
        return out


def as_expr(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    raise ShapeError(f"expected a derive vector expression, got {x!r} of type {type(x).__name__}")


@dataclass(frozen=True, eq=True)
class Sym(Expr):
    """A leaf: a parameter, an input, or a node of the cell, possibly at the previous step.

    ``lag=1`` means "at time t-1" (``s.prev``).  ``role`` is one of
    "param", "input", "label", "node".
    """

    name: str
    shape_: Shape
    role: str
    lag: int = 0

    @property
    def shape(self) -> Shape:
        return self.shape_

    @property
    def prev(self) -> "Sym":
        """The same quantity one time step earlier (s_{t-1})."""
        if self.role != "node":
            raise ShapeError(f"only cell nodes have a previous value; {self.name!r} is a {self.role}")
        return Sym(self.name, self.shape_, self.role, self.lag + 1)

    @property
    def next(self) -> "Sym":
        """The same quantity one time step later (b_{t+1}): a state computed from the end of the
        sequence backwards, as the backward half of a bidirectional RNN (lag -1)."""
        if self.role != "node":
            raise ShapeError(f"only cell nodes have a next value; {self.name!r} is a {self.role}")
        return Sym(self.name, self.shape_, self.role, self.lag - 1)

    def lower(self, env: Mapping) -> sp.Matrix:
        return env[self.key]

    def evaluate(self, env: Mapping) -> np.ndarray:
        return env[self.key]

    @property
    def key(self) -> "tuple[str, int]":
        return (self.name, self.lag)

    def __repr__(self) -> str:
        return self.name + ("" if not self.lag else f"[t-{self.lag}]" if self.lag > 0 else f"[t+{-self.lag}]")


class _Unary(Expr):
    """An operation on one operand ``x`` whose result has x's shape."""

    x: Expr
    needs: str = ""  # for an operation on vectors only: how to name it in the error

    def __post_init__(self):
        if self.needs and len(self.x.shape) != 1:
            raise ShapeError(f"{self.needs} needs a vector, got {self.x!r} ({fmt_shape(self.x.shape)})")

    @property
    def children(self):
        return (self.x,)

    @property
    def shape(self):
        return self.x.shape


@dataclass(frozen=True)
class MatMul(Expr):
    A: Expr
    B: Expr

    def __post_init__(self):
        sa, sb = self.A.shape, self.B.shape
        if len(sa) != 2 or len(sb) not in (1, 2) or not _same(sa[1], sb[0]):
            raise ShapeError(
                f"cannot multiply {self.A!r} ({fmt_shape(sa)}) by {self.B!r} ({fmt_shape(sb)}): "
                "inner dimensions must agree"
            )

    @property
    def children(self):
        return (self.A, self.B)

    @property
    def shape(self):
        return (self.A.shape[0],) + tuple(self.B.shape[1:])

    def lower(self, env):
        return self.A.lower(env) * self.B.lower(env)

    def evaluate(self, env):
        return self.A.evaluate(env) @ self.B.evaluate(env)

    def __repr__(self):
        return f"({self.A!r} @ {self.B!r})"


@dataclass(frozen=True)
class Add(Expr):
    left: Expr
    right: Expr

    def __post_init__(self):
        if not _same_shape(self.left.shape, self.right.shape):
            raise ShapeError(
                f"cannot add {self.left!r} ({fmt_shape(self.left.shape)}) and "
                f"{self.right!r} ({fmt_shape(self.right.shape)}): shapes differ"
            )

    @property
    def children(self):
        return (self.left, self.right)

    @property
    def shape(self):
        return self.left.shape

    def lower(self, env):
        return self.left.lower(env) + self.right.lower(env)

    def evaluate(self, env):
        return self.left.evaluate(env) + self.right.evaluate(env)

    def __repr__(self):
        return f"({self.left!r} + {self.right!r})"


@dataclass(frozen=True)
class Neg(_Unary):
    x: Expr

    def lower(self, env):
        return -self.x.lower(env)

    def evaluate(self, env):
        return -self.x.evaluate(env)

    def __repr__(self):
        return f"-{self.x!r}"


@dataclass(frozen=True)
class Hadamard(Expr):
    """Element-wise product u ⊙ v of two vectors of the same size."""

    left: Expr
    right: Expr

    def __post_init__(self):
        if len(self.left.shape) != 1 or not _same_shape(self.left.shape, self.right.shape):
            raise ShapeError(
                f"element-wise product needs two vectors of one size, got {self.left!r} "
                f"({fmt_shape(self.left.shape)}) and {self.right!r} ({fmt_shape(self.right.shape)})"
            )

    @property
    def children(self):
        return (self.left, self.right)

    @property
    def shape(self):
        return self.left.shape

    def lower(self, env):
        return self.left.lower(env).multiply_elementwise(self.right.lower(env))

    def evaluate(self, env):
        return self.left.evaluate(env) * self.right.evaluate(env)

    def __repr__(self):
        return f"({self.left!r} ⊙ {self.right!r})"


@dataclass(frozen=True)
class OneMinus(_Unary):
    """1 - u, element-wise (the GRU's update complement)."""

    x: Expr

    needs = "1 - u"

    def lower(self, env):
        return self.x.lower(env).applyfunc(lambda e: 1 - e)

    def evaluate(self, env):
        return 1.0 - self.x.evaluate(env)

    def __repr__(self):
        return f"(1 - {self.x!r})"


@dataclass(frozen=True)
class Apply(_Unary):
    """An activation applied element-wise: sigma(a)."""

    act: Any  # derive.model.activations.Activation
    x: Expr

    @property
    def needs(self):
        return self.act.name

    def lower(self, env):
        f = self.act.function
        return self.x.lower(env).applyfunc(f)

    def evaluate(self, env):
        return self.act.numpy(self.x.evaluate(env))

    def __repr__(self):
        return f"{self.act.name}({self.x!r})"


@dataclass(frozen=True)
class Softmax(_Unary):
    """y = softmax(z): y_i = exp(z_i) / sum_j exp(z_j)."""

    x: Expr

    needs = "softmax"

    def lower(self, env):
        z = self.x.lower(env)
        e = z.applyfunc(sp.exp)
        total = sum(e)
        return e.applyfunc(lambda v: v / total)

    def evaluate(self, env):
        z = self.x.evaluate(env)
        e = np.exp(z - np.max(z, axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def __repr__(self):
        return f"softmax({self.x!r})"


@dataclass(frozen=True)
class NLL(Expr):
    """L = -log y_c, the cross-entropy with a one-hot label e_c: -sum_i e_i log y_i.

    (CS7015 Lecture 14, Module 14.3: L_t(theta) = -log(y_{t c}).)
    """

    y: Expr
    label: Expr

    def __post_init__(self):
        if len(self.y.shape) != 1 or not _same_shape(self.y.shape, self.label.shape):
            raise ShapeError(
                f"-log y_c needs a probability vector and a one-hot label of one size, got "
                f"{self.y!r} ({fmt_shape(self.y.shape)}) and {self.label!r} ({fmt_shape(self.label.shape)})"
            )

    @property
    def children(self):
        return (self.y, self.label)

    @property
    def shape(self):
        return ()

    def lower(self, env):
        y, e = self.y.lower(env), self.label.lower(env)
        return sp.Matrix([[-sum(e[i] * sp.log(y[i]) for i in range(y.shape[0]))]])

    def evaluate(self, env):
        y, e = self.y.evaluate(env), self.label.evaluate(env)
        return np.asarray(-np.sum(e * np.log(y)))

    def __repr__(self):
        return f"nll({self.y!r}, {self.label!r})"


def softmax(z: Expr) -> Softmax:
    """softmax(z), element i = exp(z_i) / sum_j exp(z_j)."""
    return Softmax(as_expr(z))


def nll(y: Expr, label: Expr) -> NLL:
    """-log y_c for the one-hot label vector ``label``."""
    return NLL(as_expr(y), as_expr(label))


# -- vector-level Jacobians ---------------------------------------------------------
#
# Numbers for the local Jacobians are assembled from vectors, one rule per
# operation, never from element-level SymPy matrices: ∂σ(a)/∂· = σ'(a)[:, None] ·
# ∂a/∂· (the diag(σ'(a_j)) of CS7015 Lecture 14, Module 14.4), ∂(A B)/∂· by the
# product rule on the operands, and so on.  SymPy supplies only the scalar
# derivative rule of each activation (``Activation.numpy_prime``, checked against
# SymPy's own derivative in tests/test_activations.py).  Values are flattened row
# by row, as everywhere in `derive.numeric.evaluator`.

@lru_cache(maxsize=256)
def identity(n: int) -> np.ndarray:
    """The n x n identity, shared and read-only (every rule makes new arrays from it, none writes into it)."""
    eye = np.eye(n)
    eye.flags.writeable = False
    return eye


def _flat2(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).reshape(-1)


def _dual(e: Expr, env: Mapping, keys: frozenset, memo: dict):
    """(value, {leaf key: ∂value/∂leaf}) of ``e`` for the leaves ``keys``, every Jacobian 2-D (flat
    entries of e x flat entries of the leaf); a leaf e does not use is absent (an exact 0).  One
    walk serves every leaf: the values are computed once."""
    hit = memo.get(id(e))
    if hit is not None:
        return hit
    if isinstance(e, Sym):
        v = np.asarray(env[e.key], dtype=np.float64)
        out = (v, {e.key: identity(v.size)} if e.key in keys else {})
    elif isinstance(e, MatMul):
        (A, dA), (B, dB) = _dual(e.A, env, keys, memo), _dual(e.B, env, keys, memo)
        m, p = A.shape
        B2 = B.reshape(p, -1)
        q = B2.shape[1]
        J = {}
        for k, d in dA.items():   # C_ij = Σ_k A_ik B_kj: ∂C_ij = Σ_k ∂A_ik B_kj
            J[k] = np.einsum("kj,ikl->ijl", B2, d.reshape(m, p, -1)).reshape(m * q, -1)
        for k, d in dB.items():   # ∂C_ij = Σ_k A_ik ∂B_kj
            if q == 1 and isinstance(e.B, Sym) and k == e.B.key:   # the vector itself (s in W s): ∂(A s)/∂s = A
                JB = A.copy()
            else:
                JB = np.einsum("ik,kjl->ijl", A, d.reshape(p, q, -1)).reshape(m * q, -1)
            J[k] = J[k] + JB if k in J else JB
        out = (A @ B, J)
    elif isinstance(e, Add):
        (a, da), (b, db) = _dual(e.left, env, keys, memo), _dual(e.right, env, keys, memo)
        out = (a + b, _plus(da, db))
    elif isinstance(e, Neg):
        a, da = _dual(e.x, env, keys, memo)
        out = (-a, {k: -d for k, d in da.items()})
    elif isinstance(e, Hadamard):
        (a, da), (b, db) = _dual(e.left, env, keys, memo), _dual(e.right, env, keys, memo)
        out = (a * b, _plus({k: _flat2(b)[:, None] * d for k, d in da.items()},
                            {k: _flat2(a)[:, None] * d for k, d in db.items()}))
    elif isinstance(e, OneMinus):
        a, da = _dual(e.x, env, keys, memo)
        out = (1.0 - a, {k: -d for k, d in da.items()})
    elif isinstance(e, Apply):
        a, da = _dual(e.x, env, keys, memo)
        prime = _flat2(e.act.numpy_prime(a))[:, None] if da else None
        out = (e.act.numpy(a), {k: prime * d for k, d in da.items()})
    elif isinstance(e, Softmax):
        z, dz = _dual(e.x, env, keys, memo)
        y = _softmax(z)
        yf = _flat2(y)
        S = np.diag(yf) - np.outer(yf, yf) if dz else None
        out = (y, {k: S @ d for k, d in dz.items()})
    elif isinstance(e, NLL):
        (y, dy), (lab, dl) = _dual(e.y, env, keys, memo), _dual(e.label, env, keys, memo)
        yf, lf = _flat2(y), _flat2(lab)
        # L = -Σ_i e_i log y_i (CS7015 Lecture 14, Module 14.3)
        out = (np.asarray(-np.sum(lf * np.log(yf))),
               _plus({k: -(lf / yf)[None, :] @ d for k, d in dy.items()},
                     {k: -np.log(yf)[None, :] @ d for k, d in dl.items()}))
    else:
        raise TypeError(f"no vector-level Jacobian rule for {type(e).__name__}")
    memo[id(e)] = out
    return out


def _plus(a: dict, b: dict) -> dict:
    if not b:
        return a
    if not a:
        return b
    out = dict(a)
    for k, d in b.items():
        out[k] = out[k] + d if k in out else d
    return out


def _softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


# -- many values at once ----------------------------------------------------------------
#
# For finite differences: the 2n perturbed forward passes of a central difference in one pass
# over the graph, every value carrying a leading batch axis.  The layout is 3-D throughout: a
# scalar is (m, 1, 1), a vector (m, d, 1) (vectors are columns), a matrix (m, r, c); an
# unperturbed value drops the batch axis and broadcasts.  `derive.numeric.evaluator` checks it
# once per graph against the one-at-a-time ``evaluate`` before trusting it.

def as_batch_layout(v) -> np.ndarray:
    """A value in the batch layout without its batch axis: () -> (1, 1), (d,) -> (d, 1), (r, c) unchanged."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        return v.reshape(1, 1)
    if v.ndim == 1:
        return v.reshape(-1, 1)
    if v.ndim == 2:
        return v
    raise ShapeError(f"no batch layout for a value of shape {v.shape}")


def evaluate_batch(e: Expr, env: Mapping, memo: "dict | None" = None) -> np.ndarray:
    """``e.evaluate`` for leaf values in the batch layout (some with a leading batch axis)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(e))
    if hit is not None:
        return hit
    if isinstance(e, Sym):
        out = env[e.key]
    elif isinstance(e, MatMul):
        out = np.matmul(evaluate_batch(e.A, env, memo), evaluate_batch(e.B, env, memo))
    elif isinstance(e, Add):
        out = evaluate_batch(e.left, env, memo) + evaluate_batch(e.right, env, memo)
    elif isinstance(e, Neg):
        out = -evaluate_batch(e.x, env, memo)
    elif isinstance(e, Hadamard):
        out = evaluate_batch(e.left, env, memo) * evaluate_batch(e.right, env, memo)
    elif isinstance(e, OneMinus):
        out = 1.0 - evaluate_batch(e.x, env, memo)
    elif isinstance(e, Apply):
        out = np.asarray(e.act.numpy(evaluate_batch(e.x, env, memo)), dtype=np.float64)
    elif isinstance(e, Softmax):
        z = evaluate_batch(e.x, env, memo)
        ez = np.exp(z - np.max(z, axis=-2, keepdims=True))
        out = ez / ez.sum(axis=-2, keepdims=True)
    elif isinstance(e, NLL):
        y, lab = evaluate_batch(e.y, env, memo), evaluate_batch(e.label, env, memo)
        out = -np.sum(lab * np.log(y), axis=(-2, -1), keepdims=True)
    else:
        raise TypeError(f"no batched evaluation rule for {type(e).__name__}")
    memo[id(e)] = out
    return out


def jacobian(e: Expr, env: Mapping, key) -> "np.ndarray | None":
    """∂e/∂leaf at the values ``env`` (leaf key -> array), from vector-level rules; None when e does not use the leaf."""
    return _dual(e, env, frozenset((key,)), {})[1].get(key)


def jacobians(e: Expr, env: Mapping, keys) -> "dict":
    """``jacobian`` for several leaves of one expression, in one walk (None for a leaf e does not use)."""
    keys = list(keys)
    found = _dual(e, env, frozenset(keys), {})[1]
    return {k: found.get(k) for k in keys}


# -- the structure of a local Jacobian ------------------------------------------------
#
# Which one-step Jacobians are diagonal matrices for every value and every size,
# read off the operations (not off numbers): a leaf is the identity, an
# element-wise operation of same-shape operands keeps a diagonal Jacobian
# diagonal (∂σ(a)/∂a = diag(σ'(a)), ∂(w ⊙ s)/∂s = diag(w), as in an IndRNN
# cell), a matrix product, a softmax or a loss makes it full.  Diagonal
# Jacobians commute with each other, so the exact check may reorder them
# (`derive.prove.canon.Canon.difference`).

def jacobian_structure(e: Expr, key) -> str:
    """"zero", "diag" (diagonal for every value and size) or "full": the structure of ∂e/∂leaf."""
    return _structure(e, key, {})


def _join(a: str, b: str) -> str:
    if a == "zero":
        return b
    if b == "zero":
        return a
    return "diag" if a == b == "diag" else "full"


def _structure(e: Expr, key, memo: dict) -> str:
    hit = memo.get(id(e))
    if hit is not None:
        return hit
    if isinstance(e, Sym):
        out = "diag" if e.key == key else "zero"
    elif isinstance(e, (Add, Hadamard)):
        parts = [_structure(c, key, memo) for c in (e.left, e.right)]
        if isinstance(e, Hadamard) and e.left.shape != e.right.shape:  # a broadcast scalar: not square
            parts = ["full" if p != "zero" else p for p in parts]
        out = _join(*parts)
    elif isinstance(e, (Neg, OneMinus, Apply)):
        out = _structure(e.x, key, memo)
    else:  # MatMul, Softmax, NLL and anything new: full unless the leaf is not used
        out = "zero" if all(_structure(c, key, memo) == "zero" for c in e.children) else "full"
    memo[id(e)] = out
    return out
