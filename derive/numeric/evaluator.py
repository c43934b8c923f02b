"""Numbers for every term: a forward pass, local Jacobians, totals, finite differences.

Three independent ways to get a derivative of the unrolled graph:

- ``Evaluator.evaluate(term)``: the symbolic local Jacobians (lambdified) combined
  exactly as the term says (products in its order, sums), totals by reverse
  accumulation over the graph (the path sum, computed);
- ``Evaluator.finite_difference(f, x)``: central differences of the forward pass,
  perturbing x (a parameter, or any node by intervention), float64;
- `derive.numeric.reference`: the hand-vectorised NumPy BPTT, compared in `derive.checks.verify`.

Jacobians are 2-D: rows index the entries of f, columns those of x, matrices
flattened row by row (so ∂L/∂W is 1 x d^2 and reshapes to the d x d gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derive.model import activations
from derive.errors import InvalidValue, NotSupported, UnknownName
from derive.model.graph import Graph, NodeRef, View
from derive.model import ir
from derive.model.graph import CACHE, cell_fingerprint, unrolled  # noqa: F401  (re-exported)
from derive.prove.canon import count_paths
from derive.prove.local import LocalJacobians, local_jacobians  # noqa: F401  (re-exported)
from derive.terms import D, Term
from derive.terms.base import numeric_value

__all__ = ["Instance", "Evaluator", "Numbers", "local_jacobians", "unrolled", "cell_fingerprint"]

VECTOR_JACOBIANS = {"enabled": True}  # False: call the lambdified element-level Jacobians (the old way; bench only)


@dataclass
class Instance:
    """Values for every leaf of a graph: parameters, inputs, one-hot labels, initial states."""

    values: "dict[NodeRef, np.ndarray]"
    seed: "int | None" = None

    @classmethod
    def random(cls, graph: Graph, seed: int = 0, scale: float = 0.5, init_scale: float = 0.5) -> "Instance":
        """A seeded random instance: N(0, scale^2) parameters and inputs, random labels.

        Initial states are random too (scale ``init_scale``) so derivatives with
        respect to s_0 are not trivially zero.
        """
        rng = np.random.default_rng(seed)
        values = {}
        for ref, info in graph.nodes.items():
            if info.kind in ("node", "total"):
                continue
            shape = tuple(graph.size(ref) and d for d in info.shape)
            if info.kind == "label":
                onehot = np.zeros(shape)
                onehot[rng.integers(shape[0])] = 1.0
                values[ref] = onehot
            elif info.kind == "init":
                values[ref] = init_scale * rng.standard_normal(shape)
            else:
                values[ref] = scale * rng.standard_normal(shape)
        return cls(values, seed)


class Evaluator:
    """Numeric values of nodes and derivative terms on one instance of a graph."""

    def __init__(self, graph: Graph, instance: Instance, view: "View | None" = None):
        self.graph = graph
        self.instance = instance
        self.view = view or graph.view()
        self.local = local_jacobians(graph)
        missing = [str(r) for r, i in graph.nodes.items() if i.kind not in ("node", "total") and r not in instance.values]
        if missing:
            raise InvalidValue("the instance has no value for " + ", ".join(missing[:5]))
        self.values = self.forward()
        self._atomic: dict = {}
        self._reverse: dict = {}
        self._asked: set = set()

    # -- forward ---------------------------------------------------------------------
    def forward(self, overrides: "dict[NodeRef, np.ndarray] | None" = None) -> "dict[NodeRef, np.ndarray]":
        """Every node's value; ``overrides`` replaces chosen nodes' values (an intervention)."""
        values = dict(self.instance.values)
        if overrides:
            values.update(overrides)
        for ref, info in self.graph.nodes.items():
            if overrides and ref in overrides:
                continue
            if info.kind == "node":
                env = {key: values[src] for key, src in info.inputs}
                values[ref] = np.asarray(info.expr.evaluate(env), dtype=np.float64)
            elif info.kind == "total":
                values[ref] = np.asarray(sum(values[src] for _, src in info.inputs), dtype=np.float64)
        return values

    # -- local Jacobians -----------------------------------------------------------------
    def atomic(self, v: NodeRef, p: NodeRef) -> np.ndarray:
        """∂v/∂p for p a direct input of v, from the vector-level rules of `derive.model.ir.jacobian`."""
        key = (v, p)
        if key not in self._atomic:
            info = self.graph.nodes[v]
            if info.kind == "total":
                J = np.ones((1, 1))
            else:
                keys = [k for k, src in info.inputs if src == p]
                if not keys:
                    raise InvalidValue(f"{p} is not a direct input of {v}")
                if VECTOR_JACOBIANS["enabled"]:
                    env = {k: self.values[src] for k, src in info.inputs}
                    parts = [ir.jacobian(info.expr, env, k) for k in keys]
                    parts = [P for P in parts if P is not None]
                    J = sum(parts[1:], parts[0]) if parts else np.zeros((self.graph.size(v), self.graph.size(p)))
                else:
                    leaf_values = {k: np.ravel(self.values[src]) for k, src in info.inputs}
                    args = [leaf_values[k] for k in self.local.leaf_keys(v.name)]
                    J = sum(self.local.function(v.name, k)(*args) for k in keys)
            self._atomic[key] = np.asarray(J, dtype=np.float64)
        return self._atomic[key]

    def explicit(self, f: NodeRef, x: NodeRef) -> np.ndarray:
        """∂⁺f/∂x in the view: sum over chains through folded nodes of products of atomic Jacobians."""
        if f == x:
            return np.eye(self.graph.size(f))
        out = None
        for path in self.view.inner_paths(f, x):
            J = self.atomic(path[0], path[1])
            for v, p in zip(path[1:-1], path[2:]):
                J = J @ self.atomic(v, p)
            out = J if out is None else out + J
        if out is None:
            return np.zeros((self.graph.size(f), self.graph.size(x)))
        return out

    def total(self, f: NodeRef, x: NodeRef) -> np.ndarray:
        """∂f/∂x by reverse accumulation from f over every path.

        The first request from f follows only the nodes that depend on x; a
        second request from the same f sweeps (and caches) every node below f,
        so a path-sum form asking ∂f/∂s_k for all k stays linear in T.
        """
        if f in self._reverse:
            G = self._reverse[f].get(x)
        elif f in self._asked:
            self._reverse[f] = self._sweep(f)
            G = self._reverse[f].get(x)
        else:
            self._asked.add(f)
            G = self._sweep(f, self._descendants(x)).get(x)
        if G is None:
            return np.zeros((self.graph.size(f), self.graph.size(x)))
        return G

    def _descendants(self, x: NodeRef) -> "set[NodeRef]":
        """x and every node that depends on x."""
        seen, stack = {x}, [x]
        children = self.graph.children
        while stack:
            for c in children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def _sweep(self, f: NodeRef, within: "set[NodeRef] | None" = None) -> "dict[NodeRef, np.ndarray]":
        order = self.graph.order
        G = {f: np.eye(self.graph.size(f))}
        for v in reversed(order[: self.graph.position[f] + 1]):
            Gv = G.get(v)
            if Gv is None:
                continue
            for p in self.graph.nodes[v].parents:
                if within is not None and p not in within:
                    continue
                contrib = Gv @ self.atomic(v, p)
                G[p] = G[p] + contrib if p in G else contrib
        return G

    # -- terms ----------------------------------------------------------------------------
    def evaluate(self, term: Term, act=None) -> "np.ndarray | None":
        """The numeric value of a term with concrete indices (None stands for an exact zero).

        ``act`` is the activation an unnamed σ stands for (the cell's, for a lecture claim).
        """
        return Numbers(self, act).value(term)

    # -- finite differences -----------------------------------------------------------
    def finite_difference(self, f: NodeRef, x: NodeRef, eps: float = 1e-5) -> np.ndarray:
        """Central differences of f with respect to x (a leaf, or any node by intervention)."""
        f, x = self.graph.node(f), self.graph.node(x)
        base = np.asarray(self.values[x], dtype=np.float64)
        flat = base.ravel()
        J = np.empty((self.graph.size(f), flat.size))
        for i in range(flat.size):
            cols = []
            for sign in (1.0, -1.0):
                pert = flat.copy()
                pert[i] += sign * eps
                cols.append(np.ravel(self.forward_to(f, {x: pert.reshape(base.shape)})))
            J[:, i] = (cols[0] - cols[1]) / (2 * eps)
        return J

    def directional_difference(self, f: NodeRef, x: NodeRef, v: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        """(f(x + eps v) - f(x - eps v)) / 2 eps: ∂f/∂x · v by two forward passes (as jax's check_grads does)."""
        f, x = self.graph.node(f), self.graph.node(x)
        base = np.asarray(self.values[x], dtype=np.float64)
        v = np.asarray(v, dtype=np.float64).reshape(base.shape)
        hi = np.ravel(self.forward_to(f, {x: base + eps * v}))
        lo = np.ravel(self.forward_to(f, {x: base - eps * v}))
        return (hi - lo) / (2 * eps)

    def explicit_difference(self, f: NodeRef, x: NodeRef, eps: float = 1e-5) -> np.ndarray:
        """∂⁺f/∂x by central differences: x perturbed only where it enters f's folded nodes, every other parent held.

        This is the intervention that defines the explicit derivative (CS7015
        Lecture 14, Module 14.5: ∂⁺s_k/∂W treats s_{k-1} as a constant): the
        nodes on the view's inner chains f <- ... <- x are recomputed with the
        perturbed x, everything else keeps its value.
        """
        f, x = self.graph.node(f), self.graph.node(x)
        if f == x:
            return np.eye(self.graph.size(f))
        chain = {v for path in self.view.inner_paths(f, x) for v in path[:-1]}
        base = np.asarray(self.values[x], dtype=np.float64)
        flat = base.ravel()
        J = np.zeros((self.graph.size(f), flat.size))
        if not chain:
            return J
        todo = [r for r in self.graph.order if r in chain]
        for i in range(flat.size):
            cols = []
            for sign in (1.0, -1.0):
                pert = flat.copy()
                pert[i] += sign * eps
                local = {}
                for ref in todo:
                    info = self.graph.nodes[ref]
                    env = {k: (pert.reshape(base.shape) if src == x else local.get(src, self.values[src]))
                           for k, src in info.inputs}
                    if info.kind == "total":
                        local[ref] = np.asarray(sum(env.values()), dtype=np.float64)
                    else:
                        local[ref] = np.asarray(info.expr.evaluate(env), dtype=np.float64)
                cols.append(np.ravel(local[f]))
            J[:, i] = (cols[0] - cols[1]) / (2 * eps)
        return J

    def forward_to(self, f: NodeRef, overrides: "dict[NodeRef, np.ndarray]") -> np.ndarray:
        """f's value under an intervention, recomputing only the nodes between the overridden ones and f.

        The same numbers as ``forward(overrides)[f]`` (every other node keeps
        its value from the unperturbed forward pass, which it would recompute
        identically), at a fraction of the cost for a perturbation near the end.
        """
        key = (f, tuple(sorted(overrides)))
        todo = self._between.get(key) if hasattr(self, "_between") else None
        if todo is None:
            self.__dict__.setdefault("_between", {})
            below = set()
            for x in overrides:
                below |= self._descendants(x)
            need, stack = {f}, [f]
            while stack:
                for p in self.graph.nodes[stack.pop()].parents:
                    if p not in need and p in below:
                        need.add(p)
                        stack.append(p)
            todo = [r for r in self.graph.order if r in need and r in below and r not in overrides]
            self._between[key] = todo
        values = self.values
        local = dict(overrides)
        for ref in todo:
            info = self.graph.nodes[ref]
            if info.kind == "node":
                env = {k: (local[src] if src in local else values[src]) for k, src in info.inputs}
                local[ref] = np.asarray(info.expr.evaluate(env), dtype=np.float64)
            elif info.kind == "total":
                local[ref] = np.asarray(sum(local[src] if src in local else values[src] for _, src in info.inputs),
                                        dtype=np.float64)
        return local[f] if f in local else values[f]


class Numbers:
    """What a term asks for when it is evaluated on one instance: derivatives, node values, σ.

    ``Term.numeric(ctx)`` receives one of these; the derivatives are the
    Evaluator's (explicit: along folded chains; total: reverse accumulation).
    """

    def __init__(self, ev: Evaluator, act=None):
        self.ev, self.graph = ev, ev.graph
        self.act = activations.get(act) if act is not None else None

    def value(self, term):
        """The value of a term or operand; None is an exact zero.  Sub-terms are asked through here too."""
        return numeric_value(term, self)

    def activation(self) -> activations.Activation:
        if self.act is None:
            raise NotSupported("σ without an activation: name it (Prime(x, 'tanh')) or give the claim's")
        return self.act

    def derivative(self, term: D) -> np.ndarray:
        f, x = self.graph.node(term.f), self.graph.node(term.x)
        return self.ev.explicit(f, x) if term.explicit else self.ev.total(f, x)

    def path_count(self, f: NodeRef, x: NodeRef) -> int:
        """The number of paths from f down to x in the unrolled graph (exact)."""
        g = self.graph
        return count_paths(g, g.node(f), g.node(x))

    def node(self, ref: NodeRef, outside: str = "error") -> np.ndarray:
        g = self.graph
        if ref not in g.nodes:
            if outside == "zero" and ref.name in g.cell.symbols:
                return np.zeros((g.size(_any_ref(g, ref.name)), 1))
            g.node(ref)  # raises UnknownName listing the graph's nodes
        v = np.asarray(self.ev.values[g.node(ref)], dtype=np.float64)
        return v.reshape(-1, 1) if v.ndim == 1 else v


def _any_ref(g: Graph, name: str) -> NodeRef:
    for ref in g.nodes:
        if ref.name == name:
            return ref
    raise UnknownName("node", name, sorted({r.name for r in g.nodes}))
