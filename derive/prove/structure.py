"""Jacobian structure, derived and not typed: recognise diag(σ'(a_j)), diag(σ'(a_j)) W, δ_pq ...

SymPy computes the element-level Jacobian of an explicit derivative for
concrete sizes (`derive.prove.local`); this module reads its structure off the
entries and states it in vector notation:

- ``zero`` and ``identity``;
- ``matrix``       J = P for a parameter matrix P (∂a_j/∂s_{j-1} = W);
- ``diag``         J = diag(v), v an element-wise vector expression
                   (∂s_j/∂a_j = diag(σ'(a_j)), CS7015 Lecture 14, Module 14.4);
- ``diag_matrix``  J = diag(v) P  (∂s_j/∂s_{j-1} = diag(σ'(a_j)) W, Module 14.4);
- ``delta_outer``  ∂v_p/∂P_{qr} = δ_{pq} v_p u_r, the d x d x d tensor of
                   Module 14.5 (∂⁺s_{kp}/∂W_{qr} = δ_{pq} σ'(a_{kp}) s_{k-1,r});
- ``dense``        nothing simpler was found (the matrix itself is returned).

Every form is accepted only after its entries were compared with the Jacobian's
by SymPy (each ``simplify(a - b) == 0`` below), so the statement is an identity,
not a pattern match taken on trust; `derive.checks.verify` compares a `LocalForm` with
the Jacobian entry by entry once more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from derive.errors import NotSupported
from derive.model.graph import Graph, NodeRef, View
from .local import LocalJacobians, _flat
from derive.terms import DeltaOuter, Diag, Elementwise, Identity, Prod, Term, Value, Zero
from derive.terms.calculus import Labelled

__all__ = ["Structure", "Elementwise", "LocalForm", "as_term", "symbolic_explicit", "recognise", "explicit_structure"]


@dataclass(frozen=True)
class Structure:
    """The recognised form of a Jacobian ∂f/∂x (see the module docstring for kinds)."""

    kind: str
    f: NodeRef
    x: NodeRef
    vector: "Elementwise | None" = None
    matrix: "NodeRef | None" = None
    outer: "NodeRef | None" = None
    jacobian: "sp.Matrix | None" = field(default=None, compare=False)

    def __str__(self):
        v = self.vector
        return {
            "zero": "0",
            "identity": "I",
            "matrix": f"{self.matrix}",
            "diag": f"diag({v})",
            "diag_matrix": f"diag({v}) {self.matrix}",
            "delta_outer": f"δ_pq ({v})_p ({self.outer})_r",
            "dense": "dense",
        }[self.kind]


class _Symbols:
    """Maps element symbols of a step back to (node, index) and back again."""

    def __init__(self, graph: Graph, local: LocalJacobians, t_of: NodeRef):
        self.graph, self.local, self.t = graph, local, t_of.t
        self.index: dict[sp.Symbol, tuple[NodeRef, tuple]] = {}
        self.matrices: dict[NodeRef, sp.Matrix] = {}
        for (name, lag), M in local.env.items():
            sym = graph.cell.symbols[name]
            ref = NodeRef(name) if sym.role == "param" else NodeRef(name, self.t - lag)
            self.matrices[ref] = M
            for i in range(M.rows):
                for j in range(M.cols):
                    self.index[M[i, j]] = (ref, (i, j))


def symbolic_explicit(graph: Graph, view: View, f: NodeRef, x: NodeRef, local: LocalJacobians) -> sp.Matrix:
    """∂⁺f/∂x as a SymPy matrix: products of the element-level Jacobians along folded chains."""
    total = None
    for path in view.inner_paths(f, x):
        J = None
        for v, p in zip(path[:-1], path[1:]):
            if v.t != f.t:
                raise NotSupported(f"the explicit derivative {f} <- {x} runs through another step ({v})")
            info = graph.nodes[v]
            keys = [k for k, src in info.inputs if src == p]
            part = sum((local.jacobian(v.name, k) for k in keys[1:]), local.jacobian(v.name, keys[0]))
            J = part if J is None else J * part
        total = J if total is None else total + J
    if total is None:
        raise NotSupported(f"{x} is not an explicit input of {f} in this view")
    return total


def _elementwise(entries: "list[sp.Expr]", syms: _Symbols) -> "Elementwise | None":
    """Find g with entries[p] = g(z1_p, z2_p, ...) for vectors z_i, or None."""
    templates = []
    vectors: dict[NodeRef, sp.Symbol] = {}
    for p, e in enumerate(entries):
        subs = {}
        for s in sorted(e.free_symbols, key=str):
            ref, (i, j) = syms.index.get(s, (None, (None, None)))
            if ref is None or i != p or j != 0 or syms.graph.nodes[ref].kind == "param":
                return None
            ph = vectors.setdefault(ref, sp.Symbol(ref.name, real=True))
            subs[s] = ph
        templates.append(sp.simplify(e.xreplace(subs)))
    if any(sp.simplify(t - templates[0]) != 0 for t in templates[1:]):
        return None
    return Elementwise(templates[0], tuple((ph, ref) for ref, ph in vectors.items()))


def _param_matrix(J: sp.Matrix, syms: _Symbols, row_scale=None) -> "NodeRef | None":
    for ref, M in syms.matrices.items():
        if syms.graph.nodes[ref].kind != "param" or M.shape != J.shape:
            continue
        scaled = M if row_scale is None else sp.diag(*row_scale) * M
        if all(sp.simplify(a - b) == 0 for a, b in zip(J, scaled)):
            return ref
    return None


def recognise(J: sp.Matrix, f: NodeRef, x: NodeRef, graph: Graph, local: LocalJacobians) -> Structure:
    """State the structure of the element-level Jacobian J = ∂f/∂x."""
    syms = _Symbols(graph, local, f)
    J = J.applyfunc(sp.simplify)
    m, p = J.shape
    if all(e == 0 for e in J):
        return Structure("zero", f, x, jacobian=J)
    if m == p and J == sp.eye(m):
        return Structure("identity", f, x, jacobian=J)
    P = _param_matrix(J, syms)
    if P is not None:
        return Structure("matrix", f, x, matrix=P, jacobian=J)
    if m == p and all(J[i, j] == 0 for i in range(m) for j in range(p) if i != j):
        v = _elementwise([J[i, i] for i in range(m)], syms)
        if v is not None:
            return Structure("diag", f, x, vector=v, jacobian=J)
    # diag(v) P: each row of J is a multiple of the same row of a parameter matrix.
    for ref, M in syms.matrices.items():
        if graph.nodes[ref].kind != "param" or M.shape != J.shape:
            continue
        rows = []
        for i in range(m):
            ratio = sp.simplify(J[i, 0] / M[i, 0])
            if any(sp.simplify(J[i, j] - ratio * M[i, j]) != 0 for j in range(p)):
                break
            rows.append(ratio)
        else:
            v = _elementwise(rows, syms)
            if v is not None:
                return Structure("diag_matrix", f, x, vector=v, matrix=ref, jacobian=J)
    # δ_pq v_p u_r: x is a matrix parameter with m rows, flattened row by row.
    xshape = graph.nodes[x].shape
    if len(xshape) == 2 and xshape[0] == m:
        cols = xshape[1]
        off = all(J[i, q * cols + r] == 0 for i in range(m) for q in range(m) if q != i for r in range(cols))
        if off:
            for ref, M in syms.matrices.items():
                if M.shape != (cols, 1) or graph.nodes[ref].kind == "param":
                    continue
                vs = []
                for i in range(m):
                    v_i = sp.simplify(J[i, i * cols] / M[0])
                    if any(sp.simplify(J[i, i * cols + r] - v_i * M[r]) != 0 for r in range(cols)):
                        break
                    vs.append(v_i)
                else:
                    v = _elementwise(vs, syms)
                    if v is not None:
                        return Structure("delta_outer", f, x, vector=v, outer=ref, jacobian=J)
    return Structure("dense", f, x, jacobian=J)


def explicit_structure(graph: Graph, view: View, f: NodeRef, x: NodeRef, local: LocalJacobians) -> Structure:
    """Derive ∂⁺f/∂x element by element and state its structure."""
    f, x = graph.node(f), graph.node(x)
    J = symbolic_explicit(graph, view, f, x, local)
    return recognise(J, f, x, graph, local)


# ---------------------------------------------------------------------------
# Local formulas as terms of a derivation: "∂s_j/∂s_{j-1} = diag(σ'(a_j)) W".
# ---------------------------------------------------------------------------


def as_term(st: Structure, f_index=None) -> Term:
    """The recognised structure as a term; ``f_index`` rewrites its times relative to an index (f's step = f_index)."""
    def at(r):
        if r is None or r.t is None or f_index is None:
            return r
        return NodeRef(r.name, f_index + (r.t - st.f.t))

    v = st.vector
    vec = Elementwise(v.template, tuple((p, at(r)) for p, r in v.vectors)) if v is not None else None
    f = at(st.f)
    body = {
        "zero": lambda: Zero(),
        "identity": lambda: Identity(f),
        "matrix": lambda: Value(st.matrix),
        "diag": lambda: Diag(vec),
        "diag_matrix": lambda: Prod((Diag(vec), Value(st.matrix))),
        "delta_outer": lambda: DeltaOuter(vec, Value(at(st.outer))),
    }.get(st.kind)
    if body is None:
        raise NotSupported(f"no vector form for a Jacobian of kind {st.kind!r} ({st.f} by {st.x})")
    return body()


@dataclass(frozen=True)
class LocalForm(Labelled):
    """A local Jacobian in vector notation, as recognised: its ``kind`` (see `Structure`) and the term it is.

    Evaluated, proved and printed as its ``body`` (a `derive.terms` term such as
    ``Prod((Diag(Elementwise(σ'(a), a_j)), Value(W)))``); the kind is the name a
    lecture gives the shape ("diagonal", "diag times a matrix").
    """

    kind: str
    body: Term
    _data = ("kind",)

    @classmethod
    def of(cls, st: Structure, f_index=None) -> "LocalForm":
        """The form of a recognised structure; ``f_index`` rewrites its times relative to an index."""
        return cls(st.kind, as_term(st, f_index))

    def __str__(self):
        return str(self.body)
