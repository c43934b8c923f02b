"""Parameter counts: the number of a cell's scalar parameters from its shapes, and a polynomial in its
dimensions (RNN d(d+n+1) + k(d+1), LSTM 4d(d+n+1), GRU 3d(d+n+1))."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.errors import InvalidValue, NotSupported
from derive.model.graph import NodeRef
from .base import Term

__all__ = ["ParamCount", "DimFormula"]


# ---------------------------------------------------------------------------
# Parameter counts: a number of the cell's shapes, and a polynomial in its dimensions
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamCount(Term):
    """The number of scalar parameters of the derivation's cell (or of the ``names`` given): the sum over
    its parameters of the product of their declared shapes; on an instance, the sizes of their arrays.

    ``label`` names the cell in print: ``ParamCount(label="LSTM")`` is |θ_LSTM|.
    """

    names: tuple = ()
    label: str = ""
    _data = ("names", "label")

    def _names(self, cell) -> "list[str]":
        names = list(self.names) or list(cell.params)
        unknown = [n for n in names if n not in cell.params]
        if unknown:
            from derive.errors import UnknownName

            raise UnknownName("parameter", unknown[0], cell.params)
        return names

    def polynomial(self, cell) -> sp.Expr:
        return sp.Add(*[sp.Mul(*cell.symbols[n].shape) for n in self._names(cell)])

    def numeric(self, ctx):
        return float(sum(np.size(ctx.ev.values[NodeRef(n)]) for n in self._names(ctx.graph.cell)))

    def __str__(self):
        return f"|θ{'_' + self.label if self.label else ''}|"


@dataclass(frozen=True)
class DimFormula(Term):
    """A polynomial in the cell's dimensions, written as text ("4*d*(d + n + 1) + k*(d + 1)") and read by
    the index grammar of `derive.indices` (integers, names, +, −, *, parentheses; never ``sympify``)."""

    text: str
    _data = ("text",)

    def __post_init__(self):
        from derive.indices import IndexSyntaxError, parse_index

        try:
            parse_index(self.text)
        except IndexSyntaxError as exc:
            raise InvalidValue(str(exc)) from None

    def expression(self, symbols=None) -> sp.Expr:
        from derive.indices import parse_index

        return parse_index(self.text) if symbols is None else parse_index(self.text, symbols)

    def polynomial(self, cell) -> sp.Expr:
        return self.expression(cell.dim)

    def numeric(self, ctx):
        g = ctx.graph
        value = self.polynomial(g.cell).subs(g.dims)
        if not value.is_Integer:
            raise NotSupported(f"{self.text} needs the sizes of {', '.join(map(str, value.free_symbols))}")
        return float(value)

    def __str__(self):
        return self.text
