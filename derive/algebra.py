"""The derivative algebra: ∂f/∂x, ∂⁺f/∂x, ordered products, sums, Σ and Π over an index.

The classes live in `derive.terms` (one term language for derivations, lecture
claims and documents); this module keeps the names a course author already
imports::

    >>> from derive.algebra import D, node
    >>> str(D(node("s", 4), node("W"), explicit=True))
    '∂⁺s_4/∂W'
"""

from __future__ import annotations

from .terms.base import Term
from .terms.calculus import Brace, D, Prod, ProdOver, Sum, SumOver, Zero, explicit, idx, node, prod, total

__all__ = [
    "Term", "D", "Prod", "Sum", "Brace", "SumOver", "ProdOver", "Zero",
    "idx", "node", "prod", "total", "explicit",
]
