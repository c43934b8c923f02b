"""Applied NLP (CMI), Lecture 59, "BPTT - Exploding and Vanishing gradient" (seeds/000_7be57cb19668d348.txt).

The lecture writes h^{[t]} (slides 14-16: h^{(t)}), E^{[t]} for the loss, U for
the *recurrent* matrix and W for the *input* matrix, and eq. (18) has no bias:
h^{(τ)} = σ(W X^{(τ)} + U h^{(τ-1)}).  `rnn_nobias` is that cell in the
engine's names (W recurrent, U input), so every claim is parsed with the
lecture's names mapped by `derive.checks.catalog.LECTURE_NAMES["appliednlp"]`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive import activations, unroll
from derive.checks.catalog import Claim, Computed, Exact, Identity, Implication, JacobianShape
from derive.model.cell import Cell
from derive.model.graph import NodeRef
from derive.model.ir import nll, softmax
from derive.numeric.evaluator import Evaluator, Instance

from .displays import display
from derive.proofs.catalog.reasoning import (activation_ranges, clipping_cases, geometric_decay, overflow_nan, u_power,
                                             u_small_cases, word_positions)
from . import norm_clipping, source

SOURCE = "000_7be57cb19668d348.txt"
NOTATION = "appliednlp"
src = source(SOURCE)


def rnn_nobias(activation: str = "tanh") -> Cell:
    """Eq. (18), h^{(τ)} = σ(W X^{(τ)} + U h^{(τ-1)}), in engine names: s_t = σ(W s_{t-1} + U x_t).

    The lecture's U (recurrent) is the engine's W, its W (input) the engine's U;
    the output layer y = softmax(V s + c) and E^{[t]} = -log y_{t,c} are the
    per-step terms of eq. (12).
    """
    sigma = activations.get(activation)
    cell = Cell("rnn_nobias", dims=("n", "d", "k"), family="rnn", description=f"RNN without bias ({sigma.name}), Applied NLP (18)")
    n, d, k = cell.dims
    W, U = cell.param("W", (d, d)), cell.param("U", (d, n))
    V, c = cell.param("V", (k, d)), cell.param("c", (k,))
    x, e = cell.input("x", (n,)), cell.label("e", k)
    s = cell.state("s", (d,))
    a = cell.define("a", W @ s.prev + U @ x)
    cell.define("s", sigma(a))
    y = cell.define("y", softmax(V @ s + c))
    cell.loss("L", nll(y, e))
    return cell


def _losses(rng):
    """Per-step probabilities y'_t and losses E^{[t]} of a random instance of the cell (T = 4, k = 5)."""
    seed = int(rng.integers(1 << 30))
    g = unroll(rnn_nobias("tanh"), 4, {"n": 3, "d": 2, "k": 5})
    ev = Evaluator(g, Instance.random(g, seed))
    T = g.T
    y = np.array([ev.values[NodeRef("y", t)] for t in range(1, T + 1)])
    onehot = np.array([ev.values[NodeRef("e", t)] for t in range(1, T + 1)])
    losses = np.array([float(ev.values[NodeRef("L", t)]) for t in range(1, T + 1)])
    return y, onehot, losses, seed


def _eq12(rng):
    y, onehot, losses, seed = _losses(rng)
    E = -np.sum(onehot * np.log(y)) / len(y)            # (12): -1/T sum_j sum_i y_ij log y'_ij
    return E, losses.mean(), {"instance seed": seed, "T": len(y), "|V|": y.shape[1]}


def _perplexity(base):
    def fn(rng):
        y, onehot, losses, seed = _losses(rng)
        E = -np.sum(onehot * np.log(y)) / len(y)           # natural log, as the loss -log y_c
        if base == "2":
            E = -np.sum(onehot * np.log2(y)) / len(y)
        p = np.sum(onehot * y, axis=1)                       # probability of the true word at each step
        perplexity = np.prod(p) ** (-1.0 / len(p))           # the geometric mean of 1/p
        lhs = {"printed": 2.0 ** E, "e": np.exp(E), "2": 2.0 ** E}[base]
        return lhs, perplexity, {"instance seed": seed, "E(theta)": E}
    return fn


def _clip_printed(g, threshold=1.0):
    """The slide, literally: "If g < 1, or if g > 1, then g = 1" (entry by entry)."""
    return np.where((g < 1) | (g > 1), 1.0, g)


def _clip_value(g, threshold=1.0):
    try:
        from derive.numeric.clipping import clip_value
    except ImportError:
        return np.clip(g, -threshold, threshold)
    return clip_value(g, threshold)


def _value_clipping(rule):
    def fn(rng):
        g = rng.uniform(-3.0, 3.0, size=6)
        return rule(g.copy()), np.where(np.abs(g) <= 1.0, g, np.sign(g)), {"g": g}
    return fn


def _norm_clip_printed(g, threshold):
    """The slide: "If ||g|| > threshold, then g <- threshold/||g|| g"."""
    n = np.linalg.norm(g)
    return threshold / n * g if n > threshold else g


def claims() -> "list[Claim]":
    cell = rnn_nobias
    out = []

    out.append(Claim(
        "l59-eq12", src("eq. (12)", "E(θ) = -1/T Σ_{j=1}^T Σ_{i=1}^{|V|} y_{i,j} log(y'_{i,j})"), NOTATION,
        Computed(_eq12, "E(θ) = -(1/T) Σ_j Σ_i y_{i,j} log y'_{i,j} = (1/T) Σ_t E^{[t]}, E^{[t]} = -log y'_{t,c_t}"),
        kind="definition", expected="holds",
        reading="y is one-hot, so (12) is the mean over the T steps of the per-step cross-entropy the "
                "engine's cell uses as its loss; checked against the cell's own E^{[t]}",
                display=display("l59-eq12")))

    out.append(Claim(
        "l59-perplexity", src("slide after eq. (12)", "This term (·) is known as the perplexity. Lower the value "
                              "of 2^{E(θ)} better is the confidence"), NOTATION,
        Computed(_perplexity("2"), "perplexity = 2^{E(θ)} = (Π_t y'_{t,c_t})^{-1/T}, E(θ) as in (12) with the "
                                   "base of its log left open, as printed: log_2, the base 2^{E(θ)} implies"),
        expected="holds",
        reading="the term in '(·)' was lost in transcription; read as 2^{E(θ)}.  Judged as written: (12) gives "
                "no base for its log, and with the base 2 that 2^{E(θ)} implies, 2^{E(θ)} is the perplexity "
                "(Π_t y'_{t,c_t})^{-1/T} exactly.  (With the natural log of the engine's loss -log y_c it "
                "would be e^{E(θ)}; the slide does not say natural log, so that is not held against it)",
        evidence="eq. (12) prints 'log(y'_{i,j})' with no base; the same slide pairs it with 2^{E(θ)}",
        display=display("l59-perplexity")))

    out.append(Claim(
        "l59-eq15", src("eq. (15)", "∂E^{[5]}/∂h^{[0]} = ∂E^{[5]}/∂h^{[5]} × ∂h^{[5]}/∂h^{[4]} × ... "
                                    "× ∂h^{[1]}/∂h^{[0]}"),
        NOTATION,
        Identity("dE^{[5]}/dh^{[0]}", "dE^{[5]}/dh^{[5]} × dh^{[5]}/dh^{[4]} × dh^{[4]}/dh^{[3]} × dh^{[3]}/dh^{[2]} "
                 "× dh^{[2]}/dh^{[1]} × dh^{[1]}/dh^{[0]}", cell, [{"T": 5}]),
        expected="holds"))
    out.append(Claim(
        "l59-eq15-product", src("eq. (15)", "= ∂E^{[5]}/∂h^{[5]} Π_{t=1}^{5} ∂h^{[t]}/∂h^{[t-1]}"), NOTATION,
        Identity("dE^{[5]}/dh^{[0]}", "dE^{[5]}/dh^{[5]} prod_{t=1}^{5} dh^{[t]}/dh^{[t-1]}", cell, [{"T": 5}]),
        expected="holds",
        reading="the plain Π is read in the order of the expanded product it abbreviates (largest t leftmost)"))
    out.append(Claim(
        "l59-eq16", src("eq. (16)", "∂E^{[τ]}/∂h^{[0]} = ∂E^{[τ]}/∂h^{[τ]} Π_{t=1}^{τ} ∂h^{[t]}/∂h^{[t-1]} where τ "
                                    "represents depth of the layers"), NOTATION,
        Identity("dE^{[tau]}/dh^{[0]}", "dE^{[tau]}/dh^{[tau]} prod_{t=1}^{tau} dh^{[t]}/dh^{[t-1]}", cell,
                 [{"tau": v} for v in (1, 2, 3, 6)] + [{"tau": 3, "T": 6}]),
        expected="holds",
        reading="τ is the step of the loss E^{[τ]} (the 'depth' of the unrolled network); checked for several τ "
                "and also for E^{[3]} inside a longer sequence (T = 6)"))

    out.append(Claim(
        "l59-eq17", src("eq. (17)", "∂E^{(t)}/∂h^{(0)} = ∂E^{(t)}/∂h^{(t)} Π_{τ=1}^{t-1} ∂h^{(τ)}/∂h^{(τ-1)}"),
        NOTATION,
        Identity("dE^{(t)}/dh^{(0)}", "dE^{(t)}/dh^{(t)} prod_{tau=1}^{t-1} dh^{(tau)}/dh^{(tau-1)}", cell,
                 [{"t": v} for v in (1, 2, 3, 5)]),
        expected="fails",
        reading="the product stops at τ = t-1, so the factor ∂h^{(t)}/∂h^{(t-1)} is missing (eq. (16) runs to τ)",
        evidence="not a transcription slip: eq. (20) on the same slide has the same Π_{τ=1}^{t-1}, and the "
                 "lecturer says it (after 05:39): 'if we have t states or τ states it is going to be τ - 1. "
                 "This is U^{τ-1}'; eq. (16) on the slide before (03:49) runs to τ",
        correction=Claim(
            "l59-eq17:corrected", src("eq. (17)"), NOTATION,
            Identity("dE^{(t)}/dh^{(0)}", "dE^{(t)}/dh^{(t)} prod_{tau=1}^{t} dh^{(tau)}/dh^{(tau-1)}", cell,
                     [{"t": v} for v in (1, 2, 3, 5)]),
            expected="holds")))

    out.append(Claim(
        "l59-eq18", src("eq. (18)", "h^{(τ)} = σ(WX^{(τ)} + Uh^{(τ-1)})"), NOTATION,
        Identity("h^{(tau)}", "sigma(W X^{(tau)} + U h^{(tau-1)})", cell, [{"tau": 1}, {"tau": 3}],
                 activations=("tanh", "logistic")),
        kind="definition", expected="holds",
        reading="U is the recurrent matrix and W the input matrix (the engine's W and U); no bias"))

    out.append(Claim(
        "l59-eq19", src("eq. (19)", "∂h^{(τ)}/∂h^{(τ-1)} = diag(σ'(WX^{(τ-1)} + Uh^{(τ-1)}))U"), NOTATION,
        Identity("dh^{(tau)}/dh^{(tau-1)}", "diag(sigma'(W X^{(tau-1)} + U h^{(tau-1)})) U", cell,
                 [{"tau": 2, "T": 3}, {"tau": 3, "T": 3}], activations=("tanh", "logistic")),
        expected="fails",
        reading="σ' is evaluated at the input of the previous step, X^{(τ-1)}, instead of X^{(τ)} of (18); "
                "checked at τ = 2, 3 (at τ = 1 it would need X^{(0)}, which does not exist)",
        evidence="the slide repeats X^{(τ-1)} in eq. (20), so it is on the slide, not a transcription slip; "
                 "eq. (18) two lines above defines h^{(τ)} = σ(WX^{(τ)} + Uh^{(τ-1)})",
        correction=Claim(
            "l59-eq19:corrected", src("eq. (19)"), NOTATION,
            Identity("dh^{(tau)}/dh^{(tau-1)}", "diag(sigma'(W X^{(tau)} + U h^{(tau-1)})) U", cell,
                     [{"tau": 1, "T": 3}, {"tau": 2, "T": 3}, {"tau": 3, "T": 3}], activations=("tanh", "logistic")),
            expected="holds")))

    out.append(Claim(
        "l59-eq20-jacobian", src("eq. (20), first", "∂h^{(τ)}/∂h^{(τ-1)} is a Jacobian"), NOTATION,
        JacobianShape("dh^{(tau)}/dh^{(tau-1)}", ("d", "d"), cell, {"tau": 2}),
        kind="definition", expected="holds",
        reading="a d x d matrix (two equations share the number (20))", display=display("l59-eq20-jacobian")))

    corrected20 = Identity("dE^{(t)}/dh^{(0)}",
                           "dE^{(t)}/dh^{(t)} prod_{tau=1}^{t} diag(sigma'(W X^{(tau)} + U h^{(tau-1)})) U", cell,
                           [{"t": v} for v in (1, 2, 3, 4)], activations=("tanh", "logistic"))
    out.append(Claim(
        "l59-eq20", src("eq. (20), second", "∴ ∂E^{(t)}/∂h^{(0)} = ∂E^{(t)}/∂h^{(t)} U^{⊗t} Π_{τ=1}^{t-1} "
                                            "diag(σ'(WX^{(τ-1)} + Uh^{(τ-1)}))"), NOTATION,
        Identity("dE^{(t)}/dh^{(0)}",
                 "dE^{(t)}/dh^{(t)} U^{t} prod_{tau=1}^{t-1} diag(sigma'(W X^{(tau-1)} + U h^{(tau-1)}))", cell,
                 [{"t": v} for v in (1, 2, 3, 4)], activations=("tanh", "logistic"), outside="zero"),
        expected="fails",
        reading="U^{⊗t} read as the matrix power U^t (⊗ would be a Kronecker power, of size d^t x d^t, which "
                "does not fit; the lecturer says 'this is U^{τ-1}'); X^{(0)} (at τ = 1) does not exist and is read "
                "as 0.  Three slips: the product misses τ = t, σ' takes X^{(τ-1)}, and U is pulled out of the "
                "product of non-commuting matrices",
        evidence="spoken (after 05:39): 'you take the U out of that because it is going to be U into h t minus "
                 "1' and 'it is going to be τ - 1. This is U^{τ-1}': the lecturer means the power and the "
                 "range as printed",
        correction=Claim("l59-eq20:corrected", src("eq. (20), second"), NOTATION, corrected20, expected="holds")))
    out.append(Claim(
        "l59-eq20-order", src("eq. (20), second", "∂E^{(t)}/∂h^{(t)} U^{⊗t} Π diag(σ'(...))"), NOTATION,
        Identity("dE^{(t)}/dh^{(0)}",
                 "dE^{(t)}/dh^{(t)} U^{t} prod_{tau=1}^{t} diag(sigma'(W X^{(tau)} + U h^{(tau-1)}))", cell,
                 [{"t": v} for v in (1, 2, 3, 4)], activations=("tanh", "logistic")),
        expected="fails",
        reading="eq. (20) with its index slips repaired (τ = 1..t, X^{(τ)}), to isolate the last one: U^t "
                "pulled out in front of the diagonal factors",
        evidence="spoken (after 05:39): 'then you take the U out of that because it is going to be U into h t "
                 "minus 1': U is taken out of the product on purpose; no special case (d = 1) is announced",
        correction=Claim("l59-eq20-order:corrected", src("eq. (20), second"), NOTATION, corrected20,
                         expected="holds")))

    out.append(Claim(
        "l59-0.01-pow-47", src("slide 'EXPLODING/VANISHING GRADIENT' (09:40)", "0.01^{47} = 1.0e-94"), NOTATION,
        Exact(sp.Rational(1, 100) ** 47, "1.0e-94", "0.01^47", float64=lambda: 0.01 ** 47), expected="holds",
        display=display("l59-0.01-pow-47")))
    out.append(Claim(
        "l59-0.5-pow-47", src("slide 'EXPLODING/VANISHING GRADIENT' (09:40)", "0.5^{47} = 7.1054274e-15"), NOTATION,
        Exact(sp.Rational(1, 2) ** 47, "7.1054274e-15", "0.5^47", float64=lambda: 0.5 ** 47), expected="holds",
        display=display("l59-0.5-pow-47")))
    out.append(Claim(
        "l59-40-factors", src("spoken (09:40)", "from this 7th to 47th there are we have 40 Us coming in to place"),
        NOTATION, Exact(sp.Integer(47 - 7), "40", "47 - 7"), expected="holds",
        reading="the number of one-step Jacobians (each with a factor U) between the 7th and the 47th word",
        display=display("l59-40-factors")))
    out.append(Claim(
        "l59-u-small", src("slide after eq. (20)", "U gets very small when the depth increases"), NOTATION,
        Implication("||U||_2 < 1", "||∂h^{(t)}/∂h^{(0)}|| <= ||U||^t for t = 1..8: the product of the t factors "
                                   "diag(σ')U gets very small as the depth t increases", cases=u_small_cases(rnn_nobias),
                    trials=2),
        expected="holds",
        reading="U is one fixed matrix, shared by every step, so it does not itself change with the depth; "
                "read as the lecturer explains it (05:39: 'you need to make sure that the value of U is well "
                "behaved', 'U^{τ-1}'): the factor U^t of eq. (20), i.e. the product of the t one-step "
                "Jacobians, bounded by ||U||^t since σ' <= 1 (tanh, logistic); checked on the engine's eq. (18) "
                "RNN, ||U|| = 0.5, 0.95 (1.5 does not satisfy the hypothesis)"))
    out.append(Claim(
        "l59-decay-depth", src("slide (09:40)", "The decay in the gradient value is proportional to the depth"),
        NOTATION,
        Computed(geometric_decay, "on the RNN pinned at σ' = 1 with U = c Q (Q orthogonal), ||∂h^{(t)}/∂h^{(0)}|| = "
                                  "c^t: the gradient decays with the depth t, geometrically", trials=2),
        expected="holds", display=display("l59-decay-depth"),
        reading="'proportional to the depth' read as 'grows with the depth' ('The deeper the net ..., the chance "
                "of getting a smaller value of the gradient'); the decay is geometric in the depth, c^t (the "
                "bound (γλ)^t of l105-power, attained here), not linear",
        evidence="slide (09:40): 'The decay in the gradient value is proportional to the depth of the network. "
                 "The deeper the net network, the the chance of getting a smaller value of the gradient'"))
    out.append(Claim(
        "l59-clip-value", src("slide 'GRADIENT CLIPPING'", "If g < 1, or if g > 1, then g = 1"), NOTATION,
        Computed(_value_clipping(_clip_printed),
                 "value clipping as printed (g <- 1 when g < 1 or g > 1) leaves |g| <= 1 unchanged and clips the "
                 "rest to ±1"),
        expected="transcription", judged="transcription", transcript="If g < 1, or if g > 1, then g = 1",
        reading="as transcribed every entry other than 1 becomes 1 (sign and size lost): the minus signs of "
                "'if g < -1 then g = -1; or if g > 1 then g = 1' were lost",
        evidence="the rule as transcribed contradicts its own slide: the next bullet clips 'if ||g|| > threshold' "
                 "and the last one says 'Clip the gradient if it exceeds a threshold', while 'if g < 1 then g = 1' "
                 "would raise every small gradient; the lecturer (14:37): 'When the value increases beyond 1 ... "
                 "bring it down to a value that is manageable'.  The two-sided form with ±1 is the only reading "
                 "in which both conditions clip",
        correction=Claim(
            "l59-clip-value:corrected", src("slide 'GRADIENT CLIPPING', minus signs restored"), NOTATION,
            Computed(_value_clipping(_clip_value), "if g < -1 then g <- -1; if g > 1 then g <- 1 (entry by entry): "
                                                   "|g| <= 1 unchanged, the rest clipped to ±1"),
            expected="holds", display=display("l59-clip-value:corrected")), display=display("l59-clip-value")))
    out.append(Claim(
        "l59-clip-norm", src("slide 'GRADIENT CLIPPING'", "If ||g|| > threshold, then g <- threshold/||g|| g"),
        NOTATION,
        Computed(norm_clipping(_norm_clip_printed), "norm clipping: ||ĝ|| = min(||g||, threshold), ĝ in the "
                                                    "direction of g"),
        expected="holds", display=display("l59-clip-norm")))
    out.extend(_code_claims())
    out.extend(_reasoning_claims())
    return out


def _reasoning_claims() -> "list[Claim]":
    """The spoken numbers and the prose of Lecture 59, checked (issue 12, item 4)."""
    return [
        Claim("l59-nan", src("(00:17)", "explode meaning the value goes beyond a point and then the computer responds "
                                        "with a not a number"), NOTATION,
              Computed(overflow_nan, "in float64 a value beyond 1.8e308 is inf, and inf - inf = 0 · inf = NaN", trials=1),
              expected="holds", display=display("l59-nan"),
              reading="'not a number' is IEEE 754's NaN: an exploded value first overflows to inf, and the next "
                      "operation on it (inf - inf, 0 · inf) gives NaN"),
        Claim("l59-word-positions", src("slide (09:40)", "The target word is partner ... (47th word)"), NOTATION,
              Computed(word_positions, "in the slide's sentence 'partner' is the 7th word and the blank the 47th, "
                                       "40 words apart (words split at spaces and hyphens)", trials=1),
              expected="holds", display=display("l59-word-positions"),
              reading="the count depends on the tokens: with 'start-up' as two words (a word tokenizer splitting "
                      "at hyphens) the blank is the 47th word, as the slide says; split at spaces only it is the "
                      "46th.  'partner' is the 7th either way"),
        Claim("l59-activation-ranges", src("(after 09:40)", "we always have the values between 0 and 1 right; here it "
                                                            "is going to be minus 1 and plus 1"), NOTATION,
              Computed(activation_ranges, "the logistic sigmoid takes values in (0, 1) and tanh in (-1, 1) (exactly, "
                                          "and 0, 1, -1, 1 are their limits)", trials=1),
              expected="holds", display=display("l59-activation-ranges"),
              reading="'the activation functions of s_t and Z_t': the logistic and tanh (the bounds are limits, "
                      "never attained)"),
        Claim("l59-u-power-spoken", src("after 05:39", "if we have t states or τ states it is going to be τ - 1. This "
                                                       "is U^{τ - 1}"), NOTATION,
              Computed(u_power(rnn_nobias, -1), "∂h^{(τ)}/∂h^{(0)} has τ - 1 factors U: at σ' = 1 (h^{(0)} = 0, X = 0) it is "
                                    "U^{τ-1}", trials=2),
              expected="fails", display=display("l59-u-power-spoken"),
              reading="at h^{(0)} = 0 and X = 0 every pre-activation is 0 and tanh'(0) = 1, so ∂h^{(τ)}/∂h^{(0)} "
                      "is exactly the product of the U's: the engine gives U^{τ}, one factor per step τ = 1..τ (eq. "
                      "(16)'s product runs to τ), not U^{τ-1}; eq. (20) prints U^{⊗t} with a product to t-1, "
                      "neither agrees with the other",
              evidence="spoken (after 05:39): 'So, if we have t states or τ states it is going to be τ - 1. This "
                       "is U^{τ - 1} ok. So, that many times you have to multiply'; eq. (16) (03:49) has τ factors",
              correction=Claim(
                  "l59-u-power-spoken:corrected", src("eqs. (16) and (19): one factor U per step"), NOTATION,
                  Computed(u_power(rnn_nobias, 0), "∂h^{(τ)}/∂h^{(0)} has τ factors U: at σ' = 1 (h^{(0)} = 0, X = 0) it is U^{τ}",
                           trials=2),
                  expected="holds", display=display("l59-u-power-spoken:corrected"))),
        Claim("l59-u-power-47", src("(09:40)", "from this 7th to 47th there are we have 40 Us coming in to place ... "
                                               "it is going to be U power 47"), NOTATION,
              Exact(sp.Integer(47 - 7), "47", "the power of U from the 7th to the 47th word (one U per step)"),
              statement="from the 7th to the 47th word the gradient carries U^{47}",
              expected="holds_simplified", display=display("l59-u-power-47"), judged="holds_simplified",
              reading="the lecturer has just counted 40 factors (l59-40-factors), so the power is 40, not 47; he "
                      "says so himself and keeps 47 because the conclusion does not change: 0.01^{40} = 1.0e-80 "
                      "is as 'really low' as 0.01^{47}",
              evidence="spoken (09:40): 'I have taken 47 here it could be 40 but it does not matter the value is "
                       "really low there too'",
              simplified=Claim(
                  "l59-u-power-47:simplified", src("(09:40), with the 40 factors counted"), NOTATION,
                  Exact(sp.Rational(1, 100) ** 40, "1.0e-80", "0.01^40", float64=lambda: 0.01 ** 40),
                  statement="with the 40 factors counted: 0.01^{40} = 1.0e-80, still 'really low'",
                  expected="holds")),
        Claim("l59-clip-never-increases", src("(14:37)", "this is a very easy problem to solve when the gradient goes "
                                                         "beyond a point vanishing gradient is our bigger problem"),
              NOTATION,
              Implication("", "clipping never increases ||g|| (value and norm clipping), so a vanished gradient stays "
                              "vanished: clipping fixes exploding, not vanishing gradients", cases=clipping_cases,
                          trials=2),
              expected="holds",
              reading="why clipping solves only the exploding problem: ||clip(g)|| <= ||g|| for both rules of the "
                      "slide, and a gradient with ||g|| < 10^{-8} comes back unchanged"),
        Claim("l59-clip-speed", src("slide 'GRADIENT CLIPPING'", "This can cause the optimizer to converge slowly. "
                                                                 "To speed up training, clip the gradient"), NOTATION,
              kind="prose",
              not_checkable="an empirical statement about training speed (how fast an optimiser converges on "
                            "data), not a property of the formulas; what clipping does to a gradient is checked in "
                            "l59-clip-value, l59-clip-norm and l59-clip-never-increases"),
    ]


def _code_claims() -> "list[Claim]":
    """Both clipping rules as the pseudo-code latexify prints from the functions that run (`derive.render.codegen`)."""
    from derive.render import codegen
    from derive.terms import Code

    value = Code(codegen.clip_value, (("clip_value", "ClipValue"),))
    norm = Code(codegen.clip_norm, (("clip_norm", "ClipNorm"),))
    return [
        Claim("l59-clip-value-code", src("slide 'GRADIENT CLIPPING'", "If g < 1, or if g > 1, then g = 1"), NOTATION,
              Computed(_value_clipping(lambda g: value(g, 1.0)), "the pseudo-code ClipValue(g, 1) leaves |g_i| <= 1 "
                                                                  "unchanged and clips the rest to ±1"),
              expected="holds",
              reading="the value rule as corrected (l59-clip-value:corrected), typeset from the function the check runs",
              display=value),
        Claim("l59-clip-norm-code", src("slide 'GRADIENT CLIPPING'", "If ||g|| > threshold, then g <- "
                                                                     "threshold/||g|| g"), NOTATION,
              Computed(norm_clipping(norm), "the pseudo-code ClipNorm(g, threshold): ||ĝ|| = min(||g||, threshold), "
                                            "ĝ in the direction of g"),
              expected="holds", reading="the norm rule as printed, typeset from the function the check runs",
              display=norm),
    ]


def lecture():
    """The plan of Lecture 59's notes and slides: its slides in order, eqs. (12), (15)-(20), the example, clipping."""
    from derive.render.documents import Lecture, Section

    return Lecture(
        "l59", "Lecture 59: BPTT - Exploding and Vanishing gradient", notation=NOTATION,
        course="Applied Natural Language Processing, Chennai Mathematical Institute", order=1,
        abstract="Why the gradient of an RNN vanishes or explodes: the gradient of a late loss with respect to an "
                 "early state is a product of one Jacobian per step, each a diagonal matrix times the recurrent "
                 "matrix U; and how clipping tames the exploding case.",
        sections=(
            Section("BPTT - Unrolled RNN", topic="rnn", where="eq. (12), slide time 03:00",
                    intro="The error for the whole sequence is the mean of the per-step cross-entropy losses.",
                    items=("l59-nan", "l59-eq12", "l59-perplexity")),
            Section("Exploding/vanishing gradient: the chain of Jacobians", topic="vanishing",
                    where="eqs. (15)-(16), slide time 03:49",
                    intro="The chain rule from the loss of a late step back to the first state: one factor per step.",
                    items=("l59-eq15", "l59-eq15-product", "l59-chain-E5", "l59-eq16", "l59-chain-Etau")),
            Section("Exploding/vanishing gradient: one factor of the product", topic="vanishing",
                    where="eqs. (17)-(20), slide time 05:39",
                    intro="Each factor is a diagonal matrix of activation slopes times the recurrent matrix; the "
                          "factors do not commute, so they stay in the order of the chain rule.",
                    items=("l59-eq17", "l59-product-of-jacobians", "l59-eq18", "l59-eq19", "l59-one-step-jacobian",
                           "l59-eq20-jacobian", "l59-eq20", "l59-eq20-order", "l59-product-of-factors",
                           "l59-u-power-spoken", "l59-u-small")),
            Section("Exploding/vanishing gradient: an example", topic="vanishing", where="slide time 09:40",
                    intro="Predicting the 47th word from the 7th multiplies 40 such factors.",
                    items=("l59-word-positions", "l59-40-factors", "l59-u-power-47", "l59-decay-depth",
                           "l59-0.01-pow-47", "l59-0.5-pow-47", "l59-activation-ranges")),
            Section("Gradient clipping", topic="remedies", where="slide 17/21, slide time 14:37",
                    intro="Two rules: clip every entry to [-1, 1], or rescale the whole gradient to a threshold norm.",
                    items=("l59-clip-speed", "l59-clip-value", "l59-clip-value-code", "l59-clip-norm",
                           "l59-clip-norm-code", "l59-clip-never-increases"),
                    figures=("clipping-2d",)),
        ))
