"""Derivatives and their algebra: ∂f/∂x, ∂⁺f/∂x, ordered products, sums, indexed Σ and Π, labels.

These are the terms of the free algebra of path sums (`derive.prove.canon`): two
expressions built from them are equal for every cell exactly when their
canonical forms are equal (CS7015 Lecture 14, Module 14.3, "summing over all
the paths").  Each class says how it is evaluated (`numeric`), written at one
step in SymPy (`symbolic`) and canonicalised (`canon`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
import sympy as sp

from ..errors import InvalidValue, ShapeError
from derive.model.graph import NodeRef
from ..indices import as_index, index_symbol
from .base import (_PLAIN_EXPAND, OPERATORS, Term, canon_of, expand, is_scalar, numeric_of, sub_time, sym_broadcast, sym_mul,
                   symbolic_of)

__all__ = ["D", "Zero", "Prod", "Sum", "Brace", "Labelled", "SumOver", "ProdOver",
           "idx", "node", "total", "explicit", "prod", "flat_factors", "flat_terms", "mul", "add"]


def idx(name: str) -> sp.Symbol:
    """A time index symbol (t, k, j, T): an integer SymPy symbol."""
    return index_symbol(name)


def node(name: str, t=None) -> NodeRef:
    """A node reference; ``t`` is an int, index text (``"t - 1"``, read by `derive.indices`) or a SymPy expression."""
    if isinstance(t, str):
        t = as_index(t)
    if isinstance(t, sp.Basic) and t.is_Integer:
        t = int(t)
    return NodeRef(name, t)


def flat_factors(t: Term) -> list:
    return list(t.factors) if isinstance(t, Prod) else [t]


def flat_terms(t: Term) -> list:
    return list(t.terms) if isinstance(t, Sum) else [t]


def _children(items: tuple) -> "tuple | None":
    """The operands as the sub-terms `Term.children` would list (None: not all terms; walk them)."""
    return items if all(isinstance(x, Term) for x in items) else None


def mul(a, b, where):
    """The product of two values (a scalar scales; matrices chain), None an exact zero."""
    if a is None or b is None:
        return None
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    if np.shape(a)[1] != np.shape(b)[0]:
        raise ShapeError(f"in {where}: cannot multiply a {np.shape(a)[0]}x{np.shape(a)[1]} matrix by a "
                         f"{np.shape(b)[0]}x{np.shape(b)[1]} matrix: the Jacobians do not chain")
    return a @ b


def add(a, b, where):
    if a is None:
        return b
    if b is None:
        return a
    if np.ndim(a) and np.ndim(b) and np.shape(a) != np.shape(b):
        raise ShapeError(f"in {where}: cannot add {np.shape(a)} and {np.shape(b)}")
    return a + b


@dataclass(frozen=True)
class D(Term):
    """∂f/∂x (total) or ∂⁺f/∂x (explicit: the direct dependence, CS7015 Lecture 14, Module 14.3)."""

    f: NodeRef
    x: NodeRef
    explicit: bool = False

    def numeric(self, ctx):
        return ctx.derivative(self)

    def symbolic(self, ctx):
        return ctx.derivative(self)

    def canon(self, ctx):
        f, x = ctx.graph.node(self.f), ctx.graph.node(self.x)
        return ctx.explicit(f, x) if self.explicit else ctx.paths(f, x)

    def __str__(self):
        return f"∂{'⁺' if self.explicit else ''}{self.f}/∂{self.x}"


@dataclass(frozen=True)
class Zero(Term):
    """The zero term (an empty sum)."""

    def numeric(self, ctx):
        return None

    def canon(self, ctx):
        return ctx.zero()

    def __str__(self):
        return "0"


@dataclass(frozen=True)
class Prod(Term):
    """An ordered product, left to right: Jacobians chain, scalars scale."""

    factors: tuple

    def children(self) -> tuple:
        return _children(self.factors) or super().children()

    def expand_indexed(self):
        if self.fixed():
            return self
        return Prod(tuple(x for f in self.factors for x in flat_factors(expand(f))))

    def numeric(self, ctx):
        out = None
        for i, factor in enumerate(self.factors):
            v = numeric_of(factor, ctx)
            if v is None:
                return None
            out = v if i == 0 else mul(out, v, self)
        return out

    def symbolic(self, ctx):
        out, scalar = None, True
        for f in self.factors:
            v, vs = symbolic_of(f, ctx), is_scalar(f)
            out = v if out is None else sym_mul(out, v, scalar, vs)
            scalar = scalar and vs
        return out

    def canon(self, ctx):
        product = getattr(ctx, "product", None)   # `derive.prove.canon.Canon`: word by word
        if product is not None:
            return product(self.factors)
        out = ctx.one()
        for factor in self.factors:
            out = ctx.mul(out, canon_of(factor, ctx))
            if not out:
                break
        return out

    def __str__(self):
        return " ".join(f"[{f}]" if isinstance(f, Sum) else str(f) for f in self.factors)


@dataclass(frozen=True)
class Sum(Term):
    """A sum of terms, kept in the order given (for printing)."""

    terms: tuple

    def children(self) -> tuple:
        return _children(self.terms) or super().children()

    def expand_indexed(self):
        if self.fixed():
            return self
        return Sum(tuple(x for t in self.terms for x in flat_terms(expand(t))))

    def numeric(self, ctx):
        out = None
        for t in self.terms:
            out = add(out, numeric_of(t, ctx), self)
        return out

    def symbolic(self, ctx):
        out, scalar = None, True
        for t in self.terms:
            v, vs = symbolic_of(t, ctx), is_scalar(t)
            if out is None:
                out = v
            else:
                a, b = sym_broadcast(out, v, scalar, vs, "add")
                out = a + b
            scalar = scalar and vs
        return out

    def canon(self, ctx):
        out = ctx.zero()
        for t in self.terms:
            out.iadd(canon_of(t, ctx))   # out is ours; the summands' forms may be shared
        return out

    def __str__(self):
        out = ""
        for i, t in enumerate(self.terms):
            text = str(t)
            if text.startswith("-1 "):
                out += (" - " if i else "-") + text[3:]
            else:
                out += (" + " if i else "") + text
        return out


class Labelled(Term):
    """A term shown with a label, meaning exactly its ``body`` (evaluated, proved and written as it)."""

    def numeric(self, ctx):
        return self.body.numeric(ctx)

    def symbolic(self, ctx):
        return self.body.symbolic(ctx)

    def canon(self, ctx):
        return self.body.canon(ctx)


@dataclass(frozen=True)
class Brace(Labelled):
    """A term marked with an underbrace label, as the slides mark "explicit" and "implicit"."""

    body: Term
    label: str
    _data = ("label",)

    def __str__(self):
        return f"{{{self.body}}}_{self.label}"


_PLAIN_EXPAND.extend([Prod.expand_indexed, Sum.expand_indexed])
Prod._flattens, Sum._flattens = "factors", "terms"   # `Term.fixed`: what expand_indexed flattens


def _bound(v):
    """An index bound as a SymPy expression (text is read by the index grammar, never by sympify)."""
    if isinstance(v, str):
        v = as_index(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return sp.Integer(v)
    if isinstance(v, sp.Basic):
        return v
    raise InvalidValue(f"index bound {v!r}: expected an integer, index text or a SymPy expression")


def sub_bound(e, mapping):
    """An index bound with index symbols substituted (xreplace: the keys are symbols)."""
    if all(isinstance(k, sp.Symbol) for k in mapping):
        return e.xreplace({k: sp.Integer(v) if isinstance(v, int) else v for k, v in mapping.items()})
    return e.subs(mapping)


def _bounds(lo, hi, mapping=None):
    lo, hi = _bound(lo), _bound(hi)
    if mapping:
        lo, hi = sub_bound(lo, mapping), sub_bound(hi, mapping)
    return lo, hi


class _Indexed(Term):
    """Shared by Σ and Π: an index bound over [lo, hi] in a body."""

    _data = ("index", "descending")

    def subs(self, mapping):
        inner = {k: v for k, v in mapping.items() if k != self.index}
        lo, hi = _bounds(self.lo, self.hi, inner)
        out = replace(self, lo=lo, hi=hi, body=self.body.subs(inner))
        return out

    def values(self):
        lo, hi = _bounds(self.lo, self.hi)
        if not (lo.is_Integer and hi.is_Integer):
            raise InvalidValue(f"cannot expand the {self._what} over {self.index} from {lo} to {hi}: "
                               "bounds are not numbers")
        return range(int(lo), int(hi) + 1)

    def numeric(self, ctx):
        return self.expand_indexed().numeric(ctx)

    def symbolic(self, ctx):
        return self.expand_indexed().symbolic(ctx)

    def canon(self, ctx):
        return self.expand_indexed().canon(ctx)


@dataclass(frozen=True)
class SumOver(_Indexed):
    """Σ_{index=lo}^{hi} body."""

    index: sp.Symbol
    lo: object
    hi: object
    body: Term
    _what = "sum"

    def expand_indexed(self):
        terms = [self.body.subs({self.index: v}).expand_indexed() for v in self.values()]
        if not terms:
            return Zero()
        return Sum(tuple(x for t in terms for x in flat_terms(t)))

    def __str__(self):
        return f"Σ_{{{self.index}={self.lo}}}^{{{self.hi}}} ({self.body})"


@dataclass(frozen=True)
class ProdOver(_Indexed):
    """Π_{index=lo}^{hi} body, an ordered product.

    ``descending=True``: the factor for ``hi`` stands leftmost (the chain-rule
    order for column-vector Jacobians, CS7015 Lecture 14, Module 14.4).
    ``descending=False`` puts ``lo`` leftmost.  An empty product (hi < lo) is
    the identity: ``identity`` names the node whose Jacobian with itself it
    is, so the canonical form can keep the term.
    """

    index: sp.Symbol
    lo: object
    hi: object
    body: Term
    descending: bool = True
    identity: "NodeRef | None" = None
    _what = "product"

    def subs(self, mapping):
        out = super().subs(mapping)
        if self.identity is not None:
            inner = {k: v for k, v in mapping.items() if k != self.index}
            out = replace(out, identity=sub_time(self.identity, inner))
        return out

    def expand_indexed(self):
        vals = list(self.values())
        if self.descending:
            vals.reverse()
        if not vals:
            if self.identity is None:
                lo, hi = _bounds(self.lo, self.hi)
                raise InvalidValue(f"the product over {self.index} from {lo} to {hi} is empty and names no identity")
            return D(self.identity, self.identity)
        return Prod(tuple(x for v in vals for x in flat_factors(self.body.subs({self.index: v}).expand_indexed())))

    def __str__(self):
        return f"Π_{{{self.index}={self.lo}}}^{{{self.hi}}} ({self.body})"


def total(f: NodeRef, x: NodeRef) -> D:
    return D(f, x, False)


def explicit(f: NodeRef, x: NodeRef) -> D:
    return D(f, x, True)


def prod(*factors: Term) -> Term:
    return reduce(lambda a, b: a * b, factors)


OPERATORS["mul"] = lambda a, b: Prod(tuple(flat_factors(a) + flat_factors(b)))
OPERATORS["add"] = lambda a, b: Sum(tuple(flat_terms(a) + flat_terms(b)))
