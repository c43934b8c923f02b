"""Vanishing and exploding gradients: the bound of CS7015 Module 14.4, proved and measured.

The lecture (``shared/seeds/002_eb405f471485c68d.txt``, Module 14.4, and the
spoken version ``001_2f382c7a805806de.txt``, Lecture 105) argues in five steps::

    ds_j/ds_{j-1} = diag(sigma'(a_j)) W                          (chain rule)
    ||diag(sigma'(a_j)) W|| <= ||diag(sigma'(a_j))|| ||W||      (submultiplicative)
                            <= gamma ||W||                       (gamma = sup sigma')
                            <= gamma lambda                      (lambda >= ||W||)
    ||ds_t/ds_k|| <= prod_j ||ds_j/ds_{j-1}|| <= (gamma lambda)^(t-k)

This package turns every step into something checked, one module a concern
(`chain`, `counterexamples`, `numbers`, `truncation`; γ itself is a property of the
activation, proved in `derive.model.supremum`):

1. `gamma` finds gamma = sup sigma' *symbolically* for any registered
   activation (critical points, one-sided limits, piece by piece) and
   confirms it on a grid; when SymPy cannot decide, it says so
   (`derive.errors.NotSupported`), it never guesses.
2. `make_instances` + `check_bound_chain` evaluate each inequality on many
   seeded RNN trajectories at once (vectorised over instances), reporting the
   tightness ratio (left side / right side) and any violation.  Wrong bounds
   (gamma = 1/8 for the logistic, exponent t-k-1, spectral radius for lambda)
   can be passed in and are caught.
3. `spectral_radius_counterexample` and `pascanu_examples`: why the norm (not
   the spectral radius) is needed for a finite-step bound, and why
   lambda > 1/gamma is necessary but not sufficient for explosion (the CS224n
   notes' Pascanu et al. remark, ``003_9ba40663132a09fb.txt``).
4. `power_report` / `lecture_numbers`: 0.01^47 and 0.5^47 of the Applied NLP
   lecture (``000_7be57cb19668d348.txt``) exactly, in float64, and with mpmath
   where float64 underflows.
5. `truncation_error`: relative error of truncated BPTT against full BPTT as
   a function of the window tau (Module 14.4's "restrict the product to tau
   terms").

Norms are spectral norms (largest singular value) throughout; lambda is the
largest singular value of W, so the step gamma ||W|| <= gamma lambda is an
equality.
"""

from __future__ import annotations

from derive.model.supremum import GammaResult, gamma
from .chain import BoundReport, ClaimCheck, Instances, check_bound_chain, make_instances, spectral_norm, spectral_radius
from .counterexamples import PascanuDemo, SpectralRadiusExample, pascanu_examples, spectral_radius_counterexample
from .numbers import PowerReport, lecture_numbers, power_report
from .truncation import TruncationCurve, truncation_curves, truncation_error

__all__ = [
    "GammaResult",
    "gamma",
    "Instances",
    "make_instances",
    "ClaimCheck",
    "BoundReport",
    "check_bound_chain",
    "spectral_norm",
    "spectral_radius",
    "SpectralRadiusExample",
    "spectral_radius_counterexample",
    "PascanuDemo",
    "pascanu_examples",
    "PowerReport",
    "power_report",
    "lecture_numbers",
    "TruncationCurve",
    "truncation_error",
    "truncation_curves",
]


def __getattr__(name):
    if name == "Counterexample":  # renamed: derive.checks.verify.Counterexample is the one counterexample type
        from . import counterexamples

        return counterexamples.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
