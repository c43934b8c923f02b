"""CS7015 Lecture 14 (Modules 14.3-14.5): backpropagation through time, derived and checked.

Source: ../shared/seeds/002_eb405f471485c68d.txt.  Every equation below is
*produced* by the engine from the RNN cell (`derive.cells.rnn`), never typed:
the recursive expansion of ∂s_4/∂W, the short-circuited path sum, the BPTT
form of ∂L_t/∂θ for every parameter, the total loss, the product form of
∂s_t/∂s_k, and the local Jacobians diag(σ'(a_j)), diag(σ'(a_j)) W and the
Module 14.5 tensor, recognised from SymPy's element-level Jacobians.
"""

from __future__ import annotations

from derive import (D, Derivation, Step, bptt_form, explicit_structure, idx, node, path_sum, product_form,
                    recursive_expansion, total_loss_form, unroll)
from derive.cells import rnn
from derive.numeric.evaluator import local_jacobians
from derive.prove.structure import LocalForm

SOURCE = "Lecture 14"  # CS7015 (seeds/002_eb405f471485c68d.txt); documents name the lecture, not the file
PARAMS = ("W", "U", "b", "V", "c")


def derivations(T: int = 4, activation: str = "tanh") -> "list[Derivation]":
    """The Lecture 14 derivations for a T-step unrolling (the slides use T = 4)."""
    cell = rnn(activation)
    g = unroll(cell, T)
    out: list[Derivation] = []

    # Module 14.3: "∂s_4/∂W = ∂⁺s_4/∂W + ∂s_4/∂s_3 ∂s_3/∂W = ..." (explicit + implicit, one level per line).
    for theta in ("W", "U", "b"):
        d = recursive_expansion(g, f"s_{T}", theta, source=f"{SOURCE}, Module 14.3 (ordered network)",
                                id=f"l14-expand-s{T}-{theta}")
        d.title = "Recursive expansion: explicit and implicit parts"
        out.append(d)

    # Module 14.3: "∂L_4/∂W = ∂L_4/∂s_4 ∂s_4/∂W", and the path sum from L_T to W.
    out.append(Derivation(
        f"l14-paths-L{T}-W", "Summing over all the paths", f"{SOURCE}, Module 14.3 (summing over all paths)",
        cell, D(node("L", T), node("W")),
        [Step(D(node("L", T), node("s", T)) * D(node("s", T), node("W")), "the last loss depends on W only through the last state"),
         Step(path_sum(g, f"L_{T}", "W"), "one term per path from the loss to W")],
        bindings=[{"T": T}]))

    # Module 14.3, last line: ∂L_t/∂θ = ∂L_t/∂s_t Σ_{k=1}^{t} ∂s_t/∂s_k ∂⁺s_k/∂θ, for every parameter.
    t = idx("t")
    for theta in PARAMS:
        out.append(Derivation(
            f"l14-bptt-{theta}", "Backpropagation through time", f"{SOURCE}, Module 14.3 (BPTT)",
            cell, D(node("L", t), node(theta)), [Step(bptt_form(cell, theta), "short-circuited path sum")],
            bindings=[{"t": s, "T": 6} for s in range(1, 7)]))

    # Module 14.3: L(θ) = Σ_t L_t(θ), so ∂L/∂θ = Σ_t ∂L_t/∂θ; checked against the NumPy BPTT too.
    T_ = idx("T")
    for theta in PARAMS:
        out.append(Derivation(
            f"l14-total-{theta}", "The total loss over all time steps", f"{SOURCE}, Module 14.3 (total loss)",
            cell, D(node("L"), node(theta)), [Step(total_loss_form(cell, theta), "the total loss is the sum of the per-step losses")],
            bindings=[{"T": 1}, {"T": 3}, {"T": 8}]))

    # Module 14.4: ∂s_t/∂s_k = ∂s_t/∂s_{t-1} ··· ∂s_{k+1}/∂s_k (latest step leftmost).
    k = idx("k")
    out.append(Derivation(
        "l14-product", "Product of one-step Jacobians", f"{SOURCE}, Module 14.4",
        cell, D(node("s", t), node("s", k)), [Step(product_form("s"), "chain rule along the only path")],
        bindings=[{"t": a, "k": b, "T": a} for a in (1, 3, 5) for b in range(0, a + 1)]))

    out.extend(local_jacobian_derivations(cell))
    return out


def local_jacobian_derivations(cell) -> "list[Derivation]":
    """Module 14.4-14.5: the local Jacobians, with their structure recognised at d = 2 and stated for any j."""
    j = idx("j")
    probe = unroll(cell, 2, {"n": 3, "d": 2, "k": 4})
    local = local_jacobians(probe)
    state, full = probe.view(), probe.full_view()

    def form(view, f, x):
        return LocalForm.of(explicit_structure(probe, view, f, x, local), f_index=j)

    binds = [{"j": 1, "T": 2}, {"j": 2, "T": 2}]
    return [
        Derivation("l14-ds-da", "The Jacobian of the activation is diagonal", f"{SOURCE}, Module 14.4", cell,
                   D(node("s", j), node("a", j)), [Step(form(full, "s_2", "a_2"), "σ acts element by element")],
                   keep=tuple(cell.nodes), bindings=binds),
        Derivation("l14-ds-ds", "One term of the product", f"{SOURCE}, Module 14.4", cell,
                   D(node("s", j), node("s", j - 1)),
                   [Step(D(node("s", j), node("a", j)) * D(node("a", j), node("s", j - 1)), "chain rule through the pre-activation"),
                    Step(form(state, "s_2", "s_1"), "recognised from the element-level Jacobian")],
                   bindings=binds),
        Derivation("l14-tensor", "The explicit derivative with respect to W, element by element", f"{SOURCE}, Module 14.5 (some gory details)",
                   cell, D(node("s", j), node("W"), True),
                   [Step(D(node("s", j), node("a", j)) * D(node("a", j), node("W"), True), "chain rule through the pre-activation, the previous state held"),
                    Step(form(state, "s_2", "W"), "recognised from the element-level Jacobian: nonzero only where p = q")],
                   bindings=binds),
    ]
