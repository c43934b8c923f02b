"""Meanings that are shapes: `Shapes` (printed parameter shapes imposed on the cell) and `JacobianShape`
(a derivative's printed shape against the engine's Jacobian)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.model import activations
from derive.terms import D
from derive.model.cell import Cell
from derive.errors import DeriveError, InvalidValue
from derive.model.graph import unroll
from derive.indices import parse_index
from derive.checks.catalog.checks import Meaning, Outcome, Run, check, graph_T, side_text
from derive.checks.catalog.evaluate import ClaimNumbers
from derive.checks.catalog.parse import parse
from derive.checks.results import Counterexample

__all__ = ["Shapes", "JacobianShape", "printed_dimension"]

EQUATIONS = "the cell's equations, unrolled"


def printed_dimension(s, size: dict) -> int:
    """A printed dimension (``"d"``, ``"n*d"``, 3) at concrete sizes, read by the index grammar."""
    if isinstance(s, int) and not isinstance(s, bool):
        return s
    e = parse_index(str(s), symbols=sp.Symbol).subs({sp.Symbol(k): v for k, v in size.items()})
    if not e.is_Integer:
        raise DeriveError(f"the printed dimension {s!r} is not known at sizes {size}")
    return int(e)



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

    def check(self, run: Run, notation: str) -> Outcome:
        t0 = time.perf_counter()
        where = {"sizes": "symbolic n, d, k (pairwise different)"}
        try:
            cell = self.build(dict(self.shapes))
            cell.check()
            unroll(cell, 2)
        except DeriveError as exc:
            detail = str(exc)
            return Outcome([check("shape", False, where, detail, time.perf_counter() - t0, reference=EQUATIONS)],
                            Counterexample(where, _shape_text(self.shapes), "-", None, None, detail))
        return Outcome([check("shape", True, where, "the cell's equations accept these shapes",
                              time.perf_counter() - t0, reference=EQUATIONS)])

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
        return f"{side_text(self.term)} ∈ R^{{{' x '.join(map(str, self.shape))}}}"

    def check(self, run: Run, notation: str) -> Outcome:
        cell = run.cell(self.cell, "tanh")
        term = parse(self.term, notation, cell).instantiate(**self.binding)
        if not isinstance(term, D):
            raise InvalidValue(f"a Jacobian shape claim needs one derivative, got {term}")
        checks, cx = [], None
        for size in run.config.sizes[1:] or run.config.sizes:
            g = run.graph(cell, graph_T(self.binding), size)
            f, x = g.node(term.f), g.node(term.x)
            natural = tuple(g.nodes[f].shape) + tuple(g.nodes[x].shape)
            printed = tuple(printed_dimension(s, size) for s in self.shape)
            ok = printed == natural or (g.nodes[f].shape == () and printed[:1] == (1,) and printed[1:] == natural)
            J = ClaimNumbers(run.evaluator(cell, g.T, size, 0), activations.get("tanh")).value(term)
            rows, cols = np.shape(J)
            ok = ok and rows * cols == int(np.prod(natural))
            detail = (f"the engine's Jacobian is {rows} x {cols}, the unfolding of {' x '.join(map(str, natural))}; "
                      f"printed {' x '.join(map(str, printed))}")
            where = {"sizes": dict(size), "binding": dict(self.binding)}
            checks.append(check("shape", ok, where, detail, reference="the engine's Jacobian of the derivative"))
            if not ok and cx is None:
                cx = Counterexample(where, list(natural), list(printed), None, None, detail)
        return Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        if len(self.shape) >= 2 and self.shape[0] != self.shape[-1]:
            return [("transposed dimension", replace(self, shape=tuple(reversed(self.shape))))]
        if len(self.shape) >= 2:
            return [("transposed dimension", replace(self, shape=self.shape[:-1]))]
        return []
