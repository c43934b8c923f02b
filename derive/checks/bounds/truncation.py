"""Truncated BPTT: how much of the gradient a window of τ steps loses (Module 14.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from derive.model import activations
from derive.errors import positive_int
from .chain import _finite_gamma, _positive_array


@dataclass(frozen=True)
class TruncationCurve:
    """Relative error of truncated BPTT against full BPTT, for tau = 0..T-1.

    Attributes:
        gamma_lambda: gamma ||W||_2 of the RNN (W is a scaled orthogonal matrix).
        taus: (T,) window sizes 0..T-1 (tau >= T-1 is full BPTT: error 0).
        errors: (T,) ||g_full - g_tau|| / ||g_full||, g = (dL/dW, dL/dU, dL/db) flattened.
        activation, T: the RNN used.
    """

    gamma_lambda: float
    taus: np.ndarray
    errors: np.ndarray
    activation: str
    T: int

    @property
    def label(self) -> str:
        kind = "contracting" if self.gamma_lambda < 1 else "expanding" if self.gamma_lambda > 1 else "critical"
        return f"{kind}, gamma lambda = {self.gamma_lambda:g}"


def truncation_error(gamma_lambda: float, *, activation: str = "tanh", T: int = 30, d: int = 8, n: int = 4,
                     k: int = 4, batch: int = 8, input_scale: float = 0.5, seed: int = 0) -> TruncationCurve:
    """||g_full - g_tau|| / ||g_full|| against tau for an RNN with gamma ||W|| = gamma_lambda.

    Truncation as in Module 14.4 ("restrict the product to tau terms"): for every
    L_t keep the paths with at most tau recurrent factors, k = max(1, t - tau)..t
    in dL_t/dW = dL_t/ds_t sum_k ds_t/ds_k d+s_k/dW (Module 14.3).  Computed with
    `derive.numeric.reference.rnn.bptt(..., truncate=tau)`.  Only W, U and b are
    affected (V and c see no recurrence), so g stacks their gradients.
    """
    from derive.numeric.reference import rnn as reference_rnn

    g = _finite_gamma(activation)
    gl = float(_positive_array("gamma_lambda", gamma_lambda)[0])
    T = positive_int("T", T)
    params = reference_rnn.init_params(n, d, k, seed=seed)
    rng = np.random.default_rng(seed + 1)
    params["W"] = np.linalg.qr(rng.standard_normal((d, d)))[0] * (gl / g)
    X = rng.standard_normal((T, batch, n)) * input_scale
    labels = rng.integers(k, size=(T, batch))

    def recurrent_grad(tau):
        grads = reference_rnn.bptt(params, X, labels, activation=activation, truncate=tau).grads
        return np.concatenate([grads[name].ravel() for name in ("W", "U", "b")])

    full = recurrent_grad(None)
    taus = np.arange(T)
    errors = np.array([np.linalg.norm(full - recurrent_grad(int(tau))) for tau in taus]) / np.linalg.norm(full)
    return TruncationCurve(gl, taus, errors, activations.get(activation).name, T)


def truncation_curves(gamma_lambdas: Sequence[float] = (0.5, 0.9, 1.5), **kwargs) -> "list[TruncationCurve]":
    """`truncation_error` for contracting (gamma lambda < 1) and expanding (> 1) recurrences."""
    return [truncation_error(gl, **kwargs) for gl in gamma_lambdas]
