"""CS7015 Deep Learning, Lecture 111, "How LSTMs avoid the problem of vanishing gradients".

Source: seeds/004_ac394c33ecf151bd.txt.

The slide images are missing from the transcript; the claims are the spoken
statements, in the lecture's LSTM (`derive.cells.lstm`: gates o, i, f, the
candidate s_tilde, the cell state s and the output state h).  Notation CS7015.
"""

from __future__ import annotations

import numpy as np

from derive import unroll
from derive.checks.catalog import Claim, Computed, Identity, Implication, Pending
from derive.terms import Relation, Text
from derive.model.graph import NodeRef
from derive.numeric.evaluator import Evaluator, Instance

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


# -- the path argument (04:00-19:00), put to the test -----------------------------------------------------
# The 1-d LSTM of issue 12: b_o = 3, b_i = 3, b_f = 2, W = -0.985 (the candidate's recurrent weight), every
# other weight 0, x_t = 0, s_0 = 0.1, h_0 = 0.  The forget gates are f_j = σ(2) = 0.88 at every step, yet the
# implicit paths s_{j-1} -> h_{j-1} -> s~_j -> s_j cancel the forget path: ∂s_T/∂s_0 ~ 1e-10 at T = 5.
CANCEL = {"b_o": 3.0, "b_i": 3.0, "b_f": 2.0, "W": -0.985}
CANCEL_S0, CANCEL_TS = 0.1, (5, 10, 20)


def _lstm_run(params, X, s0, h0):
    """(Π_j diag(f_j), ∂s_T/∂s_0 from the step Jacobians, ∂s_T/∂s_0 by central differences), NumPy reference.

    ∂s_T/∂s_0 holds h_0 fixed: the [s, s] block of the product of the step Jacobians d(s_t, h_t)/d(s_{t-1},
    h_{t-1}) (`derive.numeric.reference.lstm.step_jacobians`, block order [s, h]).
    """
    from derive.numeric.reference import lstm as ref

    T, d = X.shape[0], s0.shape[-1]
    labels = np.zeros((T, 1), dtype=int)
    cache = ref.forward(params, X, labels, s0=s0, h0=h0)
    J = ref.step_jacobians(params, cache)
    M = np.eye(2 * d)
    for t in range(T):
        M = J[t, 0] @ M                                        # ∂(s_t, h_t)/∂(s_0, h_0), latest step leftmost
    forget = np.diag(np.prod(cache.f[:, 0, :], axis=0))         # Π_j diag(f_j) (17:46), the forget path
    eps = 1e-6
    fd = np.empty((d, d))
    for q in range(d):
        e = np.zeros_like(s0)
        e[0, q] = eps
        up = ref.forward(params, X, labels, s0=s0 + e, h0=h0).s[T, 0]
        dn = ref.forward(params, X, labels, s0=s0 - e, h0=h0).s[T, 0]
        fd[:, q] = (up - dn) / (2 * eps)
    return forget, M[:d, :d], fd


def _cancel_params(d: int = 1):
    from derive.numeric.reference import lstm as ref

    p = {k: np.zeros(tuple({"d": d, "n": 1, "k": 2}[x] for x in dims)) for k, dims in ref.PARAM_SHAPES.items()}
    for name, value in CANCEL.items():
        p[name] = p[name] + value * (np.eye(d) if p[name].ndim == 2 else 1.0)
    return p


def _path_cases(kind: str):
    """Cases of the path argument: the cancelling LSTM at T = 5, 10, 20, and random LSTMs (d = 1, 2).

    ``kind``: "rule" -- if the forget path ||Π diag(f_j)|| does not vanish (>= 0.05), neither does the
    gradient (||∂s_T/∂s_0|| >= 1e-3 ||Π diag(f_j)||: the other paths do not cancel it); "fair" -- if the
    gradient vanishes (||∂s_T/∂s_0|| < 1e-6), the forget gates closed (||Π diag(f_j)|| < 1e-6);
    "worst" -- dropping the implicit term is a worst case: ||∂s_T/∂s_0|| >= ||Π diag(f_j)||·(1 - 1e-9)
    (only when the implicit term is what the lecture assumes, zero, is this exact; it is checked as the
    lecture uses it, an inequality).
    """
    from derive.numeric.reference import lstm as ref

    def fixed():
        return judge([({"instance": "a 1-d LSTM: b_o = 3, b_i = 3, b_f = 2, W = -0.985, other weights 0, "
                                    "x_t = 0, s_0 = 0.1, h_0 = 0", "T": T},
                       _cancel_params(), np.zeros((T, 1, 1)), np.full((1, 1), CANCEL_S0), np.zeros((1, 1)))
                      for T in CANCEL_TS])

    def cases(rng):
        runs = []
        for d in (1, 2):
            seed = int(rng.integers(1 << 30))
            T = int(rng.choice([5, 10]))
            params = ref.init_params(1, d, 2, seed=seed, forget_bias=2.0)
            X = np.random.default_rng(seed + 1).standard_normal((T, 1, 1)) * 0.5
            s0 = np.random.default_rng(seed + 2).standard_normal((1, d)) * 0.5
            runs.append(({"instance": f"random LSTM (init_params seed {seed}, forget bias 2)", "d": d, "T": T},
                         params, X, s0, np.zeros((1, d))))
        return judge(runs)

    def judge(runs):
        out = []
        for inputs, params, X, s0, h0 in runs:
            forget, total, fd = _lstm_run(params, X, s0, h0)
            nf, nt = float(np.linalg.norm(forget, 2)), float(np.linalg.norm(total, 2))
            agree = bool(np.allclose(total, fd, rtol=1e-5, atol=1e-12 * max(1.0, nt)))
            if kind == "rule":
                hyp, concl = nf >= 0.05, nt >= 1e-3 * nf
            elif kind == "fair":
                hyp, concl = nt < 1e-6, nf < 1e-6
            else:
                hyp, concl = True, nt >= nf * (1 - 1e-9)
            detail = (f"T = {inputs['T']}: ||Π_j diag(f_j)|| = {nf:.3g}, ||∂s_T/∂s_0|| = {nt:.3g} "
                      f"(∂s_T/∂s_0 = {total[0, 0]:.3g}, finite differences {fd[0, 0]:.3g}"
                      f"{'' if agree else ' -- DISAGREE'})")
            out.append((dict(inputs, forget_path=nf, total=float(total[0, 0]), finite_difference=float(fd[0, 0])),
                        bool(hyp) and agree, bool(concl), detail))
        return out

    return {"cases": cases, "fixed": fixed}


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

    from derive.prove.canon import count_paths

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
        Implication("the forget path from s_0 to s_T does not vanish (||Π_{j=1}^{T} diag(f_j)|| >= 0.05)",
                    "neither does the gradient: ||∂s_T/∂s_0|| >= 10^{-3} ||Π_{j=1}^{T} diag(f_j)|| (the other "
                    "paths do not cancel it)", **_path_cases("rule"), trials=3),
        expected="fails",
        reading="'one non-vanishing path suffices' (06:11: 'there are at least one path through which it does "
                "not vanish'), for the path the lecture picks, the forget path s_0 -> s_1 -> ... -> s_T.  The "
                "gradient is the *sum* over paths, and paths can cancel: a counterexample is a 1-d LSTM with "
                "b_o = 3, b_i = 3, b_f = 2, W = -0.985 (candidate's recurrent weight), every other weight 0, "
                "x_t = 0, s_0 = 0.1, h_0 = 0: Π f_j = 0.53, 0.28, 0.079 at T = 5, 10, 20 while ∂s_T/∂s_0 = "
                "1.8e-10, -6.6e-20, -9.0e-39 (NumPy reference, finite differences agree)",
        evidence="spoken (05:05-06:11): 'If there were multiple paths then only if the gradient vanishes across "
                 "all the paths then the gradient would vanish' and 'for the first case will have to show that "
                 "there are at least one path through which it does not vanish'",
        correction=Claim(
            "l111-paths-rule:corrected", src("(05:05), the sum over paths"), NOTATION,
            Identity("ds_t/ds_{t-1}", "d+s_t/ds_{t-1} + ds_t/dh_{t-1} dh_{t-1}/ds_{t-1}", lstm,
                     [{"t": 2, "T": 3}, {"t": 3, "T": 3}]),
            statement="∂s_t/∂s_{t-1} = diag(f_t) + ∂s_t/∂h_{t-1} ∂h_{t-1}/∂s_{t-1}: the gradient is the sum of "
                      "the paths' terms (which may cancel), not the largest path", expected="holds"),
        display=Relation(Text(r"$\left\lVert \prod_{j=1}^{T} \mathrm{diag}(f_j) \right\rVert \not\to 0$"),
                         "->", Text(r"$\left\lVert \partial s_T / \partial s_0 \right\rVert \not\to 0$"))))
    out.append(Claim(
        "l111-fair-vanishing", src("(19:00)", "the gradients flow back only when required as regulated by the "
                                              "forget gates"), NOTATION,
        Implication("the gradient ∂s_T/∂s_0 vanishes (||∂s_T/∂s_0|| < 10^{-6})",
                    "the forget gates closed: ||Π_{j=1}^{T} diag(f_j)|| < 10^{-6}", **_path_cases("fair"), trials=3),
        expected="fails",
        reading="'it will vanish only if ... the product of the forget gates vanishes' (17:46-19:00): the "
                "gradient vanishes only when the forget gates close.  The counterexample of l111-paths-rule "
                "(a 1-d LSTM with b_o = b_i = 3, b_f = 2, W = -0.985) has open forget gates (Π f_j = 0.079 at T = 20) and ∂s_T/∂s_0 = -9.0e-39: "
                "the vanishing comes from paths cancelling, not from the forget gates",
        evidence="spoken (17:46-19:00): 'the blue term can vanish, but it will vanish only if during the "
                 "forward pass also this multiplicative term cause the information to vanish' and 'the "
                 "gradients flow back only when required as regulated by the forget gates'; the argument rests "
                 "on the worst-case assumption at 16:34 (l111-implicit-worst-case)",
        correction=Claim(
            "l111-fair-vanishing:corrected", src("(17:46), the forget path alone"), NOTATION,
            Identity("prod_{j=k+1}^{t} d+s_j/ds_{j-1}", "prod_{j=k+1}^{t} diag(f_j)", lstm,
                     [{"t": 4, "k": 1}, {"t": 3, "k": 0}]),
            statement="Π_{j=k+1}^{t} ∂⁺s_j/∂s_{j-1} = Π_{j=k+1}^{t} diag(f_j): the forget gates regulate the "
                      "forget path (the explicit terms), not the whole gradient", expected="holds"),
        display=Relation(Text(r"$\partial s_T / \partial s_0 \to 0$"), "->",
                         Text(r"$\prod_{j=1}^{T} f_j \to 0$"))))
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
                "(derive.prove.canon.count_paths) for every 0 ≤ k ≤ t ≤ 12 and matched by the closed form, which "
                "is also proved to satisfy the recurrence N_m = 5 N_{m-1} - N_{m-2} symbolically; s_0 has "
                "the count of s_1",
        display=path_count_display()))

    out.append(Claim(
        "l111-implicit-worst-case", src("(16:34)", "I am going to make a worst case assumption ... that actually the "
                                                   "implicit term vanishes ... this is a unfavourable assumption"),
        NOTATION,
        Implication("", "dropping the implicit term is a worst case: ||∂s_T/∂s_0|| >= ||Π_{j=1}^{T} diag(f_j)|| "
                        "(the full derivative is at least its explicit-only product)", **_path_cases("worst"),
                    trials=3),
        expected="fails",
        reading="'not favourable to me': the lecture takes the explicit-only product Π diag(f_j) as a lower "
                "bound of the full ∂s_T/∂s_0.  The implicit terms are signed matrices, not non-negative "
                "corrections: in that 1-d LSTM they cancel the explicit product (Π f_j = 0.53, "
                "∂s_T/∂s_0 = 1.8e-10 at T = 5), so the assumption is favourable there, not a worst case",
        evidence="spoken (16:34): 'Notice that this not favourable to me I am trying to prove that the gradient "
                 "does not vanish the gradient is a sum of two terms I am saying it let the worst case be that "
                 "one of these terms vanishes'",
        correction=Claim(
            "l111-implicit-worst-case:corrected", src("(16:34), both terms kept"), NOTATION,
            Identity("ds_t/ds_{t-1}", "d+s_t/ds_{t-1} + ds_t/dh_{t-1} dh_{t-1}/ds_{t-1}", lstm,
                     [{"t": 2, "T": 4}, {"t": 4, "T": 4}]),
            statement="∂s_t/∂s_{t-1} = ∂⁺s_t/∂s_{t-1} + ∂s_t/∂h_{t-1} ∂h_{t-1}/∂s_{t-1} with both terms: neither "
                      "bounds the sum from below", expected="holds"),
        display=Relation(Text(r"$\left\lVert \frac{\partial s_T}{\partial s_0} \right\rVert$"), ">=",
                         Text(r"$\left\lVert \prod_{j=1}^{T} \mathrm{diag}(f_j) \right\rVert$"))))
    out.extend(_reasoning_claims())
    return out


def _reasoning_claims() -> "list[Claim]":
    """Lecture 111's spoken statements and the exploding path, checked (issue 12, items 4 and 5)."""
    from derive.proofs.catalog.reasoning import (clipping_cases, dependency_facts, exploding_path_cases, issue12_norms,
                                                 output_gate_cases, pascanu_cases)

    return [
        Claim("l111-paths-explode", src("(05:05)", "If it vanishes through any o[ne]- if it explodes though any one "
                                                   "of the paths"), NOTATION,
              Implication("one path from s_0 to s_T explodes (|its product| > 10^3)",
                          "the gradient explodes: |∂s_T/∂s_0| > 10^3", **exploding_path_cases("printed"), trials=2),
              expected="fails",
              reading="the exploding half of the path rule, for the path s_0 -> s_1 -> h_1 -> s~_2 -> s_2 -> ... "
                      "-> s_T that takes the implicit edges at every step.  A counterexample: d = 1, every gate "
                      "open (b_o = b_i = b_f = 10), the candidate's recurrent weight W = -1.5, other weights 0, "
                      "x_t = 0, s_0 = 0.01, h_0 = 0: that path is -2.2e3 at T = 20 (1.5^{T-1}), while ∂s_T/∂s_0 = "
                      "-1.9e-6 (finite differences agree): per step the forget path gives f ~ 1 and the implicit "
                      "one -1.5, and their sum -0.5 is what multiplies",
              evidence="spoken (05:05-06:11): 'What is the corresponding rule for exploding gradients? If there "
                       "are multiple paths the gradient would explode if ... if it explodes though any one of the "
                       "paths' and 'for the second case ... we just have to show that there is at least one path "
                       "through which it can explode'",
              correction=Claim(
                  "l111-paths-explode:corrected", src("(05:05), the sum over paths"), NOTATION,
                  Implication("", "∂s_T/∂s_0 = f_1 Π_{j=2}^{T} (f_j + g_j), g_j the implicit factor i_j tanh'(ã_j) W "
                                  "o_{j-1} tanh'(s_{j-1}): the paths of each step are added, and they may cancel",
                              **exploding_path_cases("sum"), trials=2),
                  expected="holds")),
        Claim("l111-recap-explode", src("(03:11)", "as if lambda into gamma is greater than 1, then this will explode"),
              NOTATION,
              Implication("γλ > 1 (λ = ||W||_2, tanh)", "the RNN's gradient explodes: ||∂s_{40}/∂s_0|| > 10^3",
                          **pascanu_cases("lambda-explodes"), trials=2),
              expected="fails",
              reading="the recap of Lecture 105 says 'will explode' where the slide said 'could explode' "
                      "(l105-explode): γλ > 1 only allows the bound to grow.  W = [[0, 2], [2, 0]] with a_t pinned "
                      "at (0, 3) has γλ = 2 and ||∂s_{40}/∂s_0|| = 8.4e-29",
              evidence="spoken (03:11): 'it showed that this term is actually lambda gamma ... as if lambda into "
                       "gamma is greater than 1, then this will explode'; Lecture 105's slide 36/41: 'If γλ > 1 "
                       "the gradient could explode'",
              correction=Claim(
                  "l111-recap-explode:corrected", src("(03:11), as slide 36/41 of Lecture 105 says: could explode"),
                  NOTATION,
                  Computed(issue12_norms, "γλ > 1 makes explosion possible, not certain: the RNN W = [[1.5, 1], "
                                          "[-1.6, -0.9]] (γλ = 2.57) explodes, 1.8, 9.1, 69, 4.0e3, 1.3e7 at t = 1, "
                                          "5, 10, 20, 40", trials=1, rtol=1e-6),
                  expected="holds", display=display("l111-recap-explode:corrected"))),
        Claim("l111-s-depends-h", src("(06:38)", "remember that sk also depends on h k"), NOTATION,
              Computed(dependency_facts(True), "s_k depends on h_k (h_k is an ancestor of s_k in the unrolled LSTM)",
                       trials=1),
              expected="fails", display=display("l111-s-depends-h"),
              reading="the dependency is the other way round: h_k = o_k ⊙ tanh(s_k) reads s_k, while s_k = f_k ⊙ "
                      "s_{k-1} + i_k ⊙ s~_k reads h_{k-1} (through the gates and s~_k), never h_k; a slip of "
                      "speech over a correct slide (l111-lstm-equations, l111-dependency-graph)",
              evidence="spoken (06:38): 'So, sk and the other thing hk remember that sk also depends on h k just "
                       "stare at this for 30 seconds'; the six equations on the same slide give h_k = o_k ⊙ σ(s_k)",
              correction=Claim(
                  "l111-s-depends-h:corrected", src("(06:38), the six equations"), NOTATION,
                  Computed(dependency_facts(False), "h_k depends on s_k (h_k = o_k ⊙ tanh(s_k)); s_k depends on "
                                                    "h_{k-1} and not on h_k", trials=1),
                  expected="holds", display=display("l111-s-depends-h:corrected"))),
        Claim("l111-output-bound", src("(20:40)", "again the diagonal matrix is bounded the weight matrix is bounded. So, "
                                                  "now, the repeated multiplication could explode"), NOTATION,
              Implication("", "each pair ∂h_t/∂o_t ∂o_t/∂h_{t-1} = diag(tanh(s_t) ⊙ σ'(a^o_t)) W_o has norm <= "
                              "||W_o||/4, so the output-gate path obeys ||Π_t pairs|| <= (||W_o||_2/4)^T: it can "
                              "explode only if ||W_o||_2 > 4", **output_gate_cases("bound"), trials=2),
              expected="holds",
              reading="'the diagonal matrix is bounded': |tanh(s_t)| < 1 and σ'(a^o_t) <= 1/4 (the logistic "
                      "output gate), so the diagonal factor is at most 1/4 and the path is bounded by "
                      "(||W_o||/4)^T, on random LSTMs and the exploding one (NumPy reference)"),
        Claim("l111-output-explodes", src("(20:40)", "So, it does not solve the problem of exploding gradients"),
              NOTATION,
              Implication("||W_o||_2 = 8 > 4, the output gate's pre-activation at 0 (σ' = 1/4), tanh(s_t) ~ 1",
                          "the output-gate path and the whole ∂h_T/∂h_0 explode (>= 1.9^T at T = 5, 10, 20)",
                          cases=lambda rng: [], fixed=output_gate_cases("explodes")["fixed"], trials=0),
              expected="holds",
              reading="an exploding instance: d = 1, W_o = 8, b_o = -4 (so 8 h_{t-1} - 4 = 0 at h = 1/2), forget "
                      "gate open (b_f = 20), input gate shut (b_i = -20), s_0 = 10: every pair is 8/4 = 2, the path "
                      "and the whole ∂h_T/∂h_0 are 2^T (32, 1.0e3, 1.0e6), finite differences agreeing"),
        Claim("l111-clip-never-increases", src("(22:32)", "in the case of vanishing gradients you do not have "
                                                          "direction also because the entire gradient becomes 0"),
              NOTATION,
              Implication("", "clipping never increases ||g|| (value and norm clipping), so it cannot revive a "
                              "vanished gradient: it remedies exploding gradients only", cases=clipping_cases,
                          trials=2),
              expected="holds",
              reading="'exploding gradients is easy' (clipping keeps the direction and caps the norm, l111-clip); "
                      "a gradient with ||g|| < 10^{-8} comes back unchanged"),
    ]


def lecture():
    """The plan of Lecture 111's notes and slides, by slide time: the paths of the LSTM, the two paths, clipping."""
    from derive.render.documents import Lecture, Section

    return Lecture(
        "l111", "Lecture 111: How LSTMs avoid the problem of vanishing gradients", notation=NOTATION,
        course="CS7015 Deep Learning, IIT Madras", order=4,
        abstract="In the LSTM the loss reaches a cell state along many paths; the path through the cell states "
                 "multiplies forget gates only, so it vanishes only when they do, while the path through the "
                 "output gate can still explode.",
        sections=(
            Section("Forgetting with the forget gate", topic="lstm", where="slide times 00:12-03:11",
                    items=("l111-forget-half", "l111-recap-explode")),
            Section("The general principle: many paths", topic="lstm", where="slide time 05:05",
                    intro="A gradient vanishes only if it vanishes along every path, and explodes if it explodes "
                          "along one.",
                    items=("l111-paths-rule", "l111-paths-explode", "l111-paths-L*-W_f", "l111-paths-L-W_o")),
            Section("The dependency graph of the LSTM", topic="lstm", where="slide times 06:38-10:42",
                    intro="The gradient is a sum over every path of the dependency graph; their number grows "
                          "geometrically with the distance between the steps.",
                    items=("l111-lstm-equations", "l111-dependency-graph", "l111-s-depends-h", "l111-four-edges",
                           "l111-path-count", "l111-dL-ds", "l111-ds-dWf", "l111-bptt-W_f", "l111-total-*"),
                    figures=("lstm-dependencies",)),
            Section("The path through the cell states", topic="lstm", where="slide times 13:05-19:00",
                    items=("l111-t0", "l111-dh-ds", "l111-local-dh-ds", "l111-ds-ds-explicit", "l111-local-ds-ds",
                           "l111-ds-ds-total", "l111-ds-ds", "l111-implicit-worst-case", "l111-forget-product",
                           "l111-forget-path", "l111-fair-vanishing"),
                    figures=("lstm-forget-gates",)),
            Section("The path through the output gate", topic="lstm", where="slide time 20:40",
                    items=("l111-dh-do", "l111-do-dh", "l111-dh-dh-output", "l111-output-path",
                           "l111-output-gate-path", "l111-output-bound", "l111-output-explodes")),
            Section("Gradient clipping", topic="remedies", where="slide time 22:32",
                    items=("l111-clip", "l111-clip-never-increases")),
        ))
