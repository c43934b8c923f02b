"""Derivations produced mechanically from the graph: expansions, path sums, product forms.

Each builder returns a `Derivation`: a left-hand side and the chain of
right-hand sides a lecturer writes under it, every one claimed equal to the
left-hand side (and checked by `derive.checks.verify`).

The ordered-network rule (CS7015 Lecture 14, Module 14.3) for a variable f and
a parameter θ::

    ∂f/∂θ = ∂⁺f/∂θ + Σ_u ∂f/∂u ∂u/∂θ       (u: explicit inputs of f that depend on θ)

applied once per line gives the recursive expansion; regrouping its terms by
the last edge of each path gives the short-circuited form
Σ_k ∂f/∂s_k ∂⁺s_k/∂θ; the total loss adds Σ_t.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from derive.terms import Brace, D, Prod, ProdOver, Sum, SumOver, Term, idx, node
from derive.model.cell import Cell
from derive.display import render
from derive.errors import NotSupported, UnknownName
from derive.model.graph import Graph, NodeRef, View, unroll

__all__ = [
    "Step", "Derivation", "ordered_network_rule", "recursive_expansion", "short_circuit",
    "bptt_form", "total_loss_form", "product_form", "enumerate_paths", "path_sum",
]

MAX_EXPANSION_TERMS = 4096


@dataclass(frozen=True)
class Step:
    """One right-hand side of a derivation and why it follows."""

    rhs: Term
    why: str = ""


@dataclass
class Derivation:
    """lhs = steps[0] = steps[1] = ..., each step claimed equal to lhs.

    ``bindings`` are the values of the index symbols (t, T, k ...) at which the
    claim is checked; a derivation written for one graph has one binding.
    ``keep`` names the variables of the ordered network (the view).
    """

    id: str
    title: str
    source: str
    cell: Cell
    lhs: Term
    steps: "list[Step]"
    keep: "tuple[str, ...] | None" = None
    bindings: "list[dict[str, int]]" = field(default_factory=list)
    notes: str = ""

    def graph_T(self, binding: "dict[str, int]") -> int:
        if "T" in binding:
            return binding["T"]
        return max([v for v in binding.values()] + [1])

    def _repr_latex_(self) -> str:
        """Jupyter: the chain of equalities, typeset."""
        lhs = render(self.lhs, cell=self.cell)
        rows = [(lhs if i == 0 else "") + " &= " + render(s.rhs, cell=self.cell) for i, s in enumerate(self.steps)]
        return "$\\displaystyle \\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$"

    def instantiate(self, binding: "dict[str, int]") -> "tuple[Term, list[Term]]":
        return self.lhs.instantiate(**binding), [s.rhs.instantiate(**binding) for s in self.steps]


def _view(graph: Graph, keep) -> View:
    return graph.view(list(keep) if keep is not None else None)


def _depends(graph: Graph, v: NodeRef, theta: NodeRef, memo: dict) -> bool:
    """Does v depend on theta through the graph?"""
    if v == theta:
        return True
    if v in memo:
        return memo[v]
    stack, seen, found = [v], {v}, False
    while stack and not found:
        for p in graph.nodes[stack.pop()].parents:
            if p == theta:
                found = True
                break
            if p not in seen:
                seen.add(p)
                stack.append(p)
    memo[v] = found
    return found


def ordered_network_rule(view: View, f: NodeRef, theta: NodeRef, memo: "dict | None" = None):
    """(explicit terms, [(u, implicit term)]) of ∂f/∂θ = ∂⁺f/∂θ + Σ_u ∂f/∂u ∂u/∂θ."""
    memo = {} if memo is None else memo
    parents = view.parents(f)
    expl = [D(f, theta, True)] if theta in parents else []
    impl = []
    for u in parents:
        if u == theta or not _depends(view.graph, u, theta, memo):
            continue
        # The lecture writes the total ∂f/∂u; that is right only when u reaches f through no other
        # variable (true for the RNN).  Otherwise the explicit ∂⁺f/∂u avoids counting paths twice.
        via_other = any(w != u and _depends(view.graph, w, u, {}) for w in parents)
        impl.append((u, D(f, u, explicit=via_other)))
    return expl, impl


def recursive_expansion(graph: Graph, f: "NodeRef | str", theta: "NodeRef | str", keep=None,
                        source: str = "", id: str = "") -> Derivation:
    """∂f/∂θ expanded one level per line until only explicit derivatives remain.

    For the RNN and f = s_4, θ = W this reproduces the slide of CS7015 Lecture 14,
    Module 14.3 line by line, then the short-circuited sum Σ_k ∂s_4/∂s_k ∂⁺s_k/∂W.
    """
    view = _view(graph, keep)
    f, theta = graph.node(f), graph.node(theta)
    if f == theta:
        return Derivation(id or f"expand-{f}-{theta}", f"Recursive expansion of ∂{f}/∂{theta}", source,
                          graph.cell, D(f, theta), [Step(_identity(f), IDENTITY_WHY)], keep=view.keep,
                          bindings=[{"T": graph.T}])
    memo: dict = {}
    done: list[Term] = []
    open_: list[tuple[tuple, NodeRef]] = [((), f)]
    steps: list[Step] = []
    first = True
    while open_:
        line = list(done)
        new_open = []
        notes = []
        for prefix, u in open_:
            expl, impl = ordered_network_rule(view, u, theta, memo)
            if not expl and not impl:
                continue
            if impl:
                inner = [Brace(e, "explicit") for e in expl] + [Brace(Prod((du, D(w, theta))), "implicit")
                                                                for w, du in impl]
                line.append(Prod(prefix + (Sum(tuple(inner)),)) if prefix else Sum(tuple(inner)))
            else:
                line.extend(Prod(prefix + (e,)) if prefix else e for e in expl)
                consts = [str(p) for p in view.parents(u) if graph.nodes[p].kind == "init"]
                if consts:
                    notes.append(f"{u} depends on {theta} only explicitly ({', '.join(consts)} is constant)")
            done.extend(Prod(prefix + (e,)) if prefix else e for e in expl)
            new_open.extend((prefix + (du,), w) for w, du in impl)
        if len(line) > MAX_EXPANSION_TERMS:
            raise NotSupported(f"the expansion of ∂{f}/∂{theta} grows past {MAX_EXPANSION_TERMS} terms; "
                               "use the path-sum form instead")
        why = "ordered-network rule: explicit + implicit" if first else "expand the innermost total derivative"
        if notes:
            why += "; " + "; ".join(notes)
        steps.append(Step(_flatten_sum(line), why))
        first = False
        open_ = new_open
    if open_ == [] and (not steps or _flatten_sum(done) != steps[-1].rhs):
        steps.append(Step(_flatten_sum(done), "distribute"))
    sc = short_circuit(graph, f, theta, keep)
    steps.append(Step(sc, "short-circuit: group the paths by the last node that uses " + str(theta)))
    general = _indexed_short_circuit(view, f, theta)
    if general is not None:
        steps.append(Step(general, "as an indexed sum"))
    return Derivation(id or f"expand-{f}-{theta}", f"Recursive expansion of ∂{f}/∂{theta}", source,
                      graph.cell, D(f, theta), steps, keep=view.keep, bindings=[{"T": graph.T}])


IDENTITY_WHY = "∂x/∂x is the identity: the empty path from x to itself"


def _identity(x: NodeRef) -> Term:
    """∂x/∂x = I, written D(x, x) as the algebra writes it (ProdOver's empty product is D(x, x) too):
    the canonical form is the empty word and the numeric evaluator gives the identity matrix."""
    return D(x, x)


def _flatten_sum(terms: "list[Term]") -> Term:
    if len(terms) == 1:
        return terms[0]
    return Sum(tuple(terms))


def _users(view: View, f: NodeRef, theta: NodeRef) -> "list[NodeRef]":
    """Variables u that use θ explicitly and on which f depends (f itself included), latest first."""
    graph = view.graph
    above = _ancestors(graph, f)
    return [v for v in reversed(graph.order[: graph.position[f] + 1])
            if v in above and view.is_variable(v) and graph.nodes[v].kind == "node" and theta in view.parents(v)]


def _ancestors(graph: Graph, f: NodeRef) -> "set[NodeRef]":
    """f and every node f depends on."""
    seen, stack = {f}, [f]
    while stack:
        for p in graph.nodes[stack.pop()].parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def short_circuit(graph: Graph, f, theta, keep=None) -> Term:
    """∂f/∂θ = Σ_u ∂f/∂u ∂⁺u/∂θ over the variables u that use θ explicitly (∂f/∂f = I kept)."""
    view = _view(graph, keep)
    f, theta = graph.node(f), graph.node(theta)
    if f == theta:
        return _identity(f)
    users = _users(view, f, theta)
    return _flatten_sum([Prod((D(f, u), D(u, theta, True))) for u in users])


def _indexed_short_circuit(view: View, f: NodeRef, theta: NodeRef) -> "Term | None":
    """Σ_{k=1}^{t} ∂f/∂s_k ∂⁺s_k/∂θ when θ's users form one chain s_1..s_t of one node kind."""
    users = _users(view, f, theta)
    if not users or len({u.name for u in users}) != 1 or f.t is None:
        return None
    name = users[0].name
    times = sorted(u.t for u in users)
    if times != list(range(1, len(times) + 1)):
        return None
    k = idx("k")
    return SumOver(k, 1, times[-1], Prod((D(f, node(name, k)), D(node(name, k), theta, True))))


def bptt_form(cell: Cell, theta: str, keep=None) -> Term:
    """∂L_t/∂θ = ∂L_t/∂s_t Σ_{k=1}^{t} ∂s_t/∂s_k ∂⁺s_k/∂θ, built from the cell's structure.

    CS7015 Lecture 14, Module 14.3 (the last line of the BPTT slide).  Which
    node plays s (the loss's only variable input) and which node uses θ are
    read off a small unrolled graph, not assumed.
    """
    if theta not in cell.params:
        raise UnknownName("parameter", theta, cell.params)
    if len(cell.losses) != 1:
        raise NotSupported(f"cell {cell.name!r} has {len(cell.losses)} losses; bptt_form needs exactly one")
    loss = cell.losses[0]
    probe = unroll(cell, 3)
    view = _view(probe, keep)
    L3, th = NodeRef(loss, 3), NodeRef(theta)
    t, k = idx("t"), idx("k")
    terms: list[Term] = []
    state_parents = [p for p in view.parents(L3) if probe.nodes[p].kind == "node"]
    user_names = []
    for u in _users(view, L3, th):
        if u.name not in user_names:
            user_names.append(u.name)
    sp_ = state_parents[0] if len(state_parents) == 1 else None
    for name in user_names:
        if name == loss:
            terms.append(D(node(loss, t), th, True))
            continue
        if sp_ is not None:
            # ∂L_t/∂s_t factored out: every path from L_t passes through its only state input.
            body = SumOver(k, 1, t, Prod((D(node(sp_.name, t), node(name, k)), D(node(name, k), th, True))))
            terms.append(Prod((D(node(loss, t), node(sp_.name, t)), body)))
        else:
            terms.append(SumOver(k, 1, t, Prod((D(node(loss, t), node(name, k)), D(node(name, k), th, True)))))
    return _flatten_sum(terms)


def total_loss_form(cell: Cell, theta: str, keep=None) -> Term:
    """∂L/∂θ = Σ_{t=1}^{T} ∂L_t/∂θ with each term in its BPTT form."""
    t, T = idx("t"), idx("T")
    return SumOver(t, 1, T, bptt_form(cell, theta, keep))


def product_form(state: str) -> Term:
    """∂s_t/∂s_k = Π_{j=k+1}^{t} ∂s_j/∂s_{j-1}, the factor of the latest step leftmost."""
    t, k, j = idx("t"), idx("k"), idx("j")
    return ProdOver(j, k + 1, t, D(node(state, j), node(state, j - 1)), descending=True, identity=node(state, t))


def enumerate_paths(graph: Graph, f, x, keep=None, limit: int = 10_000) -> "list[tuple[NodeRef, ...]]":
    """Every path f <- ... <- x through the variables of the view, in a deterministic order."""
    view = _view(graph, keep)
    f, x = graph.node(f), graph.node(x)
    memo: dict = {}
    out: list[tuple[NodeRef, ...]] = []
    stack = [(f,)]
    while stack:
        path = stack.pop()
        v = path[-1]
        if v == x:
            out.append(path)
            if len(out) > limit:
                raise NotSupported(f"more than {limit} paths from {f} to {x}; count them with derive.prove.canon.count_paths")
            continue
        for p in reversed(view.parents(v)):
            if p == x or _depends(graph, p, x, memo):
                stack.append(path + (p,))
    return out


def path_sum(graph: Graph, f, x, keep=None) -> Term:
    """∂f/∂x as the sum over paths of products of explicit edge derivatives."""
    if graph.node(f) == graph.node(x):
        return _identity(graph.node(f))
    paths = enumerate_paths(graph, f, x, keep)
    return _flatten_sum([Prod(tuple(D(v, p, True) for v, p in zip(path[:-1], path[1:]))) for path in paths])
