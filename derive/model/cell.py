"""Cells: one time step of a recurrent network, written as the lecture writes it.

A cell is a list of equations for a single step t.  Names refer to vectors at
step t; ``s.prev`` is the same vector at step t-1.  Nothing downstream knows
the RNN, LSTM or GRU by name: they are defined in `derive.cells` with exactly
this API, and so can any other cell.

Example (CS7015 Lecture 14, Modules 14.2-14.3)::

    cell = Cell("rnn", dims=("n", "d", "k"))
    n, d, k = cell.dims
    W, U, b = cell.param("W", (d, d)), cell.param("U", (d, n)), cell.param("b", (d,))
    V, c = cell.param("V", (k, d)), cell.param("c", (k,))
    x, e = cell.input("x", (n,)), cell.label("e", k)
    s = cell.state("s", (d,))
    a = cell.define("a", W @ s.prev + U @ x + b)
    cell.define("s", tanh(a))
    y = cell.define("y", softmax(V @ s + c))
    cell.loss("L", nll(y, e))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from derive.display import render
from derive.errors import CellError, ShapeError, UnknownName
from derive.indices import IndexSyntaxError, parse_index
from .ir import Expr, Sym, _same_shape, as_expr, fmt_shape

__all__ = ["Cell"]


@dataclass
class Cell:
    """One time step of a recurrent network as a list of equations.

    Args:
        name: a short identifier ("rnn", "lstm").
        dims: names of the symbolic dimensions; ``cell.dims`` gives the SymPy symbols.
        description: one line shown in listings.
        family: the cell whose notation tables this one uses (a variant such as
            ``gru_cs224n`` or ``rnn_nobias`` says ``"gru"`` / ``"rnn"``); default its name.
    """

    name: str
    dims: tuple = ("n", "d", "k")
    description: str = ""
    reference: "object | None" = None  # optional: (graph, instance) -> {param NodeRef: dL/dparam}, an independent BPTT
    symbols: "dict[str, Sym]" = field(default_factory=dict, init=False)
    equations: "dict[str, Expr]" = field(default_factory=dict, init=False)
    losses: "list[str]" = field(default_factory=list, init=False)
    _declared: "list[str]" = field(default_factory=list, init=False)
    family: str = ""

    def __post_init__(self):
        self.family = self.family or self.name
        if isinstance(self.dims, str) or not isinstance(self.dims, (tuple, list)):
            raise CellError(f"cell {self.name!r}: dims must be a tuple of dimension names such as "
                            f"('n', 'd', 'k'), got {self.dims!r}")
        for d in self.dims:
            if not isinstance(d, sp.Symbol) and not (isinstance(d, str) and d.isidentifier()):
                raise CellError(f"cell {self.name!r}: a dimension name must be an identifier, got {d!r}")
        self.dims = tuple(d if isinstance(d, sp.Symbol) else sp.Symbol(d, positive=True, integer=True)
                          for d in self.dims)

    # -- declarations --------------------------------------------------------
    def dim(self, name: str) -> sp.Symbol:
        for d in self.dims:
            if d.name == name:
                return d
        raise UnknownName("dimension", name, [d.name for d in self.dims])

    def _new(self, name: str, shape, role: str) -> Sym:
        if not isinstance(name, str) or not name.isidentifier():
            raise CellError(f"cell {self.name!r}: a symbol name must be an identifier, got {name!r}")
        if name in self.symbols:
            raise CellError(f"cell {self.name!r}: symbol {name!r} is declared twice")
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        shape = tuple(self._dimension(name, dim) for dim in shape)
        sym = Sym(name, shape, role)
        self.symbols[name] = sym
        return sym

    def _dimension(self, name: str, dim):
        """One entry of a shape: a positive int, a cell dimension, or an expression in them (``2*d`` as text
        or SymPy), read by derive.indices' grammar, never by ``sympify``."""
        known = ", ".join(map(str, self.dims))

        def bad(why: str):
            return CellError(f"cell {self.name!r}: dimension {dim!r} of {name!r} {why}; expected a positive "
                             f"integer or an expression in the cell's dimensions {known}")

        if isinstance(dim, bool) or isinstance(dim, float) or not isinstance(dim, (int, str, sp.Expr)) \
                and not hasattr(dim, "__index__"):
            raise bad(f"is a {type(dim).__name__}")
        if isinstance(dim, str):
            def symbol(n):
                for d in self.dims:
                    if d.name == n:
                        return d
                raise bad(f"uses {n!r}, which is not a dimension of the cell")

            try:
                dim = parse_index(dim, symbol)
            except IndexSyntaxError as exc:
                raise bad(f"cannot be read ({exc})") from None
        elif not isinstance(dim, sp.Expr):
            dim = int(dim)  # a NumPy integer
        if isinstance(dim, int) or (isinstance(dim, sp.Expr) and dim.is_Number):
            if not (isinstance(dim, int) or dim.is_Integer) or int(dim) <= 0:
                raise bad("is not a positive integer")
            return int(dim)
        if not dim.free_symbols <= set(self.dims):
            raise bad("uses names that are not dimensions of the cell")
        if dim.atoms(sp.Float) or not dim.is_polynomial(*self.dims) \
                or not all(c.is_Integer for c in sp.Poly(dim, *self.dims).coeffs()):
            raise bad("is not a polynomial with integer coefficients")
        return dim

    def param(self, name: str, shape) -> Sym:
        """A parameter shared across time steps (W, U, b, ...)."""
        return self._new(name, shape, "param")

    def input(self, name: str, shape) -> Sym:
        """An input x_t, a constant of the graph at each step."""
        return self._new(name, shape, "input")

    def label(self, name: str, size) -> Sym:
        """The one-hot true class e_{c_t} at each step (a constant of the graph)."""
        return self._new(name, (size,), "label")

    def state(self, name: str, shape) -> Sym:
        """Declare a node before its equation, so that ``state.prev`` can be used in it."""
        sym = self._new(name, shape, "node")
        self._declared.append(name)
        return sym

    def define(self, name: str, expr: Expr) -> Sym:
        """The equation ``name_t = expr``; returns the symbol of the new node."""
        expr = as_expr(expr)
        if name in self.equations:
            raise CellError(f"cell {self.name!r}: node {name!r} has two equations")
        if name in self.symbols:
            sym = self.symbols[name]
            if sym.role != "node":
                raise CellError(f"cell {self.name!r}: {name!r} is a {sym.role}, it cannot have an equation")
            if not _same_shape(sym.shape, expr.shape):
                raise ShapeError(
                    f"cell {self.name!r}: {name!r} was declared as {fmt_shape(sym.shape)} "
                    f"but its equation gives {fmt_shape(expr.shape)}"
                )
        else:
            sym = self._new(name, expr.shape, "node")
        self.equations[name] = expr
        return sym

    def loss(self, name: str, expr: Expr) -> Sym:
        """A per-step scalar loss L_t; the unrolled graph adds the total L = sum_t L_t."""
        expr = as_expr(expr)
        if expr.shape != ():
            raise ShapeError(f"cell {self.name!r}: loss {name!r} must be a scalar, got {fmt_shape(expr.shape)}")
        sym = self.define(name, expr)
        self.losses.append(name)
        return sym

    def _repr_latex_(self) -> str:
        """Jupyter: the cell's equations, typeset."""
        return "$\\displaystyle " + render(self, cell=self) + "$"

    # -- queries ---------------------------------------------------------------
    def of_role(self, role: str) -> "list[Sym]":
        return [s for s in self.symbols.values() if s.role == role]

    @property
    def params(self) -> "list[str]":
        return [s.name for s in self.of_role("param")]

    @property
    def nodes(self) -> "list[str]":
        """Node names in evaluation order within one step."""
        return list(self._order())

    @property
    def recurrent(self) -> "list[str]":
        """Nodes read at an earlier step (the states: s, or s and h for an LSTM), or at a later one (``.next``)."""
        out = []
        for expr in self.equations.values():
            for leaf in expr.leaves():
                if leaf.lag and leaf.name not in out:
                    out.append(leaf.name)
        return [n for n in self.nodes if n in out]

    @property
    def max_lag(self) -> int:
        return max([leaf.lag for e in self.equations.values() for leaf in e.leaves()] or [0])

    @property
    def max_lead(self) -> int:
        """How many steps ahead an equation reads (1 for ``b.next``); 0 for a cell that runs forward only."""
        return max([-leaf.lag for e in self.equations.values() for leaf in e.leaves()] or [0])

    def lead_states(self) -> "list[str]":
        """Nodes read at a later step (``b.next``): their final states b_{T+1} are leaves of the graph."""
        out = {leaf.name for e in self.equations.values() for leaf in e.leaves() if leaf.lag < 0}
        return [n for n in self.nodes if n in out]

    def lag_states(self) -> "list[str]":
        """Nodes read at an earlier step (``s.prev``): their initial states s_0 are leaves of the graph."""
        out = {leaf.name for e in self.equations.values() for leaf in e.leaves() if leaf.lag > 0}
        return [n for n in self.nodes if n in out]

    def check(self) -> None:
        """Raise CellError if the cell cannot be unrolled."""
        if not self.equations:
            raise CellError(f"cell {self.name!r} has no equations")
        for name in self._declared:
            if name not in self.equations:
                raise CellError(f"cell {self.name!r}: node {name!r} is declared but has no equation (use cell.define)")
        for name, expr in self.equations.items():
            for leaf in expr.leaves():
                known = self.symbols.get(leaf.name)
                if known is None:
                    raise CellError(
                        f"cell {self.name!r}: equation for {name!r} uses {leaf.name!r}, which the cell does not "
                        f"define; defined symbols: {', '.join(self.symbols)}"
                    )
                if known.role != leaf.role or not _same_shape(known.shape, leaf.shape):
                    raise CellError(
                        f"cell {self.name!r}: equation for {name!r} uses {leaf.name!r} as a {leaf.role} of "
                        f"{fmt_shape(leaf.shape)}, but it is declared as a {known.role} of {fmt_shape(known.shape)}"
                    )
        self._order()

    def _order(self) -> "list[str]":
        """Topological order of the equations within a step (lag-0 dependencies)."""
        deps = {n: [l.name for l in e.leaves() if l.role == "node" and l.lag == 0] for n, e in self.equations.items()}
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n, trail):
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                raise CellError(f"cell {self.name!r}: the equations are circular within one step: "
                                + " -> ".join(trail + [n]))
            state[n] = 1
            for m in deps.get(n, []):
                if m not in self.equations:
                    raise CellError(f"cell {self.name!r}: node {m!r} is used by {n!r} but has no equation")
                visit(m, trail + [n])
            state[n] = 2
            order.append(n)

        for n in self.equations:
            visit(n, [])
        return order
