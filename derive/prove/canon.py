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
from derive.terms.calculus import D, Labelled, Prod, Sum

__all__ = ["Canon", "Poly", "TooLarge", "count_paths", "WORD_BUDGET"]

EMPTY = 0
MAX_WORDS = 2_000_000      # words in one sum (one node's paths, one product)
WORD_BUDGET = 3_000_000    # distinct words one Canon may create (~4 µs each): the size budget of an exact proof
_TOO_MANY = object()  # marks a node with more paths than MAX_WORDS


class TooLarge(NotSupported):
    """The exact proof would exceed its size budget (issue 14, item 6c): not a failure of the step,
    a proof that cannot be afforded; `derive.checks.verify` leaves the step to the independent numeric checks
    and says so.  The Canon that raised it is spent (its sweeps may be half done) and refuses further work."""


class Poly(dict):
    """A sum of words: {word id: integer coefficient}, zero coefficients dropped.

    A Poly handed out by `Canon` may be shared (memoised); `add` returns a new
    one, `iadd` accumulates into a Poly the caller owns.
    """

    def add(self, other: "Poly", scale: int = 1) -> "Poly":
        return Poly(self).iadd(other, scale)

    def iadd(self, other: "Poly", scale: int = 1) -> "Poly":
        get, pop = self.get, self.pop
        for w, c in other.items():
            v = get(w, 0) + scale * c
            if v:
                self[w] = v
            else:
                pop(w, None)
        return self


class _Sweep:
    """A reverse sweep from f, run only as far down the topological order as asked (resumable)."""

    __slots__ = ("table", "next")

    def __init__(self, start: int, seed: int = 0):
        self.table: dict = {start: Poly({seed: 1})}    # position in graph.order -> paths to that node
        self.next = start   # position in graph.order of the next node to push down


@dataclass
class Canon:
    """Canonical forms over one graph and view (the ordered network of the derivation).

    Cost (issue 14, item 5a): edges are interned as small integers and words
    hash-consed as (word without its last edge, last edge id), so appending an
    edge is one dict look-up; `concat` is memoised on every prefix of its right
    factor, so the T words of Σ_k ∂s_t/∂s_k ∂⁺s_k/∂θ, which share prefixes,
    are multiplied on the left in O(T) appends, not O(T²); sweeps stop at the
    node asked for; the canonical form of a term is memoised by identity, so
    the lines of a recursive expansion, which share their terms, cost O(T)
    each.
    """

    graph: Graph
    view: View
    _init: list = field(default_factory=lambda: [None])
    _last: list = field(default_factory=lambda: [None])   # edge ids
    _ids: dict = field(default_factory=dict)
    _edge: list = field(default_factory=list)             # edge id -> (v, p)
    _eid: dict = field(default_factory=dict)              # (v, p) -> edge id
    _concat: dict = field(default_factory=dict)
    _from: dict = field(default_factory=dict)
    _explicit: dict = field(default_factory=dict)
    _diag: dict = field(default_factory=dict)
    _reach: dict = field(default_factory=dict)
    _reach_all: dict = field(default_factory=dict)
    _pe: "list | None" = None
    _sums: "list | None" = None
    memo: dict = field(default_factory=dict)              # id(term) -> (term, Poly)
    _context: dict = field(default_factory=dict)          # (id(term), word) -> (term, w · Poly)
    budget: int = WORD_BUDGET
    spent: str = ""                                       # why the budget ran out (then nothing more is done)

    # -- hash-consed words: a word is (everything but its last edge, its last edge) -------------
    def edge_id(self, edge: "tuple[NodeRef, NodeRef]") -> int:
        e = self._eid.get(edge)
        if e is None:
            e = self._eid[edge] = len(self._edge)
            self._edge.append(edge)
        return e

    def snoc(self, w: int, edge: "tuple[NodeRef, NodeRef]") -> int:
        """The word w followed by one more edge, O(1)."""
        return self._snoc(w, self.edge_id(edge))

    def _give_up(self, why: str):
        self.spent = why
        raise TooLarge(f"{why}: the exact proof exceeds its size budget")

    def _snoc(self, w: int, e: int) -> int:
        key = (w << 32) | e
        out = self._ids.get(key)
        if out is None:
            out = len(self._last)
            if out >= self.budget:
                self._give_up(f"more than {self.budget} distinct words")
            self._init.append(w)
            self._last.append(e)
            self._ids[key] = out
        return out

    def concat(self, w1: int, w2: int) -> int:
        """The word w1 followed by w2, memoised on every prefix of w2: words sharing a prefix share the work."""
        if w2 == EMPTY:
            return w1
        if w1 == EMPTY:
            return w2   # hash-consing: the word built from the empty word edge by edge is w2 itself
        memo = self._concat.get(w1)
        if memo is None:
            memo = self._concat[w1] = {}
        out = memo.get(w2)
        if out is not None:
            return out
        stack, w, init = [], w2, self._init
        while True:
            stack.append(w)
            w = init[w]
            if w == EMPTY:
                out = w1
                break
            out = memo.get(w)
            if out is not None:
                break
        last = self._last
        for w in reversed(stack):
            out = self._snoc(out, last[w])
            memo[w] = out
        return out

    def edges(self, w: int) -> "list[tuple[NodeRef, NodeRef]]":
        out = []
        while w != EMPTY:
            out.append(self._edge[self._last[w]])
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
            self._give_up(f"the canonical form would have {len(a) * len(b)} words (limit {MAX_WORDS})")
        if len(a) == 1 and len(b) == 1:
            (w1, c1), = a.items()
            (w2, c2), = b.items()
            return Poly({self.concat(w1, w2): c1 * c2})
        out = Poly()
        get, pop, concat = out.get, out.pop, self.concat
        for w1, c1 in a.items():
            for w2, c2 in b.items():
                w = concat(w1, w2)
                v = get(w, 0) + c1 * c2
                if v:
                    out[w] = v
                else:
                    pop(w, None)
        return out

    # -- derivatives as path sums --------------------------------------------------
    def paths(self, f: NodeRef, x: NodeRef) -> Poly:
        """∂f/∂x as the sum over atomic paths f <- ... <- x.

        Towards a leaf x (a parameter, an initial state) the sweep from f only
        visits the nodes that depend on x; towards an inner node it visits
        everything above x, and is resumed, not restarted, for a lower x."""
        if self.spent:
            raise TooLarge(f"{self.spent}: the exact proof exceeds its size budget")
        g = self.graph
        px = g.position.get(x)
        leaf = px is not None and not g.nodes[x].parents
        key = (f, x) if leaf else f
        sweep = self._from.get(key)
        if sweep is None:
            sweep = self._from[key] = _Sweep(g.position[f])
        if px is None:
            return Poly()
        if sweep.next >= px:
            self._push(sweep, px, self._reaches(x) if leaf else None)
        out = sweep.table.get(px)
        if out is None:
            return Poly()
        if out is _TOO_MANY:
            self._give_up(f"∂{f}/∂{x} is a sum over {count_paths(self.graph, f, x)} paths (limit {MAX_WORDS})")
        return out

    def _reaches(self, x: NodeRef) -> "bytearray":
        """reach[i] = 1 when the node at position i depends on x (x included): one forward pass."""
        hit = self._reach_all.get(x)
        if hit is None:
            g, pe = self.graph, self._positions()[1]
            px = g.position[x]
            hit = bytearray(len(g.order))
            hit[px] = 1
            for i in range(px + 1, len(g.order)):
                if any(hit[p] for p, _ in pe[i]):
                    hit[i] = 1
            self._reach_all[x] = hit
        return hit

    def _positions(self):
        """The graph as integers: (is a sum node, ((parent position, edge id), ...)) per position."""
        if self._pe is None:
            g = self.graph
            pos = g.position
            self._sums = [g.nodes[v].kind == "total" for v in g.order]
            self._pe = [tuple((pos[p], self.edge_id((v, p))) for p in g.nodes[v].parents) for v in g.order]
        return self._sums, self._pe

    def _push(self, sweep: _Sweep, stop: int, only: "set | None" = None) -> None:
        """Push the paths of the nodes at positions sweep.next down to stop + 1 onto their parents
        (reverse topological order, one edge appended at a time): afterwards the paths to every node at
        position >= stop are complete, since a node's parents come before it.  ``only``: the nodes
        that lead to the target (the others are not pushed to)."""
        table, snoc = sweep.table, self._snoc
        sums, parent_edges = self._positions()
        for i in range(sweep.next, stop, -1):
            words = table.get(i)
            if not words:
                continue
            is_sum = sums[i]
            for p, e in parent_edges[i]:
                if only is not None and not only[p]:
                    continue
                acc = table.get(p)
                if acc is _TOO_MANY:
                    continue
                if words is _TOO_MANY or len(words) + len(acc or ()) > MAX_WORDS:
                    table[p] = _TOO_MANY
                    continue
                if acc is None:
                    acc = table[p] = Poly()
                get = acc.get
                if is_sum:
                    # ∂L/∂L_t = 1 for the total loss L = Σ_t L_t: no factor to record.
                    for w, c in words.items():
                        acc[w] = get(w, 0) + c
                else:
                    for w, c in words.items():
                        nw = snoc(w, e)
                        acc[nw] = get(nw, 0) + c
        sweep.next = min(sweep.next, stop)

    def explicit(self, f: NodeRef, x: NodeRef) -> Poly:
        """∂⁺f/∂x: the paths from f to x whose inner nodes are all folded (not variables)."""
        if f == x:
            return Poly({EMPTY: 1})
        out = self._explicit.get((f, x))
        if out is not None:
            return out
        out = Poly()
        for path in self.view.inner_paths(f, x):
            w = EMPTY
            for v, p in zip(path[:-1], path[1:]):
                if self.graph.nodes[v].kind != "total":
                    w = self.snoc(w, (v, p))
            out[w] = out.get(w, 0) + 1
        self._explicit[(f, x)] = out
        return out

    def has_implicit(self, f: NodeRef, x: NodeRef) -> bool:
        """Does some path from f to x pass through a variable of the view, i.e. len(paths) > len(explicit)?

        The first variable u inside such a path is an explicit parent of f (the nodes
        before it are folded), and x is reachable from u; conversely any such u gives one.
        So: some explicit parent u ∉ {f, x} of f depends on x (`_depends`), without the paths."""
        if f == x:
            return False
        if not (self.view.is_variable(f) and self.view.is_variable(x)):   # a folded end: count the paths
            return len(self.paths(f, x)) > len(self.explicit(f, x))
        return any(u != x and u != f and self._depends(u, x) for u in self.view.parents(f))

    def _depends(self, u: NodeRef, x: NodeRef) -> bool:
        """Is x below u?  A search down from u that never goes below x's place in the order (memoised)."""
        key = (u, x)
        hit = self._reach.get(key)
        if hit is None:
            nodes, pos = self.graph.nodes, self.graph.position
            lo = pos[x]
            stack, seen, hit = [u], {u}, False
            while stack and not hit:
                for p in nodes[stack.pop()].parents:
                    if p == x:
                        hit = True
                        break
                    if p not in seen and pos[p] > lo:
                        seen.add(p)
                        stack.append(p)
            self._reach[key] = hit
        return hit

    def product(self, factors, w: int = EMPTY, c: int = 1) -> Poly:
        """w·c times the ordered product of the factors.  Single-word factors (one derivative, one
        path) are chained word by word; a sum, or a total derivative down to a leaf (∂s_j/∂W), is
        formed *after* the word so far (`in_context`), so its words are never built on their own."""
        cached, concat = self.cached, self.concat
        out = None
        for factor in factors:
            if out is None and w != EMPTY and self._contextual(factor):
                p = self.in_context(factor, w)
                if len(p) == 1:
                    (w, cf), = p.items()
                    c *= cf
                else:
                    out = Poly({k: v * c for k, v in p.items()}) if c != 1 else Poly(p)
                if not p:
                    return Poly()
                continue
            p = cached(factor) if isinstance(factor, Term) else canon_of(factor, self)
            if out is None and len(p) == 1:
                (wf, cf), = p.items()
                w, c = concat(w, wf), c * cf
                continue
            if out is None:
                out = Poly({w: c})
            out = self.mul(out, p)
            if not out:
                return out
        return Poly({w: c}) if out is None else out

    def in_context(self, term: Term, w: int) -> Poly:
        """The word w followed by the canonical form of term (= mul({w: 1}, cached(term))), memoised.

        Sums distribute; a product continues from w; a total derivative ∂f/∂x down to a leaf is a
        sweep from f *seeded with w*: its words are w's extensions, which the left-hand side's sweep
        has usually built already, so a line of a recursive expansion creates no new words."""
        key = (id(term), w)
        hit = self._context.get(key)
        if hit is not None:
            return hit[1]
        if self.spent:
            raise TooLarge(f"{self.spent}: the exact proof exceeds its size budget")
        body = term
        while isinstance(body, Labelled):
            body = body.body
        if isinstance(body, Sum):
            out = Poly()
            for t in body.terms:
                out.iadd(self.in_context(t, w) if isinstance(t, Term) else self.mul(Poly({w: 1}), canon_of(t, self)))
        elif isinstance(body, Prod):
            out = self.product(body.factors, w)
        elif isinstance(body, D) and not body.explicit and self._to_leaf(body):
            out = self._seeded(w, self.graph.node(body.f), self.graph.node(body.x))
        else:
            out = self.mul(Poly({w: 1}), self.cached(term))
        self._context[key] = (term, out)
        return out

    def _contextual(self, factor) -> bool:
        """Worth forming after the word so far: a sum, or a total derivative down to a leaf."""
        while isinstance(factor, Labelled):
            factor = factor.body
        return isinstance(factor, Sum) or (isinstance(factor, D) and not factor.explicit and self._to_leaf(factor))

    def _to_leaf(self, term: D) -> bool:
        g = self.graph
        x = g.node(term.x)
        return x in g.nodes and not g.nodes[x].parents and g.node(term.f) != x

    def _seeded(self, w: int, f: NodeRef, x: NodeRef) -> Poly:
        """w · ∂f/∂x for a leaf x: the sweep from f started from the word w instead of the empty word."""
        g = self.graph
        pf, px = g.position[f], g.position[x]
        if pf < px:
            return Poly()
        sweep = _Sweep(pf, w)
        self._push(sweep, px, self._reaches(x))
        out = sweep.table.get(px)
        if out is _TOO_MANY:
            self._give_up(f"∂{f}/∂{x} is a sum over {count_paths(g, f, x)} paths (limit {MAX_WORDS})")
        return out or Poly()

    def cached(self, term: Term) -> Poly:
        """The canonical form of a term, memoised by identity (the memo holds the term, so ids stay unique)."""
        hit = self.memo.get(id(term))
        if hit is not None:
            return hit[1]
        if self.spent:
            raise TooLarge(f"{self.spent}: the exact proof exceeds its size budget")
        out = term.canon(self)
        self.memo[id(term)] = (term, out)
        return out

    # -- terms ---------------------------------------------------------------------
    def of(self, term: Term) -> Poly:
        """The canonical form of a term with concrete time indices."""
        term = term.expand_indexed()
        return self._of(term)

    def _of(self, term: Term) -> Poly:
        return self.cached(term)

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
