"""The bound chain of CS7015 Module 14.4, checked on many seeded RNN trajectories at once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from derive.model import activations
from derive.errors import InvalidValue, NotSupported, UnknownName, positive_int
from derive.model.supremum import gamma


def spectral_norm(M: np.ndarray) -> np.ndarray:
    """||M||_2, the largest singular value, over the last two axes (batched).

    sqrt(λ_max(MᵀM)) by a symmetric eigensolver (1.6x faster than the SVD on many 4 x 4 matrices); the
    largest eigenvalue of the Gram matrix is accurate relative to itself, so the norm is too."""
    M = np.asarray(M, dtype=np.float64)
    big = np.abs(M).max(axis=(-2, -1), keepdims=True)       # scaled to entries <= 1: no under- or overflow
    U = M / np.where(big > 0, big, 1.0)
    return big[..., 0, 0] * np.sqrt(np.maximum(np.linalg.eigvalsh(np.swapaxes(U, -1, -2) @ U)[..., -1], 0.0))


def spectral_radius(M: np.ndarray) -> np.ndarray:
    """rho(M) = max |eigenvalue| over the last two axes (batched); NOT a norm."""
    return np.abs(np.linalg.eigvals(np.asarray(M, dtype=np.float64))).max(axis=-1)


W_KINDS = ("gaussian", "orthogonal", "nonnormal")


@dataclass(frozen=True)
class Instances:
    """N seeded RNN trajectories s_j = sigma(W s_{j-1} + u_j), j = 1..T (Module 14.4's a_j = W s_{j-1} + b).

    The drive u_j = U x_j + b is drawn directly: only W, u_j and s_0 matter for
    ds_t/ds_k.  Arrays are batched over the first axis.

    Attributes:
        activation: name of sigma.
        W: (N, d, d) recurrent matrices.     drive: (N, T, d) the u_j.
        s0: (N, d) initial states.
        kind: (N,) how W was drawn: "gaussian", "orthogonal" (scaled, so the
            bound can be tight) or "nonnormal" (upper triangular, transient growth).
        target: (N,) the requested gamma lambda.
        drive_scale: (N,) scale of u_j; 0 means "pinned at the argmax of sigma'"
            (a_j = x* at every step, so diag(sigma'(a_j)) = gamma I: the tightest case).
    """

    activation: str
    W: np.ndarray
    drive: np.ndarray
    s0: np.ndarray
    kind: np.ndarray
    target: np.ndarray
    drive_scale: np.ndarray

    @property
    def N(self) -> int:
        return self.W.shape[0]

    @property
    def T(self) -> int:
        return self.drive.shape[1]

    def forward(self) -> "tuple[np.ndarray, np.ndarray]":
        """Pre-activations A (N, T, d) and states S (N, T+1, d), S[:, 0] = s_0."""
        sigma = activations.get(self.activation)
        N, T, d = self.drive.shape
        A = np.empty((N, T, d))
        S = np.empty((N, T + 1, d))
        S[:, 0] = self.s0
        for j in range(T):
            A[:, j] = np.matmul(self.W, S[:, j, :, None])[..., 0] + self.drive[:, j]  # a_j = W s_{j-1} + u_j
            S[:, j + 1] = sigma.numpy(A[:, j])                                          # s_j = sigma(a_j)
        return A, S

    def subset(self, mask: np.ndarray) -> "Instances":
        return Instances(self.activation, self.W[mask], self.drive[mask], self.s0[mask],
                         self.kind[mask], self.target[mask], self.drive_scale[mask])


def make_instances(activation: str = "tanh", n: int = 10_000, *, d: int = 4, T: int = 16, seed: int = 0,
                   gamma_lambdas: Sequence[float] = (0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 1.5, 3.0),
                   drive_scales: Sequence[float] = (0.0, 0.1, 1.0, 10.0),
                   kinds: Sequence[str] = W_KINDS) -> Instances:
    """Seeded instances of the bound chain, including adversarial ones.

    Every instance picks (uniformly, independently) a target gamma lambda (by
    default just below, at and just above 1, and far from it), a drive scale
    (0: pinned at the argmax of sigma', the unsaturated worst case; 0.1:
    unsaturated; 10: saturated) and a kind of W (Gaussian; a scaled orthogonal
    matrix, for which ||W^m|| = lambda^m; a non-normal triangular matrix; the
    choice can be narrowed with ``kinds``).  W is then rescaled so that
    gamma ||W||_2 equals the target exactly.
    """
    n, d, T = positive_int("n", n), positive_int("d", d), positive_int("T", T)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InvalidValue(f"seed must be an integer, got {seed!r}")
    g = _finite_gamma(activation)
    targets = _positive_array("gamma_lambdas", gamma_lambdas)
    scales = np.asarray(drive_scales, dtype=np.float64)
    if scales.ndim != 1 or scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise InvalidValue(f"drive_scales must be finite numbers >= 0, got {list(drive_scales)!r}")
    unknown = [k for k in kinds if k not in W_KINDS]
    if unknown or not kinds:
        raise UnknownName("kind of W", unknown[0] if unknown else kinds, W_KINDS)
    rng = np.random.default_rng(seed)
    target = targets[rng.integers(len(targets), size=n)]
    drive_scale = scales[rng.integers(len(scales), size=n)]
    kind_idx = np.array([W_KINDS.index(k) for k in kinds])[rng.integers(len(kinds), size=n)]
    G = rng.standard_normal((n, d, d))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[:, None, :]      # Haar-distributed orthogonal
    nonnormal = np.triu(G, 1) * 3.0 + np.eye(d) * rng.uniform(0.1, 0.9, size=(n, 1, 1))
    B = np.where((kind_idx == 0)[:, None, None], G, np.where((kind_idx == 1)[:, None, None], Q, nonnormal))
    W = B * (target / (g * spectral_norm(B)))[:, None, None]             # gamma ||W||_2 = target
    drive = rng.standard_normal((n, T, d)) * drive_scale[:, None, None]
    sigma = activations.get(activation)
    s0 = sigma.numpy(rng.standard_normal((n, d)) * np.maximum(drive_scale, 0.1)[:, None])
    pinned = drive_scale == 0
    if pinned.any():
        # a_j = x* for all j: s_0 = sigma(x*) 1 and u_j = x* 1 - W s_0, a fixed point.
        x_star = _argmax_point(activation)
        s_star = sigma.numpy(np.full(d, x_star))
        s0[pinned] = s_star
        drive[pinned] = (x_star - W[pinned] @ s_star)[:, None, :]
    return Instances(sigma.name, W, drive, s0, np.array(W_KINDS)[kind_idx], target, drive_scale)


def _finite_gamma(activation) -> float:
    res = gamma(activation)
    value = float(res.value)
    if not math.isfinite(value) or value <= 0:
        raise NotSupported(f"the bound chain needs 0 < gamma < oo; {res.activation!r} has gamma = {res.value}")
    return value


def _argmax_point(activation) -> float:
    x = gamma(activation).point()
    if x is None:
        raise NotSupported(f"sigma' of {activation!r} never attains its supremum: no pinned instances (use drive_scales > 0)")
    return x


def _positive_array(name: str, values) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidValue(f"{name} must be finite numbers > 0, got {values!r}")
    return arr


@dataclass(frozen=True)
class ClaimCheck:
    """One step of the bound chain, evaluated on every instance.

    ``lhs <= rhs`` is checked entry by entry (for an equality claim, ``lhs`` is
    the error and ``rhs`` the tolerance).  ``ratio = lhs / rhs`` is the
    tightness: 1 means the bound is attained, 0 < ratio << 1 that it is loose.

    Attributes:
        name: short id ("submultiplicative", "gamma", ...).
        statement: the claim in LaTeX, as on the slide.
        lhs, rhs, ratio: arrays (N,) or (N, T) (per instance and step / gap).
        violations: number of entries with lhs > rhs (1 + rtol).
        excluded: entries not checked (e.g. a finite difference across a kink).
    """

    name: str
    statement: str
    lhs: np.ndarray = field(repr=False)
    rhs: np.ndarray = field(repr=False)
    ratio: np.ndarray = field(repr=False)
    violations: int
    excluded: int = 0

    @property
    def ok(self) -> bool:
        return self.violations == 0

    @property
    def checked(self) -> int:
        return int(np.isfinite(self.ratio).sum())

    def tightness(self) -> "dict[str, float]":
        """min / median / max of the ratio lhs/rhs over the checked entries."""
        r = self.ratio[np.isfinite(self.ratio)]
        if r.size == 0:
            return {"min": math.nan, "median": math.nan, "max": math.nan}
        return {"min": float(r.min()), "median": float(np.median(r)), "max": float(r.max())}

    def worst(self) -> "tuple[int, ...] | None":
        """Index (instance, step or gap - 1) of the largest ratio."""
        if not np.isfinite(self.ratio).any():
            return None
        return tuple(int(i) for i in np.unravel_index(np.nanargmax(self.ratio), self.ratio.shape))

    def line(self) -> str:
        t = self.tightness()
        status = "ok" if self.ok else f"VIOLATED on {self.violations} entries (worst at {self.worst()})"
        return (f"{self.name:<18} ratio min {t['min']:.3g}  median {t['median']:.3g}  max {t['max']:.6g}"
                f"  over {self.checked} entries  {status}")


@dataclass(frozen=True)
class BoundReport:
    """All steps of the chain for one activation and one set of instances."""

    activation: str
    gamma: float
    instances: Instances = field(repr=False)
    claims: "tuple[ClaimCheck, ...]"

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.claims)

    def __getitem__(self, name: str) -> ClaimCheck:
        for c in self.claims:
            if c.name == name:
                return c
        raise UnknownName("claim", name, [c.name for c in self.claims])

    def violated(self) -> "list[str]":
        return [c.name for c in self.claims if not c.ok]

    def summary(self) -> str:
        head = (f"bound chain for {self.activation} (gamma = {self.gamma:g}) on {self.instances.N} instances, "
                f"d = {self.instances.W.shape[1]}, T = {self.instances.T}")
        return "\n".join([head] + ["  " + c.line() for c in self.claims])


def _claim(name, statement, lhs, rhs, rtol, excluded=0) -> ClaimCheck:
    lhs = np.asarray(lhs, dtype=np.float64)
    rhs = np.broadcast_to(np.asarray(rhs, dtype=np.float64), lhs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rhs > 0, lhs / rhs, np.where(lhs > 0, np.inf, 0.0))
    ratio = np.where(np.isnan(lhs), np.nan, ratio)
    bad = lhs > rhs * (1.0 + rtol)
    return ClaimCheck(name, statement, lhs, rhs, ratio, int(bad.sum()), excluded)


def check_bound_chain(instances: Instances, *, gamma_value: "float | None" = None,
                      lam: "Callable[[np.ndarray], np.ndarray] | None" = None,
                      exponent: "Callable[[np.ndarray], np.ndarray] | None" = None,
                      rtol: float = 1e-9, fd_eps: float = 1e-6, fd_tol: float = 1e-6) -> BoundReport:
    """Evaluate every step of Module 14.4's chain on all instances (vectorised).

    Claims, in the order of the slide (``002_eb405f471485c68d.txt``, Module 14.4):

    - ``jacobian``: ds_j/ds_{j-1} = diag(sigma'(a_j)) W, against central finite
      differences of the step map (max entry error / (gamma lambda) <= fd_tol;
      entries where halving the step changes the estimate, i.e. a kink of sigma
      within fd_eps, are excluded and counted);
    - ``submultiplicative``: ||diag(sigma'(a_j)) W|| <= ||diag(sigma'(a_j))|| ||W||;
    - ``gamma``: ||diag(sigma'(a_j))|| = max_i |sigma'(a_ji)| <= gamma;
    - ``lambda``: ||W|| <= lambda;
    - ``step``: ||ds_j/ds_{j-1}|| <= gamma lambda;
    - ``product``: ||ds_t/ds_k|| <= prod_j ||ds_j/ds_{j-1}||;
    - ``power``: ||ds_t/ds_k|| <= (gamma lambda)^(t-k)  (k = 0, t = 1..T).

    The last three keywords substitute a *different* bound, to show that a wrong
    one is caught: ``gamma_value`` (default: `gamma` of the activation),
    ``lam`` (W (N, d, d) -> (N,); default `spectral_norm`; try `spectral_radius`),
    ``exponent`` (gaps t-k (T,) -> exponents; default the identity; try ``m - 1``).

    Returns a `BoundReport`; ``report.ok`` is True iff no claim is violated.
    """
    g = _finite_gamma(instances.activation) if gamma_value is None else float(gamma_value)
    sigma = activations.get(instances.activation)
    A, S = instances.forward()
    W = instances.W
    N, T, d = A.shape
    D = sigma.numpy_prime(A)                                   # sigma'(a_j), (N, T, d)
    J = D[..., :, None] * W[:, None]                           # diag(sigma'(a_j)) W, (N, T, d, d)
    norm_J = spectral_norm(J)                                  # (N, T)
    norm_D = np.abs(D).max(axis=-1)                            # ||diag(v)||_2 = max |v_i|
    norm_W = spectral_norm(W)                                  # (N,)
    lam_v = norm_W if lam is None else np.asarray(lam(W), dtype=np.float64)
    gaps = np.arange(1, T + 1)
    expo = gaps if exponent is None else np.asarray(exponent(gaps), dtype=np.float64)
    # ds_t/ds_0 = J_t J_{t-1} ... J_1, for t = 1..T
    P = np.empty((N, T, d, d))
    P[:, 0] = J[:, 0]
    for t in range(1, T):
        P[:, t] = J[:, t] @ P[:, t - 1]
    norm_P = spectral_norm(P)
    scale = (g * norm_W)[:, None]                              # the size of J's entries at most
    fd_err, excluded = _finite_difference_error(instances, A, J, fd_eps, scale)
    claims = (
        _claim("jacobian", r"\frac{\partial s_j}{\partial s_{j-1}} = \operatorname{diag}(\sigma'(a_j))\,W",
               fd_err / np.where(scale > 0, scale, 1.0), fd_tol, 0.0, excluded),
        _claim("submultiplicative",
               r"\|\operatorname{diag}(\sigma'(a_j))W\| \le \|\operatorname{diag}(\sigma'(a_j))\|\,\|W\|",
               norm_J, norm_D * norm_W[:, None], rtol),
        _claim("gamma", r"\|\operatorname{diag}(\sigma'(a_j))\| \le \gamma", norm_D, g, rtol),
        _claim("lambda", r"\|W\| \le \lambda", norm_W, lam_v, rtol),
        _claim("step", r"\left\|\frac{\partial s_j}{\partial s_{j-1}}\right\| \le \gamma\lambda",
               norm_J, g * lam_v[:, None], rtol),
        _claim("product", r"\left\|\frac{\partial s_t}{\partial s_k}\right\| \le "
               r"\prod_{j=k+1}^{t}\left\|\frac{\partial s_j}{\partial s_{j-1}}\right\|",
               norm_P, np.cumprod(norm_J, axis=1), rtol),
        _claim("power", r"\left\|\frac{\partial s_t}{\partial s_k}\right\| \le (\gamma\lambda)^{t-k}",
               norm_P, (g * lam_v[:, None]) ** expo[None, :], rtol),
    )
    return BoundReport(sigma.name, g, instances, claims)


def _finite_difference_error(inst: Instances, A, J, eps, scale) -> "tuple[np.ndarray, int]":
    """max_{p,q} |J_fd - J| per (instance, step); NaN where sigma is not smooth at the step size.

    The step is relative, h = eps max(1, max_i |a_ji|), so that rounding in
    a +- h W[:, q] stays at the eps level however large the pre-activations grow.
    """
    sigma = activations.get(inst.activation)
    N, T, d = A.shape
    h = eps * np.maximum(1.0, np.abs(A).max(axis=-1, keepdims=True))        # (N, T, 1)
    fd = np.empty_like(J)
    fd_half = np.empty_like(J)
    for q in range(d):
        col = inst.W[:, None, :, q]                    # d a_j / d s_{j-1,q} = W[:, q]
        for step, out in ((h, fd), (h / 2, fd_half)):
            out[..., q] = (sigma.numpy(A + step * col) - sigma.numpy(A - step * col)) / (2 * step)
    err = np.abs(fd - J).max(axis=(-2, -1))
    # Near a kink the two step sizes disagree by O(1) (relative to gamma ||W||) rather than O(h^2).
    kink = np.abs(fd - fd_half).max(axis=(-2, -1)) > 1e-3 * scale
    err = np.where(kink, np.nan, err)
    return err, int(kink.sum())
