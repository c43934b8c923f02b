"""The LSTM in the notation of CS7015 Lecture 111 and its BPTT in NumPy.

Lecture 111 (``shared/seeds/004_ac394c33ecf151bd.txt``): "three gates and
three states" per step, s the cell state and h the output state::

    o_t  = sigma(W_o h_{t-1} + U_o x_t + b_o)        (output gate)
    i_t  = sigma(W_i h_{t-1} + U_i x_t + b_i)        (input gate)
    f_t  = sigma(W_f h_{t-1} + U_f x_t + b_f)        (forget gate)
    s~_t = tanh(W h_{t-1} + U x_t + b)               (candidate state)
    s_t  = f_t * s_{t-1} + i_t * s~_t
    h_t  = o_t * tanh(s_t)
    z_t  = V h_t + c,  y_t = softmax(z_t),  L_t = -log y_{t, c_t}   (summed)

``gate`` (sigma, default "logistic"), ``cell`` (the candidate's tanh) and
``out`` (the tanh in h_t) name activations of `derive.model.activations`.  Shapes:
W_* (d, d), U_* (d, n), b_* (d,), V (k, d), c (k,); X (T, B, n), labels (T, B),
h0 and s0 (B, d), zeros by default.  Arrays index steps t = 1..T as 0..T-1;
state arrays keep the initial state at index 0.

The recurrent state is the pair (s_t, h_t).  Its step Jacobian, block order
[s, h] for rows (outputs) and columns (inputs)::

    ds_t/ds_{t-1} = diag(f_t)                    <- Lecture 111's forget-gate path
    ds_t/dh_{t-1} = diag(s_{t-1} f'_t) W_f + diag(s~_t i'_t) W_i + diag(i_t s~'_t) W
    dh_t/ds_{t-1} = diag(o_t tanh'(s_t)) diag(f_t)
    dh_t/dh_{t-1} = diag(tanh(s_t) o'_t) W_o + diag(o_t tanh'(s_t)) ds_t/dh_{t-1}

(f'_t = sigma'(a_f,t) etc.).  The gates read h_{t-1} only, so s_{t-1} reaches
s_t through the forget gate alone: a product of diag(f_j) survives over many
steps exactly when the forward pass carried s_k forward (Lecture 111).

Example::

    >>> from derive.numeric.reference import lstm
    >>> params = lstm.init_params(n=3, d=4, k=5, forget_bias=1.0)
    >>> X, labels = np.ones((6, 2, 3)), np.zeros((6, 2), dtype=int)
    >>> r = lstm.bptt(params, X, labels)
    >>> r.grads["W_f"].shape, r.jacobians.shape, r.forget_path.shape
    ((4, 4), (6, 2, 8, 8), (6, 2, 4, 4))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import numpy as np

from derive.model import activations
from .rnn import (affine, real_number, check_cache, check_params, check_sequence, check_state, check_truncate, diag_embed,
                  outer_sum, output_backward, output_layer, random_params, reverse_accumulate, truncated_accumulate)

__all__ = ["PARAM_SHAPES", "BLOCKS", "LSTMCache", "LSTMResult", "init_params", "forward", "backward", "bptt",
           "step_jacobians", "forget_path"]

# The four affine maps of a step, stacked in this order: o, i, f gates, then the candidate s~.
BLOCKS = ("_o", "_i", "_f", "")
PARAM_SHAPES: "dict[str, tuple[str, ...]]" = {
    **{key: dims for sfx in BLOCKS
       for key, dims in (("W" + sfx, ("d", "d")), ("U" + sfx, ("d", "n")), ("b" + sfx, ("d",)))},
    "V": ("k", "d"), "c": ("k",),
}


def _stacked(p: dict, letter: str) -> np.ndarray:
    """W_o, W_i, W_f, W stacked row-wise into (4d, .) (letter "W", "U" or "b")."""
    return np.concatenate([p[letter + sfx] for sfx in BLOCKS])


@dataclass(eq=False)
class LSTMCache:
    """The forward pass.  Steps t = 1..T are indices 0..T-1; state arrays start at index 0.

    Attributes:
        a: pre-activations (T, B, 4d), blocks o, i, f, candidate (for the default cell, whose
            backward needs only the gates' outputs, formed from h and X on first access).
        gates: sigma(a) for o, i, f (T, B, 3d); views ``o``, ``i``, ``f`` (T, B, d).
        s_tilde: candidate s~_t (T, B, d).
        s, h: states (T+1, B, d); ``s[0]`` = s0, ``h[0]`` = h0.
        out_s: tanh(s_t) (T, B, d).
        z, y: scores and probabilities (T, B, k); step_losses (T, B); loss (float).
    """

    X: np.ndarray
    labels: np.ndarray
    pre: "np.ndarray | None"
    gates: np.ndarray
    s_tilde: np.ndarray
    s: np.ndarray
    h: np.ndarray
    out_s: np.ndarray
    z: np.ndarray
    y: np.ndarray
    step_losses: np.ndarray
    loss: float
    activations: "dict[str, str]"
    params: "dict[str, np.ndarray]" = field(repr=False)

    @cached_property
    def a(self) -> np.ndarray:
        """W_* h_{t-1} + U_* x_t + b_*, all steps at once (two matrix products)."""
        if self.pre is not None:
            return self.pre
        p = self.params
        return affine(self.X, _stacked(p, "U"), _stacked(p, "b")) + affine(self.h[:-1], _stacked(p, "W"))

    @property
    def d(self) -> int:
        return self.s.shape[-1]

    @property
    def o(self) -> np.ndarray:
        return self.gates[..., :self.d]

    @property
    def i(self) -> np.ndarray:
        return self.gates[..., self.d:2 * self.d]

    @property
    def f(self) -> np.ndarray:
        return self.gates[..., 2 * self.d:]


@dataclass(eq=False)
class LSTMResult:
    """Loss, gradients and Jacobians of one batch.

    Attributes:
        loss, step_losses (T, B), grads (keys of params), grad_s0 and grad_h0 (B, d).
        jacobians: d(s_t, h_t)/d(s_{t-1}, h_{t-1}) (T, B, 2d, 2d), block order [s, h].
        forget_path: ds_t/ds_{t-1} = diag(f_t) (T, B, d, d).
        (Both computed on first access.)
    """

    loss: float
    step_losses: np.ndarray
    grads: "dict[str, np.ndarray]"
    grad_s0: np.ndarray
    grad_h0: np.ndarray
    params: "dict[str, np.ndarray]" = field(repr=False)
    cache: LSTMCache = field(repr=False)

    @cached_property
    def jacobians(self) -> np.ndarray:
        return step_jacobians(self.params, self.cache)

    @cached_property
    def forget_path(self) -> np.ndarray:
        return forget_path(self.cache)


def init_params(n: int, d: int, k: int, *, seed: int = 0, scale: float = 0.5,
                forget_bias: float = 0.0) -> "dict[str, np.ndarray]":
    """Random parameters (`rnn.random_params`), with ``forget_bias`` added to b_f."""
    forget_bias = real_number("forget_bias", forget_bias)
    params = random_params(PARAM_SHAPES, n, d, k, seed=seed, scale=scale)
    params["b_f"] += forget_bias
    return params


def forward(params: Mapping, X, labels, *, h0=None, s0=None, gate: str = "logistic",
            cell: str = "tanh", out: str = "tanh") -> LSTMCache:
    """Run the LSTM over a batch: X (T, B, n), labels (T, B), h0/s0 (B, d) or None."""
    p, sizes = check_params(params, PARAM_SHAPES)
    return _forward(p, sizes, X, labels, h0, s0, gate, cell, out)


def _forward(p, sizes, X, labels, h0, s0, gate, cell, out) -> LSTMCache:
    """`forward` on validated parameters ``p`` (a float64 copy) of sizes ``sizes``."""
    X, labels = check_sequence(X, labels, sizes["n"], sizes["k"])
    T, B, _ = X.shape
    d = sizes["d"]
    sg, sc, so = (activations.get(name) for name in (gate, cell, out))
    S, H = np.empty((T + 1, B, d)), np.empty((T + 1, B, d))
    S[0], H[0] = check_state("s0", s0, B, d), check_state("h0", h0, B, d)
    if sg.name == "logistic" and sc.name == "tanh" and so.name == "tanh":
        A, G, C, O = _forward_fused(p, X, S, H)
    else:
        A, G, C, O = _forward_any(p, X, S, H, sg, sc, so)
    Z, Y, step_losses = output_layer(p["V"], p["c"], H[1:], labels)
    names = {"gate": sg.name, "cell": sc.name, "out": so.name}
    return LSTMCache(X, labels, A, G, C, S, H, O, Z, Y, step_losses, float(step_losses.sum()), names, p)


def _forward_fused(p, X, S, H):
    """The default cell (logistic gates, tanh candidate and output): one tanh per step for all four maps.

    sigma(a) = (1 + tanh(a / 2)) / 2, so the gate rows of W, U, b are halved up front (exact: a
    power of two) and one tanh of the (B, 4d) pre-activations gives tanh(a/2) for the gates and
    s~_t for the candidate.  Everything after the hoisted U x_t is done one step at a time on
    (B, 4d) blocks that stay in cache, and the pre-activations are not stored (`LSTMCache.a`
    forms them on demand): a pass over a whole (T, B, 4d) array costs more than its arithmetic."""
    T, B, _ = X.shape
    d = S.shape[-1]
    half = np.concatenate([np.full(3 * d, 0.5), np.ones(d)])
    UX = affine(X, _stacked(p, "U") * half[:, None])                           # hoisted U x_t, halved gates
    bias = _stacked(p, "b") * half
    Wt = np.ascontiguousarray((_stacked(p, "W") * half[:, None]).T)            # one fused (d, 4d) matmul
    GC, O = np.empty((T, B, 4 * d)), np.empty((T, B, d))
    Wh, ic = np.empty((B, 4 * d)), np.empty((B, d))   # preallocated: the loop allocates nothing
    for t in range(T):
        g = GC[t, :, :3 * d]
        np.matmul(H[t], Wt, out=Wh)
        Wh += UX[t]
        Wh += bias                                   # (W_* h_{t-1} + U_* x_t + b_*) / 2 for the gates
        np.tanh(Wh, out=GC[t])
        g *= 0.5
        g += 0.5                                     # o_t, i_t, f_t; GC[t, :, 3d:] = s~_t
        o, i, f, c = GC[t, :, :d], GC[t, :, d:2 * d], GC[t, :, 2 * d:3 * d], GC[t, :, 3 * d:]
        np.multiply(f, S[t], out=S[t + 1])           # s_t = f_t * s_{t-1} + i_t * s~_t
        np.multiply(i, c, out=ic)
        S[t + 1] += ic
        np.tanh(S[t + 1], out=O[t])
        np.multiply(o, O[t], out=H[t + 1])           # h_t = o_t * tanh(s_t)
    return None, GC[..., :3 * d], GC[..., 3 * d:], O


def _forward_any(p, X, S, H, sg, sc, so):
    """Any activations: the gates, candidate and output by the rule table, into preallocated buffers."""
    T, B, _ = X.shape
    d = S.shape[-1]
    A = affine(X, _stacked(p, "U"), _stacked(p, "b"))  # U x_t + b for all four maps, hoisted
    Wt = np.ascontiguousarray(_stacked(p, "W").T)   # one fused (d, 4d) matmul per step for the four maps
    G, C, O = np.empty((T, B, 3 * d)), np.empty((T, B, d)), np.empty((T, B, d))
    Wh, ic = np.empty((B, 4 * d)), np.empty((B, d))
    gate_fn = _logistic_into if sg.name == "logistic" else (lambda x, out: np.copyto(out, sg.numpy(x)))
    cell_fn = np.tanh if sc.name == "tanh" else (lambda x, out: np.copyto(out, sc.numpy(x)))
    out_fn = np.tanh if so.name == "tanh" else (lambda x, out: np.copyto(out, so.numpy(x)))
    for t in range(T):
        At = A[t]
        np.matmul(H[t], Wt, out=Wh)
        At += Wh                                     # W_* h_{t-1} + U_* x_t + b_*
        gate_fn(At[:, :3 * d], out=G[t])             # o_t, i_t, f_t
        cell_fn(At[:, 3 * d:], out=C[t])             # s~_t
        o, i, f = G[t, :, :d], G[t, :, d:2 * d], G[t, :, 2 * d:]
        np.multiply(f, S[t], out=S[t + 1])           # s_t = f_t * s_{t-1} + i_t * s~_t
        np.multiply(i, C[t], out=ic)
        S[t + 1] += ic
        out_fn(S[t + 1], out=O[t])
        np.multiply(o, O[t], out=H[t + 1])           # h_t = o_t * tanh(s_t)
    return A, G, C, O


def _logistic_into(x: np.ndarray, out: np.ndarray) -> None:
    """out = sigma(x) = (1 + tanh(x / 2)) / 2 in place: three passes, no temporaries, no exp overflow.
    Within 2.3e-16 (absolute) of the exp-based form of `derive.model.activations`."""
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _derivatives(cache: LSTMCache):
    """sigma'(a) of the gates (T, B, 3d), of the candidate and tanh'(s_t) (T, B, d).

    For the logistic and tanh they come from the forward pass's outputs (sigma' = y(1 - y),
    tanh' = 1 - y^2: the rule table of `derive.model.activations`), not from the pre-activations again."""
    d, acts = cache.d, {k: activations.get(v) for k, v in cache.activations.items()}

    def prime(name, x, y):
        if acts[name].name == "logistic":
            return y * (1.0 - y)
        if acts[name].name == "tanh":
            return 1.0 - y * y
        return acts[name].numpy_prime(x)

    return (prime("gate", cache.a[..., :3 * d], cache.gates), prime("cell", cache.a[..., 3 * d:], cache.s_tilde),
            prime("out", cache.s[1:], cache.out_s))


def forget_path(cache: LSTMCache) -> np.ndarray:
    """ds_t/ds_{t-1} = diag(f_t), the cell-state path of Lecture 111 (T, B, d, d)."""
    return diag_embed(cache.f)


def step_jacobians(params: Mapping, cache: LSTMCache) -> np.ndarray:
    """d(s_t, h_t)/d(s_{t-1}, h_{t-1}) (T, B, 2d, 2d), block order [s, h] (module docstring)."""
    p, sizes = check_params(params, PARAM_SHAPES)
    check_cache(sizes, cache, cache.s)
    d = cache.d
    dgate, dcell, dout = _derivatives(cache)
    o, i, f, s_prev = cache.o, cache.i, cache.f, cache.s[:-1]
    ds_dh = ((s_prev * dgate[..., 2 * d:])[..., None] * p["W_f"]
             + (cache.s_tilde * dgate[..., d:2 * d])[..., None] * p["W_i"]
             + (i * dcell)[..., None] * p["W"])
    through_s = o * dout                               # dh_t/ds_t = diag(o_t tanh'(s_t))
    J = np.empty(f.shape[:2] + (2 * d, 2 * d))
    J[..., :d, :d] = diag_embed(f)
    J[..., :d, d:] = ds_dh
    J[..., d:, :d] = diag_embed(through_s * f)
    J[..., d:, d:] = (cache.out_s * dgate[..., :d])[..., None] * p["W_o"] + through_s[..., None] * ds_dh
    return J


def backward(params: Mapping, cache: LSTMCache, *, truncate: "int | None" = None) -> LSTMResult:
    """Gradients of ``cache.loss``: full BPTT, or truncated with window tau = ``truncate``.

    Truncation is `rnn.backward`'s definition with the pair Jacobian
    d(s_t, h_t)/d(s_{t-1}, h_{t-1}) as the recurrent factor: each loss L_t keeps
    the paths with at most tau factors; the parameter gradients are full for
    tau >= T-1, grad_s0/grad_h0 keep dL_t/d(s_0, h_0) iff t <= tau.
    """
    p, sizes = check_params(params, PARAM_SHAPES)
    check_cache(sizes, cache, cache.s)
    return _backward(p, cache, check_truncate(truncate))


def _backward(p, cache: LSTMCache, tau: "int | None") -> LSTMResult:
    """`backward` on validated parameters ``p`` and window ``tau``."""
    T, d = cache.gates.shape[0], cache.d
    dV, dc, dH_out = output_backward(p["V"], cache.h[1:], cache.y, cache.labels)
    W_all = _stacked(p, "W")
    # the default cell's forward pass (`_forward_fused`, the one that stores no pre-activations) lets the full
    # backward form sigma' and tanh' from the outputs step by step
    derivatives = None if cache.pre is None and tau is None else _derivatives(cache)
    o, i, f, s_prev, s_tilde, out_s = cache.o, cache.i, cache.f, cache.s[:-1], cache.s_tilde, cache.out_s

    def local(steps, dstate):
        dgate, dcell, dout = derivatives
        ds, dh = dstate
        do = dh * out_s[steps]                                  # h_t = o_t * tanh(s_t)
        ds = ds + dh * o[steps] * dout[steps]
        da_gates = np.concatenate([do, ds * s_tilde[steps], ds * s_prev[steps]], axis=-1) * dgate[steps]
        da_cand = ds * i[steps] * dcell[steps]                  # s_t = f_t s_{t-1} + i_t s~_t
        da = np.concatenate([da_gates, da_cand], axis=-1)      # blocks o, i, f, candidate
        return {"a": da}, (ds * f[steps], da @ W_all)          # every gate reads h_{t-1}

    upstream = (np.zeros_like(dH_out), dH_out)                  # L_t reads h_t only
    if tau is None:
        dA, grad_s0, grad_h0 = _full_backward(W_all, cache, dH_out, derivatives)
    else:
        dpre, (grad_s0, grad_h0) = truncated_accumulate(local, upstream, T, tau)
        dA = dpre["a"]
    # Hoisted: dW_* = sum_t dL/da_*,t h_{t-1}^T, dU_* = sum_t dL/da_*,t x_t^T, four blocks at once:
    # one (4d, TB) x (TB, .) product each (`rnn.outer_sum`).
    dW, dU, db = outer_sum(dA, cache.h[:-1]), outer_sum(dA, cache.X), dA.sum(axis=(0, 1))
    grads = {}
    for j, sfx in enumerate(BLOCKS):
        rows = slice(j * d, (j + 1) * d)
        grads["W" + sfx], grads["U" + sfx], grads["b" + sfx] = dW[rows], dU[rows], db[rows]
    grads["V"], grads["c"] = dV, dc
    grads = {key: grads[key] for key in PARAM_SHAPES}
    return LSTMResult(cache.loss, cache.step_losses, grads, grad_s0, grad_h0, p, cache)


def _full_backward(W_all, cache: LSTMCache, dH_out, derivatives=None):
    """Full BPTT, `rnn.reverse_accumulate` with `backward`'s local step unrolled into preallocated
    buffers, one step at a time on (B, 4d) blocks that stay in cache: a step is a dozen element-wise
    products and one (B, 4d) x (4d, d) matmul, and allocates nothing.  ``derivatives`` is
    `_derivatives`' triple, or None for the logistic/tanh cell, whose sigma' = y(1 - y) and
    tanh' = 1 - y^2 are formed per step from the forward pass's outputs (the rule table of
    `derive.model.activations`)."""
    T, B, d = dH_out.shape
    gates, s_tilde, out_s, s_prev, i, f = cache.gates, cache.s_tilde, cache.out_s, cache.s[:-1], cache.i, cache.f
    dA = np.empty((T, B, 4 * d))                   # dL/da_t, blocks o, i, f, s~
    dh, ds, tmp = np.empty((B, d)), np.empty((B, d)), np.empty((B, d))
    gprime = np.empty((B, 3 * d))
    carry_s, carry_h = np.zeros((B, d)), np.zeros((B, d))
    for t in range(T - 1, -1, -1):
        da = dA[t]
        if derivatives is None:                    # sigma'(a) = g (1 - g) for o, i, f; tanh' = 1 - y^2
            np.subtract(1.0, gates[t], out=gprime)
            gprime *= gates[t]
            np.multiply(out_s[t], out_s[t], out=tmp)
            np.subtract(1.0, tmp, out=tmp)
        else:
            np.copyto(gprime, derivatives[0][t])
            np.copyto(tmp, derivatives[2][t])
        tmp *= gates[t, :, :d]                     # h_t = o_t tanh(s_t): dh_t/ds_t = diag(o_t tanh'(s_t))
        np.add(dH_out[t], carry_h, out=dh)         # dL/dh_t: explicit (L_t) + through step t+1
        np.multiply(dh, tmp, out=ds)
        ds += carry_s                              # dL/ds_t
        np.multiply(dh, out_s[t], out=da[:, :d])   # dL/da_o = dh tanh(s_t) sigma'(a_o)
        np.multiply(ds, s_tilde[t], out=da[:, d:2 * d])      # s_t = f_t s_{t-1} + i_t s~_t
        np.multiply(ds, s_prev[t], out=da[:, 2 * d:3 * d])
        da[:, :3 * d] *= gprime
        if derivatives is None:                    # dL/da_s~ = ds i_t tanh'(a_s~)
            np.multiply(s_tilde[t], s_tilde[t], out=tmp)
            np.subtract(1.0, tmp, out=tmp)
        else:
            np.copyto(tmp, derivatives[1][t])
        tmp *= i[t]
        np.multiply(ds, tmp, out=da[:, 3 * d:])
        np.multiply(ds, f[t], out=carry_s)         # ds_t/ds_{t-1} = diag(f_t)
        np.matmul(da, W_all, out=carry_h)          # every gate reads h_{t-1}
    return dA, carry_s, carry_h


def bptt(params: Mapping, X, labels, *, h0=None, s0=None, gate: str = "logistic", cell: str = "tanh",
         out: str = "tanh", truncate: "int | None" = None) -> LSTMResult:
    """`forward` then `backward`."""
    tau = check_truncate(truncate)
    p, sizes = check_params(params, PARAM_SHAPES)   # validated (and copied) once for both passes
    return _backward(p, _forward(p, sizes, X, labels, h0, s0, gate, cell, out), tau)
