"""Checking a document's equations link by link: holds / fails / not understood, with file:line.

Each link ``lhs = rhs`` is read into engine terms (`reader`) in the document's
model (`model`), and checked the way the catalog checks an `Identity`
(derive/checks/catalog/meanings.py): free indices (t, k, T, …) are bound to small
integers on which every node the link names exists and its derivatives are
alive (∂s_t/∂s_k with t ≥ k); pure derivative algebra is proved exactly in the
free algebra of path sums (`derive.prove.canon.Canon`, after transposes of the
gradient layout are pushed back to the Jacobian layout); every link is evaluated
in float64 on seeded random instances of the cell at sizes that differ in every
dimension (so a swapped matrix order is a shape error or a wrong value), with
the catalog's tolerance (`derive.checks.verify.RTOL_EXACT`).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from derive.model import activations
from derive.terms import D, Power, ProdOver, SumOver, Value, is_algebra, walk
from derive.prove.canon import Canon
from ..catalog.checks import AuditConfig
from derive.checks.catalog.checks import Run, compare_sides
from derive.checks.results import jsonable, rounded
from derive.errors import DeriveError, ShapeError
from derive.model.graph import NodeRef
from .extract import Equation, Link
from .model import Model
from .reader import NotUnderstood, read
from .terms import DocNumbers, push_transpose

__all__ = ["Result", "check_equations", "CONFIG", "VERDICTS"]

VERDICTS = ("holds", "fails", "not_understood")
#: Sizes differ in every dimension (n, d, k pairwise different) and d >= 2 (1 x 1 Jacobians commute).
CONFIG = AuditConfig(sizes=({"n": 3, "d": 2, "k": 4}, {"n": 2, "d": 3, "k": 5}), seeds=(0, 1), symbolic_sizes=0)
_MAX_T = 4
_MAX_BINDINGS = 3


@dataclass
class Result:
    """The verdict on one link of one equation."""

    equation: Equation
    link: "Link | None"
    verdict: str                    # "holds" | "fails" | "not_understood"
    detail: str = ""
    how: "tuple[str, ...]" = ()     # methods that ran: "exact", "numeric"
    bindings: "list[dict]" = field(default_factory=list)
    counterexample: "dict | None" = None
    sides: "tuple[str, str] | None" = None   # the engine's reading (lhs, rhs)
    seconds: float = 0.0

    @property
    def line(self) -> int:
        return self.link.line if self.link is not None else self.equation.line

    @property
    def where(self) -> str:
        return self.equation.where(self.line)

    @property
    def text(self) -> str:
        if self.link is None:
            return self.equation.text
        return f"{self.link.lhs} {self.link.rel_tex} {self.link.rhs}"

    def as_dict(self) -> dict:
        return {"file": self.equation.path, "line": self.line, "cell": self.equation.cell,
                "label": self.equation.label, "equation": self.text, "verdict": self.verdict,
                "how": list(self.how), "detail": self.detail, "bindings": jsonable(self.bindings),
                "reading": list(self.sides) if self.sides else None,
                "counterexample": self.counterexample}


def check_equations(equations: "list[Equation]", model: Model, run: "Run | None" = None) -> "list[Result]":
    """One result per link (an equation without a checkable relation gives one not-understood result)."""
    run = run or Run(CONFIG)
    out = []
    for eq in equations:
        if not eq.links:
            out.append(Result(eq, None, "not_understood", "no relation (=) to check"))
            continue
        for link in eq.links:
            t0 = time.perf_counter()
            try:
                r = _check_link(eq, link, model, run)
            except RecursionError:
                r = Result(eq, link, "not_understood", "the expression is nested too deeply to evaluate")
            except (ArithmeticError, ValueError, TypeError, np.linalg.LinAlgError) as exc:
                # a term the reader built but the evaluator cannot take: said, not hidden, never a traceback
                r = Result(eq, link, "not_understood", f"cannot evaluate it: {type(exc).__name__}: {exc}")
            r.seconds = time.perf_counter() - t0
            out.append(r)
    return out


def _check_link(eq: Equation, link: Link, model: Model, run: Run) -> Result:
    if link.lhs.strip() == "":
        return Result(eq, link, "not_understood", "the chain starts with a relation and nothing before it")
    if link.rel not in ("=",) + tuple(_INEQUALITIES):
        return Result(eq, link, "not_understood", f"the relation {link.rel_tex} (equalities and inequalities "
                                                  "<, \\le, >, \\ge are checked)")
    cell = run.cell(model.build, model.activations[0])
    try:
        apps: list = []
        L = read(link.lhs, model.names, cell, model.layout, apps)
        R = read(link.rhs, model.names, cell, model.layout, apps)
    except NotUnderstood as exc:
        return Result(eq, link, "not_understood", str(exc))
    sides = (str(L), str(R))
    try:
        bindings, T = _bindings(L, R, cell, run, model, apps)
    except NotUnderstood as exc:
        return Result(eq, link, "not_understood", str(exc), sides=sides)
    if link.rel in _INEQUALITIES:
        return _check_inequality(eq, link, model, run, bindings, T, sides)
    how, failures, details = [], [], []
    try:
        exact = _exact(L, R, bindings, T, cell, run, model)
        if exact is not None:
            how.append("exact")
            if exact:
                failures.append((0, 0, 0, {"method": "exact", "binding": exact[0], "detail": exact[1]}))
        for ai, act in enumerate(model.activations):
            c = run.cell(model.build, act)
            Lc = read(link.lhs, model.names, c, model.layout)
            Rc = read(link.rhs, model.names, c, model.layout)
            for binding in bindings:
                lhs, rhs = Lc.instantiate(**binding), Rc.instantiate(**binding)
                Tb = binding.get("T", T)
                for size in CONFIG.sizes:
                    for seed in CONFIG.seeds:
                        ev = run.evaluator(c, Tb, size, seed, model.keep)
                        nums = DocNumbers(ev, activations.get(act))
                        where = {"binding": dict(binding), "T": Tb, "sizes": dict(size), "seed": seed,
                                 "activation": act}
                        try:
                            lv, rv = nums.value(lhs), nums.value(rhs)
                        except ShapeError as exc:
                            failures.append((size["d"], seed, ai, {"method": "numeric", **where, "detail": str(exc)}))
                            continue
                        ok, msg = compare_sides(lv, rv)
                        if not ok:
                            failures.append((size["d"], seed, ai, {"method": "numeric", **where, "detail": msg,
                                                                  "lhs": jsonable(rounded(lv)),
                                                                  "rhs": jsonable(rounded(rv))}))
                        else:
                            details.append(msg)
        how.append("numeric")
    except NotUnderstood as exc:
        return Result(eq, link, "not_understood", str(exc), sides=sides)
    except ShapeError as exc:
        return Result(eq, link, "fails", str(exc), tuple(how), bindings, sides=sides)
    except DeriveError as exc:
        return Result(eq, link, "not_understood", f"cannot evaluate it on the cell: {exc}", sides=sides)
    n = len(bindings)
    bind_text = "; ".join(", ".join(f"{k}={v}" for k, v in b.items()) or f"T={T}" for b in bindings)
    if failures:
        worst = min(failures, key=lambda f: f[:3])[3]
        cx = worst
        where = ", ".join(f"{k}={v}" for k, v in cx.get("binding", {}).items())
        detail = (f"{cx['method']} check fails" + (f" at {where}" if where else "") +
                  (f" (d={cx['sizes']['d']}, seed {cx['seed']}, {cx['activation']})" if "sizes" in cx else "") +
                  f": {cx['detail']}")
        return Result(eq, link, "fails", detail, tuple(how), bindings, cx, sides)
    checks = len(bindings) * len(model.activations) * len(CONFIG.sizes) * len(CONFIG.seeds)
    detail = (("exact: canonical path sums agree; " if "exact" in how else "") +
              f"numeric: {checks} instances agree at {n} binding{'s' if n != 1 else ''} ({bind_text})")
    return Result(eq, link, "holds", detail, tuple(how), bindings, None, sides)


#: An inequality is checked on every instance: seeded random ones at two scales (pre-activations near 0
#: and spread over the saturated range), the catalog's recipes for bounds (derive/checks/catalog/instances.py).
_INEQUALITIES = {"<=": lambda a, b: a <= b + 1e-9 * abs(b) + 1e-300, "<": lambda a, b: a < b - 1e-12 * abs(b),
                 ">=": lambda a, b: a >= b - 1e-9 * abs(b) - 1e-300, ">": lambda a, b: a > b + 1e-12 * abs(b)}
_RECIPES = ("random", "large")


def _check_inequality(eq, link, model, run, bindings, T, sides) -> Result:
    """lhs rel rhs between scalars (norms, powers, numbers) on every binding, activation, size, seed and recipe."""
    n = 0
    try:
        for act in model.activations:
            c = run.cell(model.build, act)
            Lc = read(link.lhs, model.names, c, model.layout)
            Rc = read(link.rhs, model.names, c, model.layout)
            for binding in bindings:
                lhs, rhs = Lc.instantiate(**binding), Rc.instantiate(**binding)
                Tb = binding.get("T", T)
                for recipe in _RECIPES:
                    for size in CONFIG.sizes:
                        for seed in CONFIG.seeds:
                            ev = run.evaluator(c, Tb, size, seed, model.keep, recipe)
                            nums = DocNumbers(ev, activations.get(act))
                            lv, rv = nums.value(lhs), nums.value(rhs)
                            if np.size(lv) != 1 or np.size(rv) != 1:
                                raise NotUnderstood(f"an inequality between a {np.shape(lv)} and a {np.shape(rv)} "
                                                    "value (only numbers, such as norms, are compared)")
                            a, b = float(np.ravel(lv)[0]), float(np.ravel(rv)[0])
                            n += 1
                            if not _INEQUALITIES[link.rel](a, b):
                                where = {"binding": dict(binding), "T": Tb, "sizes": dict(size), "seed": seed,
                                         "activation": act, "recipe": recipe}
                                at = ", ".join(f"{k}={v}" for k, v in binding.items())
                                detail = (f"numeric check fails{' at ' + at if at else ''} (d={size['d']}, seed "
                                          f"{seed}, {act}, {recipe} instance): {a:.12g} {link.rel} {b:.12g} is false")
                                cx = {"method": "numeric", **where, "detail": detail, "lhs": jsonable(rounded(a)),
                                      "rhs": jsonable(rounded(b))}
                                return Result(eq, link, "fails", detail, ("numeric",), bindings, cx, sides)
    except NotUnderstood as exc:
        return Result(eq, link, "not_understood", str(exc), sides=sides)
    except ShapeError as exc:
        return Result(eq, link, "fails", str(exc), ("numeric",), bindings, sides=sides)
    except DeriveError as exc:
        return Result(eq, link, "not_understood", f"cannot evaluate it on the cell: {exc}", sides=sides)
    return Result(eq, link, "holds", f"numeric: true on all {n} instances ({', '.join(_RECIPES)}; evidence, "
                                     "not a proof)", ("numeric",), bindings, None, sides)


def _exact(L, R, bindings, T, cell, run, model):
    """None when the link is not pure derivative algebra; else [] (equal) or [binding, detail] (different)."""
    for flip in (False, True):  # (A = B) iff (A^T = B^T): gradient layout transposed back is Jacobian algebra
        Lj, Rj = push_transpose(L, flip), push_transpose(R, flip)
        if is_algebra(Lj) and is_algebra(Rj):
            break
    else:
        return None
    for b in bindings:
        g = run.graph(cell, b.get("T", T))
        canon = Canon(g, g.view(list(model.keep) if model.keep else None))
        diff = canon.difference(Lj.instantiate(**b), Rj.instantiate(**b))
        if diff:
            return [dict(b), "; ".join(diff)]
    return []


# -- bindings ---------------------------------------------------------------------------------
def _free(term) -> "set[sp.Symbol]":
    out, bound = set(), set()
    for t in walk(term):
        refs = []
        if isinstance(t, D):
            refs = [t.f, t.x]
        elif isinstance(t, Value):
            refs = [t.ref]
        for r in refs:
            if isinstance(r.t, sp.Basic):
                out |= r.t.free_symbols
        if isinstance(t, (SumOver, ProdOver)):
            bound.add(t.index)
            for e in (t.lo, t.hi):
                if isinstance(e, sp.Basic):
                    out |= e.free_symbols
        if isinstance(t, Power) and isinstance(t.exponent, sp.Basic):
            out |= t.exponent.free_symbols
    return out - bound


def _refs(term) -> "list[NodeRef]":
    out = []
    for t in walk(term):
        if isinstance(t, D):
            out += [t.f, t.x]
        elif isinstance(t, Value):
            out.append(t.ref)
    return out


def _bindings(L, R, cell, run, model, apps=()) -> "tuple[list[dict], int]":
    """Up to three bindings of the free indices on which every node exists and derivatives are alive.

    ``apps``: the f(args) of an abstract cell; a binding must make every argument an explicit parent of
    the node f computes (f(x_0, h_{-1}, w_h) is not h_0, which is an initial state)."""
    free = sorted(_free(L) | _free(R), key=str)
    if len(free) > 4:
        raise NotUnderstood(f"{len(free)} free indices ({', '.join(map(str, free))}); at most 4 are bound")
    concrete = [r.t for r in _refs(L) + _refs(R) if isinstance(r.t, int)]
    T_fixed = max([_MAX_T] + concrete)
    names = [str(s) for s in free]
    ranges = [range(1, T_fixed + 1) if n == "T" else range(0, T_fixed + 1) for n in names]
    scored, misfit = [], False
    for values in itertools.product(*ranges):
        b = dict(zip(names, values))
        T = b.get("T", T_fixed)
        g = run.graph(cell, T)
        try:
            lhs, rhs = L.instantiate(**b), R.instantiate(**b)
        except (DeriveError, ValueError, TypeError):
            continue
        if not all(r in g.nodes for r in _refs(lhs) + _refs(rhs)):
            continue
        if apps and not _arguments_fit(g, model, apps, b):
            misfit = True
            continue
        if any(isinstance(t, Power) and (not isinstance(t.exponent, int) or t.exponent < 0)
               for side in (lhs, rhs) for t in walk(side)):
            continue
        dead = sum(1 for side in (L.subs(_sym(b)), R.subs(_sym(b))) for t in walk(side)
                   if isinstance(t, D) and isinstance(t.f.t, int) and isinstance(t.x.t, int) and t.f.t < t.x.t)
        empty = sum(1 for side in (L.subs(_sym(b)), R.subs(_sym(b))) for t in walk(side)
                    if isinstance(t, (SumOver, ProdOver)) and _num(t.hi) is not None and _num(t.lo) is not None
                    and _num(t.hi) < _num(t.lo))
        ties = len(values) - len(set(values))
        scored.append(((dead, empty, ties, -sum(values), T), b, T))
    if not scored:
        if misfit:
            raise NotUnderstood("the arguments of f(…) are not the explicit inputs of the node it computes in "
                                f"cell {cell.name!r} at any binding of {', '.join(names) or 'the indices'}")
        if free:
            raise NotUnderstood(f"no binding of {', '.join(names)} in 0..{T_fixed} names only nodes of the "
                                f"unrolled cell")
        raise NotUnderstood("it names nodes the unrolled cell does not have (inputs start at x_1, states at s_0)")
    scored.sort(key=lambda s: s[0])
    best = scored[0][0][:3]
    chosen = [s for s in scored if s[0][:3] == best]
    picks = [chosen[0]]
    # a spread of alive bindings: the largest, a middle one and the smallest
    for s in (chosen[len(chosen) // 2], chosen[-1]):
        if s not in picks and len(picks) < _MAX_BINDINGS:
            picks.append(s)
    return [p[1] for p in picks], T_fixed


def _arguments_fit(g, model, apps, b) -> bool:
    view = g.view(list(model.keep) if model.keep else None)
    for ref, args in apps:
        if isinstance(ref.t, sp.Basic) and not {str(x) for x in ref.t.free_symbols} <= set(b):
            continue   # an f(…) under a Σ or Π over its own index: its terms are checked as nodes only
        node = Value(ref).subs(_sym(b)).ref
        if node not in g.nodes or g.nodes[node].kind != "node":
            return False
        parents = set(view.parents(node))
        if not all(Value(a).subs(_sym(b)).ref in parents for a in args):
            return False
    return True


def _sym(b: dict) -> dict:
    return {sp.Symbol(k, integer=True): v for k, v in b.items()}


def _num(e):
    if isinstance(e, int):
        return e
    if isinstance(e, sp.Basic) and e.is_Integer:
        return int(e)
    return None


def summary(results: "list[Result]") -> "dict":
    """Counts per equation: an equation fails when a link fails, is not understood when a link is not."""
    per_eq: "dict[int, list[Result]]" = {}
    for r in results:
        per_eq.setdefault(id(r.equation), []).append(r)
    counts = {"equations": len(per_eq), "understood": 0, "holds": 0, "fails": 0, "not_understood": 0}
    for rs in per_eq.values():
        verdicts = {r.verdict for r in rs}
        v = "fails" if "fails" in verdicts else "not_understood" if "not_understood" in verdicts else "holds"
        counts[v] += 1
        counts["understood"] += v != "not_understood"
    counts["links"] = len(results)
    return counts
