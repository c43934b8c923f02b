"""The lectures' reasoning and their prose, as numbers: the case functions of the catalog's `Implication` and
`Computed` claims (issue 12, items 4 and 5).

Nothing here asserts a verdict.  Each function builds instances (seeded, or the adversarial ones a claim
names), computes both sides with the engine (`derive.numeric.evaluator.Evaluator` on the unrolled cell) or the NumPy
references, checks the engine against central finite differences where a derivative is involved, and returns
booleans or values for the claim's meaning to judge.  The lecture modules import what they use.

Sections: activations (bounded σ, bounded σ'); the RNN's step Jacobians and the spectral radius against the
largest singular value (Pascanu et al.); the far terms of BPTT and the truncation error; gradient clipping;
the LSTM's output-gate path; architectures of the CS224n notes (parameter counts, residual, highway,
bidirectional and stacked RNNs).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from derive import unroll
from derive.cells import rnn
from derive.model.graph import NodeRef
from derive.numeric.evaluator import Evaluator, Instance

# ---------------------------------------------------------------------------
# Activations: "σ(a_j) is a bounded function (sigmoid, tanh), so σ'(a_j) is bounded" (001 slide 36/41, 002 14.4)
# ---------------------------------------------------------------------------
_x = sp.Symbol("x", real=True)
#: (name, σ as a SymPy expression, σ in NumPy, σ' in NumPy).  sin(x^2) is bounded by 1 while its slope
#: 2x cos(x^2) is unbounded: it is 2 sqrt(2πn) at x = sqrt(2πn).
ACTIVATIONS = (
    ("logistic", 1 / (1 + sp.exp(-_x)), lambda x: 0.5 * (1 + np.tanh(x / 2)),
     lambda x: np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))) ** 2),
    ("tanh", sp.tanh(_x), np.tanh, lambda x: 1 / np.cosh(np.clip(x, -350, 350)) ** 2),
    ("sin(x^2)", sp.sin(_x ** 2), lambda x: np.sin(x ** 2), lambda x: 2 * x * np.cos(x ** 2)),
    ("x/(1+x^2)", _x / (1 + _x ** 2), lambda x: x / (1 + x ** 2), lambda x: (1 - x ** 2) / (1 + x ** 2) ** 2),
)
RADII = (10.0, 100.0, 1000.0)


@lru_cache(maxsize=None)
def _sup(f, R: float) -> float:
    """sup |f| on a grid of [-R, R] (200 001 points: spacing 1e-2 R, with 0 among them)."""
    return float(np.max(np.abs(f(np.linspace(-R, R, 200_001)))))


def _bounded(f) -> "tuple[bool, list[float]]":
    """Bounded on the real line, as sampled: sup |f| on [-R, R] stops growing from R = 10 to R = 1000."""
    sups = [_sup(f, R) for R in RADII]
    return bool(np.isfinite(sups[-1]) and sups[-1] <= 1.001 * sups[0] + 1e-12), sups


def _derivative_agrees(expr, dnum) -> bool:
    """The NumPy σ' is SymPy's derivative of σ (at a few rational points, 30 digits)."""
    d = sp.diff(expr, _x)
    pts = [sp.Rational(p, 7) for p in (-20, -3, 1, 5, 17)]
    return all(abs(float(d.subs(_x, p).evalf(30)) - float(dnum(np.float64(float(p))))) < 1e-9 for p in pts)


def bounded_activation_cases(rng=None):
    """Cases of "σ bounded => σ' bounded": (inputs, σ bounded, σ' bounded, detail) for each of `ACTIVATIONS`.

    For sin(x^2) the unbounded slope is also shown exactly: σ'(sqrt(2πn)) = 2 sqrt(2πn) (SymPy).
    """
    out = []
    for name, expr, f, df in ACTIVATIONS:
        hyp, sf = _bounded(f)
        concl, sd = _bounded(df)
        agree = _derivative_agrees(expr, df)
        detail = (f"σ = {name}: sup|σ| on [-R, R], R = 10, 100, 1000: {', '.join(f'{v:.4g}' for v in sf)}; "
                  f"sup|σ'|: {', '.join(f'{v:.4g}' for v in sd)}")
        if name == "sin(x^2)":
            n = sp.Integer(10 ** 6)
            at = sp.sqrt(2 * sp.pi * n)
            exact = sp.simplify(sp.diff(expr, _x).subs(_x, at) - 2 * at) == 0
            agree = agree and exact
            detail += f"; exactly σ'(sqrt(2πn)) = 2 sqrt(2πn) (= {float(2 * at):.4g} at n = 10^6)"
        out.append(({"σ": name, "sup |σ| on [-1000, 1000]": sf[-1], "sup |σ'| on [-1000, 1000]": sd[-1]},
                    bool(hyp) and agree, bool(concl), detail))
    return out


def gamma_values(rng=None):
    """sup σ' for the lecture's two activations, by `derive.checks.bounds.gamma`, and on the grid: 1/4 and 1."""
    from derive.checks.bounds import gamma

    lhs, rhs = [], []
    for name, _, _, df in ACTIVATIONS[:2]:
        g = float(gamma(name).value)
        lhs += [g, _bounded(df)[1][-1]]
        rhs += [{"logistic": 0.25, "tanh": 1.0}[name]] * 2
    return np.array(lhs), np.array(rhs), {"activations": "logistic, tanh", "grid": "[-1000, 1000]"}


# ---------------------------------------------------------------------------
# The RNN's Jacobians: engine against finite differences
# ---------------------------------------------------------------------------
def rnn_pinned(W, pinned, T: int, activation: str = "tanh", n: "int | None" = None):
    """An Evaluator of the engine's RNN s_t = σ(W s_{t-1} + U x_t + b) whose pre-activations are pinned.

    U = I, b = 0 and x_t = a_t* - W s_{t-1}, so a_t = ``pinned(t)`` (a vector, or a constant vector) at every
    step; s_0 = σ(pinned(0)).  The inputs are then held fixed: derivatives and finite differences perturb s_0
    (or W) with these x_t.  Returns the evaluator.
    """
    from derive import activations

    W = np.asarray(W, dtype=float)
    d = W.shape[0]
    pin = pinned if callable(pinned) else (lambda t, p=np.asarray(pinned, dtype=float): p)
    sig = activations.get(activation).numpy
    g = unroll(rnn(activation), T, {"n": d, "d": d, "k": d + 1})
    inst = Instance.random(g, 0)
    inst.values[NodeRef("W")], inst.values[NodeRef("U")], inst.values[NodeRef("b")] = W, np.eye(d), np.zeros(d)
    s = sig(np.asarray(pin(0), dtype=float))
    inst.values[NodeRef("s", 0)] = s.copy()
    for t in range(1, T + 1):
        a = np.asarray(pin(t), dtype=float)
        inst.values[NodeRef("x", t)] = a - W @ s
        s = sig(a)
    return Evaluator(g, inst)


def jacobian_norms(ev: Evaluator, ts) -> "list[tuple[int, float, float]]":
    """(t, ||∂s_t/∂s_0||_2 by the engine, by central differences) for each t.

    The step of the differences is scaled to the norm (1e-4 / max(1, ||J||)) so that an exploding map is
    still differenced in its linear range.
    """
    out = []
    for t in ts:
        J = ev.total(NodeRef("s", t), NodeRef("s", 0))
        nj = float(np.linalg.norm(J, 2))
        fd = ev.finite_difference(NodeRef("s", t), NodeRef("s", 0), eps=1e-4 / max(1.0, nj))
        out.append((t, nj, float(np.linalg.norm(fd, 2))))
    return out


def spectral(W) -> "tuple[float, float]":
    """(ρ(W), ||W||_2)."""
    W = np.asarray(W, dtype=float)
    return float(max(abs(np.linalg.eigvals(W)))), float(np.linalg.norm(W, 2))


#: Issue 12's RNN: ρ(W) = 0.5, ||W||_2 = 2.57; a_t pinned at (0, 20) (tanh' = 1 and ~0), so every factor is
#: diag(1, 0) W and ∂s_t/∂s_0 = 1.5^{t-1} [[1.5, 1], [0, 0]]: norms 1.8, 9.1, 69, 4.0e3, 1.3e7 at t = 1..40.
ISSUE12_W = ((1.5, 1.0), (-1.6, -0.9))
ISSUE12_PIN = (0.0, 20.0)
ISSUE12_TS = (1, 5, 10, 20, 40)
#: the other direction: W = [[0, 2], [2, 0]] (ρ = ||W|| = 2) with a_t pinned at (0, 3) (tanh'(3) = 0.0099): the
#: factors diag(1, 0.0099) W square to 4 (0.0099) I, so ∂s_t/∂s_0 vanishes like 0.2^t although ρ(W) = 2.
ALTERNATING_W = ((0.0, 2.0), (2.0, 0.0))
ALTERNATING_PIN = (0.0, 3.0)


def _pinned_runs():
    """The two adversarial RNNs (issue 12's and the alternating one), with their engine and FD norms."""
    runs = []
    for name, W, pin in (("a non-normal tanh RNN: W = [[1.5, 1], [-1.6, -0.9]], a_t pinned at (0, 20)", ISSUE12_W,
                          ISSUE12_PIN),
                         ("W = [[0, 2], [2, 0]], a_t pinned at (0, 3)", ALTERNATING_W, ALTERNATING_PIN)):
        ev = rnn_pinned(W, pin, max(ISSUE12_TS))
        runs.append((name, W, jacobian_norms(ev, ISSUE12_TS)))
    return runs


def _random_runs(rng, count: int = 3):
    """Random tanh RNNs (d = 2, 3) with γ||W|| and ρ(W) on both sides of 1, inputs random."""
    runs = []
    for _ in range(count):
        d = int(rng.integers(2, 4))
        W = rng.standard_normal((d, d))
        W *= float(rng.choice([0.4, 0.9, 1.6, 3.0])) / np.linalg.norm(W, 2)
        pins = rng.standard_normal((41, d)) * float(rng.choice([0.3, 1.0, 3.0]))
        ev = rnn_pinned(W, lambda t, p=pins: p[t], max(ISSUE12_TS))
        runs.append((f"random W (d = {d})", tuple(map(tuple, W)), jacobian_norms(ev, ISSUE12_TS)))
    return runs


def _gradient_cases(kind: str, runs):
    """Cases for the conditions on ρ(W) and ||W||_2 (tanh, γ = 1); see `pascanu_cases`."""
    out = []
    for name, W, norms in runs:
        rho, lam = spectral(W)
        agree = all(abs(a - b) <= 1e-3 * max(1.0, a) for _, a, b in norms)
        last = norms[-1][1]
        explodes, vanishes = last > 1e3, last < 1e-6
        growth = ", ".join(f"{v:.3g}" for _, v, _ in norms)
        fd = ", ".join(f"{v:.3g}" for _, _, v in norms)
        hyp, concl = {
            "rho-sufficient": (rho < 1, vanishes),
            "rho-necessary": (explodes, rho > 1),
            "rho-necessary-vanishing": (vanishes, rho < 1),
            "lambda-sufficient": (lam < 1, all(v <= lam ** t * (1 + 1e-9) for t, v, _ in norms)),
            "lambda-necessary": (any(v > 1 for _, v, _ in norms), lam > 1),
            "lambda-explodes": (lam > 1, explodes),
        }[kind]
        detail = (f"{name}: ρ(W) = {rho:.3g}, ||W||_2 = {lam:.3g}; ||∂h^(t)/∂h^(0)|| at t = "
                  f"{', '.join(str(t) for t, _, _ in norms)}: {growth} (finite differences {fd}"
                  f"{'' if agree else ' -- DISAGREE'})")
        out.append(({"instance": name, "rho": rho, "lambda": lam, "norms": [v for _, v, _ in norms],
                     "finite_differences": [v for _, _, v in norms]}, bool(hyp) and agree, bool(concl), detail))
    return out


def pascanu_cases(kind: str):
    """``cases``/``fixed`` of an `Implication` on the conditions of Pascanu et al. (2013), tanh (γ = 1).

    kind: "rho-sufficient" -- ρ(W) < 1/γ implies vanishing (||∂h^(40)/∂h^(0)|| < 1e-6); "rho-necessary" --
    explosion (||∂h^(40)/∂h^(0)|| > 1e3) implies ρ(W) > 1/γ; "rho-necessary-vanishing" -- vanishing implies
    ρ(W) < 1/γ; "lambda-sufficient" -- ||W||_2 < 1/γ implies ||∂h^(t)/∂h^(0)|| <= (γ||W||_2)^t; "lambda-necessary"
    -- growth (some ||∂h^(t)/∂h^(0)|| > 1) implies ||W||_2 > 1/γ; "lambda-explodes" -- γ||W||_2 > 1 implies
    explosion (||∂h^(40)/∂h^(0)|| > 1e3).  ``fixed`` are the two adversarial RNNs.
    """
    return {"fixed": lambda: _gradient_cases(kind, _pinned_runs()),
            "cases": lambda rng: _gradient_cases(kind, _random_runs(rng))}


def issue12_norms(rng=None):
    """The issue 12 RNN's ||∂h^(t)/∂h^(0)|| by the engine and by finite differences, against the issue's numbers."""
    ev = rnn_pinned(ISSUE12_W, ISSUE12_PIN, max(ISSUE12_TS))
    norms = jacobian_norms(ev, ISSUE12_TS)
    exact = [float(np.hypot(1.5, 1.0) * 1.5 ** (t - 1)) for t in ISSUE12_TS]   # 1.5^{t-1} ||(1.5, 1)||
    rho, lam = spectral(ISSUE12_W)
    lhs = [v for _, v, _ in norms] + [v for _, _, v in norms] + [rho, round(lam, 2)]
    rhs = exact + exact + [0.5, 2.57]
    return np.array(lhs), np.array(rhs), {"t": list(ISSUE12_TS), "engine": [v for _, v, _ in norms]}


# ---------------------------------------------------------------------------
# BPTT's far terms, and the truncation error (001 slides 35-36, 08:16; 002 Module 14.4)
# ---------------------------------------------------------------------------
def _rnn_random(rng, T: int, scale: float, act: str = "tanh"):
    """A random engine RNN (n = 3, d = 2, k = 4) whose W has γ||W||_2 = ``scale``."""
    g = unroll(rnn(act), T, {"n": 3, "d": 2, "k": 4})
    seed = int(rng.integers(1 << 30))
    inst = Instance.random(g, seed)
    W = inst.values[NodeRef("W")]
    gam = 0.25 if act == "logistic" else 1.0
    inst.values[NodeRef("W")] = W * (scale / (gam * np.linalg.norm(W, 2)))
    return Evaluator(g, inst), seed


def far_terms_cases(kind: str):
    """Cases of "if ∂s_t/∂s_k is small, ∂L_t/∂W vanishes" (kind "printed") and of its correction ("far").

    "printed": hypothesis ||∂s_t/∂s_1|| < 1e-3, conclusion ||∂L_t/∂W|| < 1e-3.  "far": the part of
    ∂L_t/∂W from the steps k <= m (the far terms) is at most ||∂L_t/∂s_t|| Σ_{k<=m} ||∂s_t/∂s_k|| ||∂⁺s_k/∂W||,
    so it vanishes with ∂s_t/∂s_k; the near terms k > m remain.  T = 8, t = 8, m = 4; the engine's ∂L_t/∂W
    is checked against finite differences.
    """
    def cases(rng):
        out = []
        for scale in (0.2, 0.3, 0.9):
            T = 8
            ev, seed = _rnn_random(rng, T, scale)
            L, W = NodeRef("L", T), NodeRef("W")
            dLW = ev.total(L, W)
            agree = bool(np.allclose(dLW, ev.finite_difference(L, W, eps=1e-6), rtol=1e-4, atol=1e-8))
            dLs = ev.total(L, NodeRef("s", T))
            terms = {k: dLs @ ev.total(NodeRef("s", T), NodeRef("s", k)) @ ev.explicit(NodeRef("s", k), W)
                     for k in range(1, T + 1)}
            total_from_terms = sum(terms.values())
            agree = agree and bool(np.allclose(total_from_terms, dLW, rtol=1e-9, atol=1e-12))
            far = np.linalg.norm(sum(terms[k] for k in range(1, 5)))
            bound = np.linalg.norm(dLs, 2) * sum(np.linalg.norm(ev.total(NodeRef("s", T), NodeRef("s", k)), 2)
                                                  * np.linalg.norm(ev.explicit(NodeRef("s", k), W), 2)
                                                  for k in range(1, 5))
            small = float(np.linalg.norm(ev.total(NodeRef("s", T), NodeRef("s", 1)), 2))
            grad = float(np.linalg.norm(dLW))
            near = float(np.linalg.norm(terms[T]))
            if kind == "printed":
                hyp, concl = small < 1e-3, grad < 1e-3
            else:
                hyp, concl = True, far <= bound * (1 + 1e-9)
            detail = (f"γ||W|| = {scale}, seed {seed}: ||∂s_8/∂s_1|| = {small:.3g}, ||∂L_8/∂W|| = {grad:.3g} "
                      f"(its k = 8 term alone {near:.3g}); far terms k <= 4: {far:.3g} <= bound {bound:.3g}"
                      f"{'' if agree else ' -- engine and finite differences DISAGREE'}")
            out.append(({"gamma_lambda": scale, "seed": seed, "ds8_ds1": small, "dL8_dW": grad, "k=8 term": near},
                        bool(hyp) and agree, bool(concl), detail))
        return out
    return cases


def truncation_bound_cases(rng):
    """Truncated BPTT's error for one loss L_t and a window τ, against its bound (engine, tanh, d = 2).

    error_τ = ||Σ_{k=1}^{t-τ} ∂L_t/∂s_t ∂s_t/∂s_k ∂⁺s_k/∂W|| <= ||∂L_t/∂s_t|| Σ_{k=1}^{t-τ} (γλ)^{t-k} γ ||s_{k-1}||
    <= ||∂L_t/∂s_t|| γ sqrt(d) (γλ)^τ / (1 - γλ) when γλ < 1 (||∂⁺s_k/∂W|| = ||diag(σ'(a_k))|| ||s_{k-1}||,
    |tanh| < 1).  The truncated sum plus the dropped terms is the full gradient (checked too).
    """
    out = []
    for scale in (0.5, 0.9):
        T = 10
        ev, seed = _rnn_random(rng, T, scale)
        L, W = NodeRef("L", T), NodeRef("W")
        lam = float(np.linalg.norm(ev.values[W], 2))
        dLs = ev.total(L, NodeRef("s", T))
        terms = [dLs @ ev.total(NodeRef("s", T), NodeRef("s", k)) @ ev.explicit(NodeRef("s", k), W)
                 for k in range(1, T + 1)]
        full = ev.total(L, W)
        ok_sum = bool(np.allclose(sum(terms), full, rtol=1e-9, atol=1e-12))
        for tau in (1, 3, 6):
            err = float(np.linalg.norm(sum(terms[: T - tau])))
            bound = float(np.linalg.norm(dLs, 2) * sum(lam ** (T - k) * np.linalg.norm(ev.values[NodeRef("s", k - 1)])
                                                     for k in range(1, T - tau + 1)))
            closed = float(np.linalg.norm(dLs, 2) * np.sqrt(2) * lam ** tau / (1 - lam))
            ok = ok_sum and err <= bound * (1 + 1e-9) and bound <= closed * (1 + 1e-9)
            detail = (f"γλ = {scale}, seed {seed}, t = {T}, τ = {tau}: error {err:.3g} <= {bound:.3g} "
                      f"<= γ sqrt(d) (γλ)^τ/(1 - γλ) ||∂L_t/∂s_t|| = {closed:.3g}")
            out.append(({"gamma_lambda": scale, "seed": seed, "tau": tau, "error": err, "bound": bound,
                         "closed_form": closed}, True, bool(ok), detail))
    return out


# ---------------------------------------------------------------------------
# Clipping never increases ||g||: it cannot repair a vanishing gradient (000 14:37, 004 22:32)
# ---------------------------------------------------------------------------
def clipping_cases(rng):
    """For value clipping (to ±1) and norm clipping (to a threshold): ||clip(g)|| <= ||g||, and a small g
    (||g|| < 1e-8, a vanished gradient) comes back unchanged, still vanished."""
    from derive.numeric.clipping import clip_norm, clip_value

    out = []
    for scale in (1e-12, 1e-8 / 3, 0.3, 5.0, 1e3):
        g = rng.standard_normal(6) * scale
        for name, clipped in (("value", clip_value(g, 1.0)), ("norm", clip_norm(g, 1.0))):
            n, m = float(np.linalg.norm(g)), float(np.linalg.norm(clipped))
            ok = m <= n * (1 + 1e-15) and (n >= 1e-8 or np.array_equal(clipped, g))
            out.append(({"rule": name, "||g||": n, "||clip(g)||": m}, True, bool(ok),
                        f"{name} clipping: ||g|| = {n:.3g} -> ||clip(g)|| = {m:.3g}"))
    return out


# ---------------------------------------------------------------------------
# The LSTM's output-gate path (004, 20:40): each pair ∂h_t/∂o_t ∂o_t/∂h_{t-1} = diag(tanh(s_t) ⊙ σ'(a^o_t)) W_o
# ---------------------------------------------------------------------------
def _lstm_params(d: int, values: dict):
    from derive.numeric.reference import lstm as ref

    p = {k: np.zeros(tuple({"d": d, "n": 1, "k": 2}[x] for x in dims)) for k, dims in ref.PARAM_SHAPES.items()}
    for name, v in values.items():
        p[name] = np.array(v, dtype=float).reshape(p[name].shape) if np.ndim(v) else p[name] + v
    return p


def output_path(params, X, s0, h0):
    """(Π_t of the output-gate pairs, the full ∂h_T/∂h_0 (s_0 held), its finite differences), NumPy reference.

    The pair of step t is diag(tanh(s_t)) diag(o_t (1 - o_t)) W_o (l111-output-path), multiplied latest-first.
    """
    from derive.numeric.reference import lstm as ref

    T, d = X.shape[0], s0.shape[-1]
    labels = np.zeros((T, 1), dtype=int)
    cache = ref.forward(params, X, labels, s0=s0, h0=h0)
    P = np.eye(d)
    for t in range(1, T + 1):
        o, s = cache.o[t - 1, 0], cache.s[t, 0]
        P = np.diag(np.tanh(s) * o * (1 - o)) @ params["W_o"] @ P
    J = ref.step_jacobians(params, cache)
    M = np.eye(2 * d)
    for t in range(T):
        M = J[t, 0] @ M
    total = M[d:, d:]                                                 # block [h, h]: ∂h_T/∂h_0, s_0 held
    eps = 1e-6 / max(1.0, float(np.linalg.norm(total, 2)))          # differenced in the linear range
    fd = np.empty((d, d))
    for q in range(d):
        e = np.zeros_like(h0)
        e[0, q] = eps
        up = ref.forward(params, X, labels, s0=s0, h0=h0 + e).h[T, 0]
        dn = ref.forward(params, X, labels, s0=s0, h0=h0 - e).h[T, 0]
        fd[:, q] = (up - dn) / (2 * eps)
    return P, total, fd


#: An exploding output-gate path: d = 1, W_o = 8, b_o = -4 (o's pre-activation 8 h - 4 = 0 at h = 1/2), the forget
#: gate open (b_f = 20), the input gate shut (b_i = -20), s_0 = 10 (tanh(s_t) = 1): each pair is 8/4 = 2.
EXPLODING_LSTM = {"W_o": 8.0, "b_o": -4.0, "b_f": 20.0, "b_i": -20.0}


def output_gate_cases(kind: str):
    """"bound": ||Π pairs|| <= (||W_o||_2 / 4)^T on random LSTMs and the exploding one; "explodes": the
    exploding LSTM's path (and its whole ∂h_T/∂h_0) grows like 2^T, with finite differences agreeing."""
    from derive.numeric.reference import lstm as ref

    def exploding(T):
        p = _lstm_params(1, EXPLODING_LSTM)
        h0 = np.full((1, 1), np.tanh(10.0) / (1 + np.exp(-(8 * 0.5 - 4))))         # h = σ(0) tanh(10) ~ 1/2
        return ("exploding LSTM: W_o = 8, b_o = -4, b_f = 20, b_i = -20, s_0 = 10", p, np.zeros((T, 1, 1)),
                np.full((1, 1), 10.0), h0)

    def judge(runs):
        out = []
        for name, p, X, s0, h0 in runs:
            P, total, fd = output_path(p, X, s0, h0)
            T = X.shape[0]
            wo = float(np.linalg.norm(p["W_o"], 2))
            npth, ntot = float(np.linalg.norm(P, 2)), float(np.linalg.norm(total, 2))
            agree = bool(np.allclose(total, fd, rtol=1e-4, atol=1e-9))
            if kind == "bound":
                hyp, concl = True, npth <= (wo / 4) ** T * (1 + 1e-9)
            else:
                hyp, concl = True, npth >= 1.9 ** T and ntot >= 1.9 ** T
            detail = (f"{name}, T = {T}: ||W_o|| = {wo:.3g}, ||Π pairs|| = {npth:.3g} (bound (||W_o||/4)^T = "
                      f"{(wo / 4) ** T:.3g}), ||∂h_T/∂h_0|| = {ntot:.3g} (finite differences "
                      f"{float(np.linalg.norm(fd, 2)):.3g}{'' if agree else ' -- DISAGREE'})")
            out.append(({"instance": name, "T": T, "W_o": wo, "path": npth, "total": ntot}, bool(hyp) and agree,
                        bool(concl), detail))
        return out

    def cases(rng):
        runs = []
        for d in (1, 2):
            seed = int(rng.integers(1 << 30))
            p = ref.init_params(1, d, 2, seed=seed, scale=float(rng.choice([0.5, 2.0, 6.0])))
            T = int(rng.choice([5, 10]))
            X = np.random.default_rng(seed + 1).standard_normal((T, 1, 1))
            s0 = np.random.default_rng(seed + 2).standard_normal((1, d))
            runs.append((f"random LSTM (seed {seed}, d = {d})", p, X, s0, np.zeros((1, d))))
        return judge(runs)

    return {"fixed": lambda: judge([exploding(T) for T in (5, 10, 20)]), "cases": cases}


# ---------------------------------------------------------------------------
# The CS224n notes' architectures: parameter counts, residual, highway, bidirectional, stacked
# ---------------------------------------------------------------------------
def parameter_counts(rng):
    """Parameters of the engine's LSTM and GRU cells (output layer V, c left out) against 4d(d+n+1), 3d(d+n+1)."""
    from derive.cells.gru import gru
    from derive.cells.lstm import lstm

    n, d = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    lhs, rhs = [], []
    for cell, gates in ((lstm(), 4), (gru(), 3)):
        g = unroll(cell, 1, {"n": n, "d": d, "k": 2})
        values = Instance.random(g, 0).values
        count = sum(int(values[r].size) for r, info in g.nodes.items()
                    if info.kind == "param" and r.name not in ("V", "c"))
        lhs.append(count)
        rhs.append(gates * d * (d + n + 1))
    lhs.append(1.0 if lhs[0] > lhs[1] else 0.0)
    rhs.append(1.0)
    return np.array(lhs, dtype=float), np.array(rhs, dtype=float), {"n": n, "d": d, "LSTM": lhs[0], "GRU": lhs[1]}


def _fd(f, x, eps=1e-6):
    """Central differences of a vector function f at x (a Jacobian, rows f, columns x)."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, axis=1)


def residual(rng):
    """h = x + F(x), F(x) = tanh(W x + b): ∂h/∂x = I + diag(tanh'(W x + b)) W (finite differences), and for a
    saturated F (b = 30) ∂h/∂x = I: the gradient passes even where ∂F/∂x vanishes."""
    d = 3
    W, x = rng.standard_normal((d, d)), rng.standard_normal(d)
    lhs, rhs = [], []
    for b in (rng.standard_normal(d), np.full(d, 30.0)):
        F = lambda v, b=b: np.tanh(W @ v + b)           # noqa: E731
        J = _fd(lambda v: v + F(v), x)
        formula = np.eye(d) + np.diag(1 / np.cosh(W @ x + b) ** 2) @ W
        lhs.append(J.ravel())
        rhs.append(formula.ravel())
    lhs.append(J.ravel())                                # the saturated residual block is the identity
    rhs.append(np.eye(d).ravel())
    return np.concatenate(lhs), np.concatenate(rhs), {"d": d}


def highway(rng):
    """h = g ⊙ F(x) + (1 - g) ⊙ x, g = σ(W_g x + b_g) a dynamic gate: ∂h/∂x = diag(1 - g) + diag(g) ∂F/∂x +
    diag(F(x) - x) diag(σ'(W_g x + b_g)) W_g (finite differences); with the gate shut (b_g = -40) it is I."""
    d = 3
    W, Wg, x = rng.standard_normal((d, d)), rng.standard_normal((d, d)), rng.standard_normal(d)
    b = rng.standard_normal(d)
    lhs, rhs = [], []
    for bg in (rng.standard_normal(d), np.full(d, -40.0)):
        sig = lambda z: 1 / (1 + np.exp(-z))          # noqa: E731

        def h(v, bg=bg):
            g = sig(Wg @ v + bg)
            return g * np.tanh(W @ v + b) + (1 - g) * v
        g, F = sig(Wg @ x + bg), np.tanh(W @ x + b)
        formula = (np.diag(1 - g) + np.diag(g) @ np.diag(1 / np.cosh(W @ x + b) ** 2) @ W
                   + np.diag(F - x) @ np.diag(g * (1 - g)) @ Wg)
        lhs.append(_fd(h, x).ravel())
        rhs.append(formula.ravel())
    lhs.append(_fd(h, x).ravel())
    rhs.append(np.eye(d).ravel())
    return np.concatenate(lhs), np.concatenate(rhs), {"d": d}


def _rnn_states(W, U, b, X, reverse=False):
    """tanh RNN states over X (T, n), forwards or backwards (the backward RNN reads x^(T) first)."""
    T, d = X.shape[0], W.shape[0]
    h, out = np.zeros(d), np.zeros((T, d))
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        h = np.tanh(W @ h + U @ X[t] + b)
        out[t] = h
    return out


def bidirectional(rng):
    """A bidirectional RNN: the forward state h→^(t) has ∂h→^(t)/∂x^(t+1) = 0, the backward state h←^(t) has
    ∂h←^(t)/∂x^(t+1) != 0 (it reads the future), so [h→^(t); h←^(t)] cannot predict x^(t+1) as a language model
    must.  Left: [max |∂h→^(t)/∂x^(u)| for u > t is 0, min over u > t of ||∂h←^(t)/∂x^(u)|| > 0]."""
    T, n, d, t = 5, 2, 3, 1
    X = rng.standard_normal((T, n))
    Pf = [rng.standard_normal(s) * 0.8 for s in ((d, d), (d, n), (d,))]
    Pb = [rng.standard_normal(s) * 0.8 for s in ((d, d), (d, n), (d,))]
    fut_f, fut_b = [], []
    for u in range(t + 1, T):
        def at(v, u=u, P=Pf, rev=False):
            Y = X.copy()
            Y[u] = v
            return _rnn_states(*P, Y, reverse=rev)[t]
        fut_f.append(np.max(np.abs(_fd(at, X[u]))))
        fut_b.append(np.linalg.norm(_fd(lambda v, u=u: at(v, u, Pb, True), X[u])))
    lhs = [max(fut_f), 1.0 if min(fut_b) > 1e-8 else 0.0]
    return np.array(lhs), np.array([0.0, 1.0]), {"T": T, "t": t + 1, "min ||dh_back/dx_future||": min(fut_b)}


def stacked(rng):
    """A two-layer RNN, h_1^(t) = tanh(W_1 h_1^(t-1) + U_1 x^(t) + b_1), h_2^(t) = tanh(W_2 h_2^(t-1) + U_2 h_1^(t)
    + b_2) (the hidden state of one layer is the input of the layer above): ∂h_2^(T)/∂x^(1) by finite differences
    against the chain rule through both layers, Σ over the step at which the path climbs,
    Π_{u>t} diag(σ'_2) W_2 · diag(σ'_2(t)) U_2 · Π diag(σ'_1) W_1 ... ; and the longest chain of tanh from x^(1)
    to h_2^(T) has T + 1 = T + L - 1 nonlinearities (L = 2 layers)."""
    T, n, d = 4, 2, 3
    X = rng.standard_normal((T, n))
    W1, U1, b1, W2, U2, b2 = (rng.standard_normal(s) * 0.7 for s in ((d, d), (d, n), (d,), (d, d), (d, d), (d,)))

    def run(Y):
        h1 = h2 = np.zeros(d)
        A1, A2 = [], []
        for t in range(T):
            a1 = W1 @ h1 + U1 @ Y[t] + b1
            h1 = np.tanh(a1)
            a2 = W2 @ h2 + U2 @ h1 + b2
            h2 = np.tanh(a2)
            A1.append(a1)
            A2.append(a2)
        return h2, A1, A2

    def top(v):
        Y = X.copy()
        Y[0] = v
        return run(Y)[0]
    _, A1, A2 = run(X)
    D1 = [np.diag(1 / np.cosh(a) ** 2) for a in A1]
    D2 = [np.diag(1 / np.cosh(a) ** 2) for a in A2]
    J = np.zeros((d, n))
    for c in range(T):                                    # the path climbs from layer 1 to layer 2 at step c
        M = D2[c] @ U2
        for u in range(c + 1, T):
            M = D2[u] @ W2 @ M
        B = D1[0] @ U1
        for u in range(1, c + 1):
            B = D1[u] @ W1 @ B
        J = J + M @ B
    depth = {}
    for t in range(T):                                    # longest tanh chain from x^(1) to each node
        depth[(1, t)] = 1 + (depth[(1, t - 1)] if t else 0)
        depth[(2, t)] = 1 + max(depth[(1, t)], depth[(2, t - 1)] if t else 0)
    lhs = np.concatenate([_fd(top, X[0]).ravel(), [depth[(2, T - 1)]]])
    rhs = np.concatenate([J.ravel(), [T + 2 - 1]])
    return lhs, rhs, {"T": T, "layers": 2}


# ---------------------------------------------------------------------------
# Lecture 14's slides: the network without recurrence, what depends on what, the tensor ∂⁺s_k/∂W (002)
# ---------------------------------------------------------------------------
def feedforward(rng):
    """Module 14.2's s_i = σ(U x_i + b), y_i = O(V s_i + c): the engine's RNN with W = 0 computes it, and then
    ∂s_i/∂x_j = 0 for j != i (each output reads its own input only, 'independent of the previous inputs')."""
    T = 3
    g = unroll(rnn("tanh"), T, {"n": 3, "d": 2, "k": 4})
    seed = int(rng.integers(1 << 30))
    inst = Instance.random(g, seed)
    inst.values[NodeRef("W")] = np.zeros((2, 2))
    ev = Evaluator(g, inst)
    v = ev.values
    U, b, V, c = (v[NodeRef(p)] for p in ("U", "b", "V", "c"))
    lhs, rhs = [], []
    for i in range(1, T + 1):
        s = np.tanh(U @ v[NodeRef("x", i)] + b)                                  # s_i = σ(U x_i + b)
        z = V @ s + c
        lhs += [*v[NodeRef("s", i)], *v[NodeRef("y", i)]]
        rhs += [*s, *(np.exp(z - z.max()) / np.exp(z - z.max()).sum())]          # y_i = softmax(V s_i + c)
        for j in range(1, T + 1):
            if j != i:
                lhs.append(float(np.max(np.abs(ev.total(NodeRef("s", i), NodeRef("x", j))))))
                rhs.append(0.0)
    return np.array(lhs), np.array(rhs), {"instance seed": seed, "T": T, "W": 0}


def _ancestors(g, ref, stop=lambda r: False):
    """Every node ``ref`` depends on (parents, their parents, ...), not walking past nodes where ``stop`` holds."""
    seen, stack = set(), [ref]
    while stack:
        for p in g.nodes[stack.pop()].parents:
            if p not in seen:
                seen.add(p)
                if not stop(p):
                    stack.append(p)
    return seen


def rnn_dependencies(rng):
    """Module 14.2-14.3 in the engine's unrolled RNN (T = 4): L_4 depends on s_4; s_t on s_{t-1} and W within one
    step; s_0 is a constant (a leaf); given s_{i-1}, y_i reads exactly x_i, s_{i-1}, W, U, V, b, c; the
    parameters are one node each, shared by every step.  1 for each fact that holds."""
    T = 4
    g = unroll(rnn("tanh"), T)
    is_state = lambda r: r.name == "s"                       # noqa: E731
    facts = [NodeRef("s", T) in _ancestors(g, NodeRef("L", T), is_state), not g.nodes[NodeRef("s", 0)].parents]
    for t in range(1, T + 1):
        anc = _ancestors(g, NodeRef("s", t), is_state)
        facts.append({NodeRef("s", t - 1), NodeRef("W")} <= anc)
        before = lambda r, t=t: r.name == "s" and r.t == t - 1           # noqa: E731
        leaves = {r.name for r in _ancestors(g, NodeRef("y", t), before) if not g.nodes[r].parents or before(r)}
        facts.append(leaves == {"x", "s", "W", "U", "V", "b", "c"})
    params = sorted(r.name for r, info in g.nodes.items() if info.kind == "param")
    facts.append(params == ["U", "V", "W", "b", "c"])
    facts.append(all(r.t is None for r, info in g.nodes.items() if info.kind == "param"))
    return np.array(facts, dtype=float), np.ones(len(facts)), {"T": T, "facts": len(facts)}


def tensor_entries(with_delta: bool):
    """Module 14.5: the engine's ∂⁺s_k/∂W (d x d^2, W unfolded row by row: column q d + r) against
    σ'(a_kp) s_{k-1,r}, with the slide's condition p = q (``with_delta``) or without it, as its last line prints."""
    def fn(rng):
        seed = int(rng.integers(1 << 30))
        g = unroll(rnn("tanh"), 3, {"n": 3, "d": 2, "k": 4})
        ev = Evaluator(g, Instance.random(g, seed))
        lhs, rhs = [], []
        for k in (1, 2, 3):
            J = ev.explicit(NodeRef("s", k), NodeRef("W"))
            sp_ = 1 - np.tanh(ev.values[NodeRef("a", k)]) ** 2 if NodeRef("a", k) in ev.values else \
                1 - ev.values[NodeRef("s", k)] ** 2
            prev = ev.values[NodeRef("s", k - 1)]
            d = prev.size
            for p in range(d):
                for q in range(d):
                    for r in range(d):
                        lhs.append(J[p, q * d + r])
                        rhs.append(sp_[p] * prev[r] * (1.0 if (q == p or not with_delta) else 0.0))
        return np.array(lhs), np.array(rhs), {"instance seed": seed, "d": 2, "k": "1, 2, 3"}
    return fn


# ---------------------------------------------------------------------------
# Applied NLP: the power of U, the decay with the depth (000, after 05:39 and 09:40)
# ---------------------------------------------------------------------------
def u_power(rnn_nobias, exponent_shift: int):
    """Eq. (18)'s RNN ``rnn_nobias`` (no bias, tanh) at h^(0) = 0, X = 0, where every σ' is tanh'(0) = 1: the
    engine's ∂h^(τ)/∂h^(0) against U^{τ + exponent_shift} (U the lecture's recurrent matrix, the engine's W),
    τ = 1..5."""
    def fn(rng):
        T, d = 5, 2
        g = unroll(rnn_nobias("tanh"), T, {"n": 2, "d": d, "k": 3})
        seed = int(rng.integers(1 << 30))
        inst = Instance.random(g, seed)
        inst.values[NodeRef("s", 0)] = np.zeros(d)
        for t in range(1, T + 1):
            inst.values[NodeRef("x", t)] = np.zeros(2)
        ev = Evaluator(g, inst)
        U = ev.values[NodeRef("W")]
        lhs = [ev.total(NodeRef("s", tau), NodeRef("s", 0)).ravel() for tau in range(1, T + 1)]
        rhs = [np.linalg.matrix_power(U, tau + exponent_shift).ravel() for tau in range(1, T + 1)]
        return np.concatenate(lhs), np.concatenate(rhs), {"instance seed": seed, "tau": "1..5", "h^(0)": 0, "X": 0}
    return fn


def u_small_cases(rnn_nobias):
    """"U gets very small when the depth increases", read as the factor U^t: if ||U|| < 1 then
    ||∂h^(t)/∂h^(0)|| <= ||U||^t for t = 1..8 (engine, eq. (18)'s RNN ``rnn_nobias``, tanh and logistic)."""
    return lambda rng: _u_small(rnn_nobias, rng)


def _u_small(rnn_nobias, rng):
    out = []
    for act in ("tanh", "logistic"):
        for scale in (0.5, 0.95, 1.5):
            T = 8
            g = unroll(rnn_nobias(act), T, {"n": 2, "d": 2, "k": 3})
            seed = int(rng.integers(1 << 30))
            inst = Instance.random(g, seed, scale=1.0)
            U = inst.values[NodeRef("W")]
            inst.values[NodeRef("W")] = U * (scale / np.linalg.norm(U, 2))
            ev = Evaluator(g, inst)
            norms = [float(np.linalg.norm(ev.total(NodeRef("s", t), NodeRef("s", 0)), 2)) for t in range(1, T + 1)]
            ok = all(n <= scale ** t * (1 + 1e-9) for t, n in enumerate(norms, 1))
            out.append(({"activation": act, "||U||": scale, "seed": seed}, scale < 1, bool(ok),
                        f"{act}, ||U|| = {scale}: ||∂h^(t)/∂h^(0)||, t = 1..8: "
                        + ", ".join(f"{n:.3g}" for n in norms)))
    return out


def geometric_decay(rng):
    """On the RNN pinned at σ' = γ (a = 0, tanh) with U = c Q (Q orthogonal), ||∂h^(t)/∂h^(0)|| = c^t exactly:
    the decay with the depth t is geometric (log-linear), c = 0.5, 0.9; engine against c^t for t = 1..8."""
    lhs, rhs = [], []
    for c in (0.5, 0.9):
        Q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
        ev = rnn_pinned(c * Q, (0.0, 0.0), 8)
        lhs += [float(np.linalg.norm(ev.total(NodeRef("s", t), NodeRef("s", 0)), 2)) for t in range(1, 9)]
        rhs += [c ** t for t in range(1, 9)]
    return np.array(lhs), np.array(rhs), {"c": "0.5, 0.9", "t": "1..8"}


def overflow_nan(rng=None):
    """float64: a value past 1.8e308 is inf, and inf - inf (or 0 · inf) is 'not a number'."""
    with np.errstate(over="ignore", invalid="ignore"):
        big = np.float64(1e200) * np.float64(1e200)
        nan1, nan2 = big - big, np.float64(0.0) * big
    return (np.array([np.isinf(big), np.isnan(nan1), np.isnan(nan2)], dtype=float), np.ones(3),
            {"1e200 * 1e200": "inf"})


# ---------------------------------------------------------------------------
# CS224n: W_h as a number, SGD, the gates, LSTM without a guarantee
# ---------------------------------------------------------------------------
def scalar_wh_cases(kind: str):
    """d = 1 RNNs h^(t) = σ(W_h h^(t-1) + x^(t)) with a^(t) pinned (σ' at its largest, or saturated).

    "small": if |W_h| < 1 then |∂h^(i)/∂h^(j)| <= |W_h|^{i-j} (here j = 0, i = 1..20); "explode": if W_h > 1
    then |∂h^(20)/∂h^(0)| > 10; "explode-corrected": if W_h σ'(a^(t)) >= c > 1 at every step then
    |∂h^(t)/∂h^(0)| >= c^t.  Engine against finite differences."""
    def cases(rng=None):
        out = []
        for act in ("tanh", "logistic"):
            for w in (0.5, 0.9, 1.5, 2.0, 6.0):
                for pin, label in ((0.0, "a = 0"), (8.0, "a = 8 (saturated)")):
                    ev = rnn_pinned([[w]], (pin,), 20, act)
                    norms = jacobian_norms(ev, range(1, 21))
                    agree = all(abs(a - b) <= 1e-4 * max(1.0, a) for _, a, b in norms)
                    slope = float(_slope(act, pin))
                    c = w * slope
                    if kind == "small":
                        hyp, concl = abs(w) < 1, all(v <= w ** t * (1 + 1e-9) for t, v, _ in norms)
                    elif kind == "explode":
                        hyp, concl = w > 1, norms[-1][1] > 10
                    else:
                        hyp, concl = c > 1, all(v >= c ** t * (1 - 1e-9) for t, v, _ in norms)
                    out.append(({"activation": act, "W_h": w, "pinned": label, "W_h sigma'": c},
                                bool(hyp) and agree, bool(concl),
                                f"{act}, W_h = {w}, {label}: W_h σ' = {c:.3g}, |∂h^(20)/∂h^(0)| = {norms[-1][1]:.3g}"
                                f"{'' if agree else ' -- finite differences DISAGREE'}"))
        return out
    return cases


def _slope(act: str, x: float) -> float:
    return {"tanh": 1 - np.tanh(x) ** 2, "logistic": (lambda s: s * (1 - s))(1 / (1 + np.exp(-x)))}[act]


def sgd_step(rng):
    """θ_new = θ_old - α ∇_θ J(θ) with the engine's gradient of J = Σ_t J^(t) for θ = W_h: the step's size is
    α ||∇J|| (it grows with the gradient: 'if the gradient becomes too big, the SGD update step becomes too big')."""
    T = 4
    g = unroll(rnn("tanh"), T, {"n": 3, "d": 2, "k": 4})
    seed = int(rng.integers(1 << 30))
    ev = Evaluator(g, Instance.random(g, seed))
    grad = sum(ev.total(NodeRef("L", t), NodeRef("W")) for t in range(1, T + 1)).ravel()
    fd = sum(ev.finite_difference(NodeRef("L", t), NodeRef("W"), eps=1e-6) for t in range(1, T + 1)).ravel()
    old = ev.values[NodeRef("W")].ravel()
    lhs, rhs = [], []
    for alpha in (0.1, 1.0):
        for scale in (1.0, 1e3):
            new = old - alpha * (scale * grad)
            lhs.append(np.linalg.norm(new - old))
            rhs.append(alpha * scale * np.linalg.norm(grad))
    lhs.append(float(np.max(np.abs(grad - fd)) < 1e-6))
    rhs.append(1.0)
    return np.array(lhs), np.array(rhs), {"instance seed": seed, "alpha": "0.1, 1", "gradient scale": "1, 1000"}


def gate_range(rng):
    """The engine's LSTM gates o, i, f lie in (0, 1) on random instances (strictly, in float64 for moderate
    pre-activations); exactly, 0 < σ(q) < 1 for rational q (SymPy); σ(40) = 1 - 4.2e-18 and σ(-40) = 4.2e-18:
    'open (1)' and 'closed (0)' are limits."""
    from derive.cells.lstm import lstm

    seed = int(rng.integers(1 << 30))
    g = unroll(lstm(), 4, {"n": 3, "d": 3, "k": 2})
    v = Evaluator(g, Instance.random(g, seed, scale=1.0)).values
    gates = np.concatenate([v[NodeRef(n, t)] for n in ("o", "i", "f") for t in range(1, 5)])
    q = sp.Symbol("q")
    sigma = 1 / (1 + sp.exp(-q))
    exact = all(bool(0 < sigma.subs(q, r) < 1) for r in (sp.Rational(-40), sp.Rational(1, 3), sp.Integer(40)))
    lhs = [float(np.all((gates > 0) & (gates < 1))), float(exact),
           float(1 - sigma.subs(q, 40).evalf(30)), float(sigma.subs(q, -40).evalf(30))]
    rhs = [1.0, 1.0, float(sp.exp(-40).evalf(30) / (1 + sp.exp(-40)).evalf(30)),
           float((sp.exp(-40) / (1 + sp.exp(-40))).evalf(30))]
    return np.array(lhs), np.array(rhs), {"instance seed": seed, "gates": int(gates.size)}


def dependency_facts(reversed_: bool):
    """Lecture 111 (06:38) in the engine's unrolled LSTM: whether s_k depends on h_k (``reversed_``: the spoken
    'sk also depends on h k'), or the facts the equations give: h_k reads s_k (h_k = o_k ⊙ tanh(s_k)), s_k
    depends on h_{k-1}, and not on h_k."""
    def fn(rng):
        from derive.cells.lstm import lstm

        T = 3
        g = unroll(lstm(), T)
        lhs = []
        for k in range(1, T + 1):
            anc = _ancestors(g, NodeRef("s", k))
            if reversed_:
                lhs.append(float(NodeRef("h", k) in anc))
            else:
                lhs += [float(NodeRef("s", k) in g.nodes[NodeRef("h", k)].parents),
                        float(NodeRef("h", k - 1) in anc), float(NodeRef("h", k) not in anc)]
        return np.array(lhs), np.ones(len(lhs)), {"T": T}
    return fn


#: The slide's sentence (000, 09:40), as transcribed.
RAJ = ('Raj entered CoffeeDay to meet his partner Dru. Raj said "Hi Dru. In the next few hours they discussed their '
       'start-up and devised a plan to develop a product on knowledge management. After a the long discussion and '
       'fruitful discussion, Raj said goodbye to his _____')


def word_positions(rng=None):
    """Positions of 'partner' and of the blank in the slide's sentence, words split at spaces and hyphens
    ('start-up' is two words): 7 and 47; with spaces only the blank is the 46th."""
    import re

    words = [w for w in re.split(r"[\s-]+", RAJ) if w]
    spaces = RAJ.split()
    return (np.array([words.index("partner") + 1, len(words), len(words) - (words.index("partner") + 1), len(spaces)],
                     dtype=float), np.array([7, 47, 40, 46], dtype=float), {"words": len(words)})


def activation_ranges(rng=None):
    """The logistic takes values in (0, 1) and tanh in (-1, 1): exactly at rational points (SymPy), and as
    limits ±∞ (SymPy), and on a float64 grid of [-30, 30]."""
    x = sp.Symbol("x", real=True)
    logistic, tanh = 1 / (1 + sp.exp(-x)), sp.tanh(x)
    pts = [sp.Rational(p, 3) for p in (-90, -7, 0, 5, 90)]
    exact = all(bool(0 < logistic.subs(x, p) < 1) and bool(-1 < tanh.subs(x, p) < 1) for p in pts)
    limits = [sp.limit(logistic, x, -sp.oo), sp.limit(logistic, x, sp.oo), sp.limit(tanh, x, -sp.oo),
              sp.limit(tanh, x, sp.oo)]
    grid = np.linspace(-30, 30, 100001)
    lo = 0.5 * (1 + np.tanh(grid / 2))
    lhs = [float(exact), *[float(v) for v in limits], float(lo.min() > 0 and lo.max() < 1),
           float(np.abs(np.tanh(grid)).max() <= 1)]
    return np.array(lhs), np.array([1.0, 0.0, 1.0, -1.0, 1.0, 1.0, 1.0]), {"grid": "[-30, 30]"}


# ---------------------------------------------------------------------------
# Lecture 111 (05:05): "explode if it explodes through any one of the paths" -- paths can cancel here too
# ---------------------------------------------------------------------------
#: d = 1, every gate open (b_o = b_i = b_f = 10), the candidate's recurrent weight W = -1.5, other weights 0,
#: x_t = 0, s_0 = 0.01, h_0 = 0.  Per step the forget path gives f ~ 1 and the implicit path g ~ W = -1.5: the
#: path that always takes the implicit edges grows like 1.5^{T-1}, the sum (f + g)^{T-1} ~ (-0.5)^{T-1} vanishes.
EXPLODING_PATH_LSTM = {"b_o": 10.0, "b_i": 10.0, "b_f": 10.0, "W": -1.5}


def implicit_path(params, X, s0, h0):
    """(the product along the path s_0 -> s_1 -> h_1 -> s~_2 -> s_2 -> h_2 -> ... -> s_T, the whole ∂s_T/∂s_0
    from the step Jacobians, central differences), d = 1, NumPy reference.

    The path's factors: ∂⁺s_1/∂s_0 = f_1, then for j = 2..T ∂h_{j-1}/∂s_{j-1} = o_{j-1} tanh'(s_{j-1}),
    ∂s~_j/∂h_{j-1} = tanh'(ã_j) W (W_o = W_i = W_f = 0: the gates do not read h), ∂s_j/∂s~_j = i_j.
    """
    from derive.numeric.reference import lstm as ref

    T = X.shape[0]
    labels = np.zeros((T, 1), dtype=int)
    c = ref.forward(params, X, labels, s0=s0, h0=h0)
    f, i, o, st, s = (c.f[:, 0, 0], c.i[:, 0, 0], c.o[:, 0, 0], c.s_tilde[:, 0, 0], c.s[:, 0, 0])
    W = float(params["W"].ravel()[0])
    path = f[0]
    for j in range(2, T + 1):
        path *= i[j - 1] * (1 - st[j - 1] ** 2) * W * o[j - 2] * (1 - np.tanh(s[j - 1]) ** 2)
    J = ref.step_jacobians(params, c)
    M = np.eye(2)
    for t in range(T):
        M = J[t, 0] @ M
    eps = 1e-7
    up = ref.forward(params, X, labels, s0=s0 + eps, h0=h0).s[T, 0, 0]
    dn = ref.forward(params, X, labels, s0=s0 - eps, h0=h0).s[T, 0, 0]
    return float(path), float(M[0, 0]), float((up - dn) / (2 * eps))


def exploding_path_cases(kind: str):
    """"printed": if the implicit path explodes (|product| > 10^3) then so does ∂s_T/∂s_0 (> 10^3); "sum": the
    whole derivative is f_1 Π_{j=2}^{T} (f_j + g_j), the forget and implicit factors of each step summed (the
    two paths of every step added, not the largest kept).  The LSTM of `EXPLODING_PATH_LSTM` at T = 10, 20, 30,
    and random open-gate LSTMs (d = 1, W_o = W_i = W_f = 0)."""
    def run(name, p, T):
        X, s0, h0 = np.zeros((T, 1, 1)), np.full((1, 1), 0.01), np.zeros((1, 1))
        path, total, fd = implicit_path(p, X, s0, h0)
        agree = abs(total - fd) <= 1e-5 * max(1e-6, abs(total))
        if kind == "printed":
            hyp, concl = abs(path) > 1e3, abs(total) > 1e3
        else:
            from derive.numeric.reference import lstm as ref

            c = ref.forward(p, X, np.zeros((T, 1), dtype=int), s0=s0, h0=h0)
            f, i, o, st, s = (c.f[:, 0, 0], c.i[:, 0, 0], c.o[:, 0, 0], c.s_tilde[:, 0, 0], c.s[:, 0, 0])
            W = float(p["W"].ravel()[0])
            prod = f[0] * np.prod([f[j - 1] + i[j - 1] * (1 - st[j - 1] ** 2) * W * o[j - 2] * (1 - np.tanh(s[j - 1]) ** 2)
                                   for j in range(2, T + 1)])
            hyp, concl = True, abs(prod - total) <= 1e-9 * max(1e-12, abs(total))
        detail = (f"{name}, T = {T}: the implicit path {path:.3g}, ∂s_T/∂s_0 = {total:.3g} (finite differences "
                  f"{fd:.3g}{'' if agree else ' -- DISAGREE'})")
        return ({"instance": name, "T": T, "path": path, "total": total, "finite_difference": fd},
                bool(hyp) and bool(agree), bool(concl), detail)

    def fixed():
        name = "LSTM b_o = b_i = b_f = 10, W = -1.5, other weights 0, x_t = 0, s_0 = 0.01, h_0 = 0"
        return [run(name, _lstm_params(1, EXPLODING_PATH_LSTM), T) for T in (10, 20, 30)]

    def cases(rng):
        out = []
        for _ in range(2):
            w = float(rng.choice([-2.5, -0.5, 0.8, 1.5]))
            p = _lstm_params(1, {"b_o": 3.0, "b_i": 3.0, "b_f": 3.0, "W": w, "b": float(rng.normal())})
            out.append(run(f"open-gate LSTM, W = {w}", p, 10))
        return out
    return {"fixed": fixed, "cases": cases}
