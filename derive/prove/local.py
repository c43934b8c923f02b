"""Local (one-equation) Jacobians, derived element by element by SymPy.

For concrete sizes (d = 2, n = 3, ...) every cell equation is lowered to
scalar SymPy expressions in the element symbols of its operands, and SymPy
differentiates it with respect to each operand: an m x p matrix for a node of m
entries and an operand of p entries (a matrix operand W is flattened row by
row, so ∂⁺s_k/∂W is the d x d^2 unfolding of the lecture's d x d x d tensor,
CS7015 Lecture 14, Module 14.5).  The cost depends on the cell and the sizes,
never on T: these Jacobians are derived once and lambdified (with common
subexpressions shared) for the numeric checks.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import sympy as sp

from derive.model import activations
from derive.model.cell import Cell
from derive.errors import InvalidValue
from derive.model.graph import CACHE, Graph, cell_fingerprint, dims_key

__all__ = ["LocalJacobians", "element_symbols", "local_jacobians"]

_LOCAL_CACHE: dict = {}


def element_symbols(name: str, lag: int, shape: tuple) -> sp.Matrix:
    """SymPy symbols for the entries of a leaf; vectors are columns, scalars 1 x 1."""
    tag = name + ("" if not lag else "_m" * lag if lag > 0 else "_p" * -lag)  # _p: a later step (b.next)
    if len(shape) == 0:
        return sp.Matrix([[sp.Symbol(tag, real=True)]])
    if len(shape) == 1:
        return sp.Matrix(shape[0], 1, lambda i, _: sp.Symbol(f"{tag}__{i + 1}", real=True))
    return sp.Matrix(shape[0], shape[1], lambda i, j: sp.Symbol(f"{tag}__{i + 1}_{j + 1}", real=True))


def _flat(m: sp.Matrix) -> sp.Matrix:
    return m.reshape(m.rows * m.cols, 1)


class LocalJacobians:
    """Element-level Jacobians of each equation of ``cell`` at concrete ``dims``.

    ``jacobian(node, key)`` is the SymPy matrix ∂node/∂leaf for the leaf with
    key ``(name, lag)``; ``function(node, key)`` the lambdified NumPy version,
    called with the flattened leaf values in ``leaf_keys(node)`` order.
    """

    def __init__(self, cell: Cell, dims: "dict[sp.Symbol, int]"):
        self.cell = cell
        self.dims = dict(dims)
        missing = [str(d) for d in cell.dims if d not in self.dims]
        if missing:
            raise InvalidValue(f"element-level Jacobians need concrete sizes for {', '.join(missing)}")
        self._jac: dict = {}
        self._fn: dict = {}

    def shape(self, shape: tuple) -> tuple:
        return tuple(int(sp.sympify(s).subs(self.dims)) for s in shape)

    @cached_property
    def env(self) -> dict:
        """Element symbols for every leaf key used by any equation."""
        env = {}
        for expr in self.cell.equations.values():
            for leaf in expr.leaves():
                if leaf.key not in env:
                    env[leaf.key] = element_symbols(leaf.name, leaf.lag, self.shape(leaf.shape))
        for name in self.cell.equations:
            key = (name, 0)
            if key not in env:
                env[key] = element_symbols(name, 0, self.shape(self.cell.symbols[name].shape))
        return env

    def leaf_keys(self, node: str) -> "list[tuple[str, int]]":
        return [leaf.key for leaf in self.cell.equations[node].leaves()]

    def lowered(self, node: str) -> sp.Matrix:
        """The equation of ``node`` as a column of scalar SymPy expressions."""
        return _flat(self.cell.equations[node].lower(self.env))

    def jacobian(self, node: str, key: "tuple[str, int]") -> sp.Matrix:
        if (node, key) not in self._jac:
            self._jac[(node, key)] = self.lowered(node).jacobian(list(_flat(self.env[key])))
        return self._jac[(node, key)]

    def function(self, node: str, key: "tuple[str, int]"):
        """NumPy function of the flattened leaf values giving the Jacobian as a 2-D array."""
        if (node, key) not in self._fn:
            args = [list(_flat(self.env[k])) for k in self.leaf_keys(node)]
            modules = [{}, "numpy"]
            for a in activations.names():
                modules[0].update(activations.get(a).lambdify_modules())
            J = self.jacobian(node, key)
            f = sp.lambdify(args, J, modules=modules, cse=True)
            shape = J.shape

            def call(*values, _f=f, _shape=shape):
                out = np.asarray(_f(*values), dtype=np.float64)
                return np.broadcast_to(out, _shape) if out.shape != _shape else out

            self._fn[(node, key)] = call
        return self._fn[(node, key)]


def local_jacobians(graph: Graph) -> LocalJacobians:
    """The (cached) local Jacobians of the graph's cell at the graph's sizes, keyed by the cell's structure."""
    if not CACHE["enabled"]:
        key = (id(graph.cell), dims_key(graph.dims))
        hit = _LOCAL_CACHE.get(key)
        if hit is None or hit.cell is not graph.cell:
            hit = LocalJacobians(graph.cell, graph.dims)
            _LOCAL_CACHE[key] = hit
        return hit
    hit = graph.__dict__.get("_local_jacobians")
    if hit is not None:
        return hit
    key = ("structure", cell_fingerprint(graph.cell), dims_key(graph.dims))
    hit = _LOCAL_CACHE.get(key)
    if hit is None:
        hit = LocalJacobians(graph.cell, graph.dims)
        _LOCAL_CACHE[key] = hit
    graph.__dict__["_local_jacobians"] = hit
    return hit
