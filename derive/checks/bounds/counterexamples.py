"""Why the norm and not the spectral radius; what γλ > 1 does and does not imply (CS224n notes, Pascanu et al.)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from derive.model import activations
from derive.checks.results import Counterexample
from derive.errors import InvalidValue, positive_int
from derive.model.supremum import gamma
from .chain import BoundReport, Instances, _argmax_point, _finite_gamma, check_bound_chain, make_instances, spectral_norm, spectral_radius


def _pinned_jacobian_norms(activation: str, W: np.ndarray, T: int) -> "tuple[np.ndarray, np.ndarray]":
    """Run the RNN pinned at a_j = x* (argmax of sigma'); return ||ds_t/ds_0|| for t = 1..T and the a_j."""
    d = W.shape[0]
    x_star = _argmax_point(activation)
    s_star = activations.get(activation).numpy(np.full(d, x_star))
    inst = Instances(activation, W[None], np.broadcast_to(x_star - W @ s_star, (1, T, d)).copy(),
                     s_star[None], np.array(["pinned"]), np.array([math.nan]), np.array([0.0]))
    report = check_bound_chain(inst)
    A, _ = inst.forward()
    return report["power"].lhs[0], A[0]


@dataclass(frozen=True)
class SpectralRadiusExample:
    """A W whose spectral radius is below 1/gamma, yet ||ds_t/ds_k|| exceeds (gamma rho)^(t-k).

    The measurements of the whole construction; `counterexample` is the project's one counterexample
    type (`derive.checks.verify.Counterexample`) at the first gap where the spectral-radius "bound" fails.

    The chain of Module 14.4 needs lambda >= ||W|| (a norm).  The CS224n notes
    (``003_9ba40663132a09fb.txt``) quote Pascanu et al. with "largest
    eigenvalue"; that gives no bound at any finite t - k for a non-normal W.
    Nor does it govern the limit t - k -> oo for the RNN: Gelfand's formula
    ||W^m||^(1/m) -> rho(W) is about powers of one matrix, while ds_t/ds_k is a
    product of different factors diag(sigma'(a_j)) W, whose slopes vary with j.
    With W = [[1.5, 1], [-1.6, -0.9]] (rho = 0.5, ||W||_2 = 2.57) and inputs
    pinning a_j at (0, 20), every factor is diag(1, 0) W and ||ds_t/ds_0|| =
    1.8, 9.1, 69, 4.0e3, 1.3e7 at t = 1, 5, 10, 20, 40 (issue 12; the claims
    cs224n-rho-* check it with the engine and finite differences).  The
    condition for explosion is on the largest singular value (necessary), not
    on rho; here, pinned at the argmax of sigma', every factor is gamma W and
    the powers do converge to rho, but only after the transient shown.

    Attributes:
        W: the 2 x 2 recurrent matrix (a scaled Jordan-like block).
        gamma, rho, lam: gamma, spectral radius rho(W), spectral norm ||W||_2.
        gaps: t - k = 1..T.
        norms: ||ds_t/ds_k|| measured on the pinned RNN (diag(sigma') = gamma I).
        bound_rho: (gamma rho)^(t-k), the wrong bound.
        bound_lambda: (gamma lambda)^(t-k), the lecture's bound (holds).
    """

    activation: str
    W: np.ndarray
    gamma: float
    rho: float
    lam: float
    gaps: np.ndarray
    norms: np.ndarray
    bound_rho: np.ndarray
    bound_lambda: np.ndarray

    @property
    def violated_gaps(self) -> np.ndarray:
        """The gaps t - k at which the spectral-radius "bound" fails."""
        return self.gaps[self.norms > self.bound_rho * (1 + 1e-12)]

    @property
    def lambda_bound_holds(self) -> bool:
        return bool(np.all(self.norms <= self.bound_lambda * (1 + 1e-12)))

    @property
    def counterexample(self) -> "Counterexample | None":
        """||ds_t/ds_k|| <= (gamma rho)^(t-k) refuted at the first violated gap (None if it is not)."""
        bad = np.flatnonzero(self.norms > self.bound_rho * (1 + 1e-12))
        if bad.size == 0:
            return None
        i = int(bad[0])
        lhs, rhs = float(self.norms[i]), float(self.bound_rho[i])
        return Counterexample({"activation": self.activation, "W": self.W.tolist(), "t - k": int(self.gaps[i]),
                               "recipe": "pinned"}, lhs, rhs, None, lhs - rhs,
                              f"||ds_t/ds_k|| = {lhs:.12g} > (gamma rho)^(t-k) = {rhs:.12g} at t - k = {self.gaps[i]}",
                              (lhs - rhs) / rhs)


def __getattr__(name):
    if name == "Counterexample":  # the old name of SpectralRadiusExample
        import warnings

        warnings.warn("derive.checks.bounds.Counterexample is now SpectralRadiusExample (derive.checks.verify.Counterexample is "
                      "the one counterexample type)", DeprecationWarning, stacklevel=2)
        return SpectralRadiusExample
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def spectral_radius_counterexample(activation: str = "tanh", *, gamma_rho: float = 0.9, coupling: float = 4.0,
                                   T: int = 30) -> SpectralRadiusExample:
    """The counterexample: W = (1/gamma) [[g rho, c], [0, g rho]] with gamma rho < 1 < gamma lambda.

    Pinned at the argmax of sigma' every factor is ds_j/ds_{j-1} = gamma W, so
    ds_t/ds_k = (gamma W)^(t-k) = [[r^m, m c r^(m-1)], [0, r^m]] with r = gamma rho,
    m = t - k: its norm grows like m c r^(m-1) before it decays, far above r^m
    (at m = 1 already c > r).
    """
    g = _finite_gamma(activation)
    if not 0 < gamma_rho < 1:
        raise InvalidValue(f"gamma_rho must be in (0, 1) for a counterexample, got {gamma_rho!r}")
    T = positive_int("T", T)
    W = np.array([[gamma_rho, coupling], [0.0, gamma_rho]]) / g
    norms, _ = _pinned_jacobian_norms(activation, W, T)
    rho, lam = float(spectral_radius(W)), float(spectral_norm(W))
    gaps = np.arange(1, T + 1)
    return SpectralRadiusExample(activation, W, g, rho, lam, gaps, norms, (g * rho) ** gaps, (g * lam) ** gaps)


@dataclass(frozen=True)
class PascanuDemo:
    """lambda < 1/gamma is sufficient for vanishing; lambda > 1/gamma is necessary, not sufficient, for explosion.

    Attributes:
        sufficient: the bound chain on random instances with gamma lambda < 1
            (every ||ds_t/ds_k|| <= (gamma lambda)^(t-k) -> 0).
        largest_final_norm: max over those instances of ||ds_T/ds_0||.
        largest_final_bound: max of (gamma lambda)^T over them.
        gamma_lambda: gamma ||W|| of the two single instances below (> 1).
        exploding: ||ds_t/ds_0||, t = 1..T, for W = (gamma_lambda/gamma) Q pinned
            at the argmax of sigma' (unsaturated): grows like gamma_lambda^t.
        saturated: the same W, with a drive that saturates sigma: vanishes.
        saturated_preactivation: the |a_j| of the saturated run (min over j, i).
    """

    sufficient: BoundReport
    largest_final_norm: float
    largest_final_bound: float
    gamma_lambda: float
    exploding: np.ndarray
    saturated: np.ndarray
    saturated_preactivation: float


def pascanu_examples(activation: str = "tanh", *, gamma_lambda: float = 3.0, drive: float = 8.0,
                     T: int = 30, n: int = 2_000, seed: int = 0) -> PascanuDemo:
    """The remark of ``003_9ba40663132a09fb.txt`` (Pascanu et al.), with the norm in place of the eigenvalue.

    Sufficient: if gamma lambda < 1 then ||ds_t/ds_k|| <= (gamma lambda)^(t-k)
    -> 0 (checked on n random instances).  Not sufficient for explosion: the
    same orthogonal W with gamma lambda = 3 explodes when the units sit at the
    argmax of sigma', and vanishes when a constant drive saturates them
    (sigma'(a) ~ 4 e^(-2|a|) for tanh: the product of diag(sigma') wins).
    """
    g = _finite_gamma(activation)
    inst = make_instances(activation, n, T=T, seed=seed, gamma_lambdas=(0.5, 0.9, 0.99))
    report = check_bound_chain(inst)
    final = report["power"]
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((4, 4)))[0]
    W = Q * (gamma_lambda / g)
    exploding, _ = _pinned_jacobian_norms(activation, W, T)
    # Saturated: a constant drive u_j = drive * 1 keeps every a_j far from the argmax of sigma'.
    sigma = activations.get(activation)
    sat = Instances(activation, W[None], np.full((1, T, 4), float(drive)), sigma.numpy(np.full((1, 4), float(drive))),
                    np.array(["orthogonal"]), np.array([gamma_lambda]), np.array([float(drive)]))
    sat_report = check_bound_chain(sat)
    A, _ = sat.forward()
    return PascanuDemo(report, float(final.lhs[:, -1].max()), float(final.rhs[:, -1].max()), gamma_lambda,
                       exploding, sat_report["power"].lhs[0], float(np.abs(A).min()))
