"""Vanishing and exploding gradients: the bound of CS7015 Module 14.4, proved and measured.

The lecture (``shared/seeds/002_eb405f471485c68d.txt``, Module 14.4, and the
spoken version ``001_2f382c7a805806de.txt``, Lecture 105) argues in five steps::

    ds_j/ds_{j-1} = diag(sigma'(a_j)) W                          (chain rule)
    ||diag(sigma'(a_j)) W|| <= ||diag(sigma'(a_j))|| ||W||      (submultiplicative)
                            <= gamma ||W||                       (gamma = sup sigma')
                            <= gamma lambda                      (lambda >= ||W||)
    ||ds_t/ds_k|| <= prod_j ||ds_j/ds_{j-1}|| <= (gamma lambda)^(t-k)

This module turns every step into something checked:

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

import decimal
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

from . import activations
from .errors import InvalidValue, NotSupported, UnknownName, positive_int

__all__ = [
    "GammaResult", "gamma",
    "Instances", "make_instances", "ClaimCheck", "BoundReport", "check_bound_chain",
    "spectral_norm", "spectral_radius",
    "Counterexample", "spectral_radius_counterexample", "PascanuDemo", "pascanu_examples",
    "PowerReport", "power_report", "lecture_numbers",
    "TruncationCurve", "truncation_error", "truncation_curves",
]

_X = sp.Symbol("x", real=True)


# ===========================================================================
# 1. gamma = sup_x sigma'(x), by symbolic maximisation
# ===========================================================================
@dataclass(frozen=True)
class GammaResult:
    """The bound gamma >= sigma'(x) for all real x (Module 14.4: 1/4 for logistic, 1 for tanh).

    Attributes:
        activation: the activation's name.
        value: gamma as an exact SymPy number (``sp.oo`` if sigma' is unbounded);
            None when ``proved`` is False.
        argmax: where the supremum is reached: a number, a SymPy set (sigma' is
            constant there), or ``sp.oo`` / ``-sp.oo`` (a limit, not attained).
        attained: whether some real x has sigma'(x) = gamma.
        proof_method: how the value was obtained.
        note: one line for a reader (also says when the value is only an estimate).
        proved: False only for a numeric estimate (``gamma(..., estimate=True)``).
        numeric: the largest sigma' found on the verification grid (float).
    """

    activation: str
    value: "sp.Expr | None"
    argmax: object
    attained: bool
    proof_method: str
    note: str
    proved: bool = True
    numeric: float = math.nan

    def __float__(self) -> float:
        if not self.proved:
            raise NotSupported(f"gamma for {self.activation!r} is not proved; use .numeric for the estimate")
        return float(self.value)

    def point(self) -> "float | None":
        """A finite x with sigma'(x) = gamma, or None (supremum only approached at infinity)."""
        return _representative(self.argmax) if self.attained else None


def _representative(where) -> float:
    """A point of ``where`` (a number or a SymPy set), 0 when it belongs to it."""
    if not isinstance(where, sp.Set):
        return float(where)
    if sp.S.Zero in where:
        return 0.0
    if isinstance(where, sp.FiniteSet):
        return float(min(where))
    lo, hi = where.inf, where.sup
    if hi == sp.oo:
        return float(lo + 1)
    if lo == -sp.oo:
        return float(hi - 1)
    return float((lo + hi) / 2)


@dataclass(frozen=True)
class _Candidate:
    value: sp.Expr
    where: object
    attained: bool


def gamma(activation, *, estimate: bool = False) -> GammaResult:
    """gamma = sup_x sigma'(x) for a registered activation, proved with SymPy.

    Method (Module 14.4, ``002_eb405f471485c68d.txt``: "sigma'(a_j) <= 1/4 = gamma
    if sigma is logistic, <= 1 = gamma if tanh"): sigma' from the rule table is
    rewritten piecewise (Heaviside, Abs, Max); on each piece, a smooth function
    on an interval, its supremum is the largest of its values at the critical
    points (solutions of sigma'' = 0), at closed end points, and its one-sided
    limits at open end points (including +-oo).  That list is complete when the
    critical points are finitely many and sigma'' is continuous inside the
    piece, which is checked.  The result is then confirmed numerically with the
    activation's own NumPy derivative on a grid.

    Args:
        activation: a name (``"logistic"``) or an `Activation`.
        estimate: when SymPy cannot prove the maximum, return a result with
            ``proved=False`` and the grid estimate in ``numeric`` instead of
            raising.

    Raises:
        NotSupported: SymPy cannot prove the supremum (and ``estimate`` is False),
            or the proof and the numeric check disagree.

    Example::

        >>> gamma("logistic").value, gamma("tanh").value
        (1/4, 1)
    """
    act = activations.get(activation)
    try:
        return _gamma_proved(act)
    except NotSupported as exc:
        if not estimate:
            raise
        value, where = _grid_max(act)
        return GammaResult(
            act.name, None, where, False, "numeric grid (NOT a proof)",
            f"numeric estimate only: max sigma' ~= {value:.6g} near x = {where:.4g}; {exc}",
            proved=False, numeric=value,
        )


@lru_cache(maxsize=None)
def _gamma_proved(act) -> GammaResult:
    f = act.elementary_prime(_X)
    extra = sorted(map(str, f.free_symbols - {_X}))
    if extra:
        raise NotSupported(f"cannot prove gamma for {act.name!r}: sigma'(x) = {f} depends on {', '.join(extra)}")
    pieces = _pieces(act.name, f)
    candidates: list[_Candidate] = []
    for expr, where in pieces:
        candidates += _piece_candidates(act.name, expr, where)
    best = _largest(act.name, candidates)
    numeric, _ = _grid_max(act)
    _confirm(act, best, numeric)
    method = "piecewise: critical points of sigma' and one-sided limits" if len(pieces) > 1 else (
        "sigma' is constant" if not f.has(_X) else "critical points (sigma''=0) and limits at +-oo")
    if best.value == sp.oo:
        note = f"sigma' of {act.name} is unbounded: no finite gamma, the bound (gamma lambda)^(t-k) says nothing"
    elif best.attained:
        note = f"max sigma' = {best.value}, attained at x = {best.where}"
    else:
        note = f"sup sigma' = {best.value}, approached as x -> {best.where} but never attained"
    return GammaResult(act.name, best.value, best.where, best.attained, method, note, True, numeric)


def _pieces(name: str, f: sp.Expr) -> "list[tuple[sp.Expr, sp.Set]]":
    """sigma' as (smooth expression, set of x) pairs covering the real line."""
    if not f.has(sp.Heaviside, sp.Abs, sp.Max, sp.Min, sp.sign, sp.Piecewise):
        return [(f, sp.S.Reals)]
    try:
        pw = sp.piecewise_fold(f.rewrite(sp.Piecewise))
        if not isinstance(pw, sp.Piecewise):
            return [(pw, sp.S.Reals)]
        pairs = pw.as_expr_set_pairs(sp.S.Reals)
    except Exception as exc:  # SymPy raises several types for conditions it cannot solve
        raise NotSupported(f"cannot prove gamma for {name!r}: cannot split sigma'(x) = {f} into pieces ({exc})") from None
    out = []
    for expr, where in pairs:
        for part in (where.args if isinstance(where, sp.Union) else (where,)):
            out.append((expr, part))
    return out


def _piece_candidates(name: str, e: sp.Expr, where: sp.Set) -> "list[_Candidate]":
    """Every value the supremum of the smooth e over ``where`` can take."""
    if where.is_empty:
        return []
    if isinstance(where, sp.FiniteSet):
        return [_Candidate(sp.simplify(e.subs(_X, p)), p, True) for p in where]
    if not isinstance(where, sp.Interval):
        raise NotSupported(f"cannot prove gamma for {name!r}: a piece of sigma' lives on {where}")
    de = sp.simplify(sp.diff(e, _X))
    interior = sp.Interval.open(where.start, where.end)
    if de == 0:
        return [_Candidate(sp.simplify(e), where, True)]
    problems = _discontinuities(e, de, interior)
    if problems:
        raise NotSupported(f"cannot prove gamma for {name!r}: {problems}")
    crit = sp.solveset(de, _X, interior)
    if not (crit is sp.S.EmptySet or isinstance(crit, sp.FiniteSet)):
        raise NotSupported(
            f"cannot prove gamma for {name!r}: SymPy cannot list the critical points of sigma'(x) = {e} "
            f"on {where} (solving sigma''(x) = 0 gave {crit})"
        )
    out = [_Candidate(sp.simplify(e.subs(_X, c)), c, True) for c in crit]
    for end, closed, direction in ((where.start, not where.left_open, "+"), (where.end, not where.right_open, "-")):
        if closed and end.is_finite:
            out.append(_Candidate(sp.simplify(e.subs(_X, end)), end, True))
        else:
            out.append(_Candidate(_limit(name, e, end, direction), end, False))
    return out


def _discontinuities(e: sp.Expr, de: sp.Expr, interior: sp.Interval) -> str:
    try:
        for expr, what in ((e, "sigma'"), (de, "sigma''")):
            dom = sp.calculus.util.continuous_domain(expr, _X, interior)
            if dom != interior:
                return f"{what}(x) = {expr} is not continuous on all of {interior} (only on {dom})"
    except Exception as exc:  # continuous_domain gives up on some expressions
        return f"cannot decide where sigma'(x) = {e} is continuous ({type(exc).__name__})"
    return ""


def _limit(name: str, e: sp.Expr, end, direction: str) -> sp.Expr:
    try:
        value = sp.limit(e, _X, end, direction)
    except Exception as exc:
        raise NotSupported(f"cannot prove gamma for {name!r}: limit of sigma'(x) = {e} at x -> {end} failed ({exc})") from None
    if isinstance(value, sp.AccumBounds) or value.has(sp.Limit) or value is sp.nan or not value.is_extended_real:
        raise NotSupported(
            f"cannot prove gamma for {name!r}: sigma'(x) = {e} has no limit at x -> {end} (SymPy gives {value})"
        )
    return value


def _largest(name: str, candidates: "list[_Candidate]") -> _Candidate:
    """The largest candidate, compared exactly where SymPy can, else at 50 digits."""
    if not candidates:
        raise NotSupported(f"cannot prove gamma for {name!r}: no candidate maximum found")
    best = candidates[0]
    for c in candidates[1:]:
        tie = c.value == best.value or (best.value.is_finite and sp.simplify(c.value - best.value) == 0)
        if tie:
            if c.attained and not best.attained:    # on a tie prefer a point where the supremum is attained
                best = c
            continue
        bigger = sp.simplify(c.value - best.value).is_extended_positive
        if bigger is None:
            approx = sp.N(c.value - best.value, 50)
            if not (approx.is_number and approx.is_finite):
                raise NotSupported(f"cannot prove gamma for {name!r}: cannot compare {c.value} with {best.value}")
            bigger = bool(approx > 0)
        if bigger:
            best = c
    return best


_GRID = np.concatenate([np.linspace(-60.0, 60.0, 240_001), np.linspace(-1e-3, 1e-3, 2_001)])


def _grid_max(act) -> "tuple[float, float]":
    with np.errstate(all="ignore"):
        values = np.asarray(act.numpy_prime(_GRID), dtype=np.float64)
    i = int(np.nanargmax(values))
    return float(values[i]), float(_GRID[i])


def _confirm(act, best: _Candidate, numeric: float) -> None:
    """The symbolic supremum must bound the grid and be reached by it (to 1e-6)."""
    if best.value == sp.oo:
        return
    gamma_f = float(best.value)
    tol = 1e-9 * max(1.0, abs(gamma_f))
    if numeric > gamma_f + tol:
        raise NotSupported(
            f"cannot prove gamma for {act.name!r}: SymPy's supremum {best.value} is below the NumPy derivative's "
            f"value {numeric!r} on the grid (rule table and NumPy disagree?)"
        )
    if best.attained:
        probes = [_representative(best.where)]
    elif best.where in (sp.oo, -sp.oo):
        probes = [1e3 if best.where == sp.oo else -1e3]
    else:  # a limit at an open finite end point: look just either side of it
        probes = [float(best.where) - 1e-9, float(best.where) + 1e-9]
    with np.errstate(all="ignore"):
        reached = np.asarray(act.numpy_prime(np.array(probes)), dtype=np.float64)
    if np.min(np.abs(reached - gamma_f)) > 1e-6 * max(1.0, abs(gamma_f)):
        raise NotSupported(
            f"cannot prove gamma for {act.name!r}: SymPy's supremum {best.value} at x = {best.where} is not "
            f"reached numerically (sigma' = {reached.tolist()} at x = {probes})"
        )


# ===========================================================================
# 2. The bound chain of Module 14.4, checked on many instances at once
# ===========================================================================
def spectral_norm(M: np.ndarray) -> np.ndarray:
    """||M||_2, the largest singular value, over the last two axes (batched)."""
    M = np.asarray(M, dtype=np.float64)
    return np.linalg.svd(M, compute_uv=False)[..., 0]


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


# ===========================================================================
# 3. Why the norm, and what gamma lambda > 1 does and does not imply
# ===========================================================================
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
class Counterexample:
    """A W whose spectral radius is below 1/gamma, yet ||ds_t/ds_k|| exceeds (gamma rho)^(t-k).

    The chain of Module 14.4 needs lambda >= ||W|| (a norm).  The CS224n notes
    (``003_9ba40663132a09fb.txt``) quote Pascanu et al. with "largest
    eigenvalue"; that governs the limit t - k -> oo (Gelfand: ||W^m||^(1/m) -> rho)
    but gives no bound at any finite t - k for a non-normal W.

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


def spectral_radius_counterexample(activation: str = "tanh", *, gamma_rho: float = 0.9, coupling: float = 4.0,
                                   T: int = 30) -> Counterexample:
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
    return Counterexample(activation, W, g, rho, lam, gaps, norms, (g * rho) ** gaps, (g * lam) ** gaps)


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


# ===========================================================================
# 4. The lecture's numbers, exactly
# ===========================================================================
_TINY = np.finfo(np.float64).tiny           # smallest normal float64, 2.2e-308


@dataclass(frozen=True)
class PowerReport:
    """base^exponent three ways: exact (SymPy Rational), float64, and mpmath (30 digits).

    Attributes:
        base: the base as an exact Rational (a decimal string or float is read as
            the decimal it prints as: 0.01 is 1/100, not the nearest binary float).
        exponent: a non-negative integer.
        exact: base**exponent as a Rational.
        value: the exact value to 17 significant digits (mpmath), a string.
        float_value: ``float(base) ** exponent`` in float64.
        rel_error: |float_value - exact| / exact (1.0 when float64 underflows to 0).
        status: "normal", "subnormal" (below 2.2e-308: precision lost),
            "underflow" (float64 gives 0) or "overflow" (float64 gives inf).
        lecture_value: the value as printed in the lecture, if any.
    """

    base: sp.Rational
    exponent: int
    exact: sp.Rational = field(repr=False)
    value: str
    float_value: float
    rel_error: float
    status: str
    lecture_value: "str | None" = None

    @property
    def underflows(self) -> bool:
        return self.status == "underflow"

    @property
    def log10(self) -> float:
        """log10 of the exact value (finite even when float64 underflows)."""
        with mpmath.workdps(30):
            return float(mpmath.log10(_mp(self.exact)))

    def agrees_with_lecture(self) -> "bool | None":
        """Whether the printed value equals the exact one to the digits printed (None if nothing printed)."""
        if self.lecture_value is None:
            return None
        printed = decimal.Decimal(self.lecture_value)
        digits = len(printed.as_tuple().digits)
        half_ulp = sp.Rational(1, 2) * sp.Rational(10) ** (printed.adjusted() - digits + 1)
        return bool(abs(sp.Rational(self.lecture_value) - self.exact) <= half_ulp)

    def latex(self) -> str:
        """``0.5^{47} = 7.1054274 \\times 10^{-15}`` (exact powers of ten print exactly)."""
        base = _decimal(self.base)
        p, q = self.exact.p, self.exact.q
        if p == 1 and _is_power_of_ten(q):
            rhs = f"10^{{-{len(str(q)) - 1}}}"
        elif q == 1 and _is_power_of_ten(p):
            rhs = f"10^{{{len(str(p)) - 1}}}"
        else:
            with mpmath.workdps(30):
                m, e = mpmath.nstr(_mp(self.exact), 8, min_fixed=0, max_fixed=0).split("e")
            rhs = f"{m} \\times 10^{{{int(e)}}}"
        return f"{base}^{{{self.exponent}}} = {rhs}"


def _mp(r: sp.Rational):
    return mpmath.mpf(r.p) / mpmath.mpf(r.q)


def _is_power_of_ten(k: int) -> bool:
    return str(k).startswith("1") and set(str(k)[1:]) <= {"0"}


def _decimal(r: sp.Rational) -> str:
    if r.q == 1:
        return str(r.p)
    text = str(sp.Float(r, 30)).rstrip("0")
    return text if sp.Rational(text) == r else f"{r.p}/{r.q}"


def _exact_base(base) -> sp.Rational:
    if isinstance(base, bool):
        raise InvalidValue(f"base must be a number, got {base!r}")
    if isinstance(base, sp.Rational):
        return base
    if isinstance(base, (int, np.integer)):
        return sp.Rational(int(base))
    if isinstance(base, (float, np.floating)):
        if not math.isfinite(base):
            raise InvalidValue(f"base must be finite, got {base!r}")
        return sp.Rational(repr(float(base)))
    if isinstance(base, str):
        try:
            return sp.Rational(base)
        except (TypeError, ValueError, sp.SympifyError):
            raise InvalidValue(f"base must be a decimal number such as '0.01', got {base!r}") from None
    raise InvalidValue(f"base must be an int, float, decimal string or Rational, got {base!r}")


MAX_POWER_BITS = 1 << 18  # 0.5^262144 or 0.01^~19000 exactly, in well under a second


def power_report(base, exponent: int, *, lecture_value: "str | None" = None) -> PowerReport:
    """base^exponent exactly, in float64 (with its relative error) and with mpmath.

    The Applied NLP lecture (``000_7be57cb19668d348.txt``) shows how a factor
    below 1 repeated 47 times (7th to 47th word) vanishes: 0.01^47 = 1.0e-94,
    0.5^47 = 7.1054274e-15.  float64 represents neither 0.01 nor 0.01^47
    exactly; ``rel_error`` says how far the float result is from the exact power.

    Example::

        >>> r = power_report("0.01", 47)
        >>> r.exact == sp.Rational(1, 10**94), r.status
        (True, 'normal')
    """
    b = _exact_base(base)
    k = positive_int("exponent", exponent, minimum=0)
    if b < 0:
        raise InvalidValue(f"base must be >= 0 (a gradient factor's magnitude), got {b}")
    bits = k * (b.p.bit_length() + b.q.bit_length()) if b not in (0, 1) else 0
    if bits > MAX_POWER_BITS:  # the exact rational would take this many bits (and quadratic gcds): refuse
        per = b.p.bit_length() + b.q.bit_length()
        raise InvalidValue(f"exponent must be at most {MAX_POWER_BITS // per} for base {b} (the exact power "
                           f"would take about {bits} bits, the limit is {MAX_POWER_BITS}), got {k}")
    exact = b ** k
    with np.errstate(over="ignore", under="ignore"):
        fl = float(np.float64(float(b)) ** np.float64(k))
    if math.isinf(fl):
        status, rel = "overflow", math.inf
    elif fl == 0.0 and exact != 0:
        status, rel = "underflow", 1.0
    else:
        status = "subnormal" if 0 < fl < _TINY else "normal"
        rel = 0.0 if exact == 0 else float(abs(sp.Rational(fl) - exact) / exact)
    with mpmath.workdps(30):
        value = mpmath.nstr(_mp(exact), 17, min_fixed=0, max_fixed=0) if exact != 0 else "0"
    return PowerReport(b, k, exact, value, fl, rel, status, lecture_value)


def lecture_numbers() -> "dict[str, PowerReport]":
    """The vanishing examples of ``000_7be57cb19668d348.txt`` and two more, exactly.

    - ``0.01^47``: printed as 1.0e-94; exactly 10^-94.
    - ``0.5^47``: printed as 7.1054274e-15; exactly 2^-47 = 7.1054273576010019e-15.
    - ``0.5^100``: 2^-100 ~= 7.89e-31 (a 100-step sequence with factor 1/2).
    - ``0.01^200``: 10^-400, below the smallest float64 (4.9e-324): float64
      gives 0, mpmath gives the value; flagged ``underflow``.
    """
    return {
        "0.01^47": power_report("0.01", 47, lecture_value="1.0e-94"),
        "0.5^47": power_report("0.5", 47, lecture_value="7.1054274e-15"),
        "0.5^100": power_report("0.5", 100),
        "0.01^200": power_report("0.01", 200),
    }


# ===========================================================================
# 5. Truncated BPTT: how much of the gradient is lost
# ===========================================================================
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
    `derive.reference.rnn.bptt(..., truncate=tau)`.  Only W, U and b are
    affected (V and c see no recurrence), so g stacks their gradients.
    """
    from .reference import rnn as reference_rnn

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
