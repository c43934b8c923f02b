"""The activation registry: every element-wise nonlinearity and its derivative, in one table.

Each rule states the function three ways, side by side, so an audit reads them
together (autograd's `defvjp` table is the model):

- ``sympy``: the elementary SymPy expression of sigma(x), used to *prove* things
  (the derivative rule, gamma = max sigma', element-level Jacobians);
- ``prime``: the derivative rule sigma'(x), written with the output y = sigma(x)
  where that is the textbook form (logistic: y(1-y); tanh: 1-y^2);
- ``numpy`` / ``numpy_prime``: the float64 implementations the NumPy BPTT runs.

`tests/test_activations.py` checks that ``prime`` equals SymPy's own derivative
of ``sympy`` and that the NumPy pair agrees with both.

Inside SymPy expressions an activation appears as an applied function
``sigma(a)`` whose derivative is the applied function ``sigma'(a)``: the
element-level Jacobians stay readable (diag(sigma'(a_j)) can be recognised) and
lambdify maps both straight onto the NumPy implementations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from derive.errors import DeriveError, UnknownName

__all__ = ["Activation", "register", "get", "names", "ActivationApplied", "ActivationPrime"]


@dataclass(frozen=True)
class Activation:
    """One element-wise nonlinearity and its derivative rule.

    Attributes:
        name: registry key, a Python identifier ("logistic", "tanh").
        latex: how the function is written on a slide (r"\\sigma", r"\\tanh").
        sympy: x -> elementary SymPy expression of the function.
        prime: (x, y) -> SymPy expression of the derivative, y standing for sigma(x).
        numpy: float64 array -> array.
        numpy_prime: float64 array -> array of derivatives.
    """

    name: str
    latex: str
    sympy: Callable[[sp.Expr], sp.Expr]
    prime: Callable[[sp.Expr, sp.Expr], sp.Expr]
    numpy: Callable[[np.ndarray], np.ndarray]
    numpy_prime: Callable[[np.ndarray], np.ndarray]

    # -- SymPy views ---------------------------------------------------------
    @property
    def function(self) -> "type[ActivationApplied]":
        """The SymPy function class sigma, applied as ``act.function(a)``."""
        return _function_classes(self)[0]

    @property
    def derivative_function(self) -> "type[ActivationPrime]":
        """The SymPy function class sigma'."""
        return _function_classes(self)[1]

    def elementary(self, x: sp.Expr) -> sp.Expr:
        """sigma(x) as an elementary expression."""
        return self.sympy(x)

    def elementary_prime(self, x: sp.Expr) -> sp.Expr:
        """sigma'(x) as an elementary expression, from the rule table."""
        return self.prime(x, self.sympy(x))

    def __call__(self, x):
        """Apply to a `derive` vector expression (the cell API) or a SymPy scalar."""
        if isinstance(x, sp.Basic):
            return self.function(x)
        from .ir import Apply, as_expr

        return Apply(self, as_expr(x))

    def lambdify_modules(self) -> dict:
        """Names lambdify needs to evaluate sigma and sigma' with NumPy."""
        f, fp = _function_classes(self)
        return {f.__name__: self.numpy, fp.__name__: self.numpy_prime}


class ActivationApplied(sp.Function):
    """sigma(x) for a registered activation; its derivative is ActivationPrime."""

    activation: Activation
    nargs = 1

    def fdiff(self, argindex=1):
        return self.activation.derivative_function(self.args[0])

    def _eval_rewrite_as_elementary(self, x, **kwargs):
        return self.activation.elementary(x)

    def _eval_evalf(self, prec):
        return self.activation.elementary(self.args[0])._eval_evalf(prec)


class ActivationPrime(sp.Function):
    """sigma'(x) for a registered activation."""

    activation: Activation
    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.diff(self.activation.elementary_prime(x), x)

    def _eval_rewrite_as_elementary(self, x, **kwargs):
        return self.activation.elementary_prime(x)

    def _eval_evalf(self, prec):
        return self.activation.elementary_prime(self.args[0])._eval_evalf(prec)


_REGISTRY: "dict[str, Activation]" = {}
_CLASSES: "dict[str, tuple[type, type]]" = {}


def _function_classes(act: Activation) -> "tuple[type[ActivationApplied], type[ActivationPrime]]":
    if act.name not in _CLASSES:
        f = type(act.name, (ActivationApplied,), {"activation": act})
        fp = type(act.name + "_prime", (ActivationPrime,), {"activation": act})
        _CLASSES[act.name] = (f, fp)
    return _CLASSES[act.name]  # type: ignore[return-value]


def register(name: str, latex: str, *, sympy, prime, numpy, numpy_prime, replace: bool = False) -> Activation:
    """Add an activation to the table; returns it. ``name`` must be a Python identifier."""
    if not name.isidentifier():
        raise DeriveError(f"activation name must be a Python identifier, got {name!r}")
    if name in _REGISTRY and not replace:
        raise DeriveError(f"activation {name!r} is already registered (pass replace=True to redefine it)")
    act = Activation(name, latex, sympy, prime, numpy, numpy_prime)
    _REGISTRY[name] = act
    _CLASSES.pop(name, None)
    return act


def get(name: "str | Activation") -> Activation:
    """Look an activation up by name; an unknown name lists the registered ones."""
    if isinstance(name, Activation):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownName("activation", name, names()) from None


def names() -> "list[str]":
    """Registered activation names, sorted."""
    return sorted(_REGISTRY)


def _np_logistic(x):
    # Stable for large |x|: exp of a non-positive number only.
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def _np_logistic_prime(x):
    y = _np_logistic(x)
    return y * (1.0 - y)


# ---------------------------------------------------------------------------
# The rule table.  sigma(x)  |  sigma'(x) in terms of x and y = sigma(x)
# (CS7015 Lecture 14, Module 14.4: "sigma'(a_j) <= 1/4 if logistic, <= 1 if tanh")
# ---------------------------------------------------------------------------
register(
    "logistic", r"\sigma",
    sympy=lambda x: 1 / (1 + sp.exp(-x)),
    prime=lambda x, y: y * (1 - y),
    numpy=_np_logistic,
    numpy_prime=_np_logistic_prime,
)
register(
    "tanh", r"\tanh",
    sympy=sp.tanh,
    prime=lambda x, y: 1 - y**2,
    numpy=np.tanh,
    numpy_prime=lambda x: 1.0 - np.tanh(x) ** 2,
)
register(
    "relu", r"\operatorname{relu}",
    sympy=lambda x: sp.Max(0, x),
    prime=lambda x, y: sp.Heaviside(x, 0),
    numpy=lambda x: np.maximum(x, 0.0),
    numpy_prime=lambda x: (np.asarray(x) > 0).astype(np.float64),
)
register(
    "identity", r"\operatorname{id}",
    sympy=lambda x: x,
    prime=lambda x, y: sp.Integer(1),
    numpy=lambda x: np.asarray(x, dtype=np.float64),
    numpy_prime=lambda x: np.ones_like(np.asarray(x, dtype=np.float64)),
)
