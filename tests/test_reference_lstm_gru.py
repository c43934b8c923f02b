"""The LSTM (Lecture 111 notation) and GRU (CS224n notation) references against
independent references: each cell's step written out again here, central finite
differences of the loss and of one step, and a brute-force truncated BPTT built
from finite-difference Jacobians of that one step.

Lecture 111: shared/seeds/004_ac394c33ecf151bd.txt; CS224n notes: 003_9ba40663132a09fb.txt.
"""

import numpy as np
import pytest

from derive.errors import InvalidValue, ShapeError, UnknownName
from derive.numeric.reference import demos, gradcheck, gru, lstm


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------
# The cells written out again, one sequence, one step; the state is a flat vector
# ---------------------------------------------------------------------------
def lstm_step(p, x, state):
    """Lecture 111's six computations; state = [s, h]."""
    d = len(p["b"])
    s, h = state[:d], state[d:]
    o = logistic(p["W_o"] @ h + p["U_o"] @ x + p["b_o"])
    i = logistic(p["W_i"] @ h + p["U_i"] @ x + p["b_i"])
    f = logistic(p["W_f"] @ h + p["U_f"] @ x + p["b_f"])
    s_tilde = np.tanh(p["W"] @ h + p["U"] @ x + p["b"])
    s = f * s + i * s_tilde
    return np.concatenate([s, o * np.tanh(s)])


def gru_step(variant):
    def step(p, x, h):
        u = logistic(p["W_u"] @ h + p["U_u"] @ x + p["b_u"])
        r = logistic(p["W_r"] @ h + p["U_r"] @ x + p["b_r"])
        if variant == "cs224n":
            h_tilde = np.tanh(p["W_h"] @ (r * h) + p["U_h"] @ x + p["b_h"])
        else:
            h_tilde = np.tanh(p["U_h"] @ x + p["b_h"] + r * (p["W_h"] @ h + p["b_hn"]))
        return (1 - u) * h + u * h_tilde
    return step


def unroll(step, p, x, state0):
    states = [state0]
    for t in range(len(x)):
        states.append(step(p, x[t], states[-1]))
    return states


def fd_jacobian(fn, v, eps=1e-6):
    return np.column_stack([(fn(v + eps * e) - fn(v - eps * e)) / (2 * eps) for e in np.eye(len(v))])


def fd_param_partials(step, p, x, state, eps=1e-6):
    """d+state_t/dtheta, the explicit partials of one step (states held fixed): key -> (D, *shape)."""
    out = {}
    for key in p:
        if key in ("V", "c"):
            continue
        cols = []
        for idx in np.ndindex(p[key].shape):
            up = {**p, key: p[key].copy()}
            down = {**p, key: p[key].copy()}
            up[key][idx] += eps
            down[key][idx] -= eps
            cols.append((step(up, x, state) - step(down, x, state)) / (2 * eps))
        out[key] = np.stack(cols, axis=-1).reshape((len(state),) + p[key].shape)
    return out


def brute_force(step, readout, p, X, labels, state0, tau=None):
    """Truncated BPTT by the definition, every factor by finite differences of one step:
    dL/dtheta ~= sum_t dL_t/dstate_t sum_{k=max(1,t-tau)}^t dstate_t/dstate_k d+state_k/dtheta."""
    T, B, _ = X.shape
    tau = T if tau is None else tau
    grads = {key: np.zeros_like(value) for key, value in p.items()}
    grad0 = np.zeros_like(state0)
    for b in range(B):
        states = unroll(step, p, X[:, b], state0[b])
        D = len(states[0])
        J = [None] + [fd_jacobian(lambda v, t=t: step(p, X[t - 1, b], v), states[t - 1]) for t in range(1, T + 1)]
        E = [None] + [fd_param_partials(step, p, X[t - 1, b], states[t - 1]) for t in range(1, T + 1)]

        def product(t, k):                          # dstate_t/dstate_k = J_t ... J_{k+1}
            P = np.eye(D)
            for j in range(t, k, -1):
                P = P @ J[j]
            return P

        for t in range(1, T + 1):
            h = states[t][readout]
            e = softmax(p["V"] @ h + p["c"]) - np.eye(len(p["c"]))[labels[t - 1, b]]
            grads["V"] += np.outer(e, h)
            grads["c"] += e
            g = np.zeros(D)
            g[readout] = e @ p["V"]                  # dL_t/dstate_t: the loss reads h_t only
            for k in range(max(1, t - tau), t + 1):
                v = g @ product(t, k)
                for key, partial in E[k].items():
                    grads[key] += np.tensordot(v, partial, axes=1)
            if t <= tau:
                grad0[b] += g @ product(t, 0)
    return grads, grad0


def assert_close(actual, expected, rtol, what=""):
    scale = max(1e-300, np.abs(expected).max(), np.abs(actual).max())
    err = np.abs(actual - expected).max() / scale
    assert err <= rtol, f"{what}: scale-aware error {err:.3e} > {rtol:g}"


def lstm_problem(T, B, n, d, k, seed=0, **init):
    rng = np.random.default_rng(seed)
    params = lstm.init_params(n, d, k, seed=seed + 100, **init)
    return (params, rng.normal(size=(T, B, n)), rng.integers(0, k, size=(T, B)),
            rng.normal(size=(B, d)), rng.normal(size=(B, d)))


def gru_problem(T, B, n, d, k, variant, seed=0):
    rng = np.random.default_rng(seed)
    params = gru.init_params(n, d, k, seed=seed + 100, variant=variant)
    return params, rng.normal(size=(T, B, n)), rng.integers(0, k, size=(T, B)), rng.normal(size=(B, d))


# ---------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------
def test_lstm_forward_follows_lecture_111():
    params, X, labels, h0, s0 = lstm_problem(T=4, B=2, n=2, d=3, k=3)
    cache = lstm.forward(params, X, labels, h0=h0, s0=s0)
    for b in range(2):
        states = np.array(unroll(lstm_step, params, X[:, b], np.concatenate([s0[b], h0[b]])))
        np.testing.assert_allclose(cache.s[:, b], states[:, :3], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(cache.h[:, b], states[:, 3:], rtol=1e-13, atol=1e-15)
        losses = [-np.log(softmax(params["V"] @ states[t, 3:] + params["c"])[labels[t - 1, b]]) for t in range(1, 5)]
        np.testing.assert_allclose(cache.step_losses[:, b], losses, rtol=1e-13)


@pytest.mark.parametrize("config", [{}, dict(gate="tanh", cell="logistic", out="identity")])
def test_lstm_pre_activations_are_the_lectures_affine_maps(config):
    # Lecture 111: a_t = W_* h_{t-1} + U_* x_t + b_*, blocks o, i, f, candidate.  The default cell
    # forms them on first access (its backward does not need them); any other cell stores them.
    params, X, labels, h0, s0 = lstm_problem(T=4, B=2, n=2, d=3, k=3)
    cache = lstm.forward(params, X, labels, h0=h0, s0=s0, **config)
    for t in range(4):
        for j, sfx in enumerate(lstm.BLOCKS):
            want = cache.h[t] @ params["W" + sfx].T + X[t] @ params["U" + sfx].T + params["b" + sfx]
            np.testing.assert_allclose(cache.a[t, :, 3 * j:3 * (j + 1)], want, rtol=1e-13, atol=1e-14)
    gate = lstm.activations.get(config.get("gate", "logistic"))
    np.testing.assert_allclose(cache.gates, gate.numpy(cache.a[..., :9]), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("d, T, B, config", [
    (1, 1, 1, {}), (2, 4, 3, {}), (3, 6, 1, {}), (3, 4, 3, {}),
    (2, 5, 2, dict(gate="tanh", cell="logistic", out="identity")),
])
def test_lstm_bptt_matches_finite_differences(d, T, B, config):
    params, X, labels, h0, s0 = lstm_problem(T, B, n=3, d=d, k=3, seed=d + T, forget_bias=0.5)
    result = lstm.bptt(params, X, labels, h0=h0, s0=s0, **config)

    def loss(p):
        cell = {k: v for k, v in p.items() if k not in ("h0", "s0")}
        return lstm.forward(cell, X, labels, h0=p["h0"], s0=p["s0"], **config).loss

    report = gradcheck.check_gradients(loss, {**params, "h0": h0, "s0": s0},
                                       {**result.grads, "h0": result.grad_h0, "s0": result.grad_s0})
    assert report.ok, str(report)


def test_lstm_step_jacobians_match_finite_differences_and_the_forget_path_is_diag_f():
    params, X, labels, h0, s0 = lstm_problem(T=4, B=2, n=2, d=3, k=3, seed=1)
    result = lstm.bptt(params, X, labels, h0=h0, s0=s0)
    cache = result.cache
    assert result.jacobians.shape == (4, 2, 6, 6) and result.forget_path.shape == (4, 2, 3, 3)
    for t in range(1, 5):
        for b in range(2):
            prev = np.concatenate([cache.s[t - 1, b], cache.h[t - 1, b]])
            fd = fd_jacobian(lambda v: lstm_step(params, X[t - 1, b], v), prev)
            np.testing.assert_allclose(result.jacobians[t - 1, b], fd, rtol=1e-7, atol=1e-9,
                                       err_msg=f"d(s_{t}, h_{t})/d(s_{t - 1}, h_{t - 1}), sequence {b}")
            np.testing.assert_array_equal(result.forget_path[t - 1, b], np.diag(cache.f[t - 1, b]))
    # Lecture 111: s_{t-1} reaches s_t only through the forget gate.
    np.testing.assert_array_equal(result.jacobians[..., :3, :3], result.forget_path)


@pytest.mark.parametrize("tau", [0, 1, 2, None])
def test_lstm_truncation_matches_brute_force(tau):
    params, X, labels, h0, s0 = lstm_problem(T=5, B=2, n=2, d=2, k=3, seed=3)
    result = lstm.bptt(params, X, labels, h0=h0, s0=s0, truncate=tau)
    grads, grad0 = brute_force(lstm_step, slice(2, 4), params, X, labels, np.hstack([s0, h0]), tau)
    for key in params:
        assert_close(result.grads[key], grads[key], 1e-7, key)
    assert_close(np.hstack([result.grad_s0, result.grad_h0]), grad0, 1e-7, "(s0, h0)")


def test_lstm_truncation_with_window_at_least_T_minus_1_is_full():
    params, X, labels, h0, s0 = lstm_problem(T=5, B=2, n=2, d=3, k=3, seed=4)
    full = lstm.bptt(params, X, labels, h0=h0, s0=s0)
    for tau in (4, 5, 9):
        truncated = lstm.bptt(params, X, labels, h0=h0, s0=s0, truncate=tau)
        for key in params:
            assert_close(truncated.grads[key], full.grads[key], 1e-13, f"{key}, tau={tau}")
        if tau >= 5:
            assert_close(truncated.grad_h0, full.grad_h0, 1e-13, "h0")
            assert_close(truncated.grad_s0, full.grad_s0, 1e-13, "s0")


def test_lstm_batched_result_is_the_sum_of_per_sequence_results():
    params, X, labels, h0, s0 = lstm_problem(T=5, B=3, n=2, d=3, k=3, seed=5)
    batched = lstm.bptt(params, X, labels, h0=h0, s0=s0, truncate=1)
    singles = [lstm.bptt(params, X[:, b:b + 1], labels[:, b:b + 1], h0=h0[b:b + 1], s0=s0[b:b + 1], truncate=1)
               for b in range(3)]
    assert batched.loss == pytest.approx(sum(r.loss for r in singles), rel=1e-14)
    for key in params:
        assert_close(batched.grads[key], sum(r.grads[key] for r in singles), 1e-13, key)
    assert_close(batched.grad_h0, np.vstack([r.grad_h0 for r in singles]), 1e-13, "h0")


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(gate="hardsigmoid"), UnknownName, ["hardsigmoid", "logistic"]),
    (dict(h0=np.zeros((3, 2))), ShapeError, ["h0 has shape (3, 2)", "(2, 2)"]),
    (dict(s0=np.zeros(2)), ShapeError, ["s0 has shape (2,)"]),
    (dict(truncate=-2), InvalidValue, ["truncate", "-2"]),
])
def test_lstm_bad_input(kwargs, exc, words):
    params, X, labels, _, _ = lstm_problem(T=3, B=2, n=2, d=2, k=3)
    with pytest.raises(exc) as info:
        lstm.bptt(params, X, labels, **kwargs)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_lstm_missing_gate_parameter_is_named():
    params, X, labels, _, _ = lstm_problem(T=3, B=2, n=2, d=2, k=3)
    del params["U_f"]
    with pytest.raises(InvalidValue, match="'U_f'"):
        lstm.forward(params, X, labels)


# ---------------------------------------------------------------------------
# GRU
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["cs224n", "pytorch"])
def test_gru_forward_follows_the_notes(variant):
    params, X, labels, h0 = gru_problem(T=4, B=2, n=2, d=3, k=3, variant=variant)
    cache = gru.forward(params, X, labels, h0=h0, variant=variant)
    for b in range(2):
        np.testing.assert_allclose(cache.h[:, b], unroll(gru_step(variant), params, X[:, b], h0[b]),
                                   rtol=1e-13, atol=1e-15)


def test_gru_variants_differ():
    params, X, labels, h0 = gru_problem(T=4, B=2, n=2, d=3, k=3, variant="pytorch")
    params["b_hn"][:] = 0.0
    cs = gru.forward({k: v for k, v in params.items() if k != "b_hn"}, X, labels, h0=h0, variant="cs224n")
    pt = gru.forward(params, X, labels, h0=h0, variant="pytorch")
    assert np.abs(cs.h[1:] - pt.h[1:]).max() > 1e-3   # W_h (r h) != r (W_h h)


@pytest.mark.parametrize("variant", ["cs224n", "pytorch"])
@pytest.mark.parametrize("d, T, B", [(1, 1, 1), (2, 4, 3), (3, 6, 1), (3, 4, 3)])
def test_gru_bptt_matches_finite_differences(variant, d, T, B):
    params, X, labels, h0 = gru_problem(T, B, n=3, d=d, k=3, variant=variant, seed=d + T)
    result = gru.bptt(params, X, labels, h0=h0, variant=variant)

    def loss(p):
        cell = {k: v for k, v in p.items() if k != "h0"}
        return gru.forward(cell, X, labels, h0=p["h0"], variant=variant).loss

    report = gradcheck.check_gradients(loss, {**params, "h0": h0}, {**result.grads, "h0": result.grad_h0})
    assert report.ok, str(report)


@pytest.mark.parametrize("variant", ["cs224n", "pytorch"])
def test_gru_step_jacobians_match_finite_differences_with_carry_path_diag_one_minus_u(variant):
    params, X, labels, h0 = gru_problem(T=4, B=2, n=2, d=3, k=3, variant=variant, seed=2)
    result = gru.bptt(params, X, labels, h0=h0, variant=variant)
    cache = result.cache
    for t in range(1, 5):
        for b in range(2):
            fd = fd_jacobian(lambda v: gru_step(variant)(params, X[t - 1, b], v), cache.h[t - 1, b])
            np.testing.assert_allclose(result.jacobians[t - 1, b], fd, rtol=1e-7, atol=1e-9,
                                       err_msg=f"dh_{t}/dh_{t - 1}, sequence {b}")
            np.testing.assert_array_equal(result.carry_path[t - 1, b], np.diag(1.0 - cache.u[t - 1, b]))
    # The explicit part: holding u_t and h~_t fixed, h_t = (1 - u_t) h_{t-1} + u_t h~_t.
    frozen = params | {"W_u": 0 * params["W_u"], "W_r": 0 * params["W_r"], "W_h": 0 * params["W_h"]}
    frozen_result = gru.bptt(frozen, X, labels, h0=h0, variant=variant)
    np.testing.assert_allclose(frozen_result.jacobians, frozen_result.carry_path, atol=1e-15)


@pytest.mark.parametrize("variant", ["cs224n", "pytorch"])
@pytest.mark.parametrize("tau", [0, 1, 2, None])
def test_gru_truncation_matches_brute_force(variant, tau):
    params, X, labels, h0 = gru_problem(T=5, B=2, n=2, d=2, k=3, variant=variant, seed=6)
    result = gru.bptt(params, X, labels, h0=h0, variant=variant, truncate=tau)
    grads, grad0 = brute_force(gru_step(variant), slice(None), params, X, labels, h0, tau)
    for key in params:
        assert_close(result.grads[key], grads[key], 1e-7, key)
    assert_close(result.grad_h0, grad0, 1e-7, "h0")


def test_gru_truncation_with_window_at_least_T_minus_1_is_full():
    params, X, labels, h0 = gru_problem(T=5, B=2, n=2, d=3, k=3, variant="pytorch", seed=7)
    full = gru.bptt(params, X, labels, h0=h0, variant="pytorch")
    for tau in (4, 5):
        truncated = gru.bptt(params, X, labels, h0=h0, variant="pytorch", truncate=tau)
        for key in params:
            assert_close(truncated.grads[key], full.grads[key], 1e-13, f"{key}, tau={tau}")
    assert_close(truncated.grad_h0, full.grad_h0, 1e-13, "h0")


def test_gru_batched_result_is_the_sum_of_per_sequence_results():
    params, X, labels, h0 = gru_problem(T=5, B=3, n=2, d=3, k=3, variant="cs224n", seed=8)
    batched = gru.bptt(params, X, labels, h0=h0)
    singles = [gru.bptt(params, X[:, b:b + 1], labels[:, b:b + 1], h0=h0[b:b + 1]) for b in range(3)]
    for key in params:
        assert_close(batched.grads[key], sum(r.grads[key] for r in singles), 1e-13, key)


@pytest.mark.parametrize("make_params, kwargs, exc, words", [
    ("cs224n", dict(variant="keras"), UnknownName, ["'keras'", "cs224n, pytorch"]),
    ("cs224n", dict(variant="pytorch"), InvalidValue, ["'b_hn'"]),
    ("pytorch", dict(variant="cs224n"), UnknownName, ["'b_hn'"]),
    ("cs224n", dict(cell="swish"), UnknownName, ["swish"]),
    ("cs224n", dict(truncate=True), InvalidValue, ["truncate", "True"]),
])
def test_gru_bad_input(make_params, kwargs, exc, words):
    params, X, labels, _ = gru_problem(T=3, B=2, n=2, d=2, k=3, variant=make_params)
    with pytest.raises(exc) as info:
        gru.bptt(params, X, labels, **kwargs)
    assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------------------
# Lecture 111's demonstration
# ---------------------------------------------------------------------------
def test_forget_gates_near_one_keep_the_gradient_of_order_one_over_100_steps():
    keep = demos.lstm_forget_path(T=100, forget_bias=10.0)
    rnn_demo = demos.rnn_jacobian_norms(T=100, gamma_lambda=0.9)
    assert keep.forget == pytest.approx(1 / (1 + np.exp(-10.0)))
    assert keep.forget_path_norms[99] > 0.99
    assert 0.5 < keep.full_norms[99] < 10.0            # of order one ...
    assert rnn_demo.norms[99] < 1e-4                   # ... where the RNN's ~ (gamma lambda)^99 vanished


def test_forget_gates_at_one_half_decay_like_one_half_in_both_passes():
    half = demos.lstm_forget_path(T=100, forget_bias=0.0)
    lags = np.arange(100)
    assert half.forget == 0.5
    np.testing.assert_allclose(half.forget_path_norms, 0.5 ** lags, rtol=1e-12)   # backward, cell path
    np.testing.assert_allclose(half.forward_decay, 0.5 ** lags, rtol=1e-12)       # forward signal
    rate = half.full_norms[99] ** (1 / 99)                                        # every path
    assert 0.45 < rate < 0.6
