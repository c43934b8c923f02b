"""The CS224n notes on vanishing gradients: the one-step Jacobian and ∂J^{(i)}/∂h^{(j)} as a product.

The notes ("Problems in RNN (vanishing and exploding gradients)") write the RNN
h^{(t)} = σ(W_h h^{(t-1)} + W_x x^{(t)} + b_1) and the losses J^{(t)}(θ); the
cell is the engine's RNN (`derive.cells.rnn`: W_h is W, W_x is U, b_1 is b),
printed in the notes' names by the ``cs224n`` notation.  The product is the
corrected form of the notes' second line, which pulls W_h^{(i-j)} out of the
product of non-commuting matrices (the claim ``cs224n-power``).
"""

from __future__ import annotations

from derive import D, Derivation, ProdOver, Step, idx, node
from derive.cells import rnn
from derive.terms import Diag, Prime, Prod, Sum, Value

t, i, j = idx("t"), idx("i"), idx("j")
GAPS = [{"i": a, "j": b, "T": a} for a, b in ((1, 0), (2, 1), (3, 1), (4, 0), (2, 2))]


def one_step(step, activation: str = "tanh"):
    """diag(σ'(W_h h^{(t-1)} + W_x x^{(t)} + b_1)) W_h, in engine names diag(σ'(W s_{t-1} + U x_t + b)) W."""
    arg = Sum((Prod((Value(node("W")), Value(node("s", step - 1)))), Prod((Value(node("U")), Value(node("x", step)))),
               Value(node("b"))))
    return Prod((Diag(Prime(arg, activation)), Value(node("W"))))


def derivations(activation: str = "tanh") -> "list[Derivation]":
    cell = rnn(activation)
    h = lambda x: node("s", x)  # noqa: E731
    J_i = node("L", i)
    return [
        Derivation("cs224n-step-jacobian", "The one-step Jacobian", "CS224n notes, 'Therefore' (chain rule)", cell,
                   D(h(t), h(t - 1)),
                   [Step(D(h(t), node("a", t)) * D(node("a", t), h(t - 1)), "chain rule through the pre-activation"),
                    Step(one_step(t, activation), "σ acts element by element: a diagonal matrix, then the recurrent matrix")],
                   bindings=[{"t": 1, "T": 2}, {"t": 2, "T": 2}]),
        Derivation("cs224n-loss-product", "The gradient of a later loss with respect to an earlier state",
                   "CS224n notes, 'Consider the gradient of the loss on step i'", cell, D(J_i, h(j)),
                   [Step(D(J_i, h(i)) * ProdOver(t, j + 1, i, D(h(t), h(t - 1)), identity=h(i)),
                         "chain rule along the states from step i back to step j"),
                    Step(D(J_i, h(i)) * ProdOver(t, j + 1, i, one_step(t, activation), identity=h(i)),
                         "the one-step Jacobian for every factor, in its place (W_h is not pulled out)")],
                   bindings=GAPS),
    ]
