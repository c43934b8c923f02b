"""Derivative terms: the objects a derivation is made of, and their algebra.

A lecture derivation is a chain of equal expressions built from Jacobians:

- ``D(f, x)``            the total derivative  ∂f/∂x (sum over every path);
- ``D(f, x, explicit=True)``  the explicit derivative ∂⁺f/∂x (other variables
  of the ordered network held constant; CS7015 Lecture 14, Module 14.3);
- ``Prod``  an *ordered* product of Jacobians (matrices do not commute);
- ``Sum``   a sum, printed in the order given;
- ``Brace`` an underbraced term ("explicit", "implicit"), as the slides mark them;
- ``SumOver`` / ``ProdOver``  Σ_{k=lo}^{hi} and Π_{j=lo}^{hi} with symbolic bounds.

Time indices may be SymPy integer symbols (t, k, j, T); ``instantiate`` binds
them and expands the indexed sums and products for a concrete graph.
``ProdOver`` states its factor order: ``descending`` (the default) puts the
factor with the largest index on the left, which is the order the chain rule
produces for column-vector Jacobians: ∂s_t/∂s_k = ∂s_t/∂s_{t-1} ··· ∂s_{k+1}/∂s_k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce

import sympy as sp

from .errors import InvalidValue
from .graph import NodeRef

__all__ = [
    "Term", "D", "Prod", "Sum", "Brace", "SumOver", "ProdOver", "Zero",
    "idx", "node", "prod", "total", "explicit",
]


def idx(name: str) -> sp.Symbol:
    """A time index symbol (t, k, j, T): an integer SymPy symbol."""
    return sp.Symbol(name, integer=True)


def node(name: str, t=None) -> NodeRef:
    """A node reference; ``t`` is an int, a string naming an index, or a SymPy expression."""
    if isinstance(t, str):
        t = sp.sympify(t, locals={c: idx(c) for c in "tkjTiqpr"})
    if isinstance(t, sp.Basic) and t.is_Integer:
        t = int(t)
    return NodeRef(name, t)


def _subs_time(t, mapping):
    if t is None or isinstance(t, int):
        return t
    v = sp.sympify(t).subs(mapping)
    return int(v) if v.is_Integer else v


class Term:
    """Base of derivative terms.  ``a * b`` is the ordered product, ``a + b`` the sum."""

    def __mul__(self, other: "Term") -> "Prod":
        return Prod(tuple(_flat_factors(self) + _flat_factors(other)))

    def __add__(self, other: "Term") -> "Sum":
        return Sum(tuple(_flat_terms(self) + _flat_terms(other)))

    def subs(self, mapping: dict) -> "Term":  # pragma: no cover - overridden
        raise NotImplementedError

    def instantiate(self, **values: int) -> "Term":
        """Bind index symbols (``T=4``) and expand SumOver/ProdOver with concrete bounds."""
        mapping = {idx(k): v for k, v in values.items()}
        return self.subs(mapping).expand_indexed()

    def expand_indexed(self) -> "Term":
        return self

    def _repr_latex_(self) -> str:
        from .latex import latex

        return "$\\displaystyle " + latex(self) + "$"


def _flat_factors(t: Term) -> list:
    return list(t.factors) if isinstance(t, Prod) else [t]


def _flat_terms(t: Term) -> list:
    return list(t.terms) if isinstance(t, Sum) else [t]


@dataclass(frozen=True)
class D(Term):
    """∂f/∂x (total) or ∂⁺f/∂x (explicit)."""

    f: NodeRef
    x: NodeRef
    explicit: bool = False

    def subs(self, mapping):
        return D(NodeRef(self.f.name, _subs_time(self.f.t, mapping)),
                 NodeRef(self.x.name, _subs_time(self.x.t, mapping)), self.explicit)

    def __str__(self):
        return f"∂{'⁺' if self.explicit else ''}{self.f}/∂{self.x}"


@dataclass(frozen=True)
class Zero(Term):
    def subs(self, mapping):
        return self

    def __str__(self):
        return "0"


@dataclass(frozen=True)
class Prod(Term):
    """An ordered product of Jacobians, left to right."""

    factors: tuple

    def subs(self, mapping):
        return Prod(tuple(f.subs(mapping) for f in self.factors))

    def expand_indexed(self):
        return Prod(tuple(x for f in self.factors for x in _flat_factors(f.expand_indexed())))

    def __str__(self):
        return " ".join(f"[{f}]" if isinstance(f, Sum) else str(f) for f in self.factors)


@dataclass(frozen=True)
class Sum(Term):
    """A sum of terms, kept in the order given (for printing)."""

    terms: tuple

    def subs(self, mapping):
        return Sum(tuple(t.subs(mapping) for t in self.terms))

    def expand_indexed(self):
        return Sum(tuple(x for t in self.terms for x in _flat_terms(t.expand_indexed())))

    def __str__(self):
        return " + ".join(map(str, self.terms))


@dataclass(frozen=True)
class Brace(Term):
    """A term marked with an underbrace label, as the slides mark "explicit" and "implicit"."""

    body: Term
    label: str

    def subs(self, mapping):
        return Brace(self.body.subs(mapping), self.label)

    def expand_indexed(self):
        return Brace(self.body.expand_indexed(), self.label)

    def __str__(self):
        return f"{{{self.body}}}_{self.label}"


def _bounds(lo, hi, mapping=None):
    lo, hi = sp.sympify(lo), sp.sympify(hi)
    if mapping:
        lo, hi = lo.subs(mapping), hi.subs(mapping)
    return lo, hi


@dataclass(frozen=True)
class SumOver(Term):
    """Σ_{index=lo}^{hi} body."""

    index: sp.Symbol
    lo: object
    hi: object
    body: Term

    def subs(self, mapping):
        inner = {k: v for k, v in mapping.items() if k != self.index}
        lo, hi = _bounds(self.lo, self.hi, inner)
        return SumOver(self.index, lo, hi, self.body.subs(inner))

    def values(self):
        lo, hi = _bounds(self.lo, self.hi)
        if not (lo.is_Integer and hi.is_Integer):
            raise InvalidValue(f"cannot expand the sum over {self.index} from {lo} to {hi}: bounds are not numbers")
        return range(int(lo), int(hi) + 1)

    def expand_indexed(self):
        terms = [self.body.subs({self.index: v}).expand_indexed() for v in self.values()]
        if not terms:
            return Zero()
        return Sum(tuple(x for t in terms for x in _flat_terms(t)))

    def __str__(self):
        return f"Σ_{{{self.index}={self.lo}}}^{{{self.hi}}} ({self.body})"


@dataclass(frozen=True)
class ProdOver(Term):
    """Π_{index=lo}^{hi} body, an ordered product.

    ``descending=True``: the factor for ``hi`` stands leftmost (the chain-rule
    order for column-vector Jacobians).  ``descending=False`` puts ``lo`` leftmost.
    An empty product (hi < lo) is the identity: ``identity`` names the node whose
    Jacobian with itself it is, so the canonical form can keep the term.
    """

    index: sp.Symbol
    lo: object
    hi: object
    body: Term
    descending: bool = True
    identity: "NodeRef | None" = None

    def subs(self, mapping):
        inner = {k: v for k, v in mapping.items() if k != self.index}
        lo, hi = _bounds(self.lo, self.hi, inner)
        ident = self.identity
        if ident is not None:
            ident = NodeRef(ident.name, _subs_time(ident.t, inner))
        return replace(self, lo=lo, hi=hi, body=self.body.subs(inner), identity=ident)

    def expand_indexed(self):
        lo, hi = _bounds(self.lo, self.hi)
        if not (lo.is_Integer and hi.is_Integer):
            raise InvalidValue(f"cannot expand the product over {self.index} from {lo} to {hi}: bounds are not numbers")
        vals = list(range(int(lo), int(hi) + 1))
        if self.descending:
            vals.reverse()
        if not vals:
            if self.identity is None:
                raise InvalidValue(f"the product over {self.index} from {lo} to {hi} is empty and names no identity")
            return D(self.identity, self.identity)
        return Prod(tuple(x for v in vals for x in _flat_factors(self.body.subs({self.index: v}).expand_indexed())))

    def __str__(self):
        return f"Π_{{{self.index}={self.lo}}}^{{{self.hi}}} ({self.body})"


def total(f: NodeRef, x: NodeRef) -> D:
    return D(f, x, False)


def explicit(f: NodeRef, x: NodeRef) -> D:
    return D(f, x, True)


def prod(*factors: Term) -> Term:
    return reduce(lambda a, b: a * b, factors)
