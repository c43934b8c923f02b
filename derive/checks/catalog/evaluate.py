"""Evaluating claim terms: the core's contexts (`derive.numeric.evaluator.Numbers`, `derive.prove.step.StepSymbols`).

A lecture claim is evaluated exactly as a derivation step is: the term's own
``numeric`` / ``symbolic`` meaning, with the derivatives from the engine's
Evaluator (one reverse accumulation for both).  Only the zero convention is
the catalog's: an exact zero reads as the number 0 in a claim's comparison.
"""

from __future__ import annotations

import sympy as sp

from derive.errors import NotSupported
from derive.numeric.evaluator import Numbers
from derive.prove.step import NotLocal, StepSymbols, is_zero, symbolic_equal


class ClaimNumbers(Numbers):
    """Numbers for claims: an exact zero is 0.0 (a claim compares numbers, not 'no term')."""

    def value(self, term):
        v = super().value(term)
        return 0.0 if v is None else v


def _gamma(act_name: str):
    try:
        from ..bounds import gamma
    except ImportError:  # pragma: no cover - depends on the installation
        raise _Pending("derive.checks.bounds (γ by symbolic maximisation) is not installed") from None
    return gamma(act_name)


def gamma_of(activation: str) -> sp.Expr:
    """γ = sup σ' as an exact SymPy number (`derive.checks.bounds.gamma`); a claim using it is pending without bounds."""
    return _gamma(activation).value


class _Pending(NotSupported):
    """A check that needs a module which is not installed."""


Pending = _Pending
_Numbers = ClaimNumbers
_NotLocal = NotLocal
_StepSymbols = StepSymbols
_symbolic_equal = symbolic_equal
_is_zero = is_zero
