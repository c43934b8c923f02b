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
from derive.checks.catalog import Bound, Claim, Computed, Exact, Identity, Pending, gamma_of
from derive.cells import rnn
from derive.model.graph import NodeRef
from derive.numeric.evaluator import Evaluator, Instance

from .displays import display
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
        NOTATION, kind="prose",
        not_checkable="true for d = 1 only, where W_h is a number (see cs224n-power, which holds at d = 1); for "
                      "matrices the relevant quantity is the norm (cs224n-pascanu-eigen:corrected)"))
    out.append(Claim(
        "cs224n-sgd", src("'Why exploding gradient is a problem?'", "θ^{new} = θ^{old} - α ∇_θ J(θ)"), NOTATION,
        kind="prose", not_checkable="the definition of the SGD step, not a claim about derivatives"))
    out.append(Claim(
        "cs224n-clip-alg1", src("Algorithm 1", "if ||ĝ|| ≥ threshold then ĝ ← threshold/||ĝ|| ĝ"), NOTATION,
        Computed(norm_clipping(_clip_alg1), "Algorithm 1: ||ĝ|| = min(||g||, threshold), same direction "
                                            "('take a step in the same direction, but a smaller step')"),
        expected="holds", display=display("cs224n-clip-alg1")))
    out.append(Claim(
        "cs224n-lstm-gates", src("LSTM overview", "each element of the gates can be open (1), closed (0), or "
                                                  "somewhere in-between"), NOTATION,
        kind="prose",
        not_checkable="an intuition: a logistic gate lies strictly in (0, 1), 0 and 1 are limits"))
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
    return out


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
                           "cs224n-loss-product", "cs224n-wh-number", "cs224n-norm-bound")),
            Section("Pascanu et al.'s eigenvalue remark", topic="vanishing", where="after 'Consider matrix L2 norms'",
                    intro="The finite-step bound needs the largest singular value, not the largest eigenvalue.",
                    items=("cs224n-pascanu-eigen", "cs224n-pascanu-sigmoid", "cs224n-explode-eigen")),
            Section("Why exploding gradient is a problem? Gradient clipping", topic="remedies",
                    where="Algorithm 1 (pseudo-code for norm clipping)",
                    items=("cs224n-sgd", "cs224n-clip-alg1", "cs224n-clip-alg1-code")),
            Section("Long short-term memory (LSTM)", topic="lstm", where="LSTM overview",
                    items=("cs224n-lstm-gates", "cs224n-lstm-equations")),
            Section("Gated Recurrent Units (GRU)", topic="gru", where="Gated Recurrent Units",
                    items=("cs224n-gru-equations", "gru-carry", "gru-dh-du", "gru-dh-dhtilde", "gru-du-dh",
                           "gru-dr-dh", "gru-dh-dh", "cs224n-gru-keep", "gru-carry-path", "gru-paths-L*-W_u",
                           "gru-cs224n-total-*", "gru-pytorch-total-*")),
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
