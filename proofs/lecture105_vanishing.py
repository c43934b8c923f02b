"""CS7015 Lecture 105 (over Module 14.4's slides): ∂s_t/∂s_k as a product, one factor, truncated BPTT.

The spoken lecture ("The problem of Exploding and Vanishing Gradients", slides
34-36 of 41) and Lecture 14's Module 14.4 argue:

    ∂s_t/∂s_k = Π_{j=k+1}^{t} ∂s_j/∂s_{j-1} = Π_{j=k+1}^{t} diag(σ'(a_j)) W          (slides 34-35)

and then bound the norm of each factor (the bound chain: checked claims
``l105-bound-chain-*`` in proofs/catalog/l105_cs7015.py, by `derive.checks.bounds`).
"One simple way of avoiding this is to use truncated backpropagation where we
restrict the product to τ terms" (slide time 08:16): the path sum of
Module 14.3 splits into the τ most recent terms and the truncation error,

    ∂L_t/∂W = ∂L_t/∂s_t Σ_{k=t-τ+1}^{t} ∂s_t/∂s_k ∂⁺s_k/∂W  +  ∂L_t/∂s_t Σ_{k=1}^{t-τ} ∂s_t/∂s_k ∂⁺s_k/∂W,

proved exactly here; the first part, summed over t, is the NumPy truncated
BPTT (`derive.numeric.reference.rnn.bptt(truncate=τ-1)`: at most τ-1 recurrent
factors), checked by the claim ``l105-truncated-numpy``.
"""

from __future__ import annotations

import sympy as sp

from derive import Brace, D, Derivation, ProdOver, Step, SumOver, idx, node
from derive.cells import rnn
from derive.terms import Diag, Prime, Prod, Value

t, k, j, tau, T = idx("t"), idx("k"), idx("j"), idx("tau"), idx("T")
PAIRS = [{"t": a, "k": b, "T": a} for a, b in ((1, 0), (3, 1), (4, 0), (4, 2), (3, 3))]
WINDOWS = [{"t": a, "tau": w, "T": a} for a, w in ((4, 1), (4, 2), (5, 3), (3, 3), (5, 5))]


def factor(step, activation: str):
    """diag(σ'(a_j)) W, one factor of the product (slide 35/41)."""
    return Prod((Diag(Prime(Value(node("a", step)), activation)), Value(node("W"))))


def path_terms(theta: str, lo, hi, loss=t):
    """∂L_t/∂s_t Σ_{k=lo}^{hi} ∂s_t/∂s_k ∂⁺s_k/∂θ (Module 14.3's short-circuited sum, k restricted)."""
    s = lambda i: node("s", i)  # noqa: E731
    return D(node("L", loss), s(loss)) * SumOver(k, lo, hi, D(s(loss), s(k)) * D(s(k), node(theta), True))


def truncated_total(theta: str = "W"):
    """Σ_{t=1}^{T} ∂L_t/∂s_t Σ_{k=max(1, t-τ+1)}^{t} ∂s_t/∂s_k ∂⁺s_k/∂θ: truncated BPTT of the total loss."""
    return SumOver(t, 1, T, path_terms(theta, sp.Max(1, t - tau + 1), t))


def derivations(activation: str = "tanh") -> "list[Derivation]":
    out = []
    for act in ("tanh", "logistic"):
        cell = rnn(act)
        s = lambda i: node("s", i)  # noqa: E731
        out.append(Derivation(
            f"l105-product-factors-{act}", f"Product of one-step Jacobians ({act})",
            "Lecture 105, slides 34-35 of 41; Module 14.4", cell, D(s(t), s(k)),
            [Step(ProdOver(j, k + 1, t, D(s(j), s(j - 1)), identity=s(t)), "chain rule along the only path of states"),
             Step(ProdOver(j, k + 1, t, factor(j, act), identity=s(t)), "each factor is a diagonal matrix times W")],
            bindings=PAIRS))
    cell = rnn(activation)
    for theta in ("W", "U"):
        out.append(Derivation(
            f"l105-truncated-{theta}", "Truncated backpropagation", "Lecture 105, slide time 08:16; Module 14.4",
            cell, D(node("L", t), node(theta)),
            [Step(path_terms(theta, 1, t), "Module 14.3: the sum over k = 1, ..., t"),
             Step(Brace(path_terms(theta, t - tau + 1, t), "truncated BPTT: the last $\\tau$ terms")
                  + Brace(path_terms(theta, 1, t - tau), "the truncation error"),
                  "split the sum at k = t - τ + 1")],
            bindings=WINDOWS))
    return out
