"""Meanings: what a claim states in the engine's terms, and how each kind is checked.

One module per concern: identities here (`Identity`); inequalities and implications in
`derive.checks.catalog.meaning_bounds` (`Bound`, `Implication`); printed numbers and computed properties in
`derive.checks.catalog.meaning_values` (`Exact`, `Computed`); shapes in `derive.checks.catalog.meaning_shapes`
(`Shapes`, `JacobianShape`).  All are importable from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from derive.model import activations
from derive.terms import Brace, D, Term, Value, is_algebra, walk
from derive.prove.canon import Canon
from derive.model.cell import Cell
from derive.errors import DeriveError, NotSupported, ShapeError, UnknownName
from derive.checks.catalog.mutants import term_mutants
from .parse import parse
from derive.checks.catalog.checks import (Meaning, Outcome, Run, check, compare_sides, failed_check, graph_T,
                                   not_applicable, rounded, side_text, terms_scale)
from derive.checks.catalog.evaluate import ClaimNumbers
from derive.checks.catalog.meaning_bounds import Bound, Implication
from derive.checks.catalog.meaning_shapes import JacobianShape, Shapes, printed_dimension
from derive.checks.catalog.meaning_values import Computed, Exact, printed_number
from derive.checks.results import CheckResult, Counterexample
from derive.prove.step import NotLocal, StepSymbols, symbolic_equal
from derive.checks.verify import LOCAL_JACOBIAN, PATH_SUMS

__all__ = ["Meaning", "Identity", "Bound", "Implication", "Exact", "Computed", "Shapes", "JacobianShape"]

# The names these had before the split (tests and older code import them from here).
_side_text = side_text
_number = printed_number
_dimension = printed_dimension


OTHER_SIDE = "the other side, in float64"
LABELS = "the derivatives under each underbrace"


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
        return f"{side_text(self.lhs)} = {side_text(self.rhs)}"

    def sides(self, cell: Cell, notation: str) -> "tuple[Term, Term]":
        return tuple(parse(x, notation, cell, order=self.order, outside=self.outside) for x in (self.lhs, self.rhs))

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        order = "" if self.order == "descending" else " (products in ascending order)"
        return f"{lhs} = {rhs}{order} [cell {cell.name}]"

    def check(self, run: Run, notation: str) -> Outcome:
        cfg = run.config
        checks: list[CheckResult] = []
        failures: list[tuple] = []
        sides = ()
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = self.sides(cell, notation)
            sides = sides or (L, R)
            algebra = is_algebra(L) and is_algebra(R)
            for binding in self.bindings:
                lhs, rhs = L.instantiate(**binding), R.instantiate(**binding)
                T = graph_T(binding)
                if algebra and ai == 0:
                    checks.append(self._exact(run, cell, T, lhs, rhs, binding))
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
        out = Outcome(checks, sides=sides)
        if failures:
            out.counterexample = min(failures, key=lambda f: f[0])[1]
        numeric = [c for c in checks if c.method == "numeric"]
        bad_d = {c.where["sizes"]["d"] for c in numeric if not c.passed}
        if bad_d and 1 not in bad_d and any(c.where["sizes"]["d"] == 1 for c in numeric):
            out.special_case = "holds for d = 1 only (1 x 1 Jacobians commute); fails for d >= 2"
        return out

    def _exact(self, run, cell, T, lhs, rhs, binding) -> CheckResult:
        """Both sides as canonical path sums (`derive.prove.canon`); a term without a canonical form makes the
        check not applicable, any other exception a failed check (never a crash)."""
        t0, where = time.perf_counter(), {"binding": dict(binding)}
        try:
            g = run.graph(cell, T)
            diff = Canon(g, g.view(list(self.keep) if self.keep else None)).difference(lhs, rhs)
        except NotSupported as exc:
            return not_applicable("exact", str(exc), where, reference=PATH_SUMS)
        except DeriveError:
            raise  # the claim names what the cell does not have: an error of the claim
        except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check
            return failed_check("exact", exc, where, reference=PATH_SUMS, t0=t0)
        return check("exact", not diff, where, "canonical path sums agree" if not diff else "; ".join(diff),
                     time.perf_counter() - t0, reference=PATH_SUMS)

    def _symbolic(self, run, cell, T, lhs, rhs, binding, act, cfg) -> "list[CheckResult]":
        out = []
        tau = _step_of(lhs, rhs)
        for size in cfg.sizes[: cfg.symbolic_sizes]:
            t0 = time.perf_counter()
            g = run.graph(cell, T, size)
            where = {"binding": dict(binding), "sizes": dict(size), "activation": act}
            try:
                st = StepSymbols(g, g.view(list(self.keep) if self.keep else None), tau, activations.get(act))
                ok, detail = symbolic_equal(st.value(lhs), st.value(rhs))
            except NotLocal as exc:  # a derivative across steps: numeric checks only
                return [not_applicable("symbolic", f"not a one-step formula ({exc})", where,
                                       reference=LOCAL_JACOBIAN)]
            except ValueError as exc:  # derive's ShapeError, or SymPy's for a product that does not fit
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            except NotSupported as exc:
                return [not_applicable("symbolic", str(exc), where, reference=LOCAL_JACOBIAN)]
            except DeriveError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check
                out.append(failed_check("symbolic", exc, where, reference=LOCAL_JACOBIAN, t0=t0))
                continue
            out.append(check("symbolic", ok, where, detail, time.perf_counter() - t0, reference=LOCAL_JACOBIAN))
        return out

    def _numeric(self, run, cell, T, size, seed, lhs, rhs, binding, act):
        t0 = time.perf_counter()
        where = {"binding": dict(binding), "sizes": dict(size), "seed": seed, "T": T, "activation": act,
                 "recipe": self.recipe}
        try:
            ev = run.evaluator(cell, T, size, seed, self.keep, self.recipe)
            nums = ClaimNumbers(ev, activations.get(act))
            lv, rv = nums.value(lhs), nums.value(rhs)
            cmp = compare_sides(lv, rv, terms_scale(nums.value, rhs, lv, rv))
        except ShapeError as exc:
            c = check("numeric", False, where, str(exc), time.perf_counter() - t0, reference=OTHER_SIDE)
            return c, Counterexample(where, "-", "-", None, None, str(exc))
        except DeriveError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check
            return failed_check("numeric", exc, where, reference=OTHER_SIDE, t0=t0), None
        ok, msg = cmp
        c = check("numeric", ok, where, msg, time.perf_counter() - t0, reference=OTHER_SIDE)
        cx = None if ok else Counterexample(where, rounded(lv), rounded(rv), cmp.entry, cmp.error, msg,
                                            cmp.relative)
        return c, cx

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        return [(kind, replace(self, lhs=lhs, rhs=m, labels=False)) for kind, m in term_mutants(rhs)]


def _rel(cx: Counterexample) -> float:
    """The relative size of a counterexample's discrepancy (0 when unknown)."""
    if cx.relative is not None:
        return cx.relative
    if cx.discrepancy is None:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(np.asarray(cx.lhs, dtype=float)))) if not isinstance(cx.lhs, str) else 1.0)
    return float(cx.discrepancy) / scale


def _step_of(*terms) -> int:
    """The step τ of a one-step formula: the latest time of any derivative's numerator or value."""
    times = []
    for t in terms:
        for x in walk(t):
            if isinstance(x, D) and isinstance(x.f.t, int):
                times.append(x.f.t)
            if isinstance(x, Value) and isinstance(x.ref.t, int):
                times.append(x.ref.t)
    return max(times) if times else 1


def _label_check(rhs: Term) -> CheckResult:
    """An underbrace labelled "explicit" must hold exactly one explicit derivative ∂⁺."""
    bad = [str(b.body) for b in walk(rhs) if isinstance(b, Brace) and b.label == "explicit"
           and not (isinstance(b.body, D) and b.body.explicit)]
    if bad:
        return check("labels", False, {}, "labelled explicit but not a single ∂⁺: " + "; ".join(bad), reference=LABELS)
    return check("labels", True, {}, "every 'explicit' brace holds one ∂⁺", reference=LABELS)


