"""Notes on the CS224n lecture "Vanishing gradients and fancy RNNs" (seeds/003_9ba40663132a09fb.txt).

Notation CS224n: h^{(t)} = σ(W_h h^{(t-1)} + W_x x^{(t)} + b_1), losses J^{(t)}(θ);
mapped onto the engine's RNN by `derive.checks.catalog.LECTURE_NAMES["cs224n"]`
(W_h -> W, W_x -> U, b_1 -> b).  The GRU claims use `derive.cells.gru`, whose
names are the notes' own (u, r, h_tilde, W_u, U_u, b_u, ...).
"""

from __future__ import annotations

import numpy as np
from numpy.linalg import norm
import sympy as sp

from derive import activations, unroll
from derive.checks.catalog import Bound, Claim, Computed, Exact, Identity, Implication, Pending, gamma_of
from derive.cells import rnn
from derive.model.graph import NodeRef
from derive.numeric.evaluator import Evaluator, Instance

from .displays import display
from derive.proofs.catalog.reasoning import (bidirectional, gate_range, highway, issue12_norms, parameter_counts,
                                             pascanu_cases, residual, scalar_wh_cases, sgd_step, stacked)
from . import norm_clipping, source

SOURCE = "003_9ba40663132a09fb.txt"
NOTATION = "cs224n"
src = source(SOURCE)

BOTH = ("tanh", "logistic")
GAPS = [{"i": i, "j": j, "T": 4} for i, j in ((2, 1), (3, 1), (4, 0))]
DIAG = "diag(sigma'(W_h h^{(t-1)} + W_x x^{(t)} + b_1))"


def _gru_cell():
    try:
        from derive.cells.gru import gru
    except ImportError:
        raise Pending("derive.cells.gru (the GRU cell) is not installed") from None
    return gru()


def _gru_equations(rng):
    """The engine's GRU cell against the notes' four equations, recomputed in NumPy."""
    seed = int(rng.integers(1 << 30))
    g = unroll(_gru_cell(), 3, {"n": 3, "d": 2, "k": 4})
    v = Evaluator(g, Instance.random(g, seed)).values
    sig, P = activations.get("logistic").numpy, (lambda name: v[NodeRef(name)])
    engine, printed = [], []
    for t in (1, 2, 3):
        h, x = v[NodeRef("h", t - 1)], v[NodeRef("x", t)]
        u = sig(P("W_u") @ h + P("U_u") @ x + P("b_u"))
        r = sig(P("W_r") @ h + P("U_r") @ x + P("b_r"))
        h_new = np.tanh(P("W_h") @ (r * h) + P("U_h") @ x + P("b_h"))
        printed.append((1 - u) * h + u * h_new)
        engine.append(v[NodeRef("h", t)])
    return np.array(engine), np.array(printed), {"instance seed": seed, "T": 3}


def _gru_keeps(rng):
    """Update gate ~ 0 (b_u = -40): the step Jacobian ∂h^{(t)}/∂h^{(t-1)} is the identity."""
    seed = int(rng.integers(1 << 30))
    g = unroll(_gru_cell(), 3, {"n": 3, "d": 2, "k": 4})
    inst = Instance.random(g, seed)
    inst.values[NodeRef("b_u")] = np.full(2, -40.0)
    ev = Evaluator(g, inst)
    J = ev.total(NodeRef("h", 3), NodeRef("h", 2))
    return J, np.eye(2), {"instance seed": seed, "b_u": -40.0, "u": float(ev.values[NodeRef("u", 3)].max())}


def _clip_alg1(g, threshold):
    """Algorithm 1: if ||ĝ|| >= threshold then ĝ <- threshold/||ĝ|| ĝ."""
    n = np.linalg.norm(g)
    return threshold / n * g if n >= threshold else g


def claims() -> "list[Claim]":
    out = []
    out.append(Claim(
        "cs224n-recall", src("'Recall'", "h^{(t)} = σ(W_h h^{(t-1)} + W_x x^{(t)} + b_1)"), NOTATION,
        Identity("h^{(t)}", "sigma(W_h h^{(t-1)} + W_x x^{(t)} + b_1)", rnn, [{"t": 1, "T": 2}, {"t": 2, "T": 2}],
                 activations=BOTH), kind="definition", expected="holds"))
    out.append(Claim(
        "cs224n-jacobian", src("'Therefore' (chain rule)", "∂h^{(t)}/∂h^{(t-1)} = diag(σ'(W_h h^{(t-1)} + W_x x^{(t)} "
                                                          "+ b_1)) W_h"), NOTATION,
        Identity("dh^{(t)}/dh^{(t-1)}", f"{DIAG} W_h", rnn, [{"t": 1, "T": 2}, {"t": 2, "T": 2}], activations=BOTH),
        expected="holds"))
    out.append(Claim(
        "cs224n-chain", src("gradient of J^{(i)} w.r.t. h^{(j)}", "∂J^{(i)}(θ)/∂h^{(j)} = ∂J^{(i)}(θ)/∂h^{(i)} "
                                                                  "Π_{j<t≤i} ∂h^{(t)}/∂h^{(t-1)}"), NOTATION,
        Identity("dJ^{(i)}(theta)/dh^{(j)}", "dJ^{(i)}(theta)/dh^{(i)} prod_{j<t<=i} dh^{(t)}/dh^{(t-1)}", rnn, GAPS),
        expected="holds", reading="Π read in the chain-rule order (largest t leftmost)"))
    corrected = Identity("dJ^{(i)}(theta)/dh^{(j)}", f"dJ^{{(i)}}(theta)/dh^{{(i)}} prod_{{j<t<=i}} {DIAG} W_h",
                         rnn, GAPS, activations=BOTH)
    out.append(Claim(
        "cs224n-power", src("gradient of J^{(i)} w.r.t. h^{(j)}",
                            "= ∂J^{(i)}(θ)/∂h^{(i)} W_h^{(i-j)} Π_{j<t≤i} diag(σ'(W_h h^{(t-1)} + W_x x^{(t)} + b_1))"),
        NOTATION,
        Identity("dJ^{(i)}(theta)/dh^{(j)}", f"dJ^{{(i)}}(theta)/dh^{{(i)}} W_h^{{(i-j)}} prod_{{j<t<=i}} {DIAG}", rnn,
                 GAPS, activations=BOTH),
        expected="fails",
        reading="W_h^{(i-j)} is the matrix power; pulling W_h out of the product commutes d x d matrices",
        evidence="the notes state it for vectors h^{(t)} and the matrix W_h (bold on the page, with diag(σ'(...)) "
                 "a d x d matrix); the remark after it, 'now if it is a number less than one', treats W_h as a "
                 "number only afterwards, as an intuition, not as an announced restriction to d = 1",
        correction=Claim("cs224n-power:corrected", src("gradient of J^{(i)} w.r.t. h^{(j)}"), NOTATION, corrected,
                         expected="holds")))
    out.append(Claim(
        "cs224n-norm-bound", src("'Consider matrix L2 norms'", "||∂J^{(i)}/∂h^{(j)}|| ≤ ||∂J^{(i)}/∂h^{(i)}|| "
                                                               "||W_h||^{(i-j)} Π_{j<t≤i} ||diag(σ'(...))||"), NOTATION,
        Bound("||dJ^{(i)}(theta)/dh^{(j)}||", "<=",
              f"||dJ^{{(i)}}(theta)/dh^{{(i)}}|| ||W_h||^{{(i-j)}} prod_{{j<t<=i}} ||{DIAG}||", rnn, GAPS),
        expected="holds",
        reading="true although the equality above it is not: the norms of the correct product obey the same bound"))
    out.append(Claim(
        "cs224n-pascanu-sigmoid", src("Pascanu et al. remark", "Here the bound is 1 because we have sigmoid "
                                                               "nonlinearity"), NOTATION,
        Exact(lambda: 1 / gamma_of("logistic"), sp.Integer(1), "1/γ for σ = logistic sigmoid"), expected="fails",
        reading="the bound on the largest eigenvalue in Pascanu et al.'s condition is 1/γ; for the logistic "
                "sigmoid γ = 1/4, so the bound is 4 (it is 1 for tanh)",
        evidence="Pascanu et al. (2013), sec. 3.1 (cited by seeds/000): λ₁ < 1/γ with γ = 1/4 for the sigmoid and "
                 "γ = 1 for tanh; the notes' own sigmoid h^{(t)} = σ(...) has γ = 1/4 (seeds/001 slide 36/41)",
        correction=Claim("cs224n-pascanu-sigmoid:corrected", src("Pascanu et al. remark"), NOTATION,
                         Exact(lambda: 1 / gamma_of("logistic"), sp.Integer(4), "1/γ for σ = logistic sigmoid"),
                         expected="holds",
                         display=display("cs224n-pascanu-sigmoid:corrected")),
                         display=display("cs224n-pascanu-sigmoid")))
    out.append(Claim(
        "cs224n-pascanu-eigen", src("Pascanu et al. remark", "if the largest eigenvalue of W_h is less than 1, then "
                                                             "the gradient ||∂J^{(i)}/∂h^{(j)}|| will shrink "
                                                             "exponentially"), NOTATION,
        Bound("||dJ^{(i)}(theta)/dh^{(j)}||", "<=", "||dJ^{(i)}(theta)/dh^{(i)}|| rho(W_h)^{i-j}", rnn, GAPS,
              activations=("tanh",), recipes=("random", "pinned", "nonnormal"), targets=(0.5, 0.9),
              assume=("rho(W_h)", "<", "1")),
        expected="fails",
        reading="'will shrink exponentially' read as the finite-step bound with rate ρ(W_h) (tanh, γ = 1).  "
                "The eigenvalues do not bound ||W_h^m|| for a non-normal W_h; Pascanu et al.'s sufficient "
                "condition uses the largest singular value",
        evidence="Pascanu et al. (2013), sec. 3.1: 'it is sufficient for λ₁ < 1/γ, where λ₁ is the largest "
                 "singular value of W_rec'; the notes say 'largest eigenvalue', and 'Here the bound is 1' "
                 "(tanh's 1/γ); the counterexample is non-normal (ρ < 1, ||W_h|| > 1)",
        correction=Claim(
            "cs224n-pascanu-eigen:corrected", src("Pascanu et al. (2013), with the largest singular value"), NOTATION,
            Bound("||dJ^{(i)}(theta)/dh^{(j)}||", "<=", "||dJ^{(i)}(theta)/dh^{(i)}|| (gamma ||W_h||)^{i-j}", rnn,
                  GAPS, recipes=("random", "pinned", "nonnormal"), targets=(0.5, 0.9)),
            expected="holds")))
    out.append(Claim(
        "cs224n-explode-eigen", src("Pascanu et al. remark", "There's a similar proof relating a largest eigenvalue "
                                                             ">1 to exploding gradients"), NOTATION,
        Bound("||dh^{(t)}/dh^{(0)}||", ">=", "1", rnn, [{"t": t, "T": 6} for t in (1, 3, 6)],
              recipes=("random", "pinned", "saturated"), targets=(1.5,), assume=("rho(W_h)", ">", "1")),
        expected="fails",
        reading="read as 'largest eigenvalue > 1 implies the gradient grows' (tanh, γ = 1).  Pascanu et al. show "
                "λ₁ > 1/γ (largest singular value) is only *necessary* for explosion: saturated units (σ' ~ 0) "
                "make the gradient vanish whatever W_h is.  The correction is that necessary condition, in "
                "its contrapositive form: without it the gradient cannot grow",
        evidence="Pascanu et al. (2013), sec. 3.1: 'it is necessary for the largest singular value to be larger "
                 "than 1/γ' for exploding gradients; the notes' 'a similar proof' claims more, with the "
                 "eigenvalue; on the saturated instance ρ(W_h) = 1.5 and ||∂h^{(t)}/∂h^{(0)}|| ~ 0",
        correction=Claim(
            "cs224n-explode-eigen:corrected", src("Pascanu et al. (2013): λ₁ > 1/γ is necessary for explosion"),
            NOTATION,
            Bound("||dh^{(t)}/dh^{(0)}||", "<=", "1", rnn, [{"t": t, "T": 6} for t in (1, 3, 6)],
                  recipes=("random", "large", "pinned", "saturated"), targets=(0.5, 0.9, 1.0),
                  assume=("gamma ||W_h||", "<=", "1")),
            statement="if γ||W_h||_2 <= 1 then ||∂h^{(t)}/∂h^{(0)}|| <= 1: the gradient can grow only when the "
                      "largest singular value exceeds 1/γ (necessary, not sufficient)", expected="holds")))
    out.append(Claim(
        "cs224n-wh-number", src("'Notice the W_h factor'", "if it is a number less than one, since it is raised to "
                                                          "the power (i - j) the resulting gradient becomes very less"),
        NOTATION,
        Implication("W_h is a number with |W_h| < 1 (d = 1)", "|∂h^{(i)}/∂h^{(j)}| <= |W_h|^{i-j} (j = 0, i = 1..20)",
                    cases=scalar_wh_cases("small")),
        expected="holds",
        reading="'a number' is d = 1, as the notes say; σ' <= 1 for tanh and the sigmoid, so each factor "
                "σ'(a) W_h is at most |W_h|; checked at the largest slope (a = 0) and saturated (a = 8), engine "
                "against finite differences.  For matrices the norm takes its place (cs224n-norm-bound)"))
    out.append(Claim(
        "cs224n-wh-explode", src("'Notice the W_h factor'", "The opposite happens when w_h is greater than 1 and we "
                                                           "end up with exploding gradients"), NOTATION,
        Implication("W_h > 1 (d = 1)", "the gradient explodes: |∂h^{(20)}/∂h^{(0)}| > 10",
                    cases=scalar_wh_cases("explode")),
        expected="fails",
        reading="read for a number W_h, as the sentence before it; the factor of each step is σ'(a^{(t)}) W_h, not "
                "W_h: with the notes' sigmoid (σ' <= 1/4) W_h = 2 gives |∂h^{(20)}/∂h^{(0)}| <= 2^{-20}, and a "
                "saturated unit (a = 8) makes any W_h vanish",
        evidence="the notes (after the W_h^{(i-j)} line): 'The opposite happens when w_h is greater than 1 and we "
                 "end up with exploding gradients'; their own σ is the sigmoid ('Here the bound is 1 because we "
                 "have sigmoid nonlinearity')",
        correction=Claim(
            "cs224n-wh-explode:corrected", src("'Notice the W_h factor', with the slope"), NOTATION,
            Implication("W_h σ'(a^{(t)}) >= c > 1 at every step (d = 1)", "|∂h^{(t)}/∂h^{(0)}| >= c^t (it explodes)",
                        cases=scalar_wh_cases("explode-corrected")),
            expected="holds")))
    out.append(Claim(
        "cs224n-sgd", src("'Why exploding gradient is a problem?'", "If the gradient becomes too big, then the SGD "
                                                                     "update step becomes too big: θ^{new} = θ^{old} - "
                                                                     "α ∇_θ J(θ)"), NOTATION,
        Computed(sgd_step, "θ^{new} = θ^{old} - α ∇_θ J(θ): the step ||θ^{new} - θ^{old}|| = α ||∇_θ J(θ)|| grows "
                           "with the gradient (θ = W_h, the engine's gradient, checked by finite differences)",
                 trials=2),
        kind="definition", expected="holds", display=display("cs224n-sgd"),
        reading="the garbled '\\stackrel{\\sim}{\\alpha} ... gradient' is the SGD step with learning rate α"))
    out.append(Claim(
        "cs224n-clip-alg1", src("Algorithm 1", "if ||ĝ|| ≥ threshold then ĝ ← threshold/||ĝ|| ĝ"), NOTATION,
        Computed(norm_clipping(_clip_alg1), "Algorithm 1: ||ĝ|| = min(||g||, threshold), same direction "
                                            "('take a step in the same direction, but a smaller step')"),
        expected="holds", display=display("cs224n-clip-alg1")))
    out.append(Claim(
        "cs224n-lstm-gates", src("LSTM overview", "each element of the gates can be open (1), closed (0), or "
                                                  "somewhere in-between"), NOTATION,
        Computed(gate_range, "each gate of the engine's LSTM lies in (0, 1); σ(q) is strictly between 0 and 1 "
                             "(exactly, SymPy) and within 4.2e-18 of 1 and 0 at q = ±40", trials=2),
        expected="holds", display=display("cs224n-lstm-gates"),
        reading="'open (1)' and 'closed (0)' are limits of the logistic gate: every value lies strictly between, "
                "and a large pre-activation comes as close to 1 or 0 as one likes"))
    out.append(Claim(
        "cs224n-gru-equations", src("Gated Recurrent Units",
                                    "u^{(t)} = σ(W_u h^{(t-1)} + U_u x^{(t)} + b_u), ..., "
                                    "h^{(t)} = (1 - u^{(t)}) ∘ h^{(t-1)} + u^{(t)} ∘ h̃^{(t)}"),
        NOTATION,
        Computed(_gru_equations, "the engine's GRU cell computes the notes' u, r, h̃ = tanh(W_h (r ∘ h) + U_h x + "
                                 "b_h) and h = (1 - u) ∘ h + u ∘ h̃", trials=3),
        kind="definition", expected="holds", display=display("cs224n-gru-equations")))
    out.append(Claim(
        "cs224n-gru-keep", src("'How does this solve vanishing gradient?'", "GRU makes it easier to retain info "
                                                                           "long-term (e.g. by setting update gate "
                                                                           "to 0)"), NOTATION,
        Computed(_gru_keeps, "update gate u^{(t)} ~ 0  =>  ∂h^{(t)}/∂h^{(t-1)} = I (the gradient passes unchanged)",
                 trials=3),
        expected="holds",
        reading="u = 0 is a limit of the logistic gate; b_u = -40 gives u ~ 4e-18",
        display=display("cs224n-gru-keep")))
    out.extend(_added_claims())
    out.extend(_pascanu_claims())
    out.extend(_architecture_claims())
    return out


def _pascanu_claims() -> "list[Claim]":
    """Pascanu et al.'s conditions (the notes' remark): the largest singular value is sufficient for vanishing and
    necessary for explosion; the spectral radius is neither (issue 12, item 5).  tanh, γ = 1."""
    ev_src = src("Pascanu et al. remark", "if the largest eigenvalue of W_h is less than 1, then the gradient "
                                          "||∂J^{(i)}/∂h^{(j)}|| will shrink exponentially")
    ex_src = src("Pascanu et al. remark", "There's a similar proof relating a largest eigenvalue >1 to exploding "
                                          "gradients")
    issue = ("the non-normal RNN W_h = [[1.5, 1], [-1.6, -0.9]] (ρ = 0.5, ||W_h||_2 = 2.57) with the inputs pinning "
             "a^{(t)} at (0, 20): ||∂h^{(t)}/∂h^{(0)}|| = 1.8, 9.1, 69, 4.0e3, 1.3e7 at t = 1, 5, 10, 20, 40 (engine "
             "and finite differences)")
    return [
        Claim("cs224n-rho-sufficient", ev_src, NOTATION,
              Implication("γρ(W_h) < 1", "the gradient vanishes: ||∂h^{(40)}/∂h^{(0)}|| < 10^{-6}",
                          **pascanu_cases("rho-sufficient"), trials=2),
              expected="fails",
              reading="the eigenvalue condition as a sufficient condition for vanishing, in the limit (t = 40), "
                      "where Gelfand's formula might be hoped to apply.  It does not: the factors diag(σ'(a^{(t)})) "
                      "W_h vary with t, and ρ of each factor says nothing about their product.  Counterexample: "
                      + issue,
              evidence="the notes: 'Pascanu et al showed that that if the largest eigenvalue of W_h is less than 1, "
                       "then the gradient will shrink exponentially'; Pascanu et al. (2013), sec. 3.1, state it "
                       "for the largest singular value",
              correction=Claim(
                  "cs224n-rho-sufficient:corrected", src("Pascanu et al. (2013): λ₁ < 1/γ is sufficient"), NOTATION,
                  Implication("γ||W_h||_2 < 1", "||∂h^{(t)}/∂h^{(0)}|| <= (γ||W_h||_2)^t for t = 1, 5, 10, 20, 40",
                              **pascanu_cases("lambda-sufficient"), trials=2),
                  expected="holds")),
        Claim("cs224n-rho-necessary", ex_src, NOTATION,
              Implication("the gradient explodes: ||∂h^{(40)}/∂h^{(0)}|| > 10^3", "γρ(W_h) > 1",
                          **pascanu_cases("rho-necessary"), trials=2),
              expected="fails",
              reading="'relating a largest eigenvalue > 1 to exploding gradients' read as Pascanu et al.'s "
                      "necessary condition with the eigenvalue: explosion only when γρ(W_h) > 1.  "
                      "Counterexample: " + issue + ", which explodes with ρ = 0.5",
              evidence="the notes: 'There's a similar proof relating a largest eigenvalue >1 to exploding "
                       "gradients'; Pascanu et al. (2013), sec. 3.1: 'it is necessary for the largest singular "
                       "value to be larger than 1/γ'",
              correction=Claim(
                  "cs224n-rho-necessary:corrected", src("Pascanu et al. (2013): λ₁ > 1/γ is necessary"), NOTATION,
                  Implication("the gradient grows: ||∂h^{(t)}/∂h^{(0)}|| > 1 for some t", "γ||W_h||_2 > 1",
                              **pascanu_cases("lambda-necessary"), trials=2),
                  expected="holds")),
        Claim("cs224n-rho-vanishing-necessary", ev_src, NOTATION,
              Implication("the gradient vanishes: ||∂h^{(40)}/∂h^{(0)}|| < 10^{-6}", "γρ(W_h) < 1",
                          **pascanu_cases("rho-necessary-vanishing"), trials=2),
              expected="fails",
              reading="the other direction: is the eigenvalue condition at least necessary for vanishing?  No: "
                      "W_h = [[0, 2], [2, 0]] (ρ = ||W_h|| = 2) with a^{(t)} pinned at (0, 3) has factors "
                      "diag(1, tanh'(3)) W_h whose square is 4 tanh'(3) I = 0.04 I, so ||∂h^{(t)}/∂h^{(0)}|| falls "
                      "like 0.2^t (8.4e-29 at t = 40) with one unit at full slope at every step",
              evidence="the notes' 'if the largest eigenvalue of W_h is less than 1' is offered as the reason the "
                       "gradient shrinks; with 'There's a similar proof relating a largest eigenvalue >1 to "
                       "exploding gradients' the eigenvalue is made the dividing line between the two",
              correction=Claim(
                  "cs224n-rho-vanishing-necessary:corrected", src("the alternating instance, exactly"), NOTATION,
                  Computed(_alternating_square, "(diag(1, tanh'(3)) W_h)^2 = 4 tanh'(3) I for W_h = [[0, 2], [2, 0]]: "
                                                "∂h^{(2m)}/∂h^{(0)} = (4 tanh'(3))^m I -> 0 although ρ(W_h) = 2",
                           trials=1),
                  expected="holds", display=display("cs224n-rho-vanishing-necessary:corrected"))),
        Claim("cs224n-issue12-rnn", src("Pascanu et al. remark", "largest eigenvalue"), NOTATION,
              Computed(issue12_norms, "W_h = [[1.5, 1], [-1.6, -0.9]]: ρ(W_h) = 0.5, ||W_h||_2 = 2.57, and with a^{(t)} "
                                      "pinned at (0, 20) ||∂h^{(t)}/∂h^{(0)}|| = 1.5^{t-1} sqrt(3.25) = 1.8, 9.1, 69, "
                                      "4.0e3, 1.3e7 at t = 1, 5, 10, 20, 40 (engine and finite differences)",
                       trials=1, rtol=1e-6),
              expected="holds", display=display("cs224n-issue12-rnn"),
              reading="the counterexample's numbers: pinned at (0, 20) the slopes are tanh'(0) = 1 and tanh'(20) ~ "
                      "0, every factor is diag(1, 0) W_h = [[1.5, 1], [0, 0]], and its powers are 1.5^{t-1} times "
                      "it; the finite differences (step scaled to 1e-4/||J||) agree to 1e-6"),
    ]


def _alternating_square(rng=None):
    from derive.proofs.catalog.reasoning import ALTERNATING_W, rnn_pinned

    ev = rnn_pinned(ALTERNATING_W, (0.0, 3.0), 6)
    eps = 1 - np.tanh(3.0) ** 2
    lhs = [ev.total(NodeRef("s", 2 * m), NodeRef("s", 0)).ravel() for m in (1, 2, 3)]
    rhs = [((4 * eps) ** m * np.eye(2)).ravel() for m in (1, 2, 3)]
    rho = max(abs(np.linalg.eigvals(np.array(ALTERNATING_W))))
    return np.concatenate(lhs + [[rho]]), np.concatenate(rhs + [[2.0]]), {"tanh'(3)": eps}


def lstm_without_guarantee(rng=None):
    """Issue 12's cancelling LSTM (Lecture 111's counterexample): the forget gates are open (Π f_j = 0.079 at
    T = 20) yet ∂s_T/∂s_0 = -9.0e-39: the LSTM's gradient can still vanish.  Left: [Π f_j >= 0.05,
    |∂s_T/∂s_0| < 1e-30, engine-free NumPy Jacobian = finite differences]."""
    from derive.proofs.catalog.l111_lstm import CANCEL_S0, _cancel_params, _lstm_run     # its counterexample

    T = 20
    forget, total, fd = _lstm_run(_cancel_params(), np.zeros((T, 1, 1)), np.full((1, 1), CANCEL_S0), np.zeros((1, 1)))
    lhs = [float(forget[0, 0] >= 0.05), float(abs(total[0, 0]) < 1e-30),
           float(np.allclose(total, fd, rtol=1e-4, atol=1e-300))]
    return np.array(lhs), np.ones(3), {"T": T, "forget_path": float(forget[0, 0]), "total": float(total[0, 0])}


def _architecture_claims() -> "list[Claim]":
    """The notes' remedies and architectures, checked (issue 12, item 4)."""
    return [
        Claim("cs224n-lstm-no-guarantee", src("LSTM, Note", "using LSTMs don't guarantee that the problem of vanishing "
                                                            "gradient disappears"), NOTATION,
              Computed(lstm_without_guarantee, "an LSTM whose forget gates stay open (Π f_j = 0.079 at T = 20) has "
                                               "∂c^{(T)}/∂c^{(0)} = -9.0e-39: its gradient vanishes", trials=1),
              expected="holds", display=display("cs224n-lstm-no-guarantee"),
              reading="a witness: the cancelling 1-d LSTM (Lecture 111's counterexample, l111-paths-rule), the "
                      "cell state c^{(t)} the lecture's s_t; 'greatly reduces the risk' is empirical and not checked"),
        Claim("cs224n-lstm-more-params", src("LSTMs vs GRU", "since LSTMs have more parameters than GRU"), NOTATION,
              Computed(parameter_counts, "the engine's LSTM has 4d(d + n + 1) parameters (three gates and the "
                                         "candidate, each W, U, b), its GRU 3d(d + n + 1) (two gates and the "
                                         "candidate): the LSTM has more, and its affine maps need 4/3 of the "
                                         "GRU's multiply-adds per step", trials=3),
              expected="holds", display=display("cs224n-lstm-more-params"),
              reading="counted from the cells' parameters, output layer V, c left out (it is the same for both); "
                      "'they can remember more learnings and are hence more suited for larger training sets' is "
                      "empirical and not checked"),
        Claim("cs224n-residual", src("Residual connections (ResNet)", "the input from steps before is added to the "
                                                                     "current step in order to protect the old data "
                                                                     "from disappearing"), NOTATION,
              Computed(residual, "h = x + F(x): ∂h/∂x = I + ∂F/∂x, so where ∂F/∂x vanishes (a saturated F) the "
                                 "Jacobian is I and the gradient passes unchanged", trials=3, rtol=1e-6),
              expected="holds", display=display("cs224n-residual"),
              reading="the residual block as F(x) = tanh(W x + b); finite differences against I + diag(tanh'(W x + "
                      "b)) W, and against I for b = 30"),
        Claim("cs224n-highway", src("Highway connections (HighwayNet)", "we have an additional dynamic gate ... the "
                                                                        "input from before is not simply added"),
              NOTATION,
              Computed(highway, "h = g ⊙ F(x) + (1 - g) ⊙ x with a dynamic gate g = σ(W_g x + b_g): ∂h/∂x = diag(1 - g) + "
                                "diag(g) ∂F/∂x + diag(F(x) - x) ∂g/∂x, and I when the gate is shut", trials=3, rtol=1e-6),
              expected="holds", display=display("cs224n-highway"),
              reading="the gate depends on the input (dynamic), so its derivative adds the third term; finite "
                      "differences against the formula, and against I for b_g = -40"),
        Claim("cs224n-bidirectional-lm", src("Bidirectional RNN", "You cannot bidirectional RNNs for Language "
                                                                  "modelling ( obviously as you have only the left "
                                                                  "context )"), NOTATION,
              Computed(bidirectional, "in a bidirectional RNN the forward state at step t does not depend on the "
                                      "later inputs (∂h→^{(t)}/∂x^{(u)} = 0, u > t) but the backward state does "
                                      "(∂h←^{(t)}/∂x^{(u)} != 0): the state at t reads the word it should predict",
                       trials=3),
              expected="holds", display=display("cs224n-bidirectional-lm"),
              reading="why 'only the left context': a language model predicts x^{(t+1)} from x^{(1..t)}, and the "
                      "backward half of the state already depends on x^{(t+1)} (finite differences, T = 5)"),
        Claim("cs224n-bidirectional-advice", src("Bidirectional RNN", "if you have the full input sequence then you "
                                                                      "must by default use bidirectional RNNs"),
              NOTATION, kind="prose",
              not_checkable="advice on modelling practice ('very powerful'), not a statement about the formulas"),
        Claim("cs224n-stacked", src("Multi layer RNNs", "hidden layer of one RNN is input of RNN above it"), NOTATION,
              Computed(stacked, "a two-layer RNN (h_1^{(t)} the input of layer 2): ∂h_2^{(T)}/∂x^{(1)} by finite "
                                "differences equals the chain rule summed over the step where the path climbs a "
                                "layer, and the longest chain of nonlinearities from x^{(1)} to h_2^{(T)} has T + L - 1 "
                                "of them (made deeper)", trials=3, rtol=1e-6),
              expected="holds", display=display("cs224n-stacked"),
              reading="'RNNs are already deep as they are processed over many timestamps, but they can be made "
                      "deeper': the depth is the longest chain of tanh, T for one layer, T + L - 1 for L layers"),
    ]


def norm_clipping_algorithm_1(g, threshold):
    # Algorithm 1 of the notes (Pascanu et al. 2013): g is dE/dθ; latexify typesets this function.
    if norm(g) >= threshold:
        g = threshold / norm(g) * g
    return g


def _added_claims() -> "list[Claim]":
    """Algorithm 1 as pseudo-code, and the LSTM of the notes as the engine's cell."""
    from derive.terms import Code

    from .l111_lstm import lstm_equations, six_equations_display

    alg1 = Code(norm_clipping_algorithm_1, (("norm_clipping_algorithm_1", "NormClipping"),))
    return [
        Claim("cs224n-clip-alg1-code", src("Algorithm 1", "if ||ĝ|| ≥ threshold then ĝ ← threshold/||ĝ|| ĝ end if"),
              NOTATION,
              Computed(norm_clipping(alg1), "NormClipping(ĝ, threshold), the pseudo-code of Algorithm 1: "
                                            "||ĝ|| = min(||g||, threshold), same direction"),
              expected="holds", reading="typeset by latexify from the function the check runs", display=alg1),
        Claim("cs224n-lstm-equations", src("Long short-term memory (LSTM)", "On timestep t: [the equations of the "
                                                                           "slide image]"), NOTATION,
              Computed(lstm_equations, "the engine's LSTM: f, i, o = σ(W_* h^{(t-1)} + U_* x^{(t)} + b_*), "
                                       "c̃ = tanh(W_c h^{(t-1)} + U_c x^{(t)} + b_c), c^{(t)} = f ∘ c^{(t-1)} + i ∘ c̃, "
                                       "h^{(t)} = o ∘ tanh(c^{(t)})", trials=3),
              kind="definition", expected="holds",
              reading="the notes' equations are an image missing from the transcript ('On timestep t:'); these "
                      "are the LSTM of the CS224n lecture (hidden state h, cell state c, three gates), the "
                      "engine's `derive.cells.lstm` in the notes' names",
              display=six_equations_display()),
    ]


def lecture():
    """The plan of the CS224n notes' documents: vanishing and exploding gradients, clipping, LSTM, GRU."""
    from derive.render.documents import Lecture, Section

    return Lecture(
        "cs224n", "Vanishing Gradients and Fancy RNNs", notation=NOTATION,
        course="CS224n: Natural Language Processing with Deep Learning, Stanford (lecture notes)", order=3,
        abstract="Repeated multiplication by the one-step Jacobian makes far-away words' gradients vanish or explode; "
                 "norm clipping, the LSTM and the GRU are the remedies.",
        sections=(
            Section("Problems in RNN (vanishing and exploding gradients)", topic="vanishing",
                    where="'Recall' to 'Consider matrix L2 norms'",
                    items=("cs224n-recall", "cs224n-jacobian", "cs224n-step-jacobian", "cs224n-chain", "cs224n-power",
                           "cs224n-loss-product", "cs224n-wh-number", "cs224n-wh-explode", "cs224n-norm-bound")),
            Section("Pascanu et al.'s eigenvalue remark", topic="vanishing", where="after 'Consider matrix L2 norms'",
                    intro="The finite-step bound needs the largest singular value, not the largest eigenvalue.",
                    items=("cs224n-pascanu-eigen", "cs224n-pascanu-sigmoid", "cs224n-explode-eigen",
                           "cs224n-rho-sufficient", "cs224n-rho-necessary", "cs224n-rho-vanishing-necessary",
                           "cs224n-issue12-rnn")),
            Section("Why exploding gradient is a problem? Gradient clipping", topic="remedies",
                    where="Algorithm 1 (pseudo-code for norm clipping)",
                    items=("cs224n-sgd", "cs224n-clip-alg1", "cs224n-clip-alg1-code")),
            Section("Long short-term memory (LSTM)", topic="lstm", where="LSTM overview",
                    items=("cs224n-lstm-gates", "cs224n-lstm-equations", "cs224n-lstm-no-guarantee")),
            Section("Gated Recurrent Units (GRU)", topic="gru", where="Gated Recurrent Units",
                    items=("cs224n-gru-equations", "gru-carry", "gru-dh-du", "gru-dh-dhtilde", "gru-du-dh",
                           "gru-dr-dh", "gru-dh-dh", "cs224n-gru-keep", "gru-carry-path", "gru-paths-L*-W_u",
                           "gru-cs224n-total-*", "gru-pytorch-total-*", "cs224n-lstm-more-params")),
            Section("Residual, highway, bidirectional and multi-layer RNNs", topic="remedies",
                    where="'Is vanishing/exploding gradient only a RNN problem?' to 'Multi layer RNNs'",
                    intro="Skip connections add the identity to the Jacobian; a bidirectional state reads the future; "
                          "a stacked RNN feeds each layer's hidden state to the layer above.",
                    items=("cs224n-residual", "cs224n-highway", "cs224n-bidirectional-lm",
                           "cs224n-bidirectional-advice", "cs224n-stacked")),
            # Issue 12, item 6: the notes name them; their BPTT is derived in proofs/beyond_lectures.py.
            Section("Bidirectional RNN", topic="remedies", where="Bidirectional RNN",
                    intro="A backward state runs from the end of the sequence: it reads every later input and "
                          "no earlier one, so its gradient recursion runs forward in time.",
                    items=("beyond-bidir-*",)),
            Section("Multi layer RNNs", topic="remedies", where="Multi layer RNNs",
                    intro="The hidden layer of one RNN is the input of the RNN above it: the loss reaches a lower "
                          "state through the upper state of its step and through the next lower state.",
                    items=("beyond-stacked-*",)),
            Section("Summary: LSTMs are powerful but GRUs are faster", topic="gru", where="Summary, point 1",
                    intro="What the cells cost: one block of recurrent, input and bias weights per gate or "
                          "candidate, counted from the cells' own parameter shapes.",
                    items=("beyond-count-*",)),
        ))
