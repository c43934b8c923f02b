"""The lectures' own reasoning as claims: Lecture 111's path argument, Pascanu's conditions, the output-gate
path, truncated BPTT's error bound; their counterexamples' numbers checked here against the NumPy references
(finite differences), independently of the claims' own functions."""

from __future__ import annotations

import numpy as np
import pytest

from derive.checks.catalog import audit, load_claims
from derive.numeric.reference import lstm as ref_lstm


@pytest.fixture(scope="module")
def report():
    return audit(load_claims("l111-,cs224n-,l105-,l59-,l14-"))


def _issue12_lstm():
    p = {k: np.zeros(tuple({"d": 1, "n": 1, "k": 2}[x] for x in dims)) for k, dims in ref_lstm.PARAM_SHAPES.items()}
    p["b_o"][:], p["b_i"][:], p["b_f"][:], p["W"][:] = 3.0, 3.0, 2.0, -0.985
    return p


@pytest.mark.parametrize("T, forget, total", [(5, 0.53, 1.8e-10), (10, 0.28, -6.6e-20), (20, 0.079, -9.0e-39)])
def test_issue12_lstm_forget_gates_open_gradient_vanishes(T, forget, total):
    """b_o = 3, b_i = 3, b_f = 2, W = -0.985, others 0, x = 0, s_0 = 0.1, h_0 = 0 (issue 12)."""
    p, X, labels = _issue12_lstm(), np.zeros((T, 1, 1)), np.zeros((T, 1), dtype=int)
    run = lambda s0: ref_lstm.forward(p, X, labels, s0=np.full((1, 1), s0), h0=np.zeros((1, 1)))  # noqa: E731
    cache = run(0.1)
    assert np.prod(cache.f[:, 0, 0]) == pytest.approx(forget, rel=0.02)
    eps = 1e-6
    fd = (run(0.1 + eps).s[T, 0, 0] - run(0.1 - eps).s[T, 0, 0]) / (2 * eps)
    assert fd == pytest.approx(total, rel=0.03)
    J = ref_lstm.step_jacobians(p, cache)
    M = np.eye(2)
    for t in range(T):
        M = J[t, 0] @ M
    assert M[0, 0] == pytest.approx(fd, rel=1e-5)


@pytest.mark.parametrize("claim_id", ["l111-paths-rule", "l111-fair-vanishing", "l111-implicit-worst-case"])
def test_lecture111_path_argument_fails_with_the_cancelling_lstm(report, claim_id):
    r = report[claim_id]
    assert r.verdict == "fails" and r.claim.kind != "prose"
    cx = r.counterexample
    assert "b_f = 2, W = -0.985" in cx.instance["instance"] and cx.instance["T"] == 5
    assert cx.instance["forget_path"] == pytest.approx(0.53, rel=0.01)
    assert cx.instance["total"] == pytest.approx(cx.instance["finite_difference"], rel=1e-5)
    assert r.correction.verdict == "holds"
    # random LSTMs satisfy the rule: it is the cancelling instance that breaks it
    if claim_id == "l111-paths-rule":
        assert all(c.passed for c in r.checks if c.where["seed"] != "fixed")


# -- issue 12, items 4 and 5: the prose and the reasoning, checked ---------------------------------------------
NEW_VERDICTS = {
    "l59-nan": "holds", "l59-u-small": "holds", "l59-decay-depth": "holds", "l59-word-positions": "holds",
    "l59-activation-ranges": "holds", "l59-u-power-spoken": "fails", "l59-u-power-47": "holds_simplified",
    "l59-clip-never-increases": "holds", "l59-clip-speed": "not_checkable",
    "l105-truncation": "holds", "l105-bounded-derivative": "fails", "l105-small-step-vanish": "fails",
    "l14-14.2-feedforward": "holds", "l14-14.2-dependencies": "holds", "l14-14.4-small-step-vanish": "fails",
    "l14-14.4-bounded-derivative": "fails", "l14-14.5-no-delta": "transcription",
    "cs224n-wh-number": "holds", "cs224n-wh-explode": "fails", "cs224n-sgd": "holds", "cs224n-lstm-gates": "holds",
    "cs224n-rho-sufficient": "fails", "cs224n-rho-necessary": "fails", "cs224n-rho-vanishing-necessary": "fails",
    "cs224n-issue12-rnn": "holds", "cs224n-lstm-no-guarantee": "holds", "cs224n-lstm-more-params": "holds",
    "cs224n-residual": "holds", "cs224n-highway": "holds", "cs224n-bidirectional-lm": "holds",
    "cs224n-bidirectional-advice": "not_checkable", "cs224n-stacked": "holds",
    "l111-recap-explode": "fails", "l111-s-depends-h": "fails", "l111-output-bound": "holds",
    "l111-output-explodes": "holds", "l111-clip-never-increases": "holds", "l111-paths-explode": "fails",
}


@pytest.mark.parametrize("claim_id, verdict", sorted(NEW_VERDICTS.items()))
def test_the_checked_prose_has_its_verdict(report, claim_id, verdict):
    r = report[claim_id]
    assert r.verdict == verdict, (claim_id, r.verdict, r.reason)
    if verdict in ("fails", "transcription"):
        assert r.correction.verdict in ("holds", "holds_simplified") and r.counterexample is not None
        assert r.claim.evidence.strip()
    if verdict == "holds_simplified":
        assert r.claim.simplified is not None and "40" in r.special_case


def _tanh_rnn_norms(W, pin, ts):
    """||∂h_t/∂h_0|| of h_t = tanh(W h_{t-1} + x_t) with x_t pinning the pre-activation, by a NumPy product of
    the step Jacobians and by central differences of a NumPy forward pass (independent of the engine)."""
    W, pin = np.asarray(W, float), np.asarray(pin, float)
    T = max(ts)
    h0 = np.tanh(pin)
    X = [pin - W @ h0] + [pin - W @ np.tanh(pin)] * (T - 1)

    def run(h, upto):
        for t in range(upto):
            h = np.tanh(W @ h + X[t])
        return h
    out = []
    for t in ts:
        J = np.linalg.matrix_power(np.diag(1 - np.tanh(pin) ** 2) @ W, t)
        eps = 1e-4 / max(1.0, np.linalg.norm(J, 2))
        fd = np.stack([(run(h0 + eps * e, t) - run(h0 - eps * e, t)) / (2 * eps) for e in np.eye(len(pin))], 1)
        out.append((np.linalg.norm(J, 2), np.linalg.norm(fd, 2)))
    return out


def test_issue12_rnn_numbers_independently():
    """ρ(W) = 0.5, ||W||_2 = 2.57, a_t pinned at (0, 20): 1.8, 9.1, 69, 4.0e3, 1.3e7 at t = 1, 5, 10, 20, 40."""
    W = [[1.5, 1.0], [-1.6, -0.9]]
    assert max(abs(np.linalg.eigvals(W))) == pytest.approx(0.5) and np.linalg.norm(W, 2) == pytest.approx(2.571, abs=1e-3)
    norms = _tanh_rnn_norms(W, (0.0, 20.0), (1, 5, 10, 20, 40))
    for (j, fd), want in zip(norms, (1.8, 9.1, 69, 4.0e3, 1.3e7)):
        assert j == pytest.approx(want, rel=0.03) and fd == pytest.approx(j, rel=1e-5)


@pytest.mark.parametrize("claim_id", ["cs224n-rho-sufficient", "cs224n-rho-necessary"])
def test_the_spectral_radius_fails_on_issue12_rnn(report, claim_id):
    cx = report[claim_id].counterexample
    assert cx.instance["seed"] == "fixed" and "non-normal tanh RNN" in cx.instance["instance"]
    assert cx.instance["rho"] == pytest.approx(0.5) and cx.instance["norms"][-1] == pytest.approx(1.3e7, rel=0.03)
    assert cx.instance["finite_differences"][-1] == pytest.approx(cx.instance["norms"][-1], rel=1e-4)
    # the largest singular value is consistent with the same instance (it is > 1/γ = 1)
    assert cx.instance["lambda"] > 1 and report[claim_id].correction.verdict == "holds"


@pytest.mark.parametrize("claim_id", ["cs224n-rho-vanishing-necessary", "l111-recap-explode"])
def test_the_alternating_rnn_vanishes_with_rho_and_norm_two(report, claim_id):
    cx = report[claim_id].counterexample
    assert "[[0, 2], [2, 0]]" in cx.instance["instance"] and cx.instance["rho"] == pytest.approx(2.0)
    (j40, _), = _tanh_rnn_norms([[0.0, 2.0], [2.0, 0.0]], (0.0, 3.0), (40,))
    assert j40 < 1e-27 and cx.instance["norms"][-1] == pytest.approx(j40, rel=1e-6)


def test_bounded_sigma_with_unbounded_slope():
    """sin(x^2): |σ| <= 1, σ'(sqrt(2πn)) = 2 sqrt(2πn) (NumPy, not the claim's function)."""
    x = np.sqrt(2 * np.pi * np.array([1e2, 1e4, 1e6]))
    assert np.all(np.abs(np.sin(x ** 2)) < 1e-6)
    slope = (np.sin((x + 1e-9) ** 2) - np.sin((x - 1e-9) ** 2)) / 2e-9
    assert slope == pytest.approx(2 * x, rel=1e-3)


@pytest.mark.parametrize("claim_id", ["l105-bounded-derivative", "l14-14.4-bounded-derivative"])
def test_bounded_does_not_imply_bounded_slope(report, claim_id):
    cx = report[claim_id].counterexample
    assert cx.instance["σ"] == "sin(x^2)" and cx.instance["sup |σ| on [-1000, 1000]"] <= 1.0
    assert cx.instance["sup |σ'| on [-1000, 1000]"] > 1000


def test_small_far_jacobian_leaves_the_near_terms(report):
    """An RNN with γ||W|| = 0.2: ||∂s_8/∂s_1|| ~ 1e-7 but ||∂L_8/∂W|| ~ 0.1 (NumPy, central differences)."""
    rng = np.random.default_rng(3)
    d, n, k, T = 2, 3, 4, 8
    W = rng.standard_normal((d, d))
    W *= 0.2 / np.linalg.norm(W, 2)
    U, V, X = rng.standard_normal((d, n)) * 0.5, rng.standard_normal((k, d)) * 0.5, rng.standard_normal((T, n))

    def loss(Wm):
        s = np.zeros(d)
        for t in range(T):
            s = np.tanh(Wm @ s + U @ X[t])
        z = V @ s
        return -(z[0] - np.log(np.exp(z).sum()))
    grad = np.array([[(loss(W + 1e-6 * E) - loss(W - 1e-6 * E)) / 2e-6 for E in row]
                     for row in np.eye(d * d).reshape(d, d, d, d)])
    assert np.linalg.norm(grad) > 1e-2                      # the gradient is not small ...
    assert 0.2 ** (T - 1) < 1e-4                            # ... although ||∂s_8/∂s_1|| <= (γ||W||)^7 is
    for cid in ("l105-small-step-vanish", "l14-14.4-small-step-vanish"):
        cx = report[cid].counterexample
        assert cx.instance["ds8_ds1"] < 1e-3 < cx.instance["dL8_dW"]


def test_wh_above_one_need_not_explode(report):
    cx = report["cs224n-wh-explode"].counterexample
    assert cx.instance["W_h"] > 1 and cx.instance["W_h sigma'"] <= 1


def test_lecture59_u_power(report):
    """At h^(0) = 0, X = 0 every slope is 1: ∂h^(τ)/∂h^(0) = U^τ, so 'U^{τ-1}' is one factor short."""
    r = report["l59-u-power-spoken"]
    assert r.verdict == "fails" and r.correction.verdict == "holds"
    U = np.array([[0.3, -0.8], [0.5, 0.2]])
    h = lambda h0, tau: h0 if tau == 0 else np.tanh(U @ h(h0, tau - 1))          # noqa: E731
    fd = np.stack([(h(1e-6 * e, 3) - h(-1e-6 * e, 3)) / 2e-6 for e in np.eye(2)], 1)
    assert np.allclose(fd, np.linalg.matrix_power(U, 3), atol=1e-9)
    assert not np.allclose(fd, np.linalg.matrix_power(U, 2), atol=1e-3)


def test_the_exploding_output_gate_path_independently(report):
    """d = 1, W_o = 8, b_o = -4, b_f = 20, b_i = -20, s_0 = 10: ∂h_T/∂h_0 = 2^T (a NumPy LSTM written here)."""
    sig = lambda z: 1 / (1 + np.exp(-z))                   # noqa: E731

    def h_T(h, T, s=10.0):
        for _ in range(T):
            o, i, f = sig(8 * h - 4), sig(-20.0), sig(20.0)
            s = f * s + i * np.tanh(0.0)
            h = o * np.tanh(s)
        return h
    h0 = sig(0.0) * np.tanh(10.0)
    for T in (5, 10, 20):
        eps = 1e-6 / 2 ** T
        assert (h_T(h0 + eps, T) - h_T(h0 - eps, T)) / (2 * eps) == pytest.approx(2.0 ** T, rel=1e-3)
    r = report["l111-output-explodes"]
    assert r.verdict == "holds" and all(c.where["seed"] == "fixed" for c in r.checks)
    assert [c.where["T"] for c in r.checks] == [5, 10, 20]


def test_the_output_gate_bound_is_tight_and_wrong_constants_fail(report):
    """||Π pairs|| <= (||W_o||/4)^T is attained on the exploding LSTM, so (||W_o||/4.5)^T would fail there."""
    from derive.proofs.catalog.reasoning import output_gate_cases

    cases = output_gate_cases("bound")["fixed"]()
    assert all(c[2] for c in cases)
    for inputs, _, _, _ in cases:
        assert inputs["path"] == pytest.approx(2.0 ** inputs["T"], rel=1e-3)      # tanh(10) < 1, σ(-20) > 0
        assert inputs["path"] > (inputs["W_o"] / 4.5) ** inputs["T"]


def test_s_depends_on_h_is_reversed(report):
    r = report["l111-s-depends-h"]
    assert r.verdict == "fails" and r.correction.verdict == "holds"
    assert "o_k ⊙ tanh(s_k)" in r.claim.reading


def test_clipping_never_increases_the_norm_and_a_wrong_rule_is_caught():
    from derive.numeric.clipping import clip_norm
    from derive.proofs.catalog.reasoning import clipping_cases

    assert all(c[2] for c in clipping_cases(np.random.default_rng(0)))
    g = np.full(4, 1e-9)
    assert np.array_equal(clip_norm(g, 1.0), g)
    rescale = lambda g, th: th * g / np.linalg.norm(g)       # noqa: E731  "normalise always": raises a small g
    assert np.linalg.norm(rescale(g, 1.0)) > np.linalg.norm(g)


def test_lstm_and_gru_parameter_counts():
    from derive.proofs.catalog.reasoning import parameter_counts

    lhs, rhs, info = parameter_counts(np.random.default_rng(5))
    n, d = info["n"], info["d"]
    assert lhs[0] == 4 * d * (d + n + 1) and lhs[1] == 3 * d * (d + n + 1) and lhs[2] == 1.0


def test_bidirectional_backward_state_reads_the_future():
    from derive.proofs.catalog.reasoning import bidirectional

    lhs, rhs, info = bidirectional(np.random.default_rng(2))
    assert lhs[0] == 0.0 and lhs[1] == 1.0 and info["min ||dh_back/dx_future||"] > 1e-3


def test_gelfand_docstring_no_longer_claims_rho_governs_the_limit():
    from derive.checks.bounds import counterexamples

    doc = counterexamples.SpectralRadiusExample.__doc__
    assert "governs the limit" not in doc and "diag(sigma'(a_j)) W" in doc and "1.3e7" in doc


def test_one_exploding_path_need_not_make_the_gradient_explode(report):
    """Gates open (b = 10), W = -1.5: the implicit path grows like 1.5^{T-1}, ∂s_T/∂s_0 ~ (-0.5)^{T-1} (NumPy LSTM)."""
    sig = lambda z: 1 / (1 + np.exp(-z))                   # noqa: E731

    def s_T(s, T):
        h = 0.0
        for _ in range(T):
            g = sig(10.0)
            s = g * s + g * np.tanh(-1.5 * h)
            h = g * np.tanh(s)
        return s
    T = 20
    fd = (s_T(0.01 + 1e-7, T) - s_T(0.01 - 1e-7, T)) / 2e-7
    assert abs(fd) < 1e-4 and 1.5 ** (T - 1) > 1e3
    cx = report["l111-paths-explode"].counterexample
    assert cx.instance["T"] == 20 and abs(cx.instance["path"]) > 1e3
    assert cx.instance["total"] == pytest.approx(fd, rel=1e-4)
    assert cx.instance["finite_difference"] == pytest.approx(cx.instance["total"], rel=1e-5)
