"""Meanings that are inequalities and implications: `Bound` (norms, γ, λ, powers over seeded random and
adversarial instances) and `Implication` (the lectures' "if H then C")."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.model import activations
from derive.terms import Const, Power, Prod, walk
from derive.model.cell import Cell
from derive.errors import InvalidValue, NotSupported, UnknownName
from derive.checks.catalog.checks import (Meaning, Outcome, Run, check, format_where, graph_T, guarded, jsonable,
                                   rounded, side_text)
from derive.checks.catalog.evaluate import ClaimNumbers
from derive.checks.catalog.mutants import replace_sub
from derive.checks.catalog.parse import parse
from derive.checks.results import Counterexample

__all__ = ["Bound", "Implication"]

BOUND = "the other side of the relation, on the same instance"
SEARCH = "a counterexample search (random restarts, local maximisation of the ratio)"


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
        cond = f"if {' '.join(map(side_text, self.assume))}: " if self.assume else ""
        q = "for some instance: " if self.quantifier == "exists" else ""
        return f"{q}{cond}{side_text(self.lhs)} {self.rel} {side_text(self.rhs)}"

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = (parse(x, notation, cell) for x in (self.lhs, self.rhs))
        return f"{lhs} {self.rel} {rhs} over instances {', '.join(self.recipes)} [cell {cell.name}]"

    def check(self, run: Run, notation: str) -> Outcome:
        cfg = run.config
        checks, failures, witnesses, sides = [], [], [], ()
        considered = 0
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = parse(self.lhs, notation, cell), parse(self.rhs, notation, cell)
            cond = None if not self.assume else (parse(self.assume[0], notation, cell), self.assume[1],
                                                 parse(self.assume[2], notation, cell))
            sides = sides or (L, R)
            T = max(graph_T(b) for b in self.bindings)
            inst = [(b, L.instantiate(**b), R.instantiate(**b)) for b in self.bindings]
            cond_terms = None if cond is None else (cond[0].instantiate(), cond[2].instantiate())
            for recipe in self.recipes:
                for size in cfg.sizes:
                    for seed in cfg.seeds:
                        for target in (self.targets if recipe not in ("random", "large") else (None,)):
                            ev = run.evaluator(cell, T, size, seed, self.keep, recipe, target or 1.0)
                            if ev is None:
                                continue
                            nums = ClaimNumbers(ev, activations.get(act))
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
                            checks.append(check("numeric", passed, w, detail, time.perf_counter() - t0, reference=BOUND))
                            if ok_all:
                                witnesses.append(w)
                            elif self.quantifier == "all":
                                b, lv, rv = first_bad
                                failures.append(((size["d"], -abs(lv - rv) / max(abs(rv), 1e-300), seed, ai),
                                                 Counterexample(
                                    w, rounded(lv), rounded(rv), None, rounded(lv - rv), detail)))
            if self.quantifier == "all" and not failures and self.rel in ("<=", "<") and cond is None:
                # issue 14 (6b): a bound holds numerically only after a counterexample search
                from derive.numeric.instances import search_bound
                size = max(cfg.sizes, key=lambda z: z.get("d", 0))
                found, lv, rv = search_bound(run.graph(cell, T, size), [(lt, rt) for _, lt, rt in inst],
                                             lambda ev: ClaimNumbers(ev, activations.get(act)), self.keep)
                w = {"activation": act, "recipe": f"search ({found.recipe})", "sizes": dict(size),
                     "seed": found.instance.seed if found.instance else 0, "T": T}
                checks.append(check("numeric", not found.found, w, found.describe(), reference=SEARCH))
                if found.found:
                    failures.append(((size["d"], -math.inf, w["seed"], ai),
                                     Counterexample(w, rounded(lv), rounded(rv), None, rounded(lv - rv), found.describe())))
        out = Outcome(checks, sides=sides + (self.rel,))
        if considered == 0:
            raise NotSupported("no instance satisfies the assumption " + " ".join(map(side_text, self.assume or ())))
        if self.quantifier == "exists":
            ok = bool(witnesses)
            detail = (f"witness: {format_where(witnesses[0])}" if ok
                      else f"no instance among {considered} satisfies it at every binding")
            out.checks = [check("numeric", ok, witnesses[0] if ok else {}, detail, reference=BOUND)]
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
        pw = next((x for x in walk(rhs) if isinstance(x, Power) and isinstance(x.exponent, sp.Basic)), None)
        if pw is not None and self.quantifier == "all":
            shifted = replace_sub(rhs, pw, Power(pw.base, pw.exponent + 1))
            out.append(("shifted index", replace(self, lhs=parse(self.lhs, notation, cell), rhs=shifted,
                                                 recipes=tuple(dict.fromkeys(self.recipes + ("pinned",))),
                                                 targets=tuple(sorted(set(self.targets) | {0.5})))))
        return out


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

    def check(self, run: Run, notation: str) -> Outcome:
        checks, cx, considered = [], None, 0
        batches = ([("fixed", self.fixed)] if self.fixed is not None else []) + \
            [(seed, lambda seed=seed: self.cases(np.random.default_rng(seed))) for seed in range(self.trials)]
        for seed, make in batches:
            t0 = time.perf_counter()
            cases, failed = guarded(make, "numeric", {"seed": seed})
            if failed is not None:
                checks.append(failed)
                considered += 1
                continue
            for inputs, hyp, concl, detail in cases:
                if not isinstance(hyp, (bool, np.bool_)) or not isinstance(concl, (bool, np.bool_)):
                    raise InvalidValue(f"an implication's case gives booleans, got {hyp!r} and {concl!r}")
                if not hyp:
                    continue
                considered += 1
                where = {"seed": seed, **{k: jsonable(rounded(v)) if isinstance(v, (float, np.ndarray)) else v
                                          for k, v in inputs.items()}}
                checks.append(check("numeric", bool(concl), where, detail, time.perf_counter() - t0,
                                    reference="the conclusion, on each case where the hypothesis holds"))
                if not concl and cx is None:
                    cx = Counterexample(where, "hypothesis holds" if self.hypothesis else "-",
                                        "conclusion fails", None, None, detail)
        if considered == 0:
            raise NotSupported(f"no case satisfies the hypothesis {self.hypothesis!r}")
        return Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        def negated(rng, fn=self.cases):
            return [(i, h, not c, d) for i, h, c, d in fn(rng)]

        def negated_fixed(fn=self.fixed):
            return [(i, h, not c, d) for i, h, c, d in fn()]

        return [("wrong bound constant", replace(self, cases=negated,
                                                 fixed=negated_fixed if self.fixed is not None else None))]
