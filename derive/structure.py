"""Jacobian structure, derived and not typed: recognise diag(σ'(a_j)), diag(σ'(a_j)) W, δ_pq ...

SymPy computes the element-level Jacobian of an explicit derivative for
concrete sizes (`derive.local`); this module reads its structure off the
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
not a pattern match taken on trust; `derive.verify` compares a `LocalForm` with
the Jacobian entry by entry once more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .errors import NotSupported
from .graph import Graph, NodeRef, View
from .local import LocalJacobians, _flat

__all__ = ["Structure", "Elementwise", "symbolic_explicit", "recognise", "explicit_structure"]


@dataclass(frozen=True)
class Elementwise:
    """A vector expression applied entry by entry: ``template`` in placeholder symbols.

    ``vectors`` maps each placeholder to the node it stands for (at the
    Jacobian's time step), e.g. {a: a_j} for σ'(a_j) or {o: o_t, s: s_t} for
    o_t ⊙ tanh'(s_t).
    """

    template: sp.Expr
    vectors: "tuple[tuple[sp.Symbol, NodeRef], ...]"

    def __str__(self):
        return str(self.template.subs({p: sp.Symbol(str(r)) for p, r in self.vectors}))


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
from .algebra import Term, _subs_time  # noqa: E402


@dataclass(frozen=True)
class LocalForm(Term):
    """A local Jacobian written in vector notation, with symbolic time indices.

    ``kind`` as in `Structure`; ``template`` an element-wise SymPy expression in
    placeholder symbols, ``vectors`` the node each placeholder stands for.
    """

    kind: str
    template: "sp.Expr | None" = None
    vectors: "tuple[tuple[sp.Symbol, NodeRef], ...]" = ()
    matrix: "NodeRef | None" = None
    outer: "NodeRef | None" = None

    def subs(self, mapping):
        def sub(r):
            return None if r is None else NodeRef(r.name, _subs_time(r.t, mapping))

        return type(self)(self.kind, self.template, tuple((p, sub(r)) for p, r in self.vectors),
                          sub(self.matrix), sub(self.outer))

    @classmethod
    def of(cls, st: Structure, f_index=None) -> "LocalForm":
        """The form of a recognised structure; ``f_index`` rewrites its times relative to an index."""
        v = st.vector
        form = cls(st.kind, v.template if v else None, v.vectors if v else (), st.matrix, st.outer)
        if f_index is not None:
            shift = {}
            for r in [r for _, r in form.vectors] + [form.outer]:
                if r is not None and r.t is not None:
                    shift[r] = NodeRef(r.name, f_index + (r.t - st.f.t))
            form = LocalForm(form.kind, form.template, tuple((p, shift.get(r, r)) for p, r in form.vectors),
                             form.matrix, shift.get(form.outer, form.outer))
        return form

    def symbolic(self, graph: Graph, local: LocalJacobians, f: NodeRef, x: NodeRef) -> sp.Matrix:
        """The matrix this form stands for, in the element symbols of f's step."""
        syms = _Symbols(graph, local, f)
        m, p = graph.size(f), graph.size(x)
        vec = None
        if self.template is not None:
            vec = [self.template.xreplace({ph: syms.matrices[r][i] for ph, r in self.vectors}) for i in range(m)]
        if self.kind == "zero":
            return sp.zeros(m, p)
        if self.kind == "identity":
            return sp.eye(m)
        if self.kind == "matrix":
            return syms.matrices[self.matrix]
        if self.kind == "diag":
            return sp.diag(*vec)
        if self.kind == "diag_matrix":
            return sp.diag(*vec) * syms.matrices[self.matrix]
        if self.kind == "delta_outer":
            u = syms.matrices[self.outer]
            cols = u.rows
            return sp.Matrix(m, m * cols, lambda i, c: vec[i] * u[c % cols] if c // cols == i else 0)
        raise NotSupported(f"no matrix for a local form of kind {self.kind!r}")

    def numeric(self, values: dict, m: int, p: int):
        """The matrix with the nodes' numeric values substituted."""
        import numpy as np

        from . import activations

        vec = None
        if self.template is not None:
            phs = [ph for ph, _ in self.vectors]
            mods = [{}, "numpy"]
            for a in activations.names():
                mods[0].update(activations.get(a).lambdify_modules())
            fn = sp.lambdify(phs, self.template, modules=mods)
            vec = np.broadcast_to(np.asarray(fn(*[np.ravel(values[r]) for _, r in self.vectors]), dtype=float), (m,))
        if self.kind == "zero":
            return np.zeros((m, p))
        if self.kind == "identity":
            return np.eye(m)
        if self.kind == "matrix":
            return np.asarray(values[self.matrix], dtype=float)
        if self.kind == "diag":
            return np.diag(vec)
        if self.kind == "diag_matrix":
            return np.diag(vec) @ values[self.matrix]
        if self.kind == "delta_outer":
            u = np.ravel(values[self.outer])
            return np.einsum("pq,r->pqr", np.diag(vec), u).reshape(m, -1)
        raise NotSupported(f"no matrix for a local form of kind {self.kind!r}")

    def __str__(self):
        v = self.template.subs({p: sp.Symbol(str(r)) for p, r in self.vectors}) if self.template is not None else None
        return {"zero": "0", "identity": "I", "matrix": f"{self.matrix}", "diag": f"diag({v})",
                "diag_matrix": f"diag({v}) {self.matrix}",
                "delta_outer": f"δ_pq ({v})_p ({self.outer})_r"}.get(self.kind, self.kind)
