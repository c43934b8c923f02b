"""The GRU in the notation of the CS224n notes, and its BPTT in NumPy.

CS224n notes (``shared/seeds/003_9ba40663132a09fb.txt``, "Gated Recurrent
Units")::

    u_t  = sigma(W_u h_{t-1} + U_u x_t + b_u)                 (update gate)
    r_t  = sigma(W_r h_{t-1} + U_r x_t + b_r)                 (reset gate)
    h~_t = tanh(W_h (r_t * h_{t-1}) + U_h x_t + b_h)           (new content)
    h_t  = (1 - u_t) * h_{t-1} + u_t * h~_t
    z_t  = V h_t + c,  y_t = softmax(z_t),  L_t = -log y_{t, c_t}   (summed)

Two variants of the candidate:

- ``variant="cs224n"`` (default): the reset gate is applied *before* the
  matrix product, W_h (r_t * h_{t-1}), as in the notes and in the original
  GRU of Cho et al. (2014).
- ``variant="pytorch"``: ``torch.nn.GRU``'s form, reset applied *after* the
  product, with an extra hidden bias ``b_hn`` (d,) (PyTorch's b_hn)::

      h~_t = tanh(U_h x_t + b_h + r_t * (W_h h_{t-1} + b_hn))

  (PyTorch's update gate z is our 1 - u: h_t = (1 - z) n + z h_{t-1}.)

Shapes: W_* (d, d), U_* (d, n), b_* (d,), V (k, d), c (k,); X (T, B, n),
labels (T, B), h0 (B, d), zeros by default.  Steps t = 1..T are array indices
0..T-1; ``h[0]`` is h0.

The step Jacobian::

    dh_t/dh_{t-1} = diag(1 - u_t)                           <- the explicit (carry) path
                  + diag((h~_t - h_{t-1}) u'_t) W_u
                  + diag(u_t h~'_t) dc_t/dh_{t-1}
    cs224n:  dc_t/dh_{t-1} = W_h (diag(r_t) + diag(h_{t-1} r'_t) W_r)
    pytorch: dc_t/dh_{t-1} = diag(r_t) W_h + diag((W_h h_{t-1} + b_hn) r'_t) W_r

with c_t the candidate's pre-activation and u'_t = sigma'(a_u,t) etc.

Example::

    >>> from derive.numeric.reference import gru
    >>> params = gru.init_params(n=3, d=4, k=5, variant="pytorch")
    >>> X, labels = np.ones((6, 2, 3)), np.zeros((6, 2), dtype=int)
    >>> r = gru.bptt(params, X, labels, variant="pytorch")
    >>> r.grads["b_hn"].shape, r.jacobians.shape
    ((4,), (6, 2, 4, 4))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import numpy as np

from derive.model import activations
from derive.errors import UnknownName
from .rnn import (affine, check_cache, check_params, check_sequence, check_state, check_truncate, diag_embed,
                  outer_sum, output_backward, output_layer, random_params, reverse_accumulate, truncated_accumulate)

__all__ = ["VARIANTS", "param_shapes", "GRUCache", "GRUResult", "init_params", "forward", "backward", "bptt",
           "step_jacobians", "carry_path"]

VARIANTS = ("cs224n", "pytorch")
BLOCKS = ("_u", "_r", "_h")  # stacked in this order: update gate, reset gate, candidate


def param_shapes(variant: str = "cs224n") -> "dict[str, tuple[str, ...]]":
    """The parameter table of a variant ("pytorch" adds b_hn)."""
    if variant not in VARIANTS:
        raise UnknownName("GRU variant", variant, VARIANTS)
    shapes = {key: dims for sfx in BLOCKS
              for key, dims in (("W" + sfx, ("d", "d")), ("U" + sfx, ("d", "n")), ("b" + sfx, ("d",)))}
    if variant == "pytorch":
        shapes["b_hn"] = ("d",)
    return {**shapes, "V": ("k", "d"), "c": ("k",)}


@dataclass(eq=False)
class GRUCache:
    """The forward pass.  Steps t = 1..T are indices 0..T-1; ``h[0]`` = h0.

    Attributes:
        a: pre-activations (T, B, 3d), blocks u, r, candidate.
        gates: sigma(a) for u, r (T, B, 2d); views ``u``, ``r`` (T, B, d).
        h_tilde: candidate h~_t (T, B, d).      h: states (T+1, B, d).
        n: "pytorch" only, W_h h_{t-1} + b_hn (T, B, d); None for "cs224n".
        z, y (T, B, k); step_losses (T, B); loss (float).
    """

    X: np.ndarray
    labels: np.ndarray
    a: np.ndarray
    gates: np.ndarray
    h_tilde: np.ndarray
    h: np.ndarray
    n: "np.ndarray | None"
    z: np.ndarray
    y: np.ndarray
    step_losses: np.ndarray
    loss: float
    activations: "dict[str, str]"
    variant: str

    @property
    def d(self) -> int:
        return self.h.shape[-1]

    @property
    def u(self) -> np.ndarray:
        return self.gates[..., :self.d]

    @property
    def r(self) -> np.ndarray:
        return self.gates[..., self.d:]


@dataclass(eq=False)
class GRUResult:
    """Loss, gradients and Jacobians of one batch.

    Attributes:
        loss, step_losses (T, B), grads (keys of params), grad_h0 (B, d).
        jacobians: dh_t/dh_{t-1} (T, B, d, d).
        carry_path: its explicit part diag(1 - u_t) (T, B, d, d).
        (Both computed on first access.)
    """

    loss: float
    step_losses: np.ndarray
    grads: "dict[str, np.ndarray]"
    grad_h0: np.ndarray
    params: "dict[str, np.ndarray]" = field(repr=False)
    cache: GRUCache = field(repr=False)

    @cached_property
    def jacobians(self) -> np.ndarray:
        return step_jacobians(self.params, self.cache)

    @cached_property
    def carry_path(self) -> np.ndarray:
        return carry_path(self.cache)


def init_params(n: int, d: int, k: int, *, seed: int = 0, scale: float = 0.5,
                variant: str = "cs224n") -> "dict[str, np.ndarray]":
    """Random parameters (`rnn.random_params`) for the given variant."""
    return random_params(param_shapes(variant), n, d, k, seed=seed, scale=scale)


def _stacked(p: dict, letter: str) -> np.ndarray:
    return np.concatenate([p[letter + sfx] for sfx in BLOCKS])


def forward(params: Mapping, X, labels, *, h0=None, gate: str = "logistic", cell: str = "tanh",
            variant: str = "cs224n") -> GRUCache:
    """Run the GRU over a batch: X (T, B, n), labels (T, B), h0 (B, d) or None."""
    p, sizes = check_params(params, param_shapes(variant))
    X, labels = check_sequence(X, labels, sizes["n"], sizes["k"])
    T, B, _ = X.shape
    d = sizes["d"]
    sg, sc = activations.get(gate), activations.get(cell)
    H = np.empty((T + 1, B, d))
    H[0] = check_state("h0", h0, B, d)
    A = affine(X, _stacked(p, "U"), _stacked(p, "b"))  # U_* x_t + b_* hoisted, blocks u, r, candidate
    W_ur_t = np.concatenate([p["W_u"], p["W_r"]]).T
    W_h_t = p["W_h"].T
    G, C = np.empty((T, B, 2 * d)), np.empty((T, B, d))
    N = np.empty((T, B, d)) if variant == "pytorch" else None
    for t in range(T):
        h_prev = H[t]
        A[t, :, :2 * d] += h_prev @ W_ur_t
        G[t] = sg.numpy(A[t, :, :2 * d])                      # u_t, r_t
        u, r = G[t, :, :d], G[t, :, d:]
        if N is None:
            A[t, :, 2 * d:] += (r * h_prev) @ W_h_t           # W_h (r_t * h_{t-1})  (CS224n)
        else:
            N[t] = h_prev @ W_h_t + p["b_hn"]
            A[t, :, 2 * d:] += r * N[t]                       # r_t * (W_h h_{t-1} + b_hn)  (PyTorch)
        C[t] = sc.numpy(A[t, :, 2 * d:])                      # h~_t
        H[t + 1] = h_prev + u * (C[t] - h_prev)               # (1 - u_t) h_{t-1} + u_t h~_t
    Z, Y, step_losses = output_layer(p["V"], p["c"], H[1:], labels)
    names = {"gate": sg.name, "cell": sc.name}
    return GRUCache(X, labels, A, G, C, H, N, Z, Y, step_losses, float(step_losses.sum()), names, variant)


def _derivatives(cache: GRUCache):
    """sigma'(a) of the gates (T, B, 2d) and of the candidate (T, B, d)."""
    d = cache.d
    return (activations.get(cache.activations["gate"]).numpy_prime(cache.a[..., :2 * d]),
            activations.get(cache.activations["cell"]).numpy_prime(cache.a[..., 2 * d:]))


def carry_path(cache: GRUCache) -> np.ndarray:
    """The explicit part of dh_t/dh_{t-1}: diag(1 - u_t) (T, B, d, d)."""
    return diag_embed(1.0 - cache.u)


def step_jacobians(params: Mapping, cache: GRUCache) -> np.ndarray:
    """dh_t/dh_{t-1} (T, B, d, d) (module docstring)."""
    p, sizes = check_params(params, param_shapes(cache.variant))
    check_cache(sizes, cache, cache.h)
    d = cache.d
    dgate, dcell = _derivatives(cache)
    u, r, h_prev = cache.u, cache.r, cache.h[:-1]
    if cache.variant == "cs224n":
        dc = np.einsum("ij,...jk->...ik", p["W_h"], diag_embed(r) + (h_prev * dgate[..., d:])[..., None] * p["W_r"])
    else:
        dc = r[..., None] * p["W_h"] + (cache.n * dgate[..., d:])[..., None] * p["W_r"]
    return (diag_embed(1.0 - u)
            + ((cache.h_tilde - h_prev) * dgate[..., :d])[..., None] * p["W_u"]
            + (u * dcell)[..., None] * dc)


def backward(params: Mapping, cache: GRUCache, *, truncate: "int | None" = None) -> GRUResult:
    """Gradients of ``cache.loss``: full BPTT, or truncated with window tau = ``truncate``.

    Truncation is `rnn.backward`'s definition with dh_t/dh_{t-1} as the
    recurrent factor; grad_h0 keeps dL_t/dh_0 iff t <= tau.
    """
    p, sizes = check_params(params, param_shapes(cache.variant))
    check_cache(sizes, cache, cache.h)
    tau = check_truncate(truncate)
    T, d = cache.a.shape[0], cache.d
    dV, dc, dH_out = output_backward(p["V"], cache.h[1:], cache.y, cache.labels)
    dgate, dcell = _derivatives(cache)
    W_ur, W_h = np.concatenate([p["W_u"], p["W_r"]]), p["W_h"]
    u, r, h_prev, h_tilde, n = cache.u, cache.r, cache.h[:-1], cache.h_tilde, cache.n

    def local(steps, dstate):
        (dh,) = dstate
        hp = h_prev[steps]
        da_cand = dh * u[steps] * dcell[steps]                 # through u_t * h~_t
        dprev = dh * (1.0 - u[steps])                          # explicit path diag(1 - u_t)
        pre = {}
        if n is None:                                          # W_h (r_t * h_{t-1})
            d_rh = da_cand @ W_h
            dr, dprev = d_rh * hp, dprev + d_rh * r[steps]
        else:                                                  # r_t * (W_h h_{t-1} + b_hn)
            pre["n"] = dn = da_cand * r[steps]
            dr, dprev = da_cand * n[steps], dprev + dn @ W_h
        da_gates = np.concatenate([dh * (h_tilde[steps] - hp), dr], axis=-1) * dgate[steps]
        pre["a"] = np.concatenate([da_gates, da_cand], axis=-1)  # blocks u, r, candidate
        return pre, (dprev + da_gates @ W_ur,)

    if tau is None:
        dpre, (grad_h0,) = reverse_accumulate(local, (dH_out,), T)
    else:
        dpre, (grad_h0,) = truncated_accumulate(local, (dH_out,), T, tau)
    dA = dpre["a"]
    # Hoisted contractions over (t, batch).
    dU = outer_sum(dA, cache.X)
    db = dA.sum(axis=(0, 1))
    dW_ur = outer_sum(dA[..., :2 * d], h_prev)
    grads = {"W_u": dW_ur[:d], "U_u": dU[:d], "b_u": db[:d],
             "W_r": dW_ur[d:], "U_r": dU[d:2 * d], "b_r": db[d:2 * d],
             "U_h": dU[2 * d:], "b_h": db[2 * d:], "V": dV, "c": dc}
    if n is None:
        grads["W_h"] = outer_sum(dA[..., 2 * d:], r * h_prev)
    else:
        grads["W_h"] = outer_sum(dpre["n"], h_prev)
        grads["b_hn"] = dpre["n"].sum(axis=(0, 1))
    grads = {key: grads[key] for key in param_shapes(cache.variant)}
    return GRUResult(cache.loss, cache.step_losses, grads, grad_h0, p, cache)


def bptt(params: Mapping, X, labels, *, h0=None, gate: str = "logistic", cell: str = "tanh",
         variant: str = "cs224n", truncate: "int | None" = None) -> GRUResult:
    """`forward` then `backward`."""
    tau = check_truncate(truncate)
    return backward(params, forward(params, X, labels, h0=h0, gate=gate, cell=cell, variant=variant), truncate=tau)
