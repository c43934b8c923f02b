"""The vanilla RNN and its BPTT in NumPy: the numeric reference every derivation is checked against.

The model is CS7015 Lecture 14 (``shared/seeds/002_eb405f471485c68d.txt``,
Modules 14.2-14.3), for time steps t = 1..T::

    a_t = W s_{t-1} + U x_t + b        s_t = sigma(a_t)
    z_t = V s_t + c                    y_t = softmax(z_t)
    L_t = -log y_{t, c_t}              L   = sum_t L_t   (and summed over the batch)

Shapes: x in R^n, s in R^d, y in R^k; W (d, d), U (d, n), b (d,), V (k, d),
c (k,).  The lecture prints U in R^{n x d} and V in R^{d x k}, transposed
relative to its own equations; we use the shapes the equations need.

Array conventions (shared by `lstm` and `gru`): float64; inputs ``X`` (T, B, n);
integer ``labels`` (T, B) with values in [0, k); initial state (B, d), zeros by
default.  The maths counts steps 1..T, arrays count them 0..T-1: ``a[t-1]`` is
a_t, while state arrays keep the initial state, so ``s[t]`` is s_t and
``s[0]`` is s_0.

Backpropagation is split the way the lecture splits it.  A *local backward*
maps the gradient reaching the state after a step to the gradient at the
step's pre-activations and at the previous state: one factor
ds_t/ds_{t-1} = diag(sigma'(a_t)) W (Module 14.4).  Two schemes chain these
factors: `reverse_accumulate` (full BPTT, the recursion) and
`truncated_accumulate` (each loss keeps paths of at most tau factors).  Both
only collect gradients at pre-activations; the weight gradients are then one
large matrix product each (dW = sum_t delta_t s_{t-1}^T), hoisted out of the
time loop.  The gated cells reuse the two schemes, the output layer and the
input checks defined here.

Example::

    >>> import numpy as np
    >>> from derive.numeric.reference import rnn
    >>> params = rnn.init_params(n=3, d=4, k=5, seed=0)
    >>> X = np.random.default_rng(1).normal(size=(6, 2, 3))      # T=6, B=2
    >>> labels = np.zeros((6, 2), dtype=int)
    >>> result = rnn.bptt(params, X, labels, truncate=2)
    >>> result.grads["W"].shape, result.jacobians.shape
    ((4, 4), (6, 2, 4, 4))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping

import numpy as np

from derive.model import activations
from derive.errors import InvalidValue, ShapeError, UnknownName, positive_int

__all__ = [
    "PARAM_SHAPES", "RNNCache", "BPTTResult",
    "init_params", "forward", "backward", "bptt", "step_jacobians",
    "random_params", "diag_embed", "affine", "output_layer", "output_backward",
    "reverse_accumulate", "truncated_accumulate",
    "check_params", "check_sequence", "check_state", "check_truncate", "check_cache", "real_array",
]

# Parameter shapes in terms of the sizes n (input), d (state), k (classes).
PARAM_SHAPES: "dict[str, tuple[str, ...]]" = {
    "W": ("d", "d"), "U": ("d", "n"), "b": ("d",), "V": ("k", "d"), "c": ("k",),
}


# ---------------------------------------------------------------------------
# Input checks (shared with the gated cells)
# ---------------------------------------------------------------------------
def real_array(name: str, value, *, finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array, or `InvalidValue` naming ``name``: complex numbers are refused (NumPy
    would silently keep their real part), so are text, objects and, with ``finite``, nan and inf."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise InvalidValue(f"{name} must be an array of real numbers, got {type(value).__name__} ({exc})") from None
    if raw.dtype.kind == "c":
        raise InvalidValue(f"{name} has complex values (dtype {raw.dtype}); expected real numbers")
    if raw.dtype.kind not in "biuf":
        raise InvalidValue(f"{name} must be an array of real numbers, got dtype {raw.dtype}"
                           + (f" ({type(value).__name__})" if raw.dtype.kind == "O" else ""))
    out = raw.astype(np.float64)
    if finite and not np.all(np.isfinite(out)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        raise InvalidValue(f"{name} contains non-finite values (nan or inf), first at {list(where)}: "
                           f"{out[where] if where else out}")
    return out


def check_params(params: Mapping, shapes: "Mapping[str, tuple[str, ...]]") -> "tuple[dict, dict[str, int]]":
    """Validate a parameter dict against a shape table; return (float64 copy, sizes).

    Sizes (n, d, k, ...) are read from the first parameter that mentions them
    and every other parameter must agree.
    """
    if not isinstance(params, Mapping):
        raise InvalidValue(f"params must be a dict of arrays with keys {', '.join(shapes)}, "
                           f"got {type(params).__name__}")
    for key in params:
        if key not in shapes:
            raise UnknownName("parameter", key, list(shapes))
    missing = [key for key in shapes if key not in params]
    if missing:
        raise InvalidValue(f"params is missing {', '.join(map(repr, missing))}; expected keys {', '.join(shapes)}")
    sizes: "dict[str, int]" = {}
    source: "dict[str, str]" = {}
    out = {}
    for key, dims in shapes.items():
        value = real_array(f"params[{key!r}]", params[key])
        if value.ndim != len(dims):
            raise ShapeError(f"params[{key!r}] has shape {value.shape}; expected ({', '.join(dims)})")
        for dim, size in zip(dims, value.shape):
            if dim not in sizes:
                sizes[dim], source[dim] = size, key
            elif sizes[dim] != size:
                want = tuple(sizes.get(x, "?") for x in dims)
                raise ShapeError(
                    f"params[{key!r}] has shape {value.shape}; expected ({', '.join(dims)}) = {want} "
                    f"({dim} = {sizes[dim]} from params[{source[dim]!r}])"
                )
        if min(value.shape, default=1) == 0:
            raise ShapeError(f"params[{key!r}] has an empty shape {value.shape}; every size must be >= 1")
        out[key] = value
    return out, sizes


def check_sequence(X, labels, n: int, k: int) -> "tuple[np.ndarray, np.ndarray]":
    """Validate inputs X (T, B, n) and integer labels (T, B) in [0, k)."""
    X = real_array("X", X, finite=False)
    if X.ndim != 3 or X.shape[2] != n or X.shape[0] == 0 or X.shape[1] == 0:
        hint = " (for one sequence use X[:, None, :])" if X.ndim == 2 else ""
        raise ShapeError(f"X has shape {X.shape}; expected (T, B, n) with n = {n} and T, B >= 1{hint}")
    if not np.all(np.isfinite(X)):
        raise InvalidValue("X contains non-finite values (nan or inf)")
    labels = np.asarray(labels)
    if labels.shape != X.shape[:2]:
        raise ShapeError(f"labels has shape {labels.shape}; expected (T, B) = {X.shape[:2]} to match X")
    if labels.dtype.kind not in "iu":
        raise InvalidValue(f"labels must be integers in [0, {k}), got dtype {labels.dtype}")
    bad = (labels < 0) | (labels >= k)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidValue(f"labels{list(where)} = {int(labels[where])} is out of range; expected a class in [0, {k})")
    return X, labels.astype(np.intp)


def check_state(name: str, state, B: int, d: int) -> np.ndarray:
    """An initial state (B, d), zeros when None."""
    if state is None:
        return np.zeros((B, d))
    state = real_array(name, state)
    if state.shape != (B, d):
        raise ShapeError(f"{name} has shape {state.shape}; expected (B, d) = {(B, d)}")
    return state


def check_cache(sizes: "dict[str, int]", cache, state: np.ndarray) -> None:
    """The params given to a backward pass must have the sizes (n, d, k) the forward pass used."""
    used = {"n": cache.X.shape[-1], "d": state.shape[-1], "k": cache.y.shape[-1]}
    for dim, size in used.items():
        if sizes[dim] != size:
            raise ShapeError(f"params have {dim} = {sizes[dim]} but the cache was computed with {dim} = {size}")


MAX_SIZE = 4096  # n, d, k of generated parameters: W alone is then 128 MB


def check_seed(seed) -> int:
    """A seed for numpy.random.default_rng: an integer >= 0."""
    return positive_int("seed", seed, minimum=0)


def real_number(name: str, value, *, minimum: "float | None" = None, strict: bool = False) -> float:
    """A finite real scalar (not a bool, text or complex), optionally > or >= ``minimum``."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
        and bool(np.isfinite(value))
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise InvalidValue(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def check_truncate(truncate) -> "int | None":
    """tau: None (full BPTT) or an integer >= 0."""
    return None if truncate is None else positive_int("truncate", truncate, minimum=0)


# ---------------------------------------------------------------------------
# The output layer (Module 14.3): z = V h + c, softmax, cross-entropy
# ---------------------------------------------------------------------------
def affine(X: np.ndarray, M: np.ndarray, bias: "np.ndarray | None" = None) -> np.ndarray:
    """X @ M.T (+ bias) over all leading axes of X as *one* matrix product (a hoisted projection)."""
    out = (X.reshape(-1, X.shape[-1]) @ M.T).reshape(X.shape[:-1] + (M.shape[0],))
    if bias is not None:
        out += bias
    return out


def outer_sum(G: np.ndarray, S: np.ndarray) -> np.ndarray:
    """sum_t G_t S_t^T over every leading axis of G (.., a) and S (.., b): one (a, TB) x (TB, b)
    product, the transpose passed to BLAS as a flag (`np.tensordot` copies a transposed G first)."""
    return G.reshape(-1, G.shape[-1]).T @ S.reshape(-1, S.shape[-1])


def output_layer(V: np.ndarray, c: np.ndarray, H: np.ndarray, labels: np.ndarray):
    """Scores Z, probabilities Y (T, B, k) and per-step losses (T, B) for states H (T, B, d)."""
    Z = affine(H, V, c)
    shifted = Z - Z.max(axis=-1, keepdims=True)
    Y = np.exp(shifted)
    total = Y.sum(axis=-1, keepdims=True)
    Y /= total
    # L_t = -log y_{t, c_t} = log sum_j exp(z_tj) - z_{t, c_t}  (Lecture 14, Module 14.3), shifted by max z_t
    step_losses = np.log(total[..., 0]) - np.take_along_axis(shifted, labels[..., None], axis=-1)[..., 0]
    return Z, Y, step_losses


def output_backward(V: np.ndarray, H: np.ndarray, Y: np.ndarray, labels: np.ndarray):
    """Gradients (dV, dc, dH) of the summed loss; dH[t-1] = dL_t/dh_t (T, B, d)."""
    dZ = Y.copy()
    np.put_along_axis(dZ, labels[..., None], np.take_along_axis(Y, labels[..., None], axis=-1) - 1.0, axis=-1)
    # dL_t/dz_t = y_t - e_{c_t}; V and c see only the explicit path, one matmul for all steps.
    dV = outer_sum(dZ, H)
    return dV, dZ.sum(axis=(0, 1)), affine(dZ, V.T)


# ---------------------------------------------------------------------------
# The two ways of chaining local backward steps
# ---------------------------------------------------------------------------
# A local backward is ``local(steps, dstate) -> (dpre, dprev)``: ``steps`` is an
# int or a slice of 0-based step indices, ``dstate`` a tuple of gradients at the
# states those steps produce, ``dpre`` a dict of gradients at the steps'
# pre-activations, ``dprev`` a tuple of gradients at the states they read.
LocalBackward = Callable[["int | slice", tuple], "tuple[dict, tuple]"]


def reverse_accumulate(local: LocalBackward, upstream: tuple, T: int) -> "tuple[dict, tuple]":
    """Full BPTT, the reverse recursion for t = T..1 (g_t = dL/ds_t, total derivative)::

        g_T = dL_T/ds_T,     g_{t-1} = dL_{t-1}/ds_{t-1} + g_t ds_t/ds_{t-1}

    ``upstream[i][t-1]`` is dL_t/dstate_t (explicit, through the output layer).
    Returns the pre-activation gradients (T, B, .) and the gradient at the
    initial state.
    """
    carry = tuple(np.zeros_like(u[0]) for u in upstream)
    dpre: "dict[str, np.ndarray]" = {}
    for t in range(T - 1, -1, -1):
        pre, carry = local(t, tuple(u[t] + g for u, g in zip(upstream, carry)))
        for name, value in pre.items():
            if name not in dpre:
                dpre[name] = np.empty((T,) + value.shape)
            dpre[name][t] = value
    return dpre, carry


def truncated_accumulate(local: LocalBackward, upstream: tuple, T: int, tau: int) -> "tuple[dict, tuple]":
    """Truncated BPTT: every loss L_t keeps the paths with at most tau recurrent factors.

    Loop over the lag l = t - k = 0..tau; at lag l all losses are handled at
    once: ``carry[i][j]`` is the gradient of L_{j+l+1} at state s_{j+1} along
    paths with exactly l factors.  One more factor reaches s_j; the entry j = 0
    is dL_{l+1}/ds_0 (l+1 factors), kept iff l+1 <= tau.  Cost O(T tau).
    """
    carry = upstream
    dpre: "dict[str, np.ndarray]" = {}
    grad_init = tuple(np.zeros_like(u[0]) for u in upstream)
    for lag in range(min(tau, T - 1) + 1):
        m = T - lag
        pre, prev = local(slice(0, m), carry)
        for name, value in pre.items():
            if name not in dpre:
                dpre[name] = np.zeros((T,) + value.shape[1:])
            dpre[name][:m] += value
        if lag < tau:
            grad_init = tuple(g + p[0] for g, p in zip(grad_init, prev))
        carry = tuple(p[1:] for p in prev)
    return dpre, grad_init


# ---------------------------------------------------------------------------
# The vanilla RNN
# ---------------------------------------------------------------------------
@dataclass(eq=False)
class RNNCache:
    """Everything the forward pass computed; arrays index steps 0..T-1 for t = 1..T.

    Attributes:
        X: inputs (T, B, n).            labels: classes (T, B).
        a: pre-activations a_t (T, B, d).
        s: states (T+1, B, d), ``s[0]`` = s_0, ``s[t]`` = s_t.
        z: scores (T, B, k).            y: softmax probabilities (T, B, k).
        step_losses: L_t per sequence (T, B).   loss: sum over t and batch.
        activation: name of sigma.
    """

    X: np.ndarray
    labels: np.ndarray
    a: np.ndarray
    s: np.ndarray
    z: np.ndarray
    y: np.ndarray
    step_losses: np.ndarray
    loss: float
    activation: str


@dataclass(eq=False)
class BPTTResult:
    """Loss, gradients and per-step Jacobians of one batch.

    Attributes:
        loss: L summed over steps and batch.   step_losses: (T, B).
        grads: dict with the keys and shapes of params.
        grad_s0: dL/ds_0 (B, d).
        jacobians: ds_t/ds_{t-1} = diag(sigma'(a_t)) W for t = 1..T, (T, B, d, d);
            computed on first access (it is large: T B d^2 floats).
    """

    loss: float
    step_losses: np.ndarray
    grads: "dict[str, np.ndarray]"
    grad_s0: np.ndarray
    params: "dict[str, np.ndarray]" = field(repr=False)
    cache: RNNCache = field(repr=False)

    @cached_property
    def jacobians(self) -> np.ndarray:
        return step_jacobians(self.params, self.cache)


def random_params(shapes: "Mapping[str, tuple[str, ...]]", n: int, d: int, k: int, *,
                  seed: int, scale: float) -> "dict[str, np.ndarray]":
    """Parameters for a shape table: matrix entries ~ N(0, scale^2 / fan_in), biases ~ N(0, scale^2).

    fan_in is the number of columns (d for W and V, n for U).  Drawn in table order.
    """
    sizes = {name: positive_int(name, v) for name, v in (("n", n), ("d", d), ("k", k))}
    for name, v in sizes.items():
        if v > MAX_SIZE:
            raise InvalidValue(f"{name} must be at most {MAX_SIZE} for generated parameters, got {v}")
    if isinstance(scale, bool) or not (isinstance(scale, (int, float, np.integer, np.floating))
                                       and np.isfinite(scale) and scale >= 0):
        raise InvalidValue(f"scale must be a finite number >= 0, got {scale!r}")
    rng = np.random.default_rng(check_seed(seed))
    params = {}
    for key, dims in shapes.items():
        shape = tuple(sizes[x] for x in dims)
        std = scale / np.sqrt(shape[1]) if len(shape) == 2 else scale
        params[key] = rng.normal(0.0, std, size=shape)
    return params


def diag_embed(v: np.ndarray) -> np.ndarray:
    """diag(v) for the last axis: (..., d) -> (..., d, d)."""
    out = np.zeros(v.shape + v.shape[-1:])
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


def init_params(n: int, d: int, k: int, *, seed: int = 0, scale: float = 0.5) -> "dict[str, np.ndarray]":
    """Random RNN parameters (see `random_params`): W (d, d), U (d, n), b (d,), V (k, d), c (k,)."""
    return random_params(PARAM_SHAPES, n, d, k, seed=seed, scale=scale)


def forward(params: Mapping, X, labels, *, s0=None, activation: str = "tanh") -> RNNCache:
    """Run the RNN over a batch and return the cache (see `RNNCache`).

    X (T, B, n), labels (T, B) ints in [0, k), s0 (B, d) or None for zeros.
    """
    p, sizes = check_params(params, PARAM_SHAPES)
    X, labels = check_sequence(X, labels, sizes["n"], sizes["k"])
    T, B, _ = X.shape
    sigma = activations.get(activation)
    S = np.empty((T + 1, B, sizes["d"]))
    S[0] = check_state("s0", s0, B, sizes["d"])
    # Input projection hoisted out of the loop: U x_t + b for every t in one matmul.
    A = affine(X, p["U"], p["b"])
    Wt = p["W"].T
    for t in range(T):
        A[t] += S[t] @ Wt                 # a_t = W s_{t-1} + U x_t + b   (Module 14.2)
        S[t + 1] = sigma.numpy(A[t])      # s_t = sigma(a_t)
    Z, Y, step_losses = output_layer(p["V"], p["c"], S[1:], labels)
    return RNNCache(X, labels, A, S, Z, Y, step_losses, float(step_losses.sum()), sigma.name)


def step_jacobians(params: Mapping, cache: RNNCache) -> np.ndarray:
    """ds_t/ds_{t-1} = diag(sigma'(a_t)) W (Lecture 14, Module 14.4), shape (T, B, d, d)."""
    W = np.asarray(params["W"], dtype=np.float64)
    return activations.get(cache.activation).numpy_prime(cache.a)[..., :, None] * W


def backward(params: Mapping, cache: RNNCache, *, truncate: "int | None" = None) -> BPTTResult:
    """Gradients of ``cache.loss``; full BPTT, or truncated with window tau = ``truncate``.

    Truncated BPTT with window tau keeps, for every loss L_t, only the paths
    whose chain of recurrent Jacobians has at most tau factors::

        dL/dW ~= sum_t dL_t/ds_t  sum_{k=max(1, t-tau)}^{t}  ds_t/ds_k  d+s_k/dW

    (Module 14.3's sum over k with the product ds_t/ds_k restricted as in
    Module 14.4), likewise for U and b; V and c are unaffected.  tau = 0 keeps
    only k = t; for tau >= T-1 the parameter gradients equal full BPTT.
    ds_t/ds_0 has t factors, so ``grad_s0`` keeps dL_t/ds_0 iff t <= tau (it
    equals the full one for tau >= T).  Cost O(T tau), not block truncation.
    """
    p, sizes = check_params(params, PARAM_SHAPES)
    check_cache(sizes, cache, cache.s)
    tau = check_truncate(truncate)
    T = cache.a.shape[0]
    dV, dc, dS_out = output_backward(p["V"], cache.s[1:], cache.y, cache.labels)
    dact = activations.get(cache.activation).numpy_prime(cache.a)
    W = p["W"]

    def local(steps, dstate):
        (ds,) = dstate
        da = ds * dact[steps]                  # dL/da_t = dL/ds_t diag(sigma'(a_t))
        return {"a": da}, (da @ W,)            # dL/ds_{t-1} = dL/da_t W

    if tau is None:
        dpre, (grad_s0,) = reverse_accumulate(local, (dS_out,), T)
    else:
        dpre, (grad_s0,) = truncated_accumulate(local, (dS_out,), T, tau)
    dA = dpre["a"]
    # Hoisted weight gradients: dW = sum_t dL/da_t s_{t-1}^T, dU = sum_t dL/da_t x_t^T.
    grads = {
        "W": outer_sum(dA, cache.s[:-1]),
        "U": outer_sum(dA, cache.X),
        "b": dA.sum(axis=(0, 1)),
        "V": dV,
        "c": dc,
    }
    return BPTTResult(cache.loss, cache.step_losses, grads, grad_s0, p, cache)


def bptt(params: Mapping, X, labels, *, s0=None, activation: str = "tanh",
         truncate: "int | None" = None) -> BPTTResult:
    """`forward` then `backward`: loss, gradients and Jacobians in one call."""
    tau = check_truncate(truncate)
    return backward(params, forward(params, X, labels, s0=s0, activation=activation), truncate=tau)
