"""Exact proofs of derivation steps: canonical path-sum forms in the free algebra.

Every term is mapped to a sum of *words*: ordered products of atomic edge
Jacobians ∂v/∂p (p a direct input of v in the cell's equations), each word one
path through the unrolled graph.  Two sides of a derivation step are equal for
*every* choice of the local Jacobians exactly when their canonical forms are
equal (the chain rule: a total derivative is the sum over paths of the products
of edge derivatives; CS7015 Lecture 14, Module 14.3, "summing over all the
paths").  Matrices never commute here, so a swapped factor order, a dropped
term or a shifted index all change the form.

Words are hash-consed (a word is ``(all but the last edge, last edge)`` with an
id), so appending an edge is O(1) and equal words are equal ids.  One reverse
sweep from f gives the paths from f to every node; a product appends the
(short) right factor.  The path-sum form of ∂s_T/∂W is proved in O(T) words,
never through the exponential expression tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from derive.errors import NotSupported
from derive.terms.base import Term, canon_of
from derive.model.graph import Graph, NodeRef, View
from derive.model.ir import jacobian_structure

__all__ = ["Canon", "Poly", "count_paths"]

EMPTY = 0
MAX_WORDS = 2_000_000
_TOO_MANY = object()  # marks a node with more paths than MAX_WORDS


class Poly(dict):
    """A sum of words: {word id: integer coefficient}, zero coefficients dropped."""

    def add(self, other: "Poly", scale: int = 1) -> "Poly":
        out = Poly(self)
        for w, c in other.items():
            v = out.get(w, 0) + scale * c
            if v:
                out[w] = v
            else:
                out.pop(w, None)
        return out


@dataclass
class Canon:
    """Canonical forms over one graph and view (the ordered network of the derivation)."""

    graph: Graph
    view: View
    _init: list = field(default_factory=lambda: [None])
    _last: list = field(default_factory=lambda: [None])
    _ids: dict = field(default_factory=dict)
    _concat: dict = field(default_factory=dict)
    _from: dict = field(default_factory=dict)
    _diag: dict = field(default_factory=dict)

    # -- hash-consed words: a word is (everything but its last edge, its last edge) -------------
    def snoc(self, w: int, edge: "tuple[NodeRef, NodeRef]") -> int:
        """The word w followed by one more edge, O(1)."""
        key = (w, edge)
        out = self._ids.get(key)
        if out is None:
            out = len(self._last)
            self._init.append(w)
            self._last.append(edge)
            self._ids[key] = out
        return out

    def concat(self, w1: int, w2: int) -> int:
        """The word w1 followed by w2: O(length of w2), memoised."""
        key = (w1, w2)
        out = self._concat.get(key)
        if out is None:
            out = w1
            for edge in self.edges(w2):
                out = self.snoc(out, edge)
            self._concat[key] = out
        return out

    def edges(self, w: int) -> "list[tuple[NodeRef, NodeRef]]":
        out = []
        while w != EMPTY:
            out.append(self._last[w])
            w = self._init[w]
        out.reverse()
        return out

    def describe(self, w: int) -> str:
        """A word as the product of atomic Jacobians it stands for."""
        if w == EMPTY:
            return "I"
        return " ".join(f"∂{v}/∂{p}" for v, p in self.edges(w))

    def mul(self, a: Poly, b: Poly) -> Poly:
        if len(a) * len(b) > MAX_WORDS:
            raise NotSupported(f"the canonical form would have {len(a) * len(b)} words (limit {MAX_WORDS}); "
                               "check this identity numerically instead")
        out = Poly()
        for w1, c1 in a.items():
            for w2, c2 in b.items():
                w = self.concat(w1, w2)
                v = out.get(w, 0) + c1 * c2
                if v:
                    out[w] = v
                else:
                    out.pop(w, None)
        return out

    # -- derivatives as path sums --------------------------------------------------
    def paths(self, f: NodeRef, x: NodeRef) -> Poly:
        """∂f/∂x as the sum over atomic paths f <- ... <- x."""
        table = self._from.get(f)
        if table is None:
            table = self._from[f] = self._sweep(f)
        out = table.get(x, Poly())
        if out is _TOO_MANY:
            raise NotSupported(f"∂{f}/∂{x} is a sum over {count_paths(self.graph, f, x)} paths "
                               f"(limit {MAX_WORDS}); check this identity numerically instead")
        return out

    def _sweep(self, f: NodeRef) -> "dict[NodeRef, Poly]":
        """Paths from f to every node below it: reverse topological order, one edge appended at a time."""
        nodes = self.graph.nodes
        table: dict[NodeRef, Poly] = {f: Poly({EMPTY: 1})}
        for v in reversed(self.graph.order[: self.graph.position[f] + 1]):
            words = table.get(v)
            if not words:
                continue
            is_sum = nodes[v].kind == "total"
            for p in nodes[v].parents:
                acc = table.get(p)
                if acc is _TOO_MANY:
                    continue
                if words is _TOO_MANY or len(words) + len(acc or ()) > MAX_WORDS:
                    table[p] = _TOO_MANY
                    continue
                if acc is None:
                    acc = table[p] = Poly()
                for w, c in words.items():
                    # ∂L/∂L_t = 1 for the total loss L = Σ_t L_t: no factor to record.
                    nw = w if is_sum else self.snoc(w, (v, p))
                    acc[nw] = acc.get(nw, 0) + c
        return table

    def explicit(self, f: NodeRef, x: NodeRef) -> Poly:
        """∂⁺f/∂x: the paths from f to x whose inner nodes are all folded (not variables)."""
        if f == x:
            return Poly({EMPTY: 1})
        out = Poly()
        for path in self.view.inner_paths(f, x):
            w = EMPTY
            for v, p in zip(path[:-1], path[1:]):
                if self.graph.nodes[v].kind != "total":
                    w = self.snoc(w, (v, p))
            out[w] = out.get(w, 0) + 1
        return out

    # -- terms ---------------------------------------------------------------------
    def of(self, term: Term) -> Poly:
        """The canonical form of a term with concrete time indices."""
        term = term.expand_indexed()
        return self._of(term)

    def _of(self, term: Term) -> Poly:
        return canon_of(term, self)

    def one(self) -> Poly:
        """The empty word: the canonical form of an empty product."""
        return Poly({EMPTY: 1})

    def zero(self) -> Poly:
        return Poly()

    def difference(self, a: Term, b: Term, limit: int = 3) -> "list[str]":
        """Human-readable words that differ between a and b (empty when equal)."""
        return self.compare(a, b, limit)[0]

    def compare(self, a: Term, b: Term, limit: int = 3) -> "tuple[list[str], str]":
        """(the words that differ, empty when equal; how equality was decided).

        Words are compared as they stand; when they differ, once more with
        adjacent *diagonal* one-step Jacobians allowed to commute (diagonal
        for every value and size, read off the cell's equations by
        `derive.model.ir.jacobian_structure`: diag(σ'(a_j)), the diag(w) of an
        IndRNN cell).  Non-diagonal Jacobians never commute.
        """
        pa, pb = self.of(a), self.of(b)
        diff = pa.add(pb, -1)
        if not diff:
            return [], "canonical path sums agree"
        commuting = self._commuted(pa) == self._commuted(pb)
        if commuting:
            names = sorted({f"∂{v.name}/∂{p.name}" for w in diff for v, p in self.edges(w) if self.diagonal((v, p))})
            return [], ("canonical path sums agree once diagonal one-step Jacobians commute "
                        f"({', '.join(names)}: diagonal by the cell's equations)")
        return self._describe_diff(pa, pb, diff, limit), ""

    # -- diagonal letters commute ----------------------------------------------------
    def diagonal(self, edge: "tuple[NodeRef, NodeRef]") -> bool:
        """The atomic Jacobian ∂v/∂p is diagonal for every value and size (by the cell's equations)."""
        hit = self._diag.get(edge)
        if hit is None:
            v, p = edge
            info, pinfo = self.graph.nodes[v], self.graph.nodes[p]
            hit = False
            if info.kind == "node" and info.expr is not None and tuple(info.shape) == tuple(pinfo.shape):
                kinds = {jacobian_structure(info.expr, k) for k, src in info.inputs if src == p}
                hit = kinds == {"diag"} or kinds == {"diag", "zero"}
            self._diag[edge] = hit
        return hit

    def _normal(self, w: int) -> tuple:
        """The word with each maximal run of diagonal letters sorted: equal iff equal up to commuting them."""
        out, run = [], []
        for e in self.edges(w):
            if self.diagonal(e):
                run.append(e)
                continue
            out.extend(sorted(run, key=_edge_key))
            run = []
            out.append(e)
        out.extend(sorted(run, key=_edge_key))
        return tuple(out)

    def _commuted(self, p: Poly) -> dict:
        acc: dict = {}
        for w, c in p.items():
            k = self._normal(w)
            v = acc.get(k, 0) + c
            if v:
                acc[k] = v
            else:
                acc.pop(k, None)
        return acc

    def _describe_diff(self, pa: Poly, pb: Poly, diff: Poly, limit: int) -> "list[str]":
        out = []
        for w, c in sorted(diff.items(), key=lambda wc: (len(self.edges(wc[0])), self.describe(wc[0]))):
            side = "left" if c > 0 else "right"
            out.append(f"path {self.describe(w)} has coefficient {pa.get(w, 0)} on the left and {pb.get(w, 0)} on the right"
                       f" (extra on the {side})")
            if len(out) >= limit:
                break
        return out


def _edge_key(e):
    return tuple((r.name, -1 if r.t is None else r.t) for r in e)


def count_paths(graph: Graph, f: NodeRef, x: NodeRef) -> int:
    """The exact number of paths from f down to x (Python big integers), O(edges)."""
    if f == x:
        return 1
    pos = graph.position
    lo, hi = pos[x], pos[f]
    count = {x: 1}
    for v in graph.order[lo + 1: hi + 1]:
        c = sum(count.get(p, 0) for p in graph.nodes[v].parents)
        if c:
            count[v] = c
    return count.get(f, 0)
