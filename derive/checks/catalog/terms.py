"""The lecture claims' formula terms: the classes of `derive.terms` under the catalog's names.

``SigmaPrime`` is `derive.terms.Prime`, ``Sigma`` is `derive.terms.Apply`,
``MatPow`` is `derive.terms.Power`; the walk is the terms' own.
"""

from __future__ import annotations

from derive.terms import (Const, DeltaOuter, Diag, Gamma, Hadamard, Lam, Norm, Power, Prime, SpectralRadius, Term,
                     Transpose, Value, is_algebra)
from derive.terms import Apply as Sigma

SigmaPrime = Prime
MatPow = Power

__all__ = ["Value", "Diag", "SigmaPrime", "Sigma", "MatPow", "Norm", "SpectralRadius", "Const", "Gamma", "Lam",
           "DeltaOuter", "Hadamard", "Transpose"]


def walk(term):
    """Every sub-term, depth first."""
    return term.walk() if isinstance(term, Term) else iter((term,))


def _children(term) -> tuple:
    return term.children() if isinstance(term, Term) else ()


_is_algebra = is_algebra
_walk = walk
