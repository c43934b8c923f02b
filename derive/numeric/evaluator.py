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
from derive.model.graph import CACHE, cell_fingerprint, structure_key, unrolled  # noqa: F401  (re-exported)
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
        for ref in _leaf_refs(graph):
            info = graph.nodes[ref]
            shape = tuple(graph.size(ref) and d for d in info.shape)   # size() refuses unbound dimensions
            if info.kind == "label":
                onehot = np.zeros(shape)
                onehot[rng.integers(shape[0])] = 1.0
                values[ref] = onehot
            elif info.kind == "init":
                values[ref] = init_scale * rng.standard_normal(shape)
            else:
                values[ref] = scale * rng.standard_normal(shape)
        return cls(values, seed)


SHARED = {"enabled": True}   # False: every Evaluator computes its own numbers (bench only)
_BATCH_OK: dict = {}          # (graph structure, (f, x, nodes)) -> whether the batched pass was checked equal
_CORES_PER_GRAPH = 64


class _Core:
    """The numbers of one (graph, instance): node values, local Jacobians, reverse sweeps, differences.

    Shared by every `Evaluator` of the same graph on an instance with the same values (compared
    exactly, byte for byte), whatever their views: many derivations check the same cell on the same
    seeded instances and ask the same ∂L/∂W.  Every array a core holds is read-only, so a caller
    that would change a shared number in place fails loudly instead of corrupting another check.
    """

    __slots__ = ("values", "atomic", "reverse", "asked", "differences")

    def __init__(self, values):
        self.values, self.atomic, self.reverse, self.asked, self.differences = values, {}, {}, set(), {}


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _leaf_refs(graph: Graph) -> "list[NodeRef]":
    """The graph's leaves (parameters, inputs, labels, initial states) in its node order, remembered."""
    leaves = graph.__dict__.get("_leaf_refs")
    if leaves is None:
        leaves = graph.__dict__["_leaf_refs"] = [r for r, i in graph.nodes.items() if i.kind not in ("node", "total")]
    return leaves


def _instance_key(graph: Graph, instance: Instance):
    """The instance's leaf values as exact bytes, in the graph's order (None: a value that is not an array)."""
    parts = []
    for ref in _leaf_refs(graph):
        v = instance.values[ref]
        if not isinstance(v, np.ndarray):
            v = np.asarray(v)
        if v.dtype.kind not in "biuf":
            return None
        parts.append((v.shape, v.dtype.str, v.tobytes()))
    return tuple(parts)


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
        key = _instance_key(graph, instance) if SHARED["enabled"] else None
        cores = graph.__dict__.setdefault("_numeric_cores", {})
        core = cores.get(key) if key is not None else None
        if core is None:
            core = _Core({ref: _frozen(np.array(v, dtype=np.float64)) for ref, v in self.forward().items()})
            if key is not None:
                while len(cores) >= _CORES_PER_GRAPH:
                    cores.pop(next(iter(cores)))
                cores[key] = core
        self._core = core
        self.values = core.values
        self._atomic, self._reverse, self._asked = core.atomic, core.reverse, core.asked

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

    def shared(self, name: str, make):
        """``make()`` once per numeric core: a number that depends only on the graph and the instance's
        values (the NumPy BPTT's gradients, say), shared by every evaluator of that instance."""
        key = ("shared", name)
        if key not in self._core.differences:
            self._core.differences[key] = make()
        return self._core.differences[key]

    # -- local Jacobians -----------------------------------------------------------------
    def atomic(self, v: NodeRef, p: NodeRef) -> np.ndarray:
        """∂v/∂p for p a direct input of v, from the vector-level rules of `derive.model.ir.jacobian`
        (the Jacobians with respect to all of v's inputs come from one walk of v's expression: measured
        faster than one walk per input, though a sweep towards a state does not need ∂v/∂W)."""
        key = (v, p)
        if key not in self._atomic:
            info = self.graph.nodes[v]
            if info.kind == "total":
                self._atomic[key] = _frozen(np.ones((1, 1)))
                return self._atomic[key]
            if not any(src == p for _, src in info.inputs):
                raise InvalidValue(f"{p} is not a direct input of {v}")
            if VECTOR_JACOBIANS["enabled"]:
                env = {k: self.values[src] for k, src in info.inputs}
                parts = ir.jacobians(info.expr, env, [k for k, _ in info.inputs])
                for src in {src for _, src in info.inputs}:
                    Js = [parts[k] for k, s in info.inputs if s == src and parts[k] is not None]
                    J = sum(Js[1:], Js[0]) if Js else np.zeros((self.graph.size(v), self.graph.size(src)))
                    self._atomic.setdefault((v, src), _frozen(np.array(J, dtype=np.float64)))
            else:
                keys = [k for k, src in info.inputs if src == p]
                leaf_values = {k: np.ravel(self.values[src]) for k, src in info.inputs}
                args = [leaf_values[k] for k in self.local.leaf_keys(v.name)]
                J = sum(self.local.function(v.name, k)(*args) for k in keys)
                self._atomic[key] = _frozen(np.array(J, dtype=np.float64))
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
            self._reverse[f] = {k: _frozen(v) for k, v in self._sweep(f).items()}
            G = self._reverse[f].get(x)
        else:
            self._asked.add(f)
            G = self._sweep(f, self._descendants(x)).get(x)
        if G is None:
            return np.zeros((self.graph.size(f), self.graph.size(x)))
        return G

    def totals(self, f: NodeRef, xs) -> "list[np.ndarray]":
        """∂f/∂x for each x of ``xs``, by one reverse sweep through the nodes between them and f only."""
        within: "set[NodeRef]" = set()
        for x in xs:
            within |= self._descendants(x)
        G = self._sweep(f, within)
        return [G[x] if x in G else np.zeros((self.graph.size(f), self.graph.size(x))) for x in xs]

    def _descendants(self, x: NodeRef) -> "set[NodeRef]":
        """x and every node that depends on x (a property of the graph: remembered there; do not modify it)."""
        known = self.graph.__dict__.setdefault("_descendants", {})
        if x in known:
            return known[x]
        seen, stack = {x}, [x]
        children = self.graph.children
        while stack:
            for c in children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        known[x] = frozenset(seen)
        return known[x]

    def _sweep(self, f: NodeRef, within: "set[NodeRef] | None" = None) -> "dict[NodeRef, np.ndarray]":
        order = self.graph.order
        G = {f: ir.identity(self.graph.size(f))}
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
        key = ("central", f, x, eps)
        if key not in self._core.differences:
            self._core.differences[key] = _frozen(self._central(f, x, self._todo(f, (x,)), eps))
        return self._core.differences[key]

    def directional_difference(self, f: NodeRef, x: NodeRef, v: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        """(f(x + eps v) - f(x - eps v)) / 2 eps: ∂f/∂x · v by two forward passes (as jax's check_grads does).

        ``v`` may also be several directions, the columns of a (size of x) x m matrix; the result is then
        size of f x m."""
        f, x = self.graph.node(f), self.graph.node(x)
        base = np.asarray(self.values[x], dtype=np.float64)
        V = np.asarray(v, dtype=np.float64)
        many = V.ndim == 2 and V.shape[0] == base.size and base.size != V.size
        V = V.reshape(base.size, -1) if many else V.reshape(base.size, 1)
        key = ("directional", f, x, eps, V.shape, V.tobytes())
        if key not in self._core.differences:
            dirs = V.T.reshape((-1,) + base.shape)
            perts = np.concatenate([base + eps * dirs, base - eps * dirs])
            out = self._perturbed(f, x, perts, self._todo(f, (x,)))
            m = dirs.shape[0]
            self._core.differences[key] = _frozen(((out[:m] - out[m:]) / (2 * eps)).T)
        J = self._core.differences[key]
        return J if many else J[:, 0]

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
        if not chain:
            return np.zeros((self.graph.size(f), self.graph.size(x)))
        todo = [r for r in self.graph.order if r in chain]
        key = ("explicit", f, x, eps, tuple(todo))
        if key not in self._core.differences:
            self._core.differences[key] = _frozen(self._central(f, x, todo, eps))
        return self._core.differences[key]

    def _central(self, f: NodeRef, x: NodeRef, todo: list, eps: float) -> np.ndarray:
        """Central differences of f in every entry of x, recomputing the nodes ``todo``: all 2n
        perturbed passes at once (`_perturbed`)."""
        base = np.asarray(self.values[x], dtype=np.float64)
        n = base.size
        steps = (eps * np.eye(n)).reshape((n,) + base.shape)
        out = self._perturbed(f, x, np.concatenate([base + steps, base - steps]), todo)
        return ((out[:n] - out[n:]) / (2 * eps)).T

    def _perturbed(self, f: NodeRef, x: NodeRef, perts: np.ndarray, todo: list) -> np.ndarray:
        """f's flat value (m x size of f) with x replaced by each of ``perts`` (m values of x's shape),
        recomputing the nodes ``todo`` (in order) and holding every other node.

        One pass over the nodes with a leading batch axis (`derive.model.ir.evaluate_batch`); the
        first time a graph asks for a given (f, x, todo), the batched numbers are compared with
        one-at-a-time passes, and a graph whose expressions do not batch is run one at a time."""
        flags = self.graph.__dict__.setdefault("_batch_ok", {})
        key = (f, x, tuple(todo))
        ok = flags.get(key)
        if ok is None:   # a graph of the same structure may have been checked already (`unroll` builds anew)
            ok = _BATCH_OK.get((self._structure(), key))
        if ok is not False:
            try:
                out = self._run_batch(f, x, perts, todo)
            except (TypeError, ValueError, InvalidValue, NotSupported):
                out, ok = None, False
            if ok is None and out is not None:
                serial = np.stack([self._run(f, x, perts[i], todo) for i in range(min(2, len(perts)))])
                scale = max(1.0, float(np.max(np.abs(serial), initial=0.0)))
                ok = out.shape == (len(perts), serial.shape[1]) and bool(
                    np.all(np.abs(out[:len(serial)] - serial) <= 1e-13 * scale))
            flags[key] = ok
            _BATCH_OK[(self._structure(), key)] = ok
            if ok:
                return out
        return np.stack([self._run(f, x, p, todo) for p in perts])

    def _structure(self) -> tuple:
        key = self.graph.__dict__.get("_structure_key")
        if key is None:
            key = self.graph.__dict__["_structure_key"] = structure_key(self.graph.cell, self.graph.T,
                                                                        self.graph.dims)
        return key

    def _run(self, f: NodeRef, x: NodeRef, value: np.ndarray, todo: list) -> np.ndarray:
        return np.ravel(self._recompute(f, {x: value}, todo))

    def _recompute(self, f: NodeRef, overrides: dict, todo: list) -> np.ndarray:
        """f's value with the nodes ``overrides`` replaced, recomputing the nodes ``todo`` (in order) and
        holding every other node at its value."""
        local = dict(overrides)
        for ref in todo:
            info = self.graph.nodes[ref]
            env = {k: (local[src] if src in local else self.values[src]) for k, src in info.inputs}
            if info.kind == "total":
                local[ref] = np.asarray(sum(env.values()), dtype=np.float64)
            else:
                local[ref] = np.asarray(info.expr.evaluate(env), dtype=np.float64)
        return local[f] if f in local else self.values[f]

    def _run_batch(self, f: NodeRef, x: NodeRef, perts: np.ndarray, todo: list) -> np.ndarray:
        m = len(perts)
        layout = {}

        def held(src):
            if src not in layout:
                layout[src] = ir.as_batch_layout(self.values[src])
            return layout[src]

        local = {x: perts.reshape((m,) + ir.as_batch_layout(perts[0]).shape)}
        for ref in todo:
            info = self.graph.nodes[ref]
            env = {k: (local[src] if src in local else held(src)) for k, src in info.inputs}
            if info.kind == "total":
                local[ref] = sum(env.values())
            else:
                local[ref] = ir.evaluate_batch(info.expr, env)
        if f not in local:
            return np.tile(np.ravel(self.values[f]), (m, 1))
        out = np.broadcast_to(local[f], (m,) + local[f].shape[-2:])
        return out.reshape(m, -1)

    def _todo(self, f: NodeRef, xs) -> list:
        """The nodes between the nodes ``xs`` and f, in order: what an intervention on xs recomputes."""
        key = (f, tuple(sorted(xs)))
        between = self.graph.__dict__.setdefault("_between", {})   # a property of the graph alone
        todo = between.get(key)
        if todo is None:
            below = set()
            for x in xs:
                below |= self._descendants(x)
            need, stack = {f}, [f]
            while stack:
                for p in self.graph.nodes[stack.pop()].parents:
                    if p not in need and p in below:
                        need.add(p)
                        stack.append(p)
            todo = [r for r in self.graph.order if r in need and r in below and r not in xs]
            between[key] = todo
        return todo

    def forward_to(self, f: NodeRef, overrides: "dict[NodeRef, np.ndarray]") -> np.ndarray:
        """f's value under an intervention, recomputing only the nodes between the overridden ones and f.

        The same numbers as ``forward(overrides)[f]`` (every other node keeps
        its value from the unperturbed forward pass, which it would recompute
        identically), at a fraction of the cost for a perturbation near the end.
        """
        return self._recompute(f, overrides, self._todo(f, tuple(overrides)))


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
