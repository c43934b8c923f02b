"""What the documents typeset for the claims whose meaning has no equation of terms.

A `Computed`, `Exact`, `Shapes` or `JacobianShape` claim is checked by a
function or a number, so its meaning has no lhs = rhs to print; its
``display`` is the statement as mathematics, a `derive.terms` term in the
engine's names, printed in the claim's notation (Applied NLP's U for the
engine's W, CS224n's W_h ...).  `display(claim_id)` returns it; each lecture
module passes ``display=display("l59-eq12")``.

The terms only typeset: what they state is checked by the claim's meaning.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from derive.errors import UnknownName
from derive.terms import (Cases, Chain, Const, D, Equation, Frac, Gamma, Identity, Norm, Power, Prime, Prod,
                          ProdOver, RealSpace, Relation, SetOf, SumOver, Sup, System, Text, Value, Var, idx, node)

__all__ = ["display", "norm_rule", "value_rule"]

t, k, T, tau = idx("t"), idx("k"), idx("T"), idx("tau")


def norm_rule(g: Var, threshold, strict: bool = True):
    """g <- threshold/||g|| g if ||g|| > threshold (>= when not ``strict``, CS224n Algorithm 1), else g."""
    when = Relation(Norm(g), ">" if strict else ">=", threshold)
    return Relation(g, "<-", Cases(((Prod((Frac(threshold, Norm(g)), g)), when), (g, None))))


def value_rule(g: Var, threshold=Const(1)):
    """g <- -1 if g < -1, g if -1 <= g <= 1, 1 if g > 1, entry by entry (value clipping, corrected)."""
    lo = Const(-1) if threshold == Const(1) else Prod((Const(-1), threshold))
    return Relation(g, "<-", Cases(((lo, Relation(g, "<", lo)), (g, Chain.of(lo, "<=", g, "<=", threshold)),
                                    (threshold, Relation(g, ">", threshold)))))


def _shape(term, *dims):
    return Relation(term, "in", RealSpace(dims))


def _gamma(act: str, value):
    x = Var("x")
    return Chain.of(Gamma(act), "=", Sup(x, Prime(x, act)), "=", Const(value))


def _cell_lines(cell, names):
    """The cell's own equations for ``names``, in its order (the GRU of the CS224n notes)."""
    from derive.terms import cell_equations

    return System(tuple(e for name, e in zip(cell.nodes, cell_equations(cell).equations) if name in names))


@lru_cache(maxsize=None)
def _table() -> dict:
    g, gh, thr = Var("g"), Var("g", hat=True), Var("threshold")
    h, hp = node("h", t), node("h", t - 1)
    from derive.cells import rnn
    from derive.cells.gru import gru

    return {
        # Applied NLP, Lecture 59 (engine names; printed h^{[t]}, E^{[t]}, U recurrent)
        "l59-eq12": System((Equation(node("L"), (Prod((Frac(Const(1), T), SumOver(t, 1, T, Value(node("L", t))))),)),
                            Equation(node("L", t), (rnn().equations["L"],)))),  # (12): the cross-entropy
        "l59-perplexity": Relation(Text("perplexity"), "=", Power(sp.Integer(2), node("L"))),
        "l59-perplexity:corrected": Relation(Text("perplexity"), "=", Power(sp.E, node("L"))),
        "l59-eq20-jacobian": _shape(D(node("s", tau), node("s", tau - 1)), "d", "d"),
        "l59-0.01-pow-47": Relation(Power(Const(0.01), 47), "=", Const(sp.Float("1.0e-94", 2))),
        "l59-0.5-pow-47": Relation(Power(Const(0.5), 47), "approx", Const(sp.Float("7.1054274e-15", 8))),
        "l59-40-factors": Relation(SumOver(t, 8, 47, Const(1)), "=", Const(40)),
        "l59-clip-value": Relation(g, "<-", Cases(((Const(1), (Relation(g, "<", Const(1)), Relation(g, ">", Const(1)))),
                                                   (g, None)))),
        "l59-clip-value:corrected": value_rule(g),
        "l59-clip-norm": norm_rule(g, thr),
        # CS7015 Lecture 105
        "l105-gamma-logistic": _gamma("logistic", sp.Rational(1, 4)),
        "l105-gamma-tanh": _gamma("tanh", 1),
        "l105-gamma-at-half": Chain.of(Prime(Const(0), "logistic"), "=",
                                       Const(sp.Mul(sp.S.Half, sp.S.Half, evaluate=False)), "=",
                                       Const(sp.Rational(1, 4))),
        "l105-clip": norm_rule(g, Var("k")),
        # CS7015 Lecture 14
        "l14-14.3-dims-W": _shape(node("W"), "d", "d"),
        "l14-14.3-dims-U": _shape(node("U"), "n", "d"),
        "l14-14.3-dims-U:corrected": _shape(node("U"), "d", "n"),
        "l14-14.3-dims-V": _shape(node("V"), "d", "k"),
        "l14-14.3-dims-V:corrected": _shape(node("V"), "k", "d"),
        "l14-14.5-shape-dLdW": _shape(D(node("L", t), node("W")), "d", "d"),
        "l14-14.5-shape-dLds": _shape(D(node("L", t), node("s", t)), 1, "d"),
        "l14-14.5-shape-dsds": _shape(D(node("s", t), node("s", k)), "d", "d"),
        "l14-14.5-shape-dsdW": _shape(D(node("s", k), node("W"), True), "d", "d", "d"),
        # CS224n notes
        "cs224n-pascanu-sigmoid": Relation(Frac(Const(1), Gamma("logistic")), "=", Const(1)),
        "cs224n-pascanu-sigmoid:corrected": System((Equation(Gamma("logistic"), (Const(sp.Rational(1, 4)),)),
                                                    Equation(Frac(Const(1), Gamma("logistic")), (Const(4),)))),
        "cs224n-clip-alg1": norm_rule(gh, thr, strict=False),
        "cs224n-gru-equations": _cell_lines(gru(), ("u", "r", "h_tilde", "h")),
        "cs224n-gru-keep": Relation(Relation(Value(node("u", t)), "approx", Const(0)), "=>",
                                    Relation(D(h, hp), "approx", Identity(h))),
        # CS7015 Lecture 111
        "l111-forget-half": Chain.of(ProdOver(t, 1, 100, Value(node("f", t))), "=", Power(Const(sp.Rational(1, 2)), 100),
                                     "=", Power(Const(2), -100)),
        "l111-four-edges": Relation(node("h", k), "->", SetOf(tuple(node(x, k + 1) for x in ("o", "i", "f", "s_tilde")))),
        "l111-clip": norm_rule(g, thr),
    }


def display(claim_id: str):
    """The display term of the claim ``claim_id``; an unknown id lists the known ones."""
    table = _table()
    if claim_id not in table:
        raise UnknownName("claim display", claim_id, list(table))
    return table[claim_id]
