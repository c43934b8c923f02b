"""The one term kind a document needs beyond the engine's: the transpose, and its numbers.

Gradient (denominator) layout writes ∂L/∂h_t as a column, the transpose of the
engine's Jacobian, and uses W^⊤; `Transpose` carries that.  It is evaluated by
`DocNumbers` (the catalog's numbers plus this one branch) and pushed through
products, sums and indexed products by `push_transpose`, so that an equation
written in gradient layout that is pure derivative algebra once transposed back
is still proved exactly in the free algebra of path sums.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..algebra import Brace, D, Prod, ProdOver, Sum, SumOver, Zero
from ..catalog.evaluate import _mul, _Numbers
from ..catalog.terms import Const, Diag, MatPow, _Unary
from .errors import NotUnderstood

__all__ = ["Transpose", "push_transpose", "DocNumbers"]


@dataclass(frozen=True)
class Transpose(_Unary):
    """x^⊤ (a matrix, a vector, or a Jacobian read in gradient layout)."""

    def __str__(self):
        return f"({self.x})^T"


def push_transpose(term, flip: bool = False):
    """The same term with every transpose pushed to the leaves; ``flip`` transposes the whole term.

    (A B)^⊤ = B^⊤ A^⊤, (A + B)^⊤ = A^⊤ + B^⊤, (Π_j A_j)^⊤ = Π_j A_j^⊤ in the opposite order,
    diag(v)^⊤ = diag(v), c^⊤ = c for a number, (A^⊤)^⊤ = A.
    """
    if isinstance(term, Transpose):
        return push_transpose(term.x, not flip)
    if isinstance(term, Prod):
        factors = [push_transpose(f, flip) for f in term.factors]
        return Prod(tuple(reversed(factors) if flip else factors))
    if isinstance(term, Sum):
        return Sum(tuple(push_transpose(t, flip) for t in term.terms))
    if isinstance(term, Brace):
        return Brace(push_transpose(term.body, flip), term.label)
    if isinstance(term, SumOver):
        return replace(term, body=push_transpose(term.body, flip))
    if isinstance(term, ProdOver):
        return replace(term, body=push_transpose(term.body, flip),
                       descending=(not term.descending) if flip else term.descending)
    if isinstance(term, (Diag, Const, Zero)):
        return term
    return Transpose(term) if flip else term


class DocNumbers(_Numbers):
    """The catalog's numeric values of terms, with the transpose."""

    def value(self, term):
        if isinstance(term, Transpose):
            v = self.value(term.x)
            return v if np.ndim(v) == 0 else np.asarray(v).T
        if isinstance(term, Prod):
            out, prev = None, None
            for f in term.factors:
                v = self.value(f)
                if _column(prev) and _column(v):
                    raise NotUnderstood(f"the product of two column vectors in {term} (element-wise? write \\odot)")
                out, prev = (v if out is None else _mul(out, v, term)), v
            return out
        if isinstance(term, MatPow) and isinstance(term.exponent, int) and term.exponent >= 0:
            base = self.value(term.base)
            if np.ndim(base) == 2 and 1 in np.shape(base) and np.size(base) > 1:
                return np.asarray(base) ** term.exponent   # h_t^2 of a vector: element-wise, as notes mean it
        return super().value(term)


def _column(v) -> bool:
    return v is not None and np.ndim(v) == 2 and np.shape(v)[1] == 1 and np.shape(v)[0] > 1
