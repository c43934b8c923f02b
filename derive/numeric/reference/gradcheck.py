"""Check analytic gradients against central finite differences, in float64.

Two checks, as autograd's ``check_grads`` offers:

- `check_gradients`: every entry of every parameter,
  g_fd = (L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps).  Costs two loss
  evaluations per entry (the baseline measured ~120-210 analytic gradients).
- `directional_check`: a few random unit directions v per parameter (fixed
  seed), comparing <g, v> with (L(theta + eps v) - L(theta - eps v)) / (2 eps).
  Two evaluations per direction: the check for large parameters.

The error of one parameter is *scale-aware*::

    error = max_i |g_i - g_fd_i| / max(1e-12, max_i |g_i|, max_i |g_fd_i|)

i.e. the worst absolute disagreement measured in units of the larger gradient
of the two, so tiny entries of a large gradient do not produce spurious
relative errors.  (Directional: |a - n| / max(1e-12, |a|, |n|) per direction.)
A check passes iff error <= rtol.  eps = 1e-5 is the measured best step for a
tanh RNN in float64 (relative error ~1e-10).  Non-finite values fail the check
with a reason instead of raising.

Example::

    >>> import numpy as np
    >>> from derive.numeric.reference import rnn, gradcheck
    >>> params = rnn.init_params(2, 3, 2)
    >>> X, labels = np.ones((4, 1, 2)), np.zeros((4, 1), dtype=int)
    >>> loss = lambda p: rnn.forward(p, X, labels).loss
    >>> gradcheck.check_gradients(loss, params, rnn.bptt(params, X, labels).grads).ok
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from derive.errors import InvalidValue, ShapeError, UnknownName
from .rnn import real_array

__all__ = ["ParamCheck", "GradCheckReport", "finite_difference_gradient", "check_gradients", "directional_check"]

LossFn = Callable[[dict], float]


@dataclass(frozen=True)
class ParamCheck:
    """The outcome for one parameter.

    ``worst_index`` is the entry (entrywise) or the direction number
    (directional) with the largest disagreement; ``analytic`` and ``numeric``
    are the two values there; ``reason`` explains a failure that is not a
    plain tolerance miss (non-finite values).
    """

    name: str
    error: float
    worst_index: tuple
    analytic: float
    numeric: float
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class GradCheckReport:
    """Per-parameter results (`ParamCheck`, in parameter order); ``ok`` iff all pass."""

    checks: "dict[str, ParamCheck]"
    mode: str
    eps: float
    rtol: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())

    @property
    def failures(self) -> "list[ParamCheck]":
        return [c for c in self.checks.values() if not c.ok]

    def __str__(self) -> str:
        head = f"gradient check ({self.mode}, eps={self.eps:g}, rtol={self.rtol:g}): {'ok' if self.ok else 'FAILED'}"
        rows = [f"  {'param':<8} {'error':>10}  {'worst at':<14} {'analytic':>22} {'numeric':>22}"]
        for c in self.checks.values():
            flag = "" if c.ok else "  <-- " + (c.reason or "above rtol")
            rows.append(f"  {c.name:<8} {c.error:>10.3e}  {str(c.worst_index):<14} "
                        f"{c.analytic:>22.15g} {c.numeric:>22.15g}{flag}")
        return "\n".join([head] + rows)


def _check_settings(eps: float, rtol: float) -> None:
    if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps > 0):
        raise InvalidValue(f"eps must be a positive finite step, got {eps!r}")
    if not (isinstance(rtol, (int, float)) and np.isfinite(rtol) and rtol > 0):
        raise InvalidValue(f"rtol must be a positive finite tolerance, got {rtol!r}")


def _as_float64(params: Mapping) -> "dict[str, np.ndarray]":
    if not isinstance(params, Mapping):
        raise InvalidValue(f"params must be a dict of arrays, got {type(params).__name__}")
    return {key: real_array(f"params[{key!r}]", value).copy() for key, value in params.items()}


def _matching_grads(params: dict, grads: Mapping) -> "dict[str, np.ndarray]":
    if not isinstance(grads, Mapping):
        raise InvalidValue(f"grads must be a dict of arrays, got {type(grads).__name__}")
    for key in grads:
        if key not in params:
            raise UnknownName("parameter", key, list(params))
    missing = [key for key in params if key not in grads]
    if missing:
        raise InvalidValue(f"grads is missing {', '.join(map(repr, missing))}; expected keys {', '.join(params)}")
    out = {}
    for key, value in params.items():
        g = real_array(f"grads[{key!r}]", grads[key], finite=False)  # a nan gradient is reported, not refused
        if g.shape != value.shape:
            raise ShapeError(f"grads[{key!r}] has shape {g.shape}; expected {value.shape} like params[{key!r}]")
        out[key] = g
    return out


def _loss(loss_fn: LossFn, params: dict) -> float:
    return float(loss_fn(params))


def finite_difference_gradient(loss_fn: LossFn, params: Mapping, *, eps: float = 1e-5) -> "dict[str, np.ndarray]":
    """Central-difference gradient of ``loss_fn(params) -> float`` for every entry of every array.

    ``params`` is not modified (the perturbations are applied to a float64 copy).
    """
    _check_settings(eps, 1.0)
    p = _as_float64(params)
    out = {}
    for key, value in p.items():
        g = np.empty_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + eps
            up = _loss(loss_fn, p)
            value[idx] = old - eps
            down = _loss(loss_fn, p)
            value[idx] = old
            with np.errstate(invalid="ignore", over="ignore"):
                g[idx] = (up - down) / (2.0 * eps)
        out[key] = g
    return out


def _first_nonfinite(a: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])


def _compare(name: str, g: np.ndarray, g_fd: np.ndarray, rtol: float) -> ParamCheck:
    """Scale-aware comparison of an analytic and a numeric array (see module docstring)."""
    for label, arr, other in (("analytic", g, g_fd), ("finite-difference", g_fd, g)):
        if not np.all(np.isfinite(arr)):
            idx = _first_nonfinite(arr)
            return ParamCheck(name, float("inf"), idx, float(g[idx]), float(g_fd[idx]), False,
                              f"{label} gradient is non-finite ({arr[idx]}) at {idx}")
    diff = np.abs(g - g_fd)
    idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    idx = tuple(int(i) for i in idx)
    scale = max(1e-12, float(np.max(np.abs(g), initial=0.0)), float(np.max(np.abs(g_fd), initial=0.0)))
    error = float(diff[idx]) / scale if diff.size else 0.0
    return ParamCheck(name, error, idx, float(g[idx]) if diff.size else 0.0,
                      float(g_fd[idx]) if diff.size else 0.0, error <= rtol)


def check_gradients(loss_fn: LossFn, params: Mapping, grads: Mapping, *,
                    eps: float = 1e-5, rtol: float = 1e-6) -> GradCheckReport:
    """Compare ``grads`` with central differences of ``loss_fn`` entry by entry.

    Args:
        loss_fn: params dict -> scalar loss.
        params: dict of arrays (the point of evaluation).
        grads: dict with the same keys and shapes: the gradient to check.
    Returns:
        A `GradCheckReport`; ``report.ok`` and ``print(report)`` give the verdict.
    """
    _check_settings(eps, rtol)
    p = _as_float64(params)
    g = _matching_grads(p, grads)
    g_fd = finite_difference_gradient(loss_fn, p, eps=eps)
    checks = {key: _compare(key, g[key], g_fd[key], rtol) for key in p}
    return GradCheckReport(checks, "entrywise central differences", eps, rtol)


def directional_check(loss_fn: LossFn, params: Mapping, grads: Mapping, *, n_directions: int = 3,
                      eps: float = 1e-5, rtol: float = 1e-6, seed: int = 0) -> GradCheckReport:
    """Compare directional derivatives along random unit directions (one set per parameter).

    Each direction v is Gaussian, normalised to unit Frobenius norm, drawn from
    ``numpy.random.default_rng(seed)``; the other parameters stay fixed.
    """
    _check_settings(eps, rtol)
    if isinstance(n_directions, bool) or not isinstance(n_directions, int) or n_directions < 1:
        raise InvalidValue(f"n_directions must be an integer >= 1, got {n_directions!r}")
    p = _as_float64(params)
    g = _matching_grads(p, grads)
    rng = np.random.default_rng(seed)
    checks = {}
    for key, value in p.items():
        base = value.copy()
        analytic, numeric = np.empty(n_directions), np.empty(n_directions)
        for j in range(n_directions):
            v = rng.normal(size=value.shape)
            v /= np.linalg.norm(v)
            value[...] = base + eps * v
            up = _loss(loss_fn, p)
            value[...] = base - eps * v
            down = _loss(loss_fn, p)
            value[...] = base
            analytic[j] = float(np.sum(g[key] * v))
            with np.errstate(invalid="ignore", over="ignore"):
                numeric[j] = (up - down) / (2.0 * eps)
        worst = None
        for j in range(n_directions):  # per direction, the scalar version of the scale-aware error
            c = _compare(key, analytic[j:j + 1], numeric[j:j + 1], rtol)
            c = ParamCheck(key, c.error, (j,), c.analytic, c.numeric, c.ok,
                           c.reason.replace(" at (0,)", f" along direction {j}"))
            if worst is None or not c.error <= worst.error:
                worst = c
        checks[key] = worst
    return GradCheckReport(checks, f"{n_directions} random directions, seed {seed}", eps, rtol)
