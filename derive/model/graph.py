"""The unrolled computation graph: a cell copied over T steps, parameters shared.

Nodes are addressed by name and time: ``g["s", 3]`` (or ``g.node("s_3")``) is
s_3, ``g["W"]`` the shared parameter W, ``g["L"]`` the total loss
L = sum_t L_t (CS7015 Lecture 14, Module 14.3).  The initial states (s_0) are
constants of the graph, leaves like the inputs x_t.

A *view* selects which nodes are the variables of the ordered network a
derivation talks about.  The lecture's network of states keeps s_t and L_t and
folds a_t into s_t; then s_t's explicit parents are s_{t-1} and W, U, b, and
``∂⁺s_t/∂W`` is the derivative through a_t with s_{t-1} held constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from functools import cached_property

import sympy as sp

from .cell import Cell
from derive.errors import UnknownName, positive_int, InvalidValue
from derive.indices import as_index
from .ir import Expr
from derive.errors import CellError

__all__ = ["NodeRef", "Graph", "View", "unroll", "unrolled", "cell_fingerprint", "MAX_T"]

_GRAPH_CACHE: dict = {}
_GRAPH_CACHE_SIZE = 256
CACHE = {"enabled": True}   # bench/bench_verify.py switches it off to measure the old behaviour (no sharing)


MAX_T = 100_000


class NodeRef(NamedTuple):
    """A node of the unrolled graph: ``name`` at time ``t`` (None for parameters and totals).

    ``t`` may be a SymPy expression (``k``, ``t - 1``) inside a general
    derivation; it is an integer in a graph.  A named pair, so that hashing and
    comparing one (every dictionary of the evaluator is keyed by them) is done
    in C; a `NodeRef` is still never taken for a plain tuple: code that walks
    values tests ``isinstance(v, NodeRef)`` first.
    """

    name: str
    t: object = None

    def at(self, **subs) -> "NodeRef":
        """Substitute symbolic time indices: ``NodeRef('s', k).at(k=3) == NodeRef('s', 3)``."""
        if self.t is None or isinstance(self.t, int):
            return self
        t = as_index(self.t)
        if isinstance(t, int):
            return NodeRef(self.name, t)
        t = t.subs({sp.Symbol(k, integer=True): v for k, v in subs.items()})
        return NodeRef(self.name, int(t) if t.is_Integer else t)

    def __str__(self) -> str:
        return self.name if self.t is None else f"{self.name}_{self.t}"

    __repr__ = __str__


_SHAPES: dict = {}   # (shape, bound dimensions) -> concrete shape, for `Graph.shape_of`


@dataclass(frozen=True)
class NodeInfo:
    ref: NodeRef
    kind: str  # "param" | "input" | "label" | "init" | "node" | "total"
    shape: tuple
    expr: "Expr | None" = None
    inputs: "tuple[tuple[tuple[str, int], NodeRef], ...]" = ()  # (leaf key, node)

    @cached_property   # frozen: computed once, kept in the instance's __dict__
    def parents(self) -> "tuple[NodeRef, ...]":
        return tuple(dict.fromkeys(ref for _, ref in self.inputs))   # first occurrence order, O(inputs)


class Graph:
    """A cell unrolled over T steps (a DAG).

    Args:
        cell: the cell.
        T: number of time steps, a positive integer.
        dims: optional concrete sizes, e.g. ``{"d": 2, "n": 3, "k": 3}`` (needed for
            element-level and numeric work).
    """

    def __init__(self, cell: Cell, T: int, dims: "dict | None" = None):
        cell.check()
        self.cell = cell
        self.T = positive_int("T", T, maximum=MAX_T)
        self.dims = self._bind_dims(dims or {})
        self.nodes: dict[NodeRef, NodeInfo] = {}
        self._build()

    def _bind_dims(self, dims: dict) -> "dict[sp.Symbol, int]":
        out = {}
        for key, value in dims.items():
            sym = self.cell.dim(key if isinstance(key, str) else key.name)
            out[sym] = positive_int(f"dimension {sym}", value)
        return out

    def shape_of(self, shape: tuple) -> tuple:
        """Shape with the concrete dimensions substituted where known."""
        cache = self.__dict__.setdefault("_shapes", {})
        if shape not in cache:
            key = (shape, tuple(sorted(self.dims.items(), key=lambda kv: kv[0].name)))
            if key not in _SHAPES:   # SymPy's subs is slow: remembered across graphs too
                out = []
                for dim in shape:
                    v = sp.sympify(dim).subs(self.dims)
                    out.append(int(v) if v.is_Integer else v)
                _SHAPES[key] = tuple(out)
            cache[shape] = _SHAPES[key]
        return cache[shape]

    def _add(self, ref, kind, shape, expr=None, inputs=()):
        self.nodes[ref] = NodeInfo(ref, kind, self.shape_of(shape), expr, tuple(inputs))

    def _build(self) -> None:
        cell = self.cell
        lead = cell.max_lead  # 0 for a cell that runs forward only (every cell of the lectures)
        for p in cell.of_role("param"):
            self._add(NodeRef(p.name), "param", p.shape)
        for name in (cell.lag_states() if lead else cell.recurrent):
            shape = cell.symbols[name].shape
            for t in range(1 - cell.max_lag, 1):
                self._add(NodeRef(name, t), "init", shape)
        for name in (cell.lead_states() if lead else ()):  # b_{T+1}: where a backward state starts
            for t in range(self.T + 1, self.T + 1 + lead):
                self._add(NodeRef(name, t), "init", cell.symbols[name].shape)
        later = []
        for t in range(1, self.T + 1):
            for sym in cell.of_role("input") + cell.of_role("label"):
                self._add(NodeRef(sym.name, t), sym.role, sym.shape)
            for name in cell.nodes:
                expr = cell.equations[name]
                inputs = []
                for leaf in expr.leaves():
                    ref = NodeRef(leaf.name) if leaf.role == "param" else NodeRef(leaf.name, t - leaf.lag)
                    inputs.append((leaf.key, ref))
                if lead:
                    later.append((NodeRef(name, t), cell.symbols[name].shape, expr, inputs))
                else:
                    self._add(NodeRef(name, t), "node", cell.symbols[name].shape, expr, inputs)
        if later:
            self._add_in_order(later)
        for name in cell.losses:
            self._add(NodeRef(name), "total", (),
                      inputs=[((name, t), NodeRef(name, t)) for t in range(1, self.T + 1)])

    def _add_in_order(self, specs) -> None:
        """Nodes that read later steps (``b.next``), added parents first (depth first, in step order), so
        that `order` stays topological: b_T before b_{T-1}, and both before the y_t that reads them."""
        spec = {ref: (shape, expr, inputs) for ref, shape, expr, inputs in specs}
        for root in spec:
            if root in self.nodes:
                continue
            stack, on = [(root, iter([src for _, src in spec[root][2]]))], {root}
            while stack:
                ref, parents = stack[-1]
                for p in parents:
                    if p in on:
                        raise CellError(f"cell {self.cell.name!r}: {p} depends on itself across steps "
                                        "(a state read both at t-1 and at t+1 of its own chain)")
                    if p in spec and p not in self.nodes:
                        stack.append((p, iter([src for _, src in spec[p][2]])))
                        on.add(p)
                        break
                else:
                    stack.pop()
                    on.discard(ref)
                    shape, expr, inputs = spec[ref]
                    self._add(ref, "node", shape, expr, inputs)

    # -- addressing ------------------------------------------------------------
    def __getitem__(self, key) -> NodeRef:
        if isinstance(key, tuple) and not isinstance(key, NodeRef):
            return self.ref(*key)
        return self.node(key)

    def ref(self, name: str, t: "int | None" = None) -> NodeRef:
        ref = NodeRef(name, t)
        if ref not in self.nodes:
            self._unknown(str(ref) if t is not None else name)
        return ref

    def node(self, spec: "str | NodeRef") -> NodeRef:
        """Parse ``"s_3"``, ``"W"``, ``"L"``, ``"L_4"`` into a node of this graph."""
        if isinstance(spec, NodeRef):
            if spec not in self.nodes:
                self._unknown(str(spec))
            return spec
        if not isinstance(spec, str):
            raise UnknownName("node", spec, self._known_examples())
        m = re.fullmatch(r"([A-Za-z]\w*?)_?\{?(-?\d+)\}?", spec)
        if spec in {r.name for r in self.nodes if r.t is None}:
            return NodeRef(spec)
        if m and NodeRef(m.group(1), int(m.group(2))) in self.nodes:
            return NodeRef(m.group(1), int(m.group(2)))
        self._unknown(spec)

    def _known_examples(self) -> "list[str]":
        names = [r.name for r in self.nodes if r.t is None]
        timed = sorted({r.name for r in self.nodes if r.t is not None})
        return names + [f"{n}_t" for n in timed] + [f"(t in 1..{self.T})"]

    def _unknown(self, spec):
        raise UnknownName("node", spec, self._known_examples())

    def info(self, ref: NodeRef) -> NodeInfo:
        return self.nodes[self.node(ref)]

    def size(self, ref: NodeRef) -> int:
        """Number of scalar entries of a node (needs concrete dims)."""
        shape = self.nodes[ref].shape
        n = 1
        for dim in shape:
            if not isinstance(dim, int):
                raise InvalidValue(
                    f"the size of {ref} depends on {dim}; unroll with concrete dims, e.g. dims={{'d': 2}}"
                )
            n *= dim
        return n

    @cached_property
    def order(self) -> "list[NodeRef]":
        """All nodes in a topological order (leaves first, totals last)."""
        return list(self.nodes)

    @cached_property
    def position(self) -> "dict[NodeRef, int]":
        """Each node's index in `order`."""
        return {r: i for i, r in enumerate(self.order)}

    @cached_property
    def children(self) -> "dict[NodeRef, list[NodeRef]]":
        out: dict[NodeRef, list[NodeRef]] = {r: [] for r in self.nodes}
        for r, info in self.nodes.items():
            for p in info.parents:
                out[p].append(r)
        return out

    def view(self, keep: "list[str] | None" = None) -> "View":
        """The ordered network over the named node kinds (default: states and losses)."""
        views = self.__dict__.setdefault("_views", {})   # a view holds only caches of the graph's structure
        key = None if keep is None else tuple(keep)
        if key not in views:
            views[key] = View(self, tuple(self.cell.recurrent + self.cell.losses) if keep is None else key)
        return views[key]

    def full_view(self) -> "View":
        return View(self, tuple(self.cell.nodes))

    def __repr__(self):
        return f"Graph({self.cell.name}, T={self.T}, {len(self.nodes)} nodes)"


class View:
    """The graph seen as an ordered network over the kept node names.

    Variables are the kept nodes plus every leaf (parameters, inputs, initial
    states) and the totals; other nodes are folded into their consumers.
    ``parents(v)`` lists v's explicit inputs; ``inner_paths(v, u)`` the chains
    of folded nodes along which v depends on u explicitly.
    """

    def __init__(self, graph: Graph, keep: "tuple[str, ...]"):
        known = set(graph.cell.nodes)
        for name in keep:
            if name not in known:
                raise UnknownName("node kind", name, graph.cell.nodes)
        self.graph = graph
        self.keep = keep
        self._parents: dict[NodeRef, tuple[NodeRef, ...]] = {}
        self._inner: dict[tuple[NodeRef, NodeRef], list[tuple[NodeRef, ...]]] = {}

    def is_variable(self, ref: NodeRef) -> bool:
        info = self.graph.nodes[ref]
        return info.kind != "node" or ref.name in self.keep

    def parents(self, v: NodeRef) -> "tuple[NodeRef, ...]":
        """Explicit parents of variable v, in a deterministic order."""
        if v not in self._parents:
            out: list[NodeRef] = []
            for path in self._walk(v):
                if path[-1] not in out:
                    out.append(path[-1])
            self._parents[v] = tuple(out)
        return self._parents[v]

    def _walk(self, v: NodeRef):
        """All chains v -> w1 -> ... -> u with w_i folded and u a variable."""
        stack = [(v,)]
        while stack:
            path = stack.pop(0)
            for p in self.graph.nodes[path[-1]].parents:
                if self.is_variable(p):
                    yield path + (p,)
                else:
                    stack.append(path + (p,))

    def inner_paths(self, v: NodeRef, u: NodeRef) -> "list[tuple[NodeRef, ...]]":
        """The atomic chains (v, w1, ..., u) behind the explicit edge v <- u."""
        key = (v, u)
        if key not in self._inner:
            self._inner[key] = [p for p in self._walk(v) if p[-1] == u]
        return self._inner[key]

    def variables(self) -> "list[NodeRef]":
        return [r for r in self.graph.order if self.is_variable(r)]


def unroll(cell: Cell, T: int, dims: "dict | None" = None) -> Graph:
    """Unroll ``cell`` over ``T`` steps (T >= 1); ``dims`` binds sizes such as d=2."""
    return Graph(cell, T, dims)


def cell_fingerprint(cell) -> tuple:
    """The structure of a cell: its dimensions, symbols (name, shape, role), equations and losses.

    Two cells built by the same builder (``rnn()`` twice) have equal
    fingerprints; any change of an equation, a shape or an activation (the
    registered `Activation` object is part of the `Apply` node) changes it.
    The reference BPTT is part of it too, so two cells that differ only in
    their reference do not share a cache entry.
    """
    return (tuple(str(d) for d in cell.dims),
            tuple(sorted(cell.symbols.items())),
            tuple(cell.equations.items()),
            tuple(cell.losses),
            _callable_key(cell.reference))


def _callable_key(fn):
    """A reference BPTT by what it computes: its code and the values it closes over (the activation names)."""
    if fn is None:
        return None
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    try:
        values = tuple(c.cell_contents for c in cells)
        hash(values)
    except (TypeError, ValueError):  # unhashable or empty closure cells: only the object itself is known
        return ("object", id(fn))
    if code is None:
        return ("object", id(fn))
    return (code, values)


def dims_key(dims) -> tuple:
    return tuple(sorted((str(k), int(v)) for k, v in (dims or {}).items()))


def structure_key(cell, T: int, dims: "dict | None" = None) -> tuple:
    """What an unrolled graph's numbers depend on: the cell's structure, T and the sizes."""
    return (cell_fingerprint(cell), T, dims_key(dims))


def unrolled(cell, T: int, dims: "dict | None" = None) -> Graph:
    """``unroll(cell, T, dims)``, shared between derivations with structurally equal cells.

    A graph's nodes are never modified after it is built, so one graph per
    (cell structure, T, sizes) serves every derivation; the cache keeps the
    most recent 256.  What a graph carries besides its nodes are caches of
    numbers derived from them: its views, its local Jacobians, and the numeric
    cores of `derive.numeric.evaluator` (one per instance, keyed by the values).
    """
    if not CACHE["enabled"]:
        return Graph(cell, T, dims)
    key = structure_key(cell, T, dims)
    g = _GRAPH_CACHE.pop(key, None)
    if g is None:
        g = Graph(cell, T, dims)
        while len(_GRAPH_CACHE) >= _GRAPH_CACHE_SIZE:
            _GRAPH_CACHE.pop(next(iter(_GRAPH_CACHE)))
    _GRAPH_CACHE[key] = g
    return g
