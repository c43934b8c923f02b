"""Mutation operators on terms: deliberately wrong variants of a correct right-hand side."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derive.terms import (Brace, Const, D, Diag, Gamma, Lam, Norm, Prime, Prod, ProdOver, SpectralRadius, Sum,
                          SumOver, Term, Value, walk)
from derive.model.graph import NodeRef
from derive.terms.base import sub_index


_COMMUTING = (Diag, Const, Gamma, Lam, Norm, SpectralRadius)


def replace_sub(term, old, new):
    """term with the sub-term ``old`` (by identity) replaced by ``new``."""
    if term is old:
        return new
    if not isinstance(term, Term):
        return term
    return term.map(lambda c: replace_sub(c, old, new))


def term_mutants(term: Term) -> "list[tuple[str, Term]]":
    """Deliberately wrong variants of a correct right-hand side, one per kind of slip."""
    subs = list(walk(term))
    out = []
    s = next((x for x in subs if isinstance(x, Sum) and len(x.terms) >= 2), None)
    if s is not None:
        out.append(("dropped term", replace_sub(term, s, Sum(s.terms[:-1]) if len(s.terms) > 2 else s.terms[0])))
    for p in subs:
        if isinstance(p, Prod):
            pair = next((i for i in range(len(p.factors) - 1)
                         if p.factors[i] != p.factors[i + 1]
                         and not (isinstance(p.factors[i], _COMMUTING) and isinstance(p.factors[i + 1], _COMMUTING))),
                        None)
            if pair is not None:
                f = list(p.factors)
                f[pair], f[pair + 1] = f[pair + 1], f[pair]
                out.append(("swapped factor order", replace_sub(term, p, Prod(tuple(f)))))
                break
    else:
        po = next((x for x in subs if isinstance(x, ProdOver) and not isinstance(x.body, _COMMUTING)), None)
        if po is not None:
            out.append(("swapped factor order", replace_sub(term, po, replace(po, descending=not po.descending))))
    rng = next((x for x in subs if isinstance(x, (SumOver, ProdOver))), None)
    if rng is not None:
        out.append(("shifted index", replace_sub(term, rng, replace(rng, lo=sub_index(rng.lo, {}) + 1))))
    else:
        dd = next((x for x in subs if isinstance(x, D) and x.f.t is not None), None)
        if dd is not None:
            shifted = D(NodeRef(dd.f.name, dd.f.t - 1 if isinstance(dd.f.t, int) else dd.f.t - 1), dd.x, dd.explicit)
            out.append(("shifted index", replace_sub(term, dd, shifted)))
        else:
            constant = {id(y) for x in subs if isinstance(x, Prime) and x.act == "identity" for y in walk(x.x)}
            v = next((x for x in subs if isinstance(x, Value) and x.ref.t is not None and id(x) not in constant), None)
            if v is not None:
                out.append(("shifted index", replace_sub(term, v, Value(NodeRef(v.ref.name, v.ref.t - 1), "zero"))))
    return out


_replace_sub = replace_sub   # the names before they were public
_term_mutants = term_mutants
