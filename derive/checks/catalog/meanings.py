"""Meanings: what a claim states in the engine's terms, and how each kind is checked."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.model import activations
from derive.terms import Brace, D, Prod, Term
from derive.prove.canon import Canon
from derive.model.cell import Cell
from derive.errors import DeriveError, InvalidValue, NotSupported, ShapeError, UnknownName
from derive.model.graph import unroll
from derive.indices import parse_index
from .checks import Check, Counterexample, _compare, _fmt_where, _graph_T, _jsonable, _Outcome, _round, _Run
from .evaluate import _NotLocal, _Numbers, _StepSymbols, _symbolic_equal
from .mutants import _replace_sub, _term_mutants
from .parse import parse
from .terms import Const, MatPow, Value, _is_algebra, _walk


class Meaning:
    """What a claim means in the engine's terms; ``check`` returns the checks and any counterexample."""

    def text(self) -> str:  # the claim in its own (lecture) symbols
        raise NotImplementedError

    def describe(self, notation: str) -> str:  # what the engine checks, in engine names
        return self.text()

    def check(self, run: _Run, notation: str) -> _Outcome:  # pragma: no cover - every meaning overrides
        raise NotImplementedError

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        """Deliberately wrong variants (kind, meaning) for the sensitivity test."""
        return []


def _side_text(x) -> str:
    return x if isinstance(x, str) else str(x)


@dataclass
class Identity(Meaning):
    """lhs = rhs for every binding of the indices, on the cell ``cell(activation)``.

    Sides are strings in the claim's notation (parsed by `parse`) or engine terms.
    Pure derivative algebra is proved exactly in the free algebra of path sums;
    a formula with local derivatives only is compared by SymPy element by element;
    every claim is evaluated in float64 at each size and seed.  ``labels=True``
    also checks the underbrace labels: an "explicit" brace must hold one ∂⁺.
    """

    lhs: Any
    rhs: Any
    cell: Callable[[str], Cell]
    bindings: "list[dict]"
    keep: "tuple | None" = None
    activations: tuple = ("tanh",)
    order: str = "descending"
    labels: bool = False
    outside: str = "error"
    recipe: str = "random"

    def __post_init__(self):
        from .instances import RECIPES

        if self.recipe not in RECIPES:
            raise UnknownName("instance recipe", self.recipe, RECIPES)

    def text(self) -> str:
        return f"{_side_text(self.lhs)} = {_side_text(self.rhs)}"

    def sides(self, cell: Cell, notation: str) -> "tuple[Term, Term]":
        return tuple(parse(x, notation, cell, order=self.order, outside=self.outside) for x in (self.lhs, self.rhs))

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        order = "" if self.order == "descending" else " (products in ascending order)"
        return f"{lhs} = {rhs}{order} [cell {cell.name}]"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cfg = run.config
        checks: list[Check] = []
        failures: list[tuple] = []
        sides = ()
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = self.sides(cell, notation)
            sides = sides or (L, R)
            algebra = _is_algebra(L) and _is_algebra(R)
            for binding in self.bindings:
                lhs, rhs = L.instantiate(**binding), R.instantiate(**binding)
                T = _graph_T(binding)
                if algebra and ai == 0:
                    checks.append(self._exact(run.graph(cell, T), lhs, rhs, binding))
                if not algebra and self.recipe == "random":  # SymPy's symbols are generic: no special case
                    checks.extend(self._symbolic(run, cell, T, lhs, rhs, binding, act, cfg))
                for size in cfg.sizes:
                    for seed in cfg.seeds:
                        c, cx = self._numeric(run, cell, T, size, seed, lhs, rhs, binding, act)
                        checks.append(c)
                        if cx is not None:
                            failures.append(((size["d"], -_rel(cx), seed, T, ai), cx))
        if self.labels:
            checks.append(_label_check(sides[1]))
        out = _Outcome(checks, sides=sides)
        if failures:
            out.counterexample = min(failures, key=lambda f: f[0])[1]
        numeric = [c for c in checks if c.method == "numeric"]
        bad_d = {c.where["sizes"]["d"] for c in numeric if not c.passed}
        if bad_d and 1 not in bad_d and any(c.where["sizes"]["d"] == 1 for c in numeric):
            out.special_case = "holds for d = 1 only (1 x 1 Jacobians commute); fails for d >= 2"
        return out

    def _exact(self, g, lhs, rhs, binding) -> Check:
        t0 = time.perf_counter()
        diff = Canon(g, g.view(list(self.keep) if self.keep else None)).difference(lhs, rhs)
        return Check("exact", not diff, {"binding": dict(binding)},
                     "canonical path sums agree" if not diff else "; ".join(diff), time.perf_counter() - t0)

    def _symbolic(self, run, cell, T, lhs, rhs, binding, act, cfg) -> "list[Check]":
        out = []
        tau = _step_of(lhs, rhs)
        for size in cfg.sizes[: cfg.symbolic_sizes]:
            t0 = time.perf_counter()
            g = run.graph(cell, T, size)
            try:
                st = _StepSymbols(g, g.view(list(self.keep) if self.keep else None), tau, activations.get(act))
                ok, detail = _symbolic_equal(st.value(lhs), st.value(rhs))
            except _NotLocal:
                return []  # a derivative across steps: numeric checks only
            except ValueError as exc:  # derive's ShapeError, or SymPy's for a product that does not fit
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            out.append(Check("symbolic", ok, {"binding": dict(binding), "sizes": dict(size), "activation": act},
                             detail, time.perf_counter() - t0))
        return out

    def _numeric(self, run, cell, T, size, seed, lhs, rhs, binding, act):
        t0 = time.perf_counter()
        where = {"binding": dict(binding), "sizes": dict(size), "seed": seed, "T": T, "activation": act,
                 "recipe": self.recipe}
        ev = run.evaluator(cell, T, size, seed, self.keep, self.recipe)
        nums = _Numbers(ev, activations.get(act))
        try:
            lv, rv = nums.value(lhs), nums.value(rhs)
        except ShapeError as exc:
            c = Check("numeric", False, where, str(exc), time.perf_counter() - t0)
            return c, Counterexample(where, "-", "-", None, None, str(exc))
        ok, msg, entry, disc = _compare(lv, rv)
        c = Check("numeric", ok, where, msg, time.perf_counter() - t0)
        cx = None if ok else Counterexample(where, _round(lv), _round(rv), entry, disc, msg)
        return c, cx

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        return [(kind, replace(self, lhs=lhs, rhs=m, labels=False)) for kind, m in _term_mutants(rhs)]


def _rel(cx: Counterexample) -> float:
    """The relative size of a counterexample's discrepancy (0 when unknown)."""
    if cx.discrepancy is None:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(np.asarray(cx.lhs, dtype=float)))) if not isinstance(cx.lhs, str) else 1.0)
    return float(cx.discrepancy) / scale


def _step_of(*terms) -> int:
    """The step τ of a one-step formula: the latest time of any derivative's numerator or value."""
    times = []
    for t in terms:
        for x in _walk(t):
            if isinstance(x, D) and isinstance(x.f.t, int):
                times.append(x.f.t)
            if isinstance(x, Value) and isinstance(x.ref.t, int):
                times.append(x.ref.t)
    return max(times) if times else 1


def _label_check(rhs: Term) -> Check:
    """An underbrace labelled "explicit" must hold exactly one explicit derivative ∂⁺."""
    bad = [str(b.body) for b in _walk(rhs) if isinstance(b, Brace) and b.label == "explicit"
           and not (isinstance(b.body, D) and b.body.explicit)]
    if bad:
        return Check("labels", False, {}, "labelled explicit but not a single ∂⁺: " + "; ".join(bad))
    return Check("labels", True, {}, "every 'explicit' brace holds one ∂⁺")


_RELS = {
    "<=": lambda a, b: a <= b + 1e-9 * abs(b) + 1e-300,
    "<": lambda a, b: a < b - 1e-12 * abs(b),
    "=": lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300),
    ">=": lambda a, b: a >= b - 1e-9 * abs(b) - 1e-300,
    ">": lambda a, b: a > b + 1e-12 * abs(b),
}


@dataclass
class Bound(Meaning):
    """lhs rel rhs (scalars: norms, γ, λ, powers) on seeded random and adversarial instances.

    ``quantifier="all"``: every instance (satisfying ``assume``) and binding; a
    violation is the counterexample.  ``"exists"``: some instance satisfies the
    relation at every binding (a witness: "the gradient *could* explode").
    ``assume`` is ``(lhs, rel, rhs)``, e.g. ``("rho(W_h)", "<", "1")``.
    ``targets``: the γλ values of the adversarial recipes.
    """

    lhs: Any
    rel: str
    rhs: Any
    cell: Callable[[str], Cell]
    bindings: "list[dict]"
    activations: tuple = ("tanh", "logistic")
    recipes: tuple = ("random", "large", "pinned")
    targets: tuple = (0.5, 1.0, 1.5)
    quantifier: str = "all"
    assume: "tuple | None" = None
    keep: "tuple | None" = None

    def __post_init__(self):
        if self.rel not in _RELS:
            raise UnknownName("relation", self.rel, list(_RELS))
        if self.quantifier not in ("all", "exists"):
            raise UnknownName("quantifier", self.quantifier, ("all", "exists"))

    def text(self) -> str:
        cond = f"if {' '.join(map(_side_text, self.assume))}: " if self.assume else ""
        q = "for some instance: " if self.quantifier == "exists" else ""
        return f"{q}{cond}{_side_text(self.lhs)} {self.rel} {_side_text(self.rhs)}"

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = (parse(x, notation, cell) for x in (self.lhs, self.rhs))
        return f"{lhs} {self.rel} {rhs} over instances {', '.join(self.recipes)} [cell {cell.name}]"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cfg = run.config
        checks, failures, witnesses, sides = [], [], [], ()
        considered = 0
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = parse(self.lhs, notation, cell), parse(self.rhs, notation, cell)
            cond = None if not self.assume else (parse(self.assume[0], notation, cell), self.assume[1],
                                                 parse(self.assume[2], notation, cell))
            sides = sides or (L, R)
            T = max(_graph_T(b) for b in self.bindings)
            inst = [(b, L.instantiate(**b), R.instantiate(**b)) for b in self.bindings]
            cond_terms = None if cond is None else (cond[0].instantiate(), cond[2].instantiate())
            for recipe in self.recipes:
                for size in cfg.sizes:
                    for seed in cfg.seeds:
                        for target in (self.targets if recipe not in ("random", "large") else (None,)):
                            ev = run.evaluator(cell, T, size, seed, self.keep, recipe, target or 1.0)
                            if ev is None:
                                continue
                            nums = _Numbers(ev, activations.get(act))
                            where = {"activation": act, "recipe": recipe, "sizes": dict(size), "seed": seed, "T": T}
                            if target is not None:
                                where["gamma_lambda"] = target
                            if cond is not None:
                                a, b = nums.value(cond_terms[0]), nums.value(cond_terms[1])
                                if not _RELS[cond[1]](float(a), float(b)):
                                    continue
                            considered += 1
                            ok_all, first_bad, t0 = True, None, time.perf_counter()
                            for binding, lt, rt in inst:
                                lv, rv = float(nums.value(lt)), float(nums.value(rt))
                                if not _RELS[self.rel](lv, rv):
                                    ok_all = False
                                    if first_bad is None:
                                        first_bad = (binding, lv, rv)
                            w = dict(where)
                            if first_bad is not None:
                                w["binding"] = dict(first_bad[0])
                                detail = (f"{first_bad[1]:.12g} {self.rel} {first_bad[2]:.12g} is false "
                                          f"(ratio {first_bad[1] / first_bad[2] if first_bad[2] else math.inf:.12g})")
                            else:
                                detail = f"holds at all {len(self.bindings)} bindings"
                            passed = ok_all if self.quantifier == "all" else True
                            checks.append(Check("numeric", passed, w, detail, time.perf_counter() - t0))
                            if ok_all:
                                witnesses.append(w)
                            elif self.quantifier == "all":
                                b, lv, rv = first_bad
                                failures.append(((size["d"], -abs(lv - rv) / max(abs(rv), 1e-300), seed, ai),
                                                 Counterexample(
                                    w, _round(lv), _round(rv), None, _round(lv - rv), detail)))
            if self.quantifier == "all" and not failures and self.rel in ("<=", "<") and cond is None:
                # issue 14 (6b): a bound holds numerically only after a counterexample search
                from derive.numeric.instances import search_bound
                size = max(cfg.sizes, key=lambda z: z.get("d", 0))
                found, lv, rv = search_bound(run.graph(cell, T, size), [(lt, rt) for _, lt, rt in inst],
                                             lambda ev: _Numbers(ev, activations.get(act)), self.keep)
                w = {"activation": act, "recipe": f"search ({found.recipe})", "sizes": dict(size),
                     "seed": found.instance.seed if found.instance else 0, "T": T}
                checks.append(Check("numeric", not found.found, w, found.describe()))
                if found.found:
                    failures.append(((size["d"], -math.inf, w["seed"], ai),
                                     Counterexample(w, _round(lv), _round(rv), None, _round(lv - rv), found.describe())))
        out = _Outcome(checks, sides=sides + (self.rel,))
        if considered == 0:
            raise NotSupported("no instance satisfies the assumption " + " ".join(map(_side_text, self.assume or ())))
        if self.quantifier == "exists":
            ok = bool(witnesses)
            detail = (f"witness: {_fmt_where(witnesses[0])}" if ok
                      else f"no instance among {considered} satisfies it at every binding")
            out.checks = [Check("numeric", ok, witnesses[0] if ok else {}, detail)]
            return out
        if failures:
            out.counterexample = min(failures, key=lambda f: f[0])[1]
        return out

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        cell = self.cell(self.activations[0])
        rhs = parse(self.rhs, notation, cell)
        out: "list[tuple[str, Meaning]]" = []
        if self.quantifier == "all" and self.rel in ("<=", "<"):
            out.append(("wrong bound constant", replace(self, lhs=parse(self.lhs, notation, cell),
                                                        rhs=Prod((Const(sp.Rational(1, 2)), rhs)))))
        pw = next((x for x in _walk(rhs) if isinstance(x, MatPow) and isinstance(x.exponent, sp.Basic)), None)
        if pw is not None and self.quantifier == "all":
            shifted = _replace_sub(rhs, pw, MatPow(pw.base, pw.exponent + 1))
            out.append(("shifted index", replace(self, lhs=parse(self.lhs, notation, cell), rhs=shifted,
                                                 recipes=tuple(dict.fromkeys(self.recipes + ("pinned",))),
                                                 targets=tuple(sorted(set(self.targets) | {0.5})))))
        return out


@dataclass
class Exact(Meaning):
    """A number printed on a slide, in exact arithmetic (and optionally as float64 computes it).

    ``rhs`` as a string keeps the printed precision: "7.1054274e-15" holds for
    0.5^47 = 7.10542735760100...e-15 because it rounds to those 8 digits.
    """

    lhs: Any                 # SymPy number, or a callable returning one
    rhs: Any                 # printed decimal string, or a SymPy number
    lhs_text: str = ""
    float64: "Callable[[], float] | None" = None

    def text(self) -> str:
        return f"{self.lhs_text or self.lhs} = {self.rhs}"

    def check(self, run: _Run, notation: str) -> _Outcome:
        t0 = time.perf_counter()
        exact = _number(self.lhs() if callable(self.lhs) else self.lhs)
        ok, detail = _matches_printed(exact, self.rhs)
        checks = [Check("arithmetic", ok, {}, f"exactly {sp.N(exact, 17)}: {detail}", time.perf_counter() - t0)]
        cx = None if ok else Counterexample({}, str(sp.N(exact, 17)), str(self.rhs), None,
                                            _jsonable(float(abs(sp.N(exact - _number(self.rhs), 17)))), detail)
        if self.float64 is not None:
            v = float(self.float64())
            ok64, d64 = _matches_printed(sp.Float(v, 17), self.rhs)
            checks.append(Check("numeric", ok64, {"arithmetic": "float64"}, f"float64 gives {v!r}: {d64}"))
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        value = _number(self.rhs)
        return [("wrong bound constant", replace(self, rhs=value * sp.Rational(101, 100)))]


def _number(v) -> sp.Expr:
    """A claim's number: a SymPy number or a Python int/float as is, a printed decimal string read as a
    decimal (never evaluated as an expression)."""
    if isinstance(v, str):
        from decimal import Decimal, InvalidOperation

        try:
            Decimal(v.replace(" ", ""))
        except InvalidOperation:
            raise DeriveError(f"cannot read the printed number {v!r}: expected a decimal such as 7.1e-15") from None
        return sp.Float(v.replace(" ", ""), 30)
    if isinstance(v, bool) or not isinstance(v, (int, float, sp.Basic)):
        raise DeriveError(f"a claim's number must be a number, got {v!r}")
    out = sp.Integer(v) if isinstance(v, int) else sp.Float(v) if isinstance(v, float) else v
    if not out.is_number:
        raise DeriveError(f"a claim's number must be a number, got {v!r}")
    return out


def _dimension(s, size: dict) -> int:
    """A printed dimension (``"d"``, ``"n*d"``, 3) at concrete sizes, read by the index grammar."""
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    e = parse_index(str(s), symbols=sp.Symbol).subs({sp.Symbol(k): v for k, v in size.items()})
    if not e.is_Integer:
        raise DeriveError(f"the printed dimension {s!r} is not known at sizes {size}")
    return int(e)


def _matches_printed(exact, printed) -> "tuple[bool, str]":
    if isinstance(printed, str):
        from decimal import Decimal, InvalidOperation

        try:
            dec = Decimal(printed.replace(" ", ""))
        except InvalidOperation:
            raise DeriveError(f"cannot read the printed number {printed!r}") from None
        digits = len(dec.as_tuple().digits)
        got = Decimal(str(sp.N(exact, digits + 10)))
        fmt = f".{max(digits - 1, 0)}e"
        ok = format(got, fmt) == format(dec, fmt)
        return ok, f"rounds to {format(got, fmt)} at the printed {digits} significant digits, printed {printed}"
    ok = sp.simplify(_number(exact) - _number(printed)) == 0
    return ok, f"{sp.nsimplify(exact)} {'=' if ok else '≠'} {printed} (as printed)"


@dataclass
class Shapes(Meaning):
    """Printed parameter shapes imposed on the cell: ``build(shapes)`` must give a cell that unrolls.

    ``build`` takes ``{name: shape}`` (shape a tuple of dimension names) and
    returns the cell with those shapes; a transposed matrix raises a
    `ShapeError` that names both operands' shapes.
    """

    build: Callable[[dict], Cell]
    shapes: dict
    description: str = ""

    def text(self) -> str:
        return self.description or ", ".join(f"{k} ∈ R^{{{' x '.join(map(str, v))}}}" for k, v in self.shapes.items())

    def check(self, run: _Run, notation: str) -> _Outcome:
        t0 = time.perf_counter()
        where = {"sizes": "symbolic n, d, k (pairwise different)"}
        try:
            cell = self.build(dict(self.shapes))
            cell.check()
            unroll(cell, 2)
        except DeriveError as exc:
            detail = str(exc)
            return _Outcome([Check("shape", False, where, detail, time.perf_counter() - t0)],
                            Counterexample(where, _shape_text(self.shapes), "-", None, None, detail))
        return _Outcome([Check("shape", True, where, "the cell's equations accept these shapes",
                               time.perf_counter() - t0)])

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        for name, shape in self.shapes.items():
            if len(shape) == 2 and shape[0] != shape[1]:
                return [("transposed dimension", replace(self, shapes={**self.shapes, name: shape[::-1]},
                                                         description=""))]
        return []


def _shape_text(shapes: dict) -> str:
    return ", ".join(f"{k} in R^({' x '.join(map(str, v))})" for k, v in shapes.items())


@dataclass
class JacobianShape(Meaning):
    """A derivative's printed shape (∂⁺s_k/∂W ∈ R^{d x d x d}) against the engine's Jacobian.

    The engine's Jacobian of f w.r.t. x is (entries of f) x (entries of x), a
    matrix x flattened row by row; the printed shape must be shape(f) + shape(x),
    a leading 1 standing for a scalar numerator (a row vector, ∈ R^{1 x d}).
    """

    term: Any
    shape: tuple
    cell: Callable[[str], Cell]
    binding: dict

    def text(self) -> str:
        return f"{_side_text(self.term)} ∈ R^{{{' x '.join(map(str, self.shape))}}}"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cell = run.cell(self.cell, "tanh")
        term = parse(self.term, notation, cell).instantiate(**self.binding)
        if not isinstance(term, D):
            raise InvalidValue(f"a Jacobian shape claim needs one derivative, got {term}")
        checks, cx = [], None
        for size in run.config.sizes[1:] or run.config.sizes:
            g = run.graph(cell, _graph_T(self.binding), size)
            f, x = g.node(term.f), g.node(term.x)
            natural = tuple(g.nodes[f].shape) + tuple(g.nodes[x].shape)
            printed = tuple(_dimension(s, size) for s in self.shape)
            ok = printed == natural or (g.nodes[f].shape == () and printed[:1] == (1,) and printed[1:] == natural)
            J = _Numbers(run.evaluator(cell, g.T, size, 0), activations.get("tanh")).value(term)
            rows, cols = np.shape(J)
            ok = ok and rows * cols == int(np.prod(natural))
            detail = (f"the engine's Jacobian is {rows} x {cols}, the unfolding of {' x '.join(map(str, natural))}; "
                      f"printed {' x '.join(map(str, printed))}")
            where = {"sizes": dict(size), "binding": dict(self.binding)}
            checks.append(Check("shape", ok, where, detail))
            if not ok and cx is None:
                cx = Counterexample(where, list(natural), list(printed), None, None, detail)
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        if len(self.shape) >= 2 and self.shape[0] != self.shape[-1]:
            return [("transposed dimension", replace(self, shape=tuple(reversed(self.shape))))]
        if len(self.shape) >= 2:
            return [("transposed dimension", replace(self, shape=self.shape[:-1]))]
        return []


@dataclass
class Computed(Meaning):
    """A property computed by a small function on seeded random inputs.

    ``fn(rng)`` returns ``(lhs, rhs, inputs)``; the claim holds when lhs = rhs
    (to ``rtol``) on every trial.  Used for what the derivative algebra does
    not cover: perplexity and cross-entropy, clipping rules, the GRU's gates.
    """

    fn: Callable
    description: str
    trials: int = 10
    rtol: float = 1e-9

    def text(self) -> str:
        return self.description

    def check(self, run: _Run, notation: str) -> _Outcome:
        checks, cx = [], None
        for seed in range(self.trials):
            t0 = time.perf_counter()
            lv, rv, inputs = self.fn(np.random.default_rng(seed))
            a, b = np.asarray(lv, dtype=np.float64), np.asarray(rv, dtype=np.float64)
            ok = a.shape == b.shape and bool(np.all(np.abs(a - b) <= self.rtol * np.maximum(1.0, np.abs(a))))
            disc = float(np.max(np.abs(a - b))) if a.shape == b.shape else None
            where = {"seed": seed, **{k: _jsonable(_round(v)) if isinstance(v, (float, np.ndarray)) else v
                                      for k, v in inputs.items()}}
            detail = f"left {_jsonable(_round(a))}, right {_jsonable(_round(b))}"
            checks.append(Check("numeric", ok, where, detail, time.perf_counter() - t0))
            if not ok and cx is None:
                cx = Counterexample(where, _round(a), _round(b), None, disc, detail)
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        def wrong(rng, fn=self.fn):
            lv, rv, inputs = fn(rng)
            return lv, np.asarray(rv, dtype=np.float64) * 1.01 + 0.01, inputs

        return [("wrong bound constant", replace(self, fn=wrong))]


@dataclass
class Implication(Meaning):
    """"if hypothesis then conclusion" (or, without hypothesis, "conclusion"), on the cases ``cases(rng)`` builds.

    The lectures' reasoning is often an implication ("σ is bounded, so σ' is bounded"; "if γλ > 1 the
    gradient could explode"; "it would vanish only if all the paths vanish").  ``cases(rng)`` returns a
    list of ``(inputs, hypothesis, conclusion, detail)``: the instance (a dict of named values, shown
    in a counterexample), whether the hypothesis and the conclusion hold on it (booleans computed by
    the claim's function from numbers, never from text), and a line naming the values.  The claim
    holds when every case satisfying the hypothesis satisfies the conclusion; the first that does not
    is the counterexample.  A hypothesis no case satisfies is reported (`NotSupported`), never vacuously
    true.  Cases are seeded: ``trials`` calls with ``numpy.random.default_rng(0, 1, ...)``; ``fixed()``
    (optional) returns the claim's own instances (an adversarial one, the lecture's numbers), checked
    first, once.
    """

    hypothesis: str
    conclusion: str
    cases: Callable
    trials: int = 1
    fixed: "Callable | None" = None

    def text(self) -> str:
        return f"if {self.hypothesis} then {self.conclusion}" if self.hypothesis else self.conclusion

    def check(self, run: _Run, notation: str) -> _Outcome:
        checks, cx, considered = [], None, 0
        batches = ([("fixed", self.fixed)] if self.fixed is not None else []) + \
            [(seed, lambda seed=seed: self.cases(np.random.default_rng(seed))) for seed in range(self.trials)]
        for seed, make in batches:
            t0 = time.perf_counter()
            for inputs, hyp, concl, detail in make():
                if not isinstance(hyp, (bool, np.bool_)) or not isinstance(concl, (bool, np.bool_)):
                    raise InvalidValue(f"an implication's case gives booleans, got {hyp!r} and {concl!r}")
                if not hyp:
                    continue
                considered += 1
                where = {"seed": seed, **{k: _jsonable(_round(v)) if isinstance(v, (float, np.ndarray)) else v
                                          for k, v in inputs.items()}}
                checks.append(Check("numeric", bool(concl), where, detail, time.perf_counter() - t0))
                if not concl and cx is None:
                    cx = Counterexample(where, "hypothesis holds" if self.hypothesis else "-",
                                        "conclusion fails", None, None, detail)
        if considered == 0:
            raise NotSupported(f"no case satisfies the hypothesis {self.hypothesis!r}")
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        def negated(rng, fn=self.cases):
            return [(i, h, not c, d) for i, h, c, d in fn(rng)]

        def negated_fixed(fn=self.fixed):
            return [(i, h, not c, d) for i, h, c, d in fn()]

        return [("wrong bound constant", replace(self, cases=negated,
                                                 fixed=negated_fixed if self.fixed is not None else None))]
