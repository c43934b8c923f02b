"""γ = sup_x σ'(x) by symbolic maximisation, confirmed on a grid (CS7015 Lecture 14, Module 14.4)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from derive.model import activations
from derive.errors import NotSupported


_X = sp.Symbol("x", real=True)


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
    value = _limit_at_infinity_of_exp_rational(e, end) if end in (sp.oo, -sp.oo) else None
    if value is not None:
        return value
    try:
        value = sp.limit(e, _X, end, direction)
    except Exception as exc:
        raise NotSupported(f"cannot prove gamma for {name!r}: limit of sigma'(x) = {e} at x -> {end} failed ({exc})") from None
    if isinstance(value, sp.AccumBounds) or value.has(sp.Limit) or value is sp.nan or not value.is_extended_real:
        raise NotSupported(
            f"cannot prove gamma for {name!r}: sigma'(x) = {e} has no limit at x -> {end} (SymPy gives {value})"
        )
    return value


def _limit_at_infinity_of_exp_rational(e: sp.Expr, end) -> "sp.Expr | None":
    """lim_{x -> ±oo} e exactly when e is a rational function of exponentials exp(c x), c rational
    (the logistic's and tanh's derivatives and their relatives); None for anything else.

    With v = exp(x / q) (q the common denominator of the c's), e = P(v) / Q(v) with P, Q
    polynomials, and x -> +oo is v -> oo, x -> -oo is v -> 0+: the limit is read off the
    leading (highest, resp. lowest) terms of P and Q.  A fast path for SymPy's Gruntz limit,
    which takes a quarter of a second for each of these."""
    try:
        g = e.rewrite(sp.exp)
        rates = {t.args[0] / _X for t in g.atoms(sp.exp)}
        if not rates or not all(c.is_Rational for c in rates):
            return None
        q = sp.ilcm(*[sp.Rational(c).q for c in rates]) if len(rates) > 1 else sp.Rational(next(iter(rates))).q
        v = sp.Dummy("v", positive=True)
        h = g.replace(lambda t: isinstance(t, sp.exp), lambda t: v ** (t.args[0] / _X * q))
        if h.has(_X):
            return None
        num, den = sp.fraction(sp.cancel(sp.together(h)))
        P, Q = sp.Poly(num, v), sp.Poly(den, v)
    except (sp.PolynomialError, TypeError, ValueError, AttributeError):
        return None
    if Q.is_zero:
        return None
    if P.is_zero:
        return sp.S.Zero
    terms = lambda poly: sorted((m, c) for (m,), c in zip(poly.monoms(), poly.coeffs()) if c != 0)  # noqa: E731
    # the dominant term: the highest power of v as v -> oo, the lowest as v -> 0+
    (a, p0), (b, q0) = (terms(P)[-1], terms(Q)[-1]) if end == sp.oo else (terms(P)[0], terms(Q)[0])
    if a == b:
        return sp.nsimplify(p0 / q0)
    if (a < b) == (end == sp.oo):                  # the denominator dominates
        return sp.S.Zero
    return sp.oo if (p0 / q0) > 0 else -sp.oo


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
