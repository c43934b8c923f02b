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
from derive.terms import (Apply, Cases, Chain, Const, D, Diag, Entry, Equation, Frac, Gamma, Identity, Norm, Power,
                          Prime, Prod, ProdOver, RealSpace, Relation, SetOf, SpectralRadius, Sum, SumOver, Sup, System,
                          Text, Value, Var, Within, idx, node)

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


@lru_cache(maxsize=None)
def _reasoning_table() -> dict:
    """The displays of the prose and reasoning claims of issue 12 (items 4 and 5), engine names."""
    j, i, m = idx("j"), idx("i"), idx("m")
    W, U, b, x = Value(node("W")), Value(node("U")), Value(node("b")), Value(node("x", i))
    d, n = sp.Symbol("d"), sp.Symbol("n")
    minus = lambda a: Prod((Const(-1), a))                                         # noqa: E731
    eq = lambda a, rel, c: Equation(a, ((rel, c),) if rel != "=" else (c,))         # noqa: E731
    dep = lambda a, *bs: eq(a, "<-", SetOf(bs) if len(bs) > 1 else bs[0])           # noqa: E731
    issue12 = System((eq(SpectralRadius(W), "=", Const(sp.Rational(1, 2))),
                      eq(Norm(W), "approx", Const(sp.Float("2.57", 3))),
                      eq(Norm(D(node("s", t), node("s", 0))), "=",
                         Prod((Power(Const(sp.Rational(3, 2)), t - 1), Const(sp.sqrt(13) / 2))))))
    xv = Var("x")
    gammas = System((eq(Sup(xv, Prime(xv, "logistic")), "=", Const(sp.Rational(1, 4))),
                     eq(Sup(xv, Prime(xv, "tanh")), "=", Const(1))))
    return {
        "l59-decay-depth": Relation(Norm(D(node("s", t), node("s", 0))), "=", Power(Var("c"), t)),
        "l59-nan": System((eq(Power(Const(10), 400), "=", Text("inf in float64")),
                           eq(Text("inf - inf"), "=", Text("NaN")))),
        "l59-word-positions": System((eq(Text("position of partner"), "=", Const(7)),
                                      eq(Text("position of the blank"), "=", Const(47)))),
        "l59-activation-ranges": System((eq(Apply(Var("x"), "logistic"), "in", sp.Interval.open(0, 1)),
                                         eq(Apply(Var("x"), "tanh"), "in", sp.Interval.open(-1, 1)))),
        "l59-u-power-spoken": Relation(D(node("s", tau), node("s", 0)), "=", Power(W, tau - 1)),
        "l59-u-power-spoken:corrected": Relation(D(node("s", tau), node("s", 0)), "=", Power(W, tau)),
        "l59-u-power-47": Relation(SumOver(t, 8, 47, Const(1)), "=", Const(47)),
        "l105-bounded-derivative:corrected": gammas,
        "l14-14.4-bounded-derivative:corrected": gammas,
        "l14-14.2-feedforward": System((eq(node("s", i), "=", Apply(Sum((Prod((U, x)), b)))),
                                        eq(D(node("s", i), node("x", j)), "=", Const(0)))),
        "l14-14.2-dependencies": System((dep(node("s", t), node("s", t - 1), node("W")),
                                         dep(node("y", i), node("x", i), node("s", i - 1), node("W"), node("U"),
                                             node("V"), node("b"), node("c")))),
        # Module 14.5's last line, entry by entry (CS7015's names are the engine's)
        "l14-14.5-no-delta": Relation(sp.Symbol(r"\frac{\partial s_{kp}}{\partial W_{qr}}"), "=",
                                      sp.Symbol(r"\sigma'(a_{kp}) s_{k-1,i}")),
        "cs224n-sgd": System((eq(sp.Symbol("theta_new"), "=", Sum((sp.Symbol("theta_old"), Prod((
                                  Const(-1), sp.Symbol("alpha"), D(node("L"), node("W"))))))),
                              eq(Norm(Sum((sp.Symbol("theta_new"), minus(sp.Symbol("theta_old"))))), "=",
                                 Prod((sp.Symbol("alpha"), Norm(D(node("L"), node("W")))))))),
        "cs224n-lstm-gates": eq(Value(node("f", t)), "in", sp.Interval.open(0, 1)),
        "cs224n-rho-vanishing-necessary:corrected": System((
            eq(SpectralRadius(W), "=", Const(2)),
            eq(D(node("s", 2 * m), node("s", 0)), "=",
               Prod((Power(Prod((Const(4), Prime(Const(3), "tanh"))), m), Identity(node("s", 0))))))),
        "cs224n-issue12-rnn": issue12,
        "cs224n-lstm-no-guarantee": Within("lstm", Relation(Relation(ProdOver(j, 1, 20, Value(node("f", j))), "approx",
                                                      Const(sp.Float("0.079", 2))), "=>",
                                             Relation(D(node("s", 20), node("s", 0)), "approx",
                                                      Const(sp.Float("-9.0e-39", 2))))),
        "cs224n-lstm-more-params": System((eq(Text("LSTM parameters"), "=", sp.Mul(4, d, d + n + 1, evaluate=False)),
                                           eq(Text("GRU parameters"), "=", sp.Mul(3, d, d + n + 1, evaluate=False)))),
        "cs224n-residual": Relation(D(node("h"), node("x")), "=",
                                    Sum((Identity(node("x")), D(node("F"), node("x"))))),
        "cs224n-highway": Relation(D(node("h"), node("x")), "=", Sum((
            Diag(Sum((Const(1), minus(Value(node("g")))))), Prod((Diag(Value(node("g"))), D(node("F"), node("x")))),
            Prod((Diag(Sum((Value(node("F")), minus(Value(node("x")))))), D(node("g"), node("x"))))))),
        "cs224n-bidirectional-lm": System((eq(D(node("h_fwd", t), node("x", t + 1)), "=", Const(0)),
                                           eq(D(node("h_bwd", t), node("x", t + 1)), "!=", Const(0)))),
        "cs224n-stacked": eq(node("h_2", t), "=", Apply(Sum((Prod((Value(node("W_2")), Value(node("h_2", t - 1)))),
                                                             Prod((Value(node("U_2")), Value(node("h_1", t)))),
                                                             Value(node("b_2")))))),
        "l111-recap-explode:corrected": issue12,
        "l111-s-depends-h": dep(node("s", k), node("h", k)),
        "l111-s-depends-h:corrected": System((dep(node("h", k), node("o", k), node("s", k)),
                                              dep(node("s", k), node("f", k), node("s", k - 1), node("i", k),
                                                  node("s_tilde", k)))),
    }


def display(claim_id: str):
    """The display term of the claim ``claim_id``; an unknown id lists the known ones."""
    table = {**_table(), **_reasoning_table()}
    if claim_id not in table:
        raise UnknownName("claim display", claim_id, list(table))
    return table[claim_id]
