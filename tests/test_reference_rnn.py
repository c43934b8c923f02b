"""The NumPy RNN reference against independent references: the lecture's equations
written as a plain per-sequence loop, central finite differences, and a brute-force
truncated BPTT that forms every product of Jacobians explicitly.

CS7015 Lecture 14 (shared/seeds/002_eb405f471485c68d.txt), Modules 14.2-14.4.
"""

import numpy as np
import pytest

from derive import activations
from derive.errors import InvalidValue, ShapeError, UnknownName
from derive.numeric.reference import demos, gradcheck, rnn


def make_problem(T, B, n, d, k, seed=0, act="tanh"):
    """Params, X, labels, s0; for relu, the first seed whose |a_t| stay 1e-3 away from the kink."""
    for s in range(seed, seed + 200):
        rng = np.random.default_rng(s)
        params = rnn.init_params(n, d, k, seed=s + 1000)
        X = rng.normal(size=(T, B, n))
        labels = rng.integers(0, k, size=(T, B))
        s0 = rng.normal(size=(B, d))
        if act != "relu" or np.abs(rnn.forward(params, X, labels, s0=s0, activation=act).a).min() > 1e-3:
            return params, X, labels, s0
    raise RuntimeError("no kink-free relu instance found")


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def lecture_loop(params, x, labels, s0, act):
    """One sequence, the Module 14.2/14.3 equations verbatim: lists of a_t, s_t (with s_0), y_t, L_t."""
    sigma = activations.get(act).numpy
    W, U, b, V, c = (params[key] for key in "WUbVc")
    a, s, y, L = [], [s0], [], []
    for t in range(len(x)):
        a.append(W @ s[-1] + U @ x[t] + b)
        s.append(sigma(a[-1]))
        y.append(softmax(V @ s[-1] + c))
        L.append(-np.log(y[-1][labels[t]]))
    return a, s, y, L


def brute_force(params, X, labels, s0, act, tau=None):
    """Truncated BPTT by the definition: for every L_t and k = max(1, t-tau)..t, the explicit
    product ds_t/ds_k = J_t ... J_{k+1} (J_j = diag(sigma'(a_j)) W) times d+s_k/dtheta."""
    prime = activations.get(act).numpy_prime
    T, B, _ = X.shape
    d = params["W"].shape[0]
    tau = T if tau is None else tau
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    grad_s0 = np.zeros_like(s0)
    for b in range(B):
        a, s, y, _ = lecture_loop(params, X[:, b], labels[:, b], s0[b], act)
        J = [None] + [np.diag(prime(a[j - 1])) @ params["W"] for j in range(1, T + 1)]  # J[j] = ds_j/ds_{j-1}
        for t in range(1, T + 1):
            e = y[t - 1] - np.eye(len(y[t - 1]))[labels[t - 1, b]]
            grads["V"] += np.outer(e, s[t])
            grads["c"] += e
            dL_ds = e @ params["V"]                      # dL_t/ds_t
            for k in range(max(1, t - tau), t + 1):
                P = np.eye(d)
                for j in range(t, k, -1):
                    P = P @ J[j]                         # ds_t/ds_k
                da = (dL_ds @ P) * prime(a[k - 1])       # d+s_k/d(W, U, b) goes through a_k
                grads["W"] += np.outer(da, s[k - 1])
                grads["U"] += np.outer(da, X[k - 1, b])
                grads["b"] += da
            if t <= tau:                                 # ds_t/ds_0 has t factors
                P = np.eye(d)
                for j in range(t, 0, -1):
                    P = P @ J[j]
                grad_s0[b] += dL_ds @ P
    return grads, grad_s0


def assert_close(actual, expected, rtol=1e-12, what=""):
    scale = max(1e-300, np.abs(expected).max(), np.abs(actual).max())
    err = np.abs(actual - expected).max() / scale
    assert err <= rtol, f"{what}: scale-aware error {err:.3e} > {rtol:g}"


# ---------------------------------------------------------------------------
# Forward pass
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["tanh", "logistic", "relu"])
def test_forward_follows_the_lecture_equations(act):
    params, X, labels, s0 = make_problem(T=5, B=3, n=2, d=3, k=4, act=act)
    cache = rnn.forward(params, X, labels, s0=s0, activation=act)
    assert cache.s.shape == (6, 3, 3) and cache.a.shape == (5, 3, 3) and cache.y.shape == (5, 3, 4)
    for b in range(3):
        a, s, y, L = lecture_loop(params, X[:, b], labels[:, b], s0[b], act)
        np.testing.assert_allclose(cache.a[:, b], a, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(cache.s[:, b], s, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(cache.y[:, b], y, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(cache.step_losses[:, b], L, rtol=1e-13)
    # The batch loss is the *sum* over steps and sequences.
    assert cache.loss == pytest.approx(cache.step_losses.sum(), rel=1e-15)


def test_default_initial_state_is_zero():
    params, X, labels, _ = make_problem(T=3, B=2, n=2, d=3, k=2)
    default = rnn.forward(params, X, labels)
    explicit = rnn.forward(params, X, labels, s0=np.zeros((2, 3)))
    assert default.loss == explicit.loss and not default.s[0].any()


# ---------------------------------------------------------------------------
# Full BPTT against finite differences
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("T,B", [(1, 1), (4, 3), (8, 1), (8, 3)])
@pytest.mark.parametrize("act", ["tanh", "logistic", "relu"])
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_bptt_matches_finite_differences(d, act, T, B):
    params, X, labels, s0 = make_problem(T, B, n=3, d=d, k=4, seed=10 * d + T, act=act)
    result = rnn.bptt(params, X, labels, s0=s0, activation=act)

    def loss(p):
        return rnn.forward({k: v for k, v in p.items() if k != "s0"}, X, labels, s0=p["s0"], activation=act).loss

    report = gradcheck.check_gradients(loss, {**params, "s0": s0}, {**result.grads, "s0": result.grad_s0},
                                       eps=1e-5, rtol=1e-6)
    assert report.ok, str(report)
    assert set(result.grads) == set(params) and all(result.grads[k].shape == params[k].shape for k in params)


def test_bptt_is_forward_then_backward():
    params, X, labels, s0 = make_problem(T=5, B=2, n=2, d=3, k=3)
    direct = rnn.bptt(params, X, labels, s0=s0, truncate=1)
    staged = rnn.backward(params, rnn.forward(params, X, labels, s0=s0), truncate=1)
    for key in params:
        np.testing.assert_array_equal(direct.grads[key], staged.grads[key])
    np.testing.assert_array_equal(direct.grad_s0, staged.grad_s0)


@pytest.mark.parametrize("act", ["tanh", "logistic"])
def test_full_bptt_equals_brute_force_path_sum(act):
    params, X, labels, s0 = make_problem(T=6, B=2, n=2, d=3, k=3, act=act)
    result = rnn.bptt(params, X, labels, s0=s0, activation=act)
    grads, grad_s0 = brute_force(params, X, labels, s0, act)
    for key in params:
        assert_close(result.grads[key], grads[key], 1e-12, key)
    assert_close(result.grad_s0, grad_s0, 1e-12, "s0")


def test_batched_result_is_the_sum_of_per_sequence_results():
    params, X, labels, s0 = make_problem(T=6, B=3, n=2, d=4, k=3)
    batched = rnn.bptt(params, X, labels, s0=s0, truncate=2)
    singles = [rnn.bptt(params, X[:, b:b + 1], labels[:, b:b + 1], s0=s0[b:b + 1], truncate=2) for b in range(3)]
    assert batched.loss == pytest.approx(sum(r.loss for r in singles), rel=1e-14)
    np.testing.assert_allclose(batched.step_losses, np.hstack([r.step_losses for r in singles]), rtol=1e-14)
    for key in params:
        assert_close(batched.grads[key], sum(r.grads[key] for r in singles), 1e-13, key)
    np.testing.assert_allclose(batched.grad_s0, np.vstack([r.grad_s0 for r in singles]), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(batched.jacobians[:, 1], singles[1].jacobians[:, 0], rtol=1e-14, atol=1e-16)


# ---------------------------------------------------------------------------
# Truncated BPTT
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("T", [1, 2, 5])
def test_truncation_with_window_at_least_T_minus_1_is_full_bptt(T):
    params, X, labels, s0 = make_problem(T=T, B=2, n=2, d=3, k=3)
    full = rnn.bptt(params, X, labels, s0=s0)
    for tau in (T - 1, T, T + 3):
        truncated = rnn.bptt(params, X, labels, s0=s0, truncate=tau)
        for key in params:
            assert_close(truncated.grads[key], full.grads[key], 1e-13, f"{key}, tau={tau}")
        if tau >= T:  # dL_T/ds_0 has T factors: in the window only from tau = T on
            assert_close(truncated.grad_s0, full.grad_s0, 1e-13, f"s0, tau={tau}")
    # At tau = T-1 exactly the loss L_T's contribution to dL/ds_0 is dropped.
    _, grad_s0 = brute_force(params, X, labels, s0, "tanh", tau=T - 1)
    assert_close(rnn.bptt(params, X, labels, s0=s0, truncate=T - 1).grad_s0, grad_s0, 1e-12, "s0")


@pytest.mark.parametrize("tau", [0, 1, 2])
@pytest.mark.parametrize("act", ["tanh", "logistic"])
def test_truncation_matches_brute_force_per_loss_windows(tau, act):
    params, X, labels, s0 = make_problem(T=7, B=2, n=2, d=3, k=3, seed=5, act=act)
    result = rnn.bptt(params, X, labels, s0=s0, activation=act, truncate=tau)
    grads, grad_s0 = brute_force(params, X, labels, s0, act, tau=tau)
    for key in params:
        assert_close(result.grads[key], grads[key], 1e-12, key)
    assert_close(result.grad_s0, grad_s0, 1e-12, "s0")
    if tau == 0:                                # no loss reaches s_0 without a recurrent factor
        np.testing.assert_array_equal(result.grad_s0, 0.0)
    # Truncation really drops paths, and leaves the output layer alone.
    full = rnn.bptt(params, X, labels, s0=s0, activation=act)
    assert np.abs(result.grads["W"] - full.grads["W"]).max() > 1e-6
    np.testing.assert_array_equal(result.grads["V"], full.grads["V"])
    np.testing.assert_array_equal(result.grads["c"], full.grads["c"])


@pytest.mark.parametrize("tau", [0, 2])
def test_truncation_is_full_bptt_over_each_loss_window(tau):
    """Per-loss windows, not blocks: L_t's truncated gradient is full BPTT of L_t alone on
    steps a..t started from the (constant) state s_{a-1}, a = max(1, t-tau).  L_t alone is
    the window's total loss minus that of the same window without step t."""
    params, X, labels, s0 = make_problem(T=6, B=2, n=2, d=3, k=3, seed=4)
    S = rnn.forward(params, X, labels, s0=s0).s

    def window_grads(a, t):                     # full BPTT of L_a + ... + L_t from s_{a-1}
        if t < a:
            return {key: 0.0 for key in params}
        return rnn.bptt(params, X[a - 1:t], labels[a - 1:t], s0=S[a - 1]).grads

    expected = {key: np.zeros_like(value) for key, value in params.items()}
    for t in range(1, 7):
        a = max(1, t - tau)
        with_t, without_t = window_grads(a, t), window_grads(a, t - 1)
        for key in params:
            expected[key] += with_t[key] - without_t[key]
    result = rnn.bptt(params, X, labels, s0=s0, truncate=tau)
    for key in params:
        assert_close(result.grads[key], expected[key], 1e-12, key)


# ---------------------------------------------------------------------------
# Per-step Jacobians
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["tanh", "logistic", "relu"])
def test_step_jacobians_match_finite_differences_of_one_step(act):
    params, X, labels, s0 = make_problem(T=4, B=2, n=2, d=3, k=2, seed=7, act=act)
    result = rnn.bptt(params, X, labels, s0=s0, activation=act)
    sigma = activations.get(act).numpy
    S = rnn.forward(params, X, labels, s0=s0, activation=act).s
    eps = 1e-6
    assert result.jacobians.shape == (4, 2, 3, 3)
    for t in range(1, 5):
        for b in range(2):
            def step(s):
                return sigma(params["W"] @ s + params["U"] @ X[t - 1, b] + params["b"])
            fd = np.column_stack([(step(S[t - 1, b] + eps * e) - step(S[t - 1, b] - eps * e)) / (2 * eps)
                                  for e in np.eye(3)])
            np.testing.assert_allclose(result.jacobians[t - 1, b], fd, rtol=1e-7, atol=1e-9,
                                       err_msg=f"ds_{t}/ds_{t - 1}, sequence {b}")


# ---------------------------------------------------------------------------
# The gradient checker
# ---------------------------------------------------------------------------
@pytest.fixture
def rnn_case():
    params, X, labels, s0 = make_problem(T=5, B=2, n=2, d=3, k=3, seed=2)
    result = rnn.bptt(params, X, labels, s0=s0)
    return params, (lambda p: rnn.forward(p, X, labels, s0=s0).loss), result.grads


def test_gradcheck_passes_correct_gradients_both_ways(rnn_case):
    params, loss, grads = rnn_case
    assert gradcheck.check_gradients(loss, params, grads).ok
    report = gradcheck.directional_check(loss, params, grads, n_directions=3, seed=1)
    assert report.ok, str(report)
    assert all(c.error < 1e-7 for c in report.checks.values())


def test_gradcheck_reports_a_perturbed_entry_where_it_is(rnn_case):
    params, loss, grads = rnn_case
    bad = {key: value.copy() for key, value in grads.items()}
    bad["U"][1, 0] += 1e-3
    report = gradcheck.check_gradients(loss, params, bad)
    assert not report.ok
    assert [c.name for c in report.failures] == ["U"]
    worst = report.checks["U"]
    assert worst.worst_index == (1, 0)
    assert worst.analytic == pytest.approx(bad["U"][1, 0], rel=1e-15)
    assert worst.numeric == pytest.approx(grads["U"][1, 0], rel=1e-7)
    assert "U" in str(report) and "FAILED" in str(report)
    assert not gradcheck.directional_check(loss, params, bad).ok


def test_gradcheck_catches_a_transposed_gradient(rnn_case):
    params, loss, grads = rnn_case
    bad = {**grads, "W": grads["W"].T}
    report = gradcheck.check_gradients(loss, params, bad)
    assert [c.name for c in report.failures] == ["W"]
    i, j = report.checks["W"].worst_index
    diff = np.abs(grads["W"] - grads["W"].T)
    assert diff[i, j] == diff.max()


def test_gradcheck_reports_non_finite_values_instead_of_crashing(rnn_case):
    params, loss, grads = rnn_case
    bad = {**grads, "b": np.array([0.0, np.nan, 1.0])}
    report = gradcheck.check_gradients(loss, params, bad)
    assert not report.ok and report.checks["b"].worst_index == (1,) and "non-finite" in report.checks["b"].reason
    blowup = gradcheck.check_gradients(lambda p: np.inf if p["c"][0] > params["c"][0] else loss(p), params, grads)
    assert not blowup.ok and "finite-difference" in blowup.checks["c"].reason
    assert not gradcheck.directional_check(lambda p: np.nan, params, grads).ok


def test_finite_difference_gradient_leaves_params_untouched(rnn_case):
    params, loss, _ = rnn_case
    before = {k: v.copy() for k, v in params.items()}
    gradcheck.finite_difference_gradient(loss, params)
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


@pytest.mark.parametrize("call, exc, words", [
    (lambda p, g, L: gradcheck.check_gradients(L, p, {k: v for k, v in g.items() if k != "V"}), InvalidValue, ["'V'"]),
    (lambda p, g, L: gradcheck.check_gradients(L, p, {**g, "W": g["W"][:2]}), ShapeError, ["grads['W']", "(2, 3)"]),
    (lambda p, g, L: gradcheck.check_gradients(L, p, {**g, "Q": g["W"]}), UnknownName, ["'Q'"]),
    (lambda p, g, L: gradcheck.check_gradients(L, p, g, eps=0.0), InvalidValue, ["eps"]),
    (lambda p, g, L: gradcheck.directional_check(L, p, g, n_directions=0), InvalidValue, ["n_directions"]),
])
def test_gradcheck_bad_input(rnn_case, call, exc, words):
    params, loss, grads = rnn_case
    with pytest.raises(exc) as info:
        call(params, grads, loss)
    assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
P, X0, L0, S0 = make_problem(T=4, B=2, n=3, d=2, k=5)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(X=X0[:, 0]), ShapeError, ["X has shape (4, 3)", "(T, B, n)", "X[:, None, :]"]),
    (dict(X=X0[..., :2]), ShapeError, ["X has shape (4, 2, 2)", "n = 3"]),
    (dict(X=np.where(X0 > 1, np.nan, X0)), InvalidValue, ["X", "non-finite"]),
    (dict(labels=np.where(L0 == L0[2, 1], 7, L0)), InvalidValue, ["= 7", "[0, 5)"]),
    (dict(labels=L0 - 10), InvalidValue, ["labels[0, 0]", "[0, 5)"]),
    (dict(labels=L0.astype(float)), InvalidValue, ["labels", "float64"]),
    (dict(labels=L0[:3]), ShapeError, ["labels has shape (3, 2)", "(4, 2)"]),
    (dict(truncate=-1), InvalidValue, ["truncate", "-1"]),
    (dict(truncate=1.5), InvalidValue, ["truncate", "1.5"]),
    (dict(activation="softplus"), UnknownName, ["softplus", "tanh"]),
    (dict(s0=S0[:1]), ShapeError, ["s0 has shape (1, 2)", "(2, 2)"]),
    (dict(params={k: v for k, v in P.items() if k != "W"}), InvalidValue, ["'W'"]),
    (dict(params={**P, "W2": P["W"]}), UnknownName, ["'W2'", "W, U, b, V, c"]),
    (dict(params={**P, "U": P["U"].T}), ShapeError, ["params['U']", "(3, 2)", "(d, n)"]),
    (dict(params={**P, "b": P["b"][None]}), ShapeError, ["params['b']", "(d)"]),
])
def test_bad_input_raises_a_clear_error(kwargs, exc, words):
    args = dict(params=P, X=X0, labels=L0, s0=S0, activation="tanh", truncate=None)
    args.update(kwargs)
    with pytest.raises(exc) as info:
        rnn.bptt(args.pop("params"), args.pop("X"), args.pop("labels"), **args)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_init_params_shapes_and_determinism():
    p = rnn.init_params(n=3, d=4, k=5, seed=7)
    assert {k: v.shape for k, v in p.items()} == {"W": (4, 4), "U": (4, 3), "b": (4,), "V": (5, 4), "c": (5,)}
    assert all(v.dtype == np.float64 for v in p.values())
    q = rnn.init_params(n=3, d=4, k=5, seed=7)
    assert all(np.array_equal(p[k], q[k]) for k in p)
    with pytest.raises(InvalidValue, match="d must be an integer >= 1, got 0"):
        rnn.init_params(n=3, d=0, k=5)


# ---------------------------------------------------------------------------
# Module 14.4 demonstration
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act, gamma", [("tanh", 1.0), ("logistic", 0.25)])
def test_rnn_jacobian_norms_respect_the_gamma_lambda_bound(act, gamma):
    demo = demos.rnn_jacobian_norms(T=100, d=6, gamma_lambda=0.9, activation=act)
    assert demo.gamma == gamma and demo.lam == pytest.approx(0.9 / gamma)
    np.testing.assert_allclose(demo.bound, 0.9 ** np.arange(100))
    assert demo.norms[0] == pytest.approx(1.0)
    assert np.all(demo.norms <= demo.bound * (1 + 1e-12))
    assert demo.norms[99] < 1e-4                    # vanished over 100 steps


def test_rnn_jacobian_norms_track_the_bound_for_small_inputs():
    demo = demos.rnn_jacobian_norms(T=100, d=8, gamma_lambda=0.9, input_scale=0.01)
    rate = demo.norms[99] ** (1 / 99)               # observed per-step decay
    assert 0.85 < rate <= 0.9


def test_backward_rejects_params_that_do_not_fit_the_cache():
    params, X, labels, s0 = make_problem(T=3, B=2, n=2, d=3, k=3)
    cache = rnn.forward(params, X, labels, s0=s0)
    other = rnn.init_params(n=2, d=4, k=3)
    with pytest.raises(ShapeError, match="d = 4 but the cache was computed with d = 3"):
        rnn.backward(other, cache)
