"""CS7015 Lecture 111: how the LSTM's gates control the flow of gradients, derived and checked.

Source: ../shared/seeds/004_ac394c33ecf151bd.txt.  The lecture's argument, one
derivation per claim, all built from the LSTM cell (`derive.cells.lstm`) with
the public API:

1. the local Jacobians: ∂h_t/∂s_t = diag(o_t ⊙ tanh'(s_t)), ∂⁺s_t/∂s_{t-1} =
   diag(f_t), ∂h_t/∂o_t = diag(tanh(s_t)), ∂⁺o_t/∂h_{t-1} = diag(σ'(a_o,t)) W_o,
   ∂⁺s_k/∂W_f = δ_pq (s_{k-1} ⊙ σ'(a_f,k))_p (h_{k-1})_r, each recognised from
   SymPy's element-level Jacobian (`derive.prove.structure`);
2. ∂s_t/∂s_{t-1} = explicit + implicit ("the other terms cannot be treated as constants");
3. the paths from L_t to s_k: one through s_{k+1}, one through h_k; the t_0
   path L_t -> h_t -> s_t -> s_{t-1} -> ... -> s_k split off exactly from all the
   others, and its product Π_j ∂⁺s_j/∂s_{j-1} = Π_j diag(f_j) = diag(Π_j f_j)
   (`forget_path_checks`: a product of Jacobians is not a single derivative,
   so it is checked outside `derive.checks.verify`);
4. the output-gate path L_t -> h_t -> h_{t-1} -> ... -> h_k, whose factors
   diag(tanh(s_j) ⊙ σ'(a_o,j)) W_o are the RNN's diag(·) W again: it can explode;
5. the full gradient as the sum over every path, equal to the NumPy BPTT.

Two views of the unrolled graph are used: ``FULL``, the slide's dependency
graph (three gates and three states per step), and ``STATES``, the ordered
network of the states s, h with the gates folded into the edges.  The cell is
built with ``preactivations=True`` so that σ'(a_o,t) can be *stated*: the
pre-activations a_o, a_i, a_f, a are folded in both views, so the paths are
the slide's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from derive import (Brace, D, Derivation, ProdOver, Step, SumOver, bptt_form, explicit_structure, idx, node,
                    path_sum, total_loss_form, unroll)
from derive.cells.lstm import PARAMS, lstm
from derive.numeric.evaluator import Evaluator, Instance, local_jacobians
from derive.prove.structure import LocalForm
from derive.checks.verify import CheckResult, Report, compare

SOURCE = "Lecture 111"  # CS7015 (seeds/004_ac394c33ecf151bd.txt)
FULL = ("o", "i", "f", "s_tilde", "s", "h", "y", "L")
STATES = ("s", "h", "L")
SYMBOLIC_SIZES = {"n": 3, "d": 2, "k": 4}
PATH_T = 2

t, k, j, i = idx("t"), idx("k"), idx("j"), idx("i")


@lru_cache(maxsize=None)
def cell():
    """The Lecture 111 LSTM, with named pre-activations (folded in both views)."""
    return lstm(preactivations=True)


@lru_cache(maxsize=None)
def _local_form(keep: "tuple[str, ...]", f: str, x: str) -> LocalForm:
    """The recognised structure of ∂⁺f/∂x at step 2 (d = 2), restated for step t."""
    probe = unroll(cell(), 2, SYMBOLIC_SIZES)
    st = explicit_structure(probe, probe.view(list(keep)), f, x, local_jacobians(probe))
    return LocalForm.of(st, f_index=t)


def first_exit(state: str, other: str, keep_parents: str) -> "tuple[ProdOver, SumOver]":
    """∂x_t/∂x_k split by where a path first leaves the chain x_t <- x_{t-1} <- ... (x = ``state``).

    Every path from x_t down to x_k either follows the explicit edges x_j <- x_{j-1}
    all the way (the product), or leaves the chain for the first time at some
    step j, through ``other``_{j-1} (or ``other``_j when ``keep_parents`` == "same").
    """
    chain = ProdOver(j, k + 1, t, D(node(state, j), node(state, j - 1), True), identity=node(state, t))
    above = ProdOver(i, j + 1, t, D(node(state, i), node(state, i - 1), True), identity=node(state, t))
    lag = j - 1 if keep_parents == "previous" else j
    leave = SumOver(j, k + 1, t, above * D(node(state, j), node(other, lag), True) * D(node(other, lag), node(state, k)))
    return chain, leave


def derivations() -> "list[Derivation]":
    """The Lecture 111 derivations.

    The slides fix no T; the explicit sums over every path use T = ``PATH_T`` = 2
    (6 paths from L_2 to W_f; at T = 4 there are already 145, see `derive.prove.paths`).
    """
    c = cell()
    T = PATH_T
    out = local_jacobian_derivations()
    ts = [{"t": s, "T": s} for s in (2, 3)]

    # Slide 15:31: "this derivative is going to contain an explicit term and an implicit term".
    out.append(Derivation(
        "l111-ds-ds", "One step of the cell state: explicit and implicit", f"{SOURCE}, slide time 15:31: 'an explicit term and an "
        "implicit term'", c, D(node("s", t), node("s", t - 1)),
        [Step(Brace(D(node("s", t), node("s", t - 1), True), "explicit")
              + Brace(D(node("s", t), node("h", t - 1), True) * D(node("h", t - 1), node("s", t - 1)), "implicit"),
              "ordered network: the cell state reads the previous cell state, and the previous output state (through the gates and the candidate), which reads it too")],
        keep=STATES, bindings=ts))

    # Slide 10:42: "there are multiple paths to reach s_k ... one through s_{k+1} ... the other through h_k".
    tk = [{"t": a, "k": b, "T": a} for a, b in ((2, 1), (3, 1), (3, 2), (4, 2))]
    out.append(Derivation(
        "l111-dL-ds", "The two ways out of a cell state",
        f"{SOURCE}, slide time 10:42: 'One through sk plus 1 ... the other through h k'", c,
        D(node("L", t), node("s", k)),
        [Step(D(node("L", t), node("s", k + 1)) * D(node("s", k + 1), node("s", k), True)
              + D(node("L", t), node("h", k)) * D(node("h", k), node("s", k), True),
              "the children of the cell state in the network of states")],
        keep=STATES, bindings=tk))

    # Slide 13:05: "denote the gradient along this path to be t_0 ... the total gradient is a sum of many such paths".
    chain, leave = first_exit("s", "h", "previous")
    head = D(node("L", t), node("h", t)) * D(node("h", t), node("s", t), True)
    out.append(Derivation(
        "l111-t0", "The cell-state path split off from every other path",
        f"{SOURCE}, slide time 13:05: 'denote the gradient along this path to be t naught and the total gradient is "
        "going to be a sum of many such paths'", c, D(node("L", t), node("s", k)),
        [Step(D(node("L", t), node("h", t)) * D(node("h", t), node("s", k)), "L_t reads the states through h_t only"),
         Step(head * D(node("s", t), node("s", k))
              + D(node("L", t), node("h", t)) * D(node("h", t), node("h", t - 1), True) * D(node("h", t - 1), node("s", k)),
              "the output state reads the cell state and, through the output gate, the previous output state"),
         Step(Brace(head * chain, "$t_0$: the cell-state path")
              + Brace(head * leave + D(node("L", t), node("h", t)) * D(node("h", t), node("h", t - 1), True)
                      * D(node("h", t - 1), node("s", k)), "every other path"),
              "a path either stays on the chain of cell states or leaves it first at some output state")],
        keep=STATES, bindings=[b for b in tk if b["k"] < b["t"]]))

    # Slide 17:46 onwards: the output-gate path, "a diagonal matrix and a weight matrix", repeated.
    chain_h, leave_h = first_exit("h", "s", "same")
    out.append(Derivation(
        "l111-output-gate-path", "The output-gate path split off from the rest",
        f"{SOURCE}, after slide time 17:46: 'these pairs h t by o t, o t by h t minus 1 and so on'", c,
        D(node("h", t), node("h", k)),
        [Step(Brace(chain_h, "the output-gate path")
              + Brace(leave_h, "paths through some $s_j$"),
              "a path either stays on the chain of output states (through the output gates) or leaves it first at a cell state")],
        keep=STATES, bindings=tk))

    # Slide 06:38 / 10:42: the loss reaches W_f through s_k ("W_f computes f_k and then f_k helps in computing s_k").
    out.append(Derivation(
        "l111-bptt-W_f", "The loss reaches the forget gate through every cell state", f"{SOURCE}, slide time 10:42: 'if this loss can reach Wf "
        "through sk'", c, D(node("L", t), node("W_f")),
        [Step(bptt_form(c, "W_f", keep=STATES), "short-circuit: the forget weights are read, through the forget gate, by the cell state alone")],
        keep=STATES, bindings=[{"t": s, "T": 4} for s in (1, 2, 4)]))

    # Slide 05:05: "the gradient ... would vanish if all the paths leading to that parameter vanish": the sum over paths.
    g = unroll(c, T)
    out.append(Derivation(
        f"l111-paths-L{T}-W_f", "Summing over every path of the dependency graph",
        f"{SOURCE}, slide time 05:05: 'if there were multiple paths then only if the gradient vanishes across all the "
        "paths'", c, D(node("L", T), node("W_f")),
        [Step(path_sum(g, f"L_{T}", "W_f", keep=FULL), "one term per path through the gates and states")],
        keep=FULL, bindings=[{"T": T}]))
    out.append(Derivation(
        "l111-paths-L-W_o", "The total loss as a sum over paths",
        f"{SOURCE}, slide time 05:05 (all the paths)", c, D(node("L"), node("W_o")),
        [Step(path_sum(g, "L", "W_o", keep=FULL), "one term per path")],
        keep=FULL, bindings=[{"T": T}]))
    for theta in PARAMS:
        out.append(Derivation(
            f"l111-total-{theta}", "The total loss over all time steps", f"{SOURCE} (the loss summed over t)", c,
            D(node("L"), node(theta)), [Step(total_loss_form(c, theta, keep=STATES), "the total loss is the sum of the per-step losses")],
            keep=STATES, bindings=[{"T": 1}, {"T": 3}]))
    return out


def local_jacobian_derivations() -> "list[Derivation]":
    """The local Jacobians of the lecture, recognised at d = 2 and stated for any t."""
    c = cell()
    b = [{"t": 1, "T": 1}, {"t": 2, "T": 2}]

    def local(id_, title, quote, f, x, keep, fname, xname, explicit=True, chain=None):
        steps = [] if chain is None else [chain]
        steps.append(Step(_local_form(keep, fname, xname), "recognised from SymPy's element-level Jacobian"))
        return Derivation(id_, title, f"{SOURCE}, {quote}", c, D(f, x, explicit), steps, keep=keep, bindings=b)

    h, s, o = node("h", t), node("s", t), node("o", t)
    return [
        local("l111-local-dh-ds", "The output state reads the cell state element by element",
              "slide time 14:03-15:31: 'h t 2 depends only on o t 2 and st 2 ... Diagonal matrix'",
              h, s, FULL, "h_2", "s_2", explicit=False,
              chain=Step(D(h, s, True), "the output state reads the cell state directly and through nothing else")),
        local("l111-local-ds-ds", "The explicit part is the forget gate",
              "slide time 15:31-17:46: 'I am going to represent it as D of f t'",
              s, node("s", t - 1), STATES, "s_2", "s_1"),
        local("l111-dh-do", "The output gate's edge", "after slide time 17:46 (the output-gate path)",
              h, o, FULL, "h_2", "o_2"),
        local("l111-do-dh", "The output gate reads the previous output state", "after slide time 17:46 (the output-gate path)",
              o, node("h", t - 1), FULL, "o_2", "h_1"),
        local("l111-dh-dh-output", "One step of the output-gate path",
              "after slide time 17:46: 'a diagonal matrix and a weight matrix'",
              h, node("h", t - 1), STATES, "h_2", "h_1"),
        local("l111-ds-dWf", "The explicit derivative with respect to the forget weights, element by element",
              "slide time 10:42 (W_f reaches the loss through s_k)", s, node("W_f"), STATES, "s_2", "W_f"),
    ]


# ---------------------------------------------------------------------------
# Products of local forms: Π_j diag(f_j) = diag(Π_j f_j), checked outside verify
# ---------------------------------------------------------------------------
def diag_product_identity(d: int = 2, steps: int = 3) -> bool:
    """Π_j diag(f_j) = diag(Π_j f_j) for symbolic vectors f_1..f_steps in R^d (SymPy, exact)."""
    f = [[sp.Symbol(f"f_{a}_{p}") for p in range(d)] for a in range(steps)]
    product = sp.eye(d)
    for a in reversed(range(steps)):
        product = product * sp.diag(*f[a])
    return product == sp.diag(*[sp.Mul(*[f[a][p] for a in range(steps)]) for p in range(d)])


def forget_path_checks(T: int = 4, sizes=({"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 2}), seeds=(0, 1)) -> Report:
    """The t_0 product Π_{j=k+1}^{t} ∂⁺s_j/∂s_{j-1} = Π diag(f_j) = diag(Π f_j), for every k < t = T.

    Exact: each factor is diag(f_j) (derivation ``l111-local-ds-ds``) and
    diagonal matrices multiply entry by entry (`diag_product_identity`).
    Numeric: the product of the engine's explicit Jacobians against
    diag(Π f_j) from the forward pass, on seeded instances.
    """
    report = Report()
    ok = diag_product_identity(2, T)
    report.results.append(CheckResult("l111-forget-product", 0, "symbolic", ok,
                                      "Π_j diag(f_j) = diag(Π_j f_j) entry by entry", f"(d=2, {T} factors)"))
    for size in sizes:
        g = unroll(cell(), T, size)
        for seed in seeds:
            ev = Evaluator(g, Instance.random(g, seed), g.view(list(STATES)))
            for k_ in range(T):
                term = ProdOver(j, k_ + 1, T, D(node("s", j), node("s", j - 1), True),
                                identity=node("s", T)).expand_indexed()
                want = np.diag(np.prod([ev.values[g["f", a]] for a in range(k_ + 1, T + 1)], axis=0))
                passed, msg = compare(ev.evaluate(term), want, rtol=1e-12, what="Π ∂⁺s_j/∂s_{j-1}",
                                      against="diag(Π f_j)")
                where = f"(t={T}, k={k_}, {', '.join(f'{a}={v}' for a, v in size.items())}, seed {seed})"
                report.results.append(CheckResult("l111-forget-product", 1, "numeric", passed, msg, where))
    return report
