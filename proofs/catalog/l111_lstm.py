"""CS7015 Deep Learning, Lecture 111, "How LSTMs avoid the problem of vanishing gradients".

Source: seeds/004_ac394c33ecf151bd.txt.

The slide images are missing from the transcript; the claims are the spoken
statements, in the lecture's LSTM (`derive.cells.lstm`: gates o, i, f, the
candidate s_tilde, the cell state s and the output state h).  Notation CS7015.
"""

from __future__ import annotations

import numpy as np

from derive import unroll
from derive.catalog import Claim, Computed, Identity, Pending
from derive.graph import NodeRef
from derive.numeric import Evaluator, Instance

from .displays import display
from . import norm_clipping, source

SOURCE = "004_ac394c33ecf151bd.txt"
NOTATION = "cs7015"
src = source(SOURCE)
FULL = ("o", "i", "f", "s_tilde", "s", "h", "L")


def lstm(activation: str = "logistic"):
    """The lecture's LSTM with gate activation ``activation``; pending when derive.cells.lstm is missing."""
    try:
        from derive.cells.lstm import lstm as build
    except ImportError:
        raise Pending("derive.cells.lstm (the LSTM cell) is not installed") from None
    return build(gate=activation)


def _four_edges(rng):
    g = unroll(lstm(), 3)
    k = int(rng.integers(1, 3))
    nxt = sorted(c.name for c in g.children[NodeRef("h", k)] if c.t == k + 1)
    return len(nxt), 4, {"k": k, "edges to step k+1": ", ".join(nxt)}


def _forget_half(rng):
    """W_f = U_f = 0, b_f = 0: every forget gate is σ(0) = 1/2; the forget path keeps 2^-100 of s_0 in s_100."""
    g = unroll(lstm(), 100, {"n": 2, "d": 1, "k": 3})
    inst = Instance.random(g, int(rng.integers(1 << 30)))
    for name, value in (("W_f", 0.0), ("U_f", 0.0), ("b_f", 0.0)):
        inst.values[NodeRef(name)] = np.zeros_like(inst.values[NodeRef(name)]) + value
    v = Evaluator(g, inst).values
    kept = np.prod([float(v[NodeRef("f", t)][0]) for t in range(1, 101)])
    return np.log2(kept), -100.0, {"T": 100, "f": float(v[NodeRef("f", 1)][0])}


def _clip(g, threshold):
    n = np.linalg.norm(g)
    return threshold / n * g if n > threshold else g


# ---------------------------------------------------------------------------
# The six equations and the number of paths (added for the lecture's documents)
# ---------------------------------------------------------------------------
SIX = ("o", "i", "f", "s_tilde", "s", "h")


def lstm_equations(rng):
    """The engine's LSTM against the six equations of the lecture, recomputed in NumPy (T = 3)."""
    from derive import activations

    seed = int(rng.integers(1 << 30))
    g = unroll(lstm(), 3, {"n": 3, "d": 2, "k": 4})
    v = Evaluator(g, Instance.random(g, seed)).values
    sig, P = activations.get("logistic").numpy, (lambda name: v[NodeRef(name)])
    engine, printed = [], []
    for t in (1, 2, 3):
        h, s, x = v[NodeRef("h", t - 1)], v[NodeRef("s", t - 1)], v[NodeRef("x", t)]
        o = sig(P("W_o") @ h + P("U_o") @ x + P("b_o"))          # o_t = σ(W_o h_{t-1} + U_o x_t + b_o)
        i = sig(P("W_i") @ h + P("U_i") @ x + P("b_i"))          # i_t = σ(W_i h_{t-1} + U_i x_t + b_i)
        f = sig(P("W_f") @ h + P("U_f") @ x + P("b_f"))          # f_t = σ(W_f h_{t-1} + U_f x_t + b_f)
        s_tilde = np.tanh(P("W") @ h + P("U") @ x + P("b"))     # s~_t = σ(W h_{t-1} + U x_t + b)
        s_new = f * s + i * s_tilde                              # s_t = f_t ⊙ s_{t-1} + i_t ⊙ s~_t
        printed.append(np.concatenate([o, i, f, s_tilde, s_new, o * np.tanh(s_new)]))   # h_t = o_t ⊙ σ(s_t)
        engine.append(np.concatenate([v[NodeRef(name, t)] for name in SIX]))
    return np.array(engine), np.array(printed), {"instance seed": seed, "T": 3}


def six_equations_display():
    """The six equations as the cell defines them (a `derive.terms.System`), in the LSTM's names."""
    from derive.terms import System, Within, cell_equations

    c = lstm()
    lines = tuple(e for name, e in zip(c.nodes, cell_equations(c).equations) if name in SIX)
    return Within("lstm", System(lines))


#: The lecture's dependency graph of one step, parameters and inputs left out (slide time 06:38).
DEPENDS = {"o": (("h", -1),), "i": (("h", -1),), "f": (("h", -1),), "s_tilde": (("h", -1),),
           "s": (("f", 0), ("s", -1), ("i", 0), ("s_tilde", 0)), "h": (("o", 0), ("s", 0))}


def _dependency_graph(rng, T: int = 4):
    """1 for each (step, node) whose gate and state parents in the engine's graph are the lecture's."""
    g = unroll(lstm(), T)
    kinds = {"param", "input", "label"}
    lhs = []
    for t in range(1, T + 1):
        for name, deps in DEPENDS.items():
            got = {p for p in g.nodes[g[name, t]].parents if g.nodes[p].kind not in kinds and p.t is not None}
            want = {NodeRef(n, t + lag) for n, lag in deps}
            lhs.append(1.0 if got == want else 0.0)
    return np.array(lhs), np.ones(len(lhs)), {"T": T, "nodes": len(lhs)}


def dependency_display():
    """o_t, i_t, f_t, s~_t <- h_{t-1}; s_t <- {f_t, s_{t-1}, i_t, s~_t}; h_t <- {o_t, s_t}."""
    from derive.terms import Equation, SetOf, System, Within, idx, node

    t = idx("t")
    rows = tuple(Equation(node(n, t), (("<-", SetOf(tuple(node(m, t + lag) for m, lag in deps))),))
                 for n, deps in DEPENDS.items())
    return Within("lstm", System(rows))


#: the two eigenvalues of the path-count recurrence [[1, 3], [1, 4]] (see `path_count_closed_form`)
LAMBDA_PLUS, LAMBDA_MINUS = (5 + np.sqrt(21.0)) / 2, (5 - np.sqrt(21.0)) / 2


def path_count_closed_form(m):
    """N(L_t -> s_k) for m = t - k >= 0: (λ₊^{m+1} - λ₋^{m+1}) / √21, λ± = (5 ± √21)/2, exactly (SymPy).

    Why: a path from h_j or s_j down to s_k is counted by P(s_j) = P(s_{j-1}) + 3 P(h_{j-1})
    (s_j reads s_{j-1}, and h_{j-1} through f_j, i_j and s~_j) and P(h_j) = P(h_{j-1}) + P(s_j)
    (h_j reads s_j, and h_{j-1} through o_j), with P(s_k) = P(h_k) = 1; so N_m = P(h_{k+m})
    satisfies N_m = 5 N_{m-1} - N_{m-2}, N_0 = 1, N_1 = 5 (the Chebyshev numbers U_m(5/2)).
    ``m`` may be a SymPy symbol.
    """
    import sympy as sp

    r = sp.sqrt(21)
    lp, lm = (5 + r) / 2, (5 - r) / 2
    return (lp ** (m + 1) - lm ** (m + 1)) / r


def _path_counts(T_max: int = 12):
    """count_paths(L_t -> s_k) on the unrolled LSTM for every 0 <= k <= t <= T_max, and the closed form."""
    import sympy as sp

    from derive.canon import count_paths

    def fn(rng):
        g = unroll(lstm(), T_max)
        lhs, rhs = [], []
        for t in range(1, T_max + 1):
            for k in range(0, t + 1):
                lhs.append(count_paths(g, NodeRef("L", t), NodeRef("s", k)))
                m = t - k if k >= 1 else t - 1          # s_0 is reached only through s_1 (h_0 is its own input)
                rhs.append(int(sp.expand(path_count_closed_form(sp.Integer(m)))))
        m = sp.Symbol("m", integer=True, nonnegative=True)
        residual = sp.simplify(path_count_closed_form(m + 2) - 5 * path_count_closed_form(m + 1)
                               + path_count_closed_form(m))
        lhs.append(0 if residual == 0 else 1)            # the closed form solves N_m = 5 N_{m-1} - N_{m-2}
        rhs.append(0)
        return np.array(lhs, dtype=float), np.array(rhs, dtype=float), {"T": T_max, "pairs (t, k)": len(lhs) - 1}
    return fn


def path_count_display():
    """N(L_t -> s_k) = (λ₊^{t-k+1} - λ₋^{t-k+1}) / √21 with λ± = (5 ± √21)/2, as three aligned lines."""
    import sympy as sp

    from derive.terms import Const, Equation, Frac, PathCount, System, idx, node

    t, k = idx("t"), idx("k")
    lp, lm, r = sp.Symbol("lambda_+"), sp.Symbol("lambda_-"), sp.sqrt(21)
    return System((Equation(PathCount(node("L", t), node("s", k)), (Frac(lp ** (t - k + 1) - lm ** (t - k + 1), r),)),
                   Equation(lp, (Frac(Const(sp.Add(5, r, evaluate=False)), Const(2)),)),
                   Equation(lm, (Frac(Const(sp.Add(5, -r, evaluate=False)), Const(2)),))))

def claims() -> "list[Claim]":
    out = []
    out.append(Claim(
        "l111-forget-half", src("(00:12)", "keep forgetting point 5 of the previous state. Then by the time you "
                                           "reach say the 100 state you would have forgotten 0.5 raise to 100 of "
                                           "the first state"), NOTATION,
        Computed(_forget_half, "with f_t = 1/2 at every step, s_0 reaches s_100 through the forget gates with "
                               "weight Π_{t=1}^{100} f_t = 2^{-100}", trials=1),
        expected="holds",
        reading="'forgotten 0.5^100' read as 'kept a fraction 0.5^100' (counting from s_0; from s_1 it is 0.5^99)",
        display=display("l111-forget-half")))
    out.append(Claim(
        "l111-four-edges", src("(10:42)", "there four outgoing edges from here [h_k]"), NOTATION,
        Computed(_four_edges, "h_k feeds four nodes of step k+1: o, i, f and s_tilde", trials=2),
        expected="holds",
        reading="the dependency diagram has no output layer; in the engine's cell h_k also feeds y_k",
        display=display("l111-four-edges")))
    out.append(Claim(
        "l111-dh-ds", src("(14:03)", "what is the derivative [∂h_t/∂s_t] going to look like ... Diagonal matrix"),
        NOTATION,
        Identity("dh_t/ds_t", "diag(o_t ⊙ tanh'(s_t))", lstm, [{"t": 1, "T": 2}, {"t": 2, "T": 2}], keep=FULL),
        expected="holds", reading="h_t = o_t ⊙ tanh(s_t): h_ti depends only on o_ti and s_ti"))
    out.append(Claim(
        "l111-ds-ds-explicit", src("(16:34)", "So, I am going to represent it as D of f t"), NOTATION,
        Identity("d+s_t/ds_{t-1}", "diag(f_t)", lstm, [{"t": 1, "T": 2}, {"t": 2, "T": 2}]),
        expected="holds", reading="the explicit term of ∂s_t/∂s_{t-1}, h_{t-1} held constant"))
    out.append(Claim(
        "l111-ds-ds-total", src("(16:34)", "this derivative is going to contain an explicit term and an implicit "
                                           "term"), NOTATION,
        Identity("ds_t/ds_{t-1}", "d+s_t/ds_{t-1} + ds_t/dh_{t-1} dh_{t-1}/ds_{t-1}", lstm,
                 [{"t": 2, "T": 3}, {"t": 3, "T": 3}]),
        expected="holds",
        reading="'S tilde t also depends on s_{t-1}': through h_{t-1} = o_{t-1} ⊙ tanh(s_{t-1}), the implicit term"))
    out.append(Claim(
        "l111-forget-product", src("(17:46)", "this is a product of diagonal matrices ... each element on the "
                                              "diagonal would be a product"), NOTATION,
        Identity("prod_{j=2}^{4} diag(f_j)", "diag(f_2 ⊙ f_3 ⊙ f_4)", lstm, [{"T": 4}]), expected="holds",
        reading="written out for the steps 2..4"))
    out.append(Claim(
        "l111-forget-path", src("(17:46)", "the blue term can vanish, but ... only if ... the product of the "
                                           "forget gates vanishes"), NOTATION,
        Identity("prod_{j=k+1}^{t} d+s_j/ds_{j-1}", "prod_{j=k+1}^{t} diag(f_j)", lstm,
                 [{"t": 4, "k": 1}, {"t": 3, "k": 0}]),
        expected="holds", reading="the path through the cell states alone, each step's explicit derivative"))
    out.append(Claim(
        "l111-output-path", src("(20:40)", "We had a diagonal matrix and a weight matrix and a repeated "
                                           "multiplication of these"), NOTATION,
        Identity("d+h_t/do_t d+o_t/dh_{t-1}", "diag(tanh(s_t)) diag(sigma'(W_o h_{t-1} + U_o x_t + b_o)) W_o", lstm,
                 [{"t": 1, "T": 2}, {"t": 2, "T": 2}], keep=FULL),
        expected="holds",
        reading="the slide's formula is missing from the transcript; one pair h_t <- o_t <- h_{t-1} of the "
                "exploding path, a diagonal matrix times W_o as for the RNN"))
    out.append(Claim(
        "l111-paths-rule", src("(05:05)", "it would vanish if all the paths leading to that parameter vanish ... "
                                          "explode if it explodes through any one of the paths"), NOTATION,
        kind="prose",
        not_checkable="a heuristic: the gradient is the *sum* over paths, and large path terms can cancel, so "
                      "one exploding path does not force the sum to explode"))
    out.append(Claim(
        "l111-fair-vanishing", src("(19:00)", "the gradients flow back only when required as regulated by the "
                                              "forget gates"), NOTATION,
        kind="prose",
        not_checkable="an interpretation; its mathematical content is l111-forget-path (the backward product "
                      "of the forget path is the forward weight Π f_j, l111-forget-half)"))
    out.append(Claim(
        "l111-clip", src("(22:32)", "if the norm of the gradient exceeds the certain value ... clip it to a certain "
                                    "threshold ... being faithful to the direction"), NOTATION,
        Computed(norm_clipping(_clip), "norm clipping keeps the direction and caps the norm at the threshold"),
        expected="holds", display=display("l111-clip")))
    out.append(Claim(
        "l111-lstm-equations", src("(06:38)", "There are three gates and three states and the dependency graph is "
                                              "obvious from these equations"), NOTATION,
        Computed(lstm_equations, "the engine's LSTM computes o_t, i_t, f_t = σ(W_* h_{t-1} + U_* x_t + b_*), "
                                 "s~_t = tanh(W h_{t-1} + U x_t + b), s_t = f_t ⊙ s_{t-1} + i_t ⊙ s~_t, "
                                 "h_t = o_t ⊙ tanh(s_t)", trials=3),
        kind="definition", expected="holds",
        reading="the slide's equations are not in the transcript; these are the six of the lecture's LSTM "
                "(its dependency graph: three gates and three states per step)",
        display=six_equations_display()))
    out.append(Claim(
        "l111-dependency-graph", src("(06:38)", "I am going to get rid of the parameters ... just focus on the "
                                                "states and the gates"), NOTATION,
        Computed(_dependency_graph, "in the engine's unrolled LSTM, without parameters and inputs: o_t, i_t, f_t, "
                                    "s~_t read h_{t-1}; s_t reads f_t, s_{t-1}, i_t, s~_t; h_t reads o_t, s_t",
                 trials=1),
        kind="definition", expected="holds",
        reading="the slide's diagram is not in the transcript; this is the graph 'obvious from these equations'",
        display=dependency_display()))
    out.append(Claim(
        "l111-path-count", src("(10:42)", "there are multiple paths ... it is not very hard to see"), NOTATION,
        Computed(_path_counts(), "the number of paths from L_t to s_k in the dependency graph is "
                                 "(λ₊^{t-k+1} - λ₋^{t-k+1})/√21, λ± = (5 ± √21)/2, for 1 ≤ k ≤ t "
                                 "(1, 5, 24, 115, ...)", trials=1),
        expected="holds",
        reading="the lecture skips the count; the exact number is counted in the unrolled graph "
                "(derive.canon.count_paths) for every 0 ≤ k ≤ t ≤ 12 and matched by the closed form, which "
                "is also proved to satisfy the recurrence N_m = 5 N_{m-1} - N_{m-2} symbolically; s_0 has "
                "the count of s_1",
        display=path_count_display()))
    return out


def lecture():
    """The plan of Lecture 111's notes and slides, by slide time: the paths of the LSTM, the two paths, clipping."""
    from derive.documents import Lecture, Section

    return Lecture(
        "l111", "Lecture 111: How LSTMs avoid the problem of vanishing gradients", notation=NOTATION,
        course="CS7015 Deep Learning, IIT Madras", order=4,
        abstract="In the LSTM the loss reaches a cell state along many paths; the path through the cell states "
                 "multiplies forget gates only, so it vanishes only when they do, while the path through the "
                 "output gate can still explode.",
        sections=(
            Section("Forgetting with the forget gate", topic="lstm", where="slide time 00:12",
                    items=("l111-forget-half",)),
            Section("The general principle: many paths", topic="lstm", where="slide time 05:05",
                    intro="A gradient vanishes only if it vanishes along every path, and explodes if it explodes "
                          "along one.",
                    items=("l111-paths-rule", "l111-paths-L*-W_f", "l111-paths-L-W_o")),
            Section("The dependency graph of the LSTM", topic="lstm", where="slide times 06:38-10:42",
                    intro="The gradient is a sum over every path of the dependency graph; their number grows "
                          "geometrically with the distance between the steps.",
                    items=("l111-lstm-equations", "l111-dependency-graph", "l111-four-edges",
                           "l111-path-count", "l111-dL-ds", "l111-ds-dWf", "l111-bptt-W_f", "l111-total-*")),
            Section("The path through the cell states", topic="lstm", where="slide times 13:05-19:00",
                    items=("l111-t0", "l111-dh-ds", "l111-local-dh-ds", "l111-ds-ds-explicit", "l111-local-ds-ds",
                           "l111-ds-ds-total", "l111-ds-ds", "l111-forget-product", "l111-forget-path",
                           "l111-fair-vanishing")),
            Section("The path through the output gate", topic="lstm", where="slide time 20:40",
                    items=("l111-dh-do", "l111-do-dh", "l111-dh-dh-output", "l111-output-path",
                           "l111-output-gate-path")),
            Section("Gradient clipping", topic="remedies", where="slide time 22:32", items=("l111-clip",)),
        ))
