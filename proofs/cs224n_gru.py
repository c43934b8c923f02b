"""The GRU of the CS224n notes: the update gate's carry path, derived and checked.

Source: ../shared/seeds/003_9ba40663132a09fb.txt ("Gated Recurrent Units").
The notes' claim "like LSTM, GRU makes it easier to retain info long-term (e.g.
by setting update gate to 0)" is Lecture 111's forget-gate argument with
h_t = (1 - u_t) ⊙ h_{t-1} + u_t ⊙ h~_t: in the slide-style full view (gates and
states as nodes) the direct edge h_{t-1} -> h_t has the explicit Jacobian
diag(1 - u_t), and the carry path h_t <- h_{t-1} <- ... <- h_k multiplies to
diag(Π_j (1 - u_j)), close to I when the update gates are close to 0.

The cell is the notes' reset-before-matmul variant (`derive.cells.gru`,
``variant="cs224n"``), with named pre-activations so that diag(σ'(a_u,t)) W_u
can be stated; the total-loss gradients are also checked for PyTorch's variant.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from derive import Brace, D, Derivation, ProdOver, Step, SumOver, explicit_structure, idx, node, path_sum, \
    total_loss_form, unroll
from derive.cells.gru import gru, params
from derive.numeric.evaluator import Evaluator, Instance, local_jacobians
from derive.prove.structure import LocalForm
from derive.checks.verify import CheckResult, Report, compare

SOURCE = "CS224n notes, Gated Recurrent Units"  # seeds/003_9ba40663132a09fb.txt
FULL = ("u", "r", "h_tilde", "h", "y", "L")
SYMBOLIC_SIZES = {"n": 3, "d": 2, "k": 4}
PATH_T = 2

t, k, j, i = idx("t"), idx("k"), idx("j"), idx("i")


@lru_cache(maxsize=None)
def cell(variant: str = "cs224n"):
    """The CS224n GRU with named pre-activations a_u, a_r, a_h (folded in the full view)."""
    return gru(variant, preactivations=True)


@lru_cache(maxsize=None)
def _local_form(f: str, x: str) -> LocalForm:
    probe = unroll(cell(), 2, SYMBOLIC_SIZES)
    st = explicit_structure(probe, probe.view(list(FULL)), f, x, local_jacobians(probe))
    return LocalForm.of(st, f_index=t)


def carry_split() -> "tuple[ProdOver, SumOver]":
    """∂h_t/∂h_k = Π_j ∂⁺h_j/∂h_{j-1} + Σ_j (Π_{i>j} ∂⁺h_i/∂h_{i-1}) [paths leaving first at u_j or h~_j]."""
    chain = ProdOver(j, k + 1, t, D(node("h", j), node("h", j - 1), True), identity=node("h", t))
    above = ProdOver(i, j + 1, t, D(node("h", i), node("h", i - 1), True), identity=node("h", t))
    leave = SumOver(j, k + 1, t, above * (D(node("h", j), node("u", j), True) * D(node("u", j), node("h", k))
                                          + D(node("h", j), node("h_tilde", j), True)
                                          * D(node("h_tilde", j), node("h", k))))
    return chain, leave


def derivations() -> "list[Derivation]":
    """The GRU derivations; the explicit sum over every path uses T = ``PATH_T`` = 2 (5 paths from L_2 to W_u)."""
    c = cell()
    T = PATH_T
    h, hp = node("h", t), node("h", t - 1)
    b = [{"t": 1, "T": 1}, {"t": 2, "T": 2}]

    def local(id_, title, f, x, fname, xname, why="recognised from SymPy's element-level Jacobian"):
        return Derivation(id_, title, f"{SOURCE}: 'h(t) = (1 - u(t)) ∘ h(t-1) + u(t) ∘ h~(t)'", c, D(f, x, True),
                          [Step(_local_form(fname, xname), why)], keep=FULL, bindings=b)

    out = [
        local("gru-carry", "The carry edge", h, hp, "h_2", "h_1",
              "the previous state enters the new one multiplied by one minus the update gate, the gates held"),
        local("gru-dh-du", "The update gate's edge", h, node("u", t), "h_2", "u_2"),
        local("gru-dh-dhtilde", "The new content's edge", h, node("h_tilde", t), "h_2", "h_tilde_2"),
        local("gru-du-dh", "The update gate reads the previous state", node("u", t), hp, "u_2", "h_1"),
        local("gru-dr-dh", "The reset gate reads the previous state", node("r", t), hp, "r_2", "h_1"),
    ]
    ts = [{"t": s, "T": s} for s in (2, 3)]
    out.append(Derivation(
        "gru-dh-dh", "One step: the carry edge and the paths through the gates",
        f"{SOURCE}: 'update gate simultaneously controls what is kept from previous hidden state'", c,
        D(h, hp),
        [Step(Brace(D(h, hp, True), "explicit: the carry")
              + Brace(D(h, node("u", t), True) * D(node("u", t), hp)
                      + D(h, node("h_tilde", t), True) * D(node("h_tilde", t), hp), "implicit"),
              "ordered network: the state reads the previous state, the update gate and the new content"),
         Step(D(h, hp, True) + D(h, node("u", t), True) * D(node("u", t), hp, True)
              + D(h, node("h_tilde", t), True) * (D(node("h_tilde", t), hp, True)
                                                   + D(node("h_tilde", t), node("r", t), True) * D(node("r", t), hp, True)),
              "the update gate reads the previous state directly; the new content reads it directly and through the reset gate")],
        keep=FULL, bindings=ts))
    chain, leave = carry_split()
    out.append(Derivation(
        "gru-carry-path", "The carry path split off from every other path",
        f"{SOURCE}: 'GRU makes it easier to retain info long-term (e.g. by setting update gate to 0)'", c,
        D(node("h", t), node("h", k)),
        [Step(Brace(chain, "the carry path: $\\prod_j \\operatorname{diag}(1 - u_j)$")
              + Brace(leave, "paths through some $u_j$ or $\\tilde{h}_j$"),
              "a path either stays on the chain of states or leaves it first at some step j")],
        keep=FULL, bindings=[{"t": a, "k": bb, "T": a} for a, bb in ((2, 1), (3, 1), (3, 0))]))
    g = unroll(c, T)
    out.append(Derivation(
        f"gru-paths-L{T}-W_u", "Summing over every path", f"{SOURCE} (update gate)", c,
        D(node("L", T), node("W_u")), [Step(path_sum(g, f"L_{T}", "W_u", keep=FULL), "one term per path")],
        keep=FULL, bindings=[{"T": T}]))
    for variant in ("cs224n", "pytorch"):
        cv = cell(variant)
        for theta in params(variant):
            out.append(Derivation(
                f"gru-{variant}-total-{theta}", f"The total loss over all time steps ({variant} variant)",
                f"{SOURCE}; variant {variant}", cv, D(node("L"), node(theta)),
                [Step(total_loss_form(cv, theta), "the total loss is the sum of the per-step losses")], bindings=[{"T": 1}, {"T": 3}]))
    return out


def carry_path_checks(T: int = 4, sizes=({"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 2}), seeds=(0, 1)) -> Report:
    """Π_{j=k+1}^{t} ∂⁺h_j/∂h_{j-1} = diag(Π_j (1 - u_j)) numerically, for every k < t = T (full view)."""
    report = Report()
    for size in sizes:
        g = unroll(cell(), T, size)
        for seed in seeds:
            ev = Evaluator(g, Instance.random(g, seed), g.view(list(FULL)))
            for k_ in range(T):
                term = ProdOver(j, k_ + 1, T, D(node("h", j), node("h", j - 1), True),
                                identity=node("h", T)).expand_indexed()
                want = np.diag(np.prod([1.0 - ev.values[g["u", a]] for a in range(k_ + 1, T + 1)], axis=0))
                passed, msg = compare(ev.evaluate(term), want, rtol=1e-12, what="Π ∂⁺h_j/∂h_{j-1}",
                                      against="diag(Π (1 - u_j))")
                where = f"(t={T}, k={k_}, {', '.join(f'{a}={v}' for a, v in size.items())}, seed {seed})"
                report.results.append(CheckResult("gru-carry-product", 0, "numeric", passed, msg, where))
    return report
