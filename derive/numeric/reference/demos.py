"""Numeric demonstrations of vanishing gradients (RNN) and of LSTM's forget-gate path.

Lecture 111 (``shared/seeds/004_ac394c33ecf151bd.txt``) argues: with forget
gates near 1 the gradient reaching s_k from a loss 100 steps later stays of
order one, while a vanilla RNN's ds_t/ds_k decays like (gamma lambda)^{t-k}
(Lecture 14, Module 14.4); with forget gates near 0.5 the LSTM's also decays,
like 0.5^{t-k} -- but then the forward pass forgot s_k just as fast ("the
gates do the same regulation in the forward pass as in the backward pass").

The functions return plain data (no plotting); lag l = t - k runs over 0..T-1
with t = T fixed, so ``norms[l]`` is ||ds_T/ds_{T-l}||_2.

Example::

    >>> from derive.numeric.reference import demos
    >>> rnn_demo = demos.rnn_jacobian_norms(T=100, gamma_lambda=0.9)
    >>> bool(rnn_demo.norms[99] <= rnn_demo.bound[99])              # 0.9^99 ~ 3e-5
    True
    >>> keep = demos.lstm_forget_path(T=100, forget_bias=10.0)      # f = sigma(10) ~ 0.99995
    >>> bool(keep.full_norms[99] > 0.5)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derive.model import activations
from derive.errors import InvalidValue, positive_int
from . import lstm, rnn

__all__ = ["RNNJacobianNorms", "ForgetPathDemo", "max_derivative", "rnn_jacobian_norms", "lstm_forget_path"]


@dataclass(frozen=True, eq=False)
class RNNJacobianNorms:
    """||ds_T/ds_{T-l}||_2 and the bound (gamma lambda)^l, for l = 0..T-1 (arrays of length T)."""

    lags: np.ndarray
    norms: np.ndarray
    bound: np.ndarray
    gamma: float          # max sigma'
    lam: float            # ||W||_2
    activation: str


@dataclass(frozen=True, eq=False)
class ForgetPathDemo:
    """The LSTM's cell-state path over lags l = 0..T-1 (arrays of length T).

    Attributes:
        forget: the forget gate value sigma(forget_bias) (the same in every unit and step).
        forget_path_norms: ||prod_{j=T-l+1}^{T} diag(f_j)||_2 (backward, cell path only).
        full_norms: ||ds_T/ds_{T-l}||_2 through every path (product of the pair Jacobians).
        forward_decay: prod_{j=T-l+1}^{T} f_j, mean over units (how much of s_{T-l}
            the forward pass carries into s_T along the cell path).
    """

    lags: np.ndarray
    forget: float
    forget_path_norms: np.ndarray
    full_norms: np.ndarray
    forward_decay: np.ndarray
    forget_bias: float


def max_derivative(activation: str) -> float:
    """gamma = max sigma'(x), numerically on a grid of [-20, 20] containing 0 (1/4 logistic, 1 tanh)."""
    act = activations.get(activation)
    return float(np.max(act.numpy_prime(np.linspace(-20.0, 20.0, 40001))))


def _path_norms(jacobians: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """||d state_T / d state_{T-l}||_2 restricted to (rows, cols), for l = 0..T-1; jacobians (T, D, D)."""
    T, D = jacobians.shape[0], jacobians.shape[-1]
    product, norms = np.eye(D), np.empty(T)
    for lag in range(T):
        norms[lag] = np.linalg.norm(product[rows, cols], 2)
        product = product @ jacobians[T - 1 - lag]     # d s_T/d s_{T-l-1} = (d s_T/d s_{T-l}) J_{T-l}
    return norms


MAX_DEMO_ENTRIES = 1 << 25  # T * d * d Jacobian entries kept (256 MB of float64)


def _sizes(T, d) -> "tuple[int, int]":
    T, d = positive_int("T", T, maximum=MAX_DEMO_ENTRIES), positive_int("d", d, maximum=1024)
    if T * d * d > MAX_DEMO_ENTRIES:
        raise InvalidValue(f"T * d * d must be at most {MAX_DEMO_ENTRIES} (the Jacobians kept), got T = {T}, d = {d}")
    return T, d


def rnn_jacobian_norms(T: int = 100, d: int = 8, gamma_lambda: float = 0.9, *, activation: str = "tanh",
                       input_scale: float = 0.1, seed: int = 0) -> RNNJacobianNorms:
    """Module 14.4's bound ||ds_t/ds_k|| <= (gamma lambda)^{t-k}, measured on one sequence.

    W = lambda Q with Q a random orthogonal matrix, so ||W||_2 = lambda =
    gamma_lambda / gamma exactly; small inputs (``input_scale``) keep a_t near 0
    where sigma' is close to gamma, so the norms follow the bound closely.
    """
    T, d = _sizes(T, d)
    gamma_lambda = rnn.real_number("gamma_lambda", gamma_lambda, minimum=0, strict=True)
    input_scale, seed = rnn.real_number("input_scale", input_scale, minimum=0), rnn.check_seed(seed)
    gamma = max_derivative(activation)
    lam = gamma_lambda / gamma
    rng = np.random.default_rng(seed)
    params = rnn.init_params(n=d, d=d, k=2, seed=seed, scale=input_scale)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    params["W"] = lam * q
    X = rng.normal(size=(T, 1, d))
    cache = rnn.forward(params, X, np.zeros((T, 1), dtype=int), activation=activation)
    jac = rnn.step_jacobians(params, cache)[:, 0]
    lags = np.arange(T)
    return RNNJacobianNorms(lags, _path_norms(jac, slice(None), slice(None)),
                            float(gamma_lambda) ** lags, gamma, lam, activations.get(activation).name)


def lstm_forget_path(T: int = 100, d: int = 8, forget_bias: float = 10.0, *, weight_scale: float = 0.1,
                     seed: int = 0) -> ForgetPathDemo:
    """Lecture 111's forget-gate path on one sequence.

    W_f = U_f = 0, so every forget gate equals sigma(forget_bias) exactly:
    forget_bias = 10 gives f ~ 0.99995 (keep), 0 gives f = 0.5 (forget half
    per step).  The other weights are small (``weight_scale``), so paths
    leaving the cell state through h stay small next to the forget path.
    With f ~ 1 the full norm stays of order one (about 1 to 5 over 100 steps
    for the default sizes); its slow growth comes from the paths through h,
    the route by which LSTM gradients can still explode (Lecture 111).
    """
    T, d = _sizes(T, d)
    forget_bias = rnn.real_number("forget_bias", forget_bias)
    weight_scale, seed = rnn.real_number("weight_scale", weight_scale, minimum=0), rnn.check_seed(seed)
    params = lstm.init_params(n=d, d=d, k=2, seed=seed, scale=weight_scale)
    params["W_f"][:] = 0.0
    params["U_f"][:] = 0.0
    params["b_f"][:] = forget_bias
    X = np.random.default_rng(seed).normal(size=(T, 1, d))
    cache = lstm.forward(params, X, np.zeros((T, 1), dtype=int))
    lags = np.arange(T)
    f = cache.f[:, 0]                                                      # (T, d), forward pass
    survive = np.vstack([np.ones((1, d)), np.cumprod(f[::-1], axis=0)[:-1]])  # prod over the last l steps
    cell = slice(0, d)
    return ForgetPathDemo(
        lags=lags,
        forget=float(activations.get("logistic").numpy(np.float64(forget_bias))),
        forget_path_norms=_path_norms(lstm.forget_path(cache)[:, 0], cell, cell),
        full_norms=_path_norms(lstm.step_jacobians(params, cache)[:, 0], cell, cell),
        forward_decay=survive.mean(axis=1),
        forget_bias=float(forget_bias),
    )
