"""Applied NLP Lecture 59, eqs. (15)-(20): the gradient of E^{[t]} with respect to h^{[0]}, derived and checked.

The lecture writes h^{[t]} for the state, E^{[t]} for the loss of step t, U for
the recurrent matrix and W for the input matrix, and eq. (18) has no bias:
h^{(τ)} = σ(W X^{(τ)} + U h^{(τ-1)}).  The cell is `rnn_nobias`
(proofs/catalog/l59_appliednlp.py) in the engine's names (s, L, W recurrent,
U input), printed in the lecture's by the ``appliednlp`` notation.  Each
derivation is the lecture's equation, and (17), (19) and (20) are the
corrected ones: the product runs to τ = t, σ' takes X^{(τ)}, and the factors
diag(σ'(·)) U stay in their order (they do not commute, so U^t cannot be pulled out).
"""

from __future__ import annotations

from derive import D, Derivation, ProdOver, Step, idx, node
from derive.terms import Diag, Prime, Prod, Sum, Value

from .catalog.l59_appliednlp import rnn_nobias

t, tau = idx("t"), idx("tau")
ACTIVATION = "tanh"


def one_step(step, activation: str = ACTIVATION):
    """diag(σ'(W X^{(τ)} + U h^{(τ-1)})) U in the lecture's names: engine diag(σ'(U x_τ + W s_{τ-1})) W (eq. (19))."""
    arg = Sum((Prod((Value(node("U")), Value(node("x", step)))), Prod((Value(node("W")), Value(node("s", step - 1))))))
    return Prod((Diag(Prime(arg, activation)), Value(node("W"))))


def _chain(loss_step, index, lo=1):
    """∂E^{[t]}/∂h^{[t]} Π_{index=lo}^{t} ∂h^{[index]}/∂h^{[index-1]} (largest index leftmost)."""
    s = lambda i: node("s", i)  # noqa: E731
    return D(node("L", loss_step), s(loss_step)) * ProdOver(index, lo, loss_step, D(s(index), s(index - 1)),
                                                            identity=s(loss_step))


def derivations(activation: str = ACTIVATION) -> "list[Derivation]":
    cell = rnn_nobias(activation)
    s = lambda i: node("s", i)  # noqa: E731
    E5 = node("L", 5)
    chain5 = Prod((D(E5, s(5)),) + tuple(D(s(i), s(i - 1)) for i in range(5, 0, -1)))
    return [
        # (15): "∂E^{[5]}/∂h^{[0]} = ∂E^{[5]}/∂h^{[5]} × ∂h^{[5]}/∂h^{[4]} × ... × ∂h^{[1]}/∂h^{[0]}"
        Derivation("l59-chain-E5", "Chain rule from the fifth loss to the first state", "Lecture 59, eq. (15)",
                   cell, D(E5, s(0)),
                   [Step(chain5, "the fifth loss reaches the first state only through the states in between"),
                    Step(_chain(5, t), "the same product written with Π, latest step leftmost")],
                   bindings=[{"T": 5}]),
        # (16): the general depth τ.
        Derivation("l59-chain-Etau", "Generalizing to any depth", "Lecture 59, eq. (16)", cell,
                   D(node("L", tau), s(0)), [Step(_chain(tau, t), "one factor per step between the first state and step τ")],
                   bindings=[{"tau": v, "T": v} for v in (1, 2, 3, 6)] + [{"tau": 3, "T": 6}]),
        # (17), corrected: the product runs to τ = t (the printed one stops at t - 1).
        Derivation("l59-product-of-jacobians", "The product of Jacobians", "Lecture 59, eq. (17), corrected", cell,
                   D(node("L", t), s(0)), [Step(_chain(t, tau), "τ runs from 1 to t: the last factor is "
                                                                 "included")],
                   bindings=[{"t": v, "T": v} for v in (1, 2, 3, 5)]),
        # (19), corrected: σ' at the pre-activation of step τ itself, W X^{(τ)} + U h^{(τ-1)}.
        Derivation("l59-one-step-jacobian", "One factor of the product", "Lecture 59, eq. (19), corrected", cell,
                   D(s(tau), s(tau - 1)),
                   [Step(D(s(tau), node("a", tau)) * D(node("a", tau), s(tau - 1)), "chain rule through the "
                                                                                    "pre-activation"),
                    Step(one_step(tau, activation), "σ acts element by element: a diagonal Jacobian, then U")],
                   bindings=[{"tau": 1, "T": 2}, {"tau": 2, "T": 2}, {"tau": 3, "T": 3}]),
        # (20), corrected: every factor diag(σ'(·)) U in its place.
        Derivation("l59-product-of-factors", "The product of diagonal and recurrent factors",
                   "Lecture 59, eq. (20), corrected", cell, D(node("L", t), s(0)),
                   [Step(_chain(t, tau), "eq. (17), corrected"),
                    Step(D(node("L", t), s(t)) * ProdOver(tau, 1, t, one_step(tau, activation), identity=s(t)),
                         "eq. (19) for every factor; the factors do not commute, so U stays inside the product")],
                   bindings=[{"t": v, "T": v} for v in (1, 2, 4)]),
    ]
