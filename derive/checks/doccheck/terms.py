"""Transposes pushed to the leaves, and the numbers of a document's terms.

Gradient (denominator) layout writes ∂L/∂h_t as a column, the transpose of the
engine's Jacobian, and uses W^⊤; `derive.terms.Transpose` carries that.  It is
pushed through
products, sums and indexed products by `push_transpose`, so that an equation
written in gradient layout that is pure derivative algebra once transposed back
is still proved exactly in the free algebra of path sums.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from derive.checks.catalog.evaluate import ClaimNumbers
from derive.terms import Brace, Const, Diag, Prod, ProdOver, Sum, SumOver, Transpose, Zero
from derive.terms.calculus import mul
from .errors import NotUnderstood

__all__ = ["Transpose", "push_transpose", "DocNumbers"]  # Transpose: re-exported from derive.terms


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


class DocNumbers(ClaimNumbers):
    """The numeric values of terms as notes mean them: a product of two columns is refused (write ⊙)."""

    def value(self, term):
        if isinstance(term, Prod):
            out, prev = None, None
            for f in term.factors:
                v = self.value(f)
                if _column(prev) and _column(v):
                    raise NotUnderstood(f"the product of two column vectors in {term} (element-wise? write \\odot)")
                out, prev = (v if out is None else mul(out, v, term)), v
            return out
        return super().value(term)


def _column(v) -> bool:
    return v is not None and np.ndim(v) == 2 and np.shape(v)[1] == 1 and np.shape(v)[0] > 1
