"""Cross-check the NumPy references against PyTorch autograd (float64), when torch is installed.

Weight mapping (PyTorch docs for nn.RNN / nn.LSTM / nn.GRU, one layer):

- RNN (tanh): h' = tanh(W_ih x + b_ih + W_hh h + b_hh) -> U = W_ih, W = W_hh, b = b_ih + b_hh.
- LSTM: rows of weight_ih_l0 / weight_hh_l0 are stacked in gate order i, f, g, o;
  g is our candidate s~ (keys W, U, b), PyTorch's c is our s; biases b_ih + b_hh.
- GRU: rows stacked r, z, n; PyTorch computes h' = (1 - z) n + z h, so its z is our
  1 - u: u = sigma(-(W_hz h + W_iz x + b_iz + b_hz)), i.e. our update-gate weights are
  PyTorch's negated.  n = tanh(W_in x + b_in + r (W_hn h + b_hn)) is our "pytorch"
  variant with U_h = W_in, b_h = b_in, W_h = W_hn, b_hn = b_hn.

Outputs go through nn.Linear (our V, c) and cross_entropy with reduction="sum".
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is optional: pip install torch to run the cross-check")

from derive.numeric.reference import gru, lstm, rnn  # noqa: E402

T, B, N, D, K = 7, 3, 4, 5, 6


def data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, N)), rng.integers(0, K, size=(T, B)), rng.normal(size=(B, D)), rng.normal(size=(B, D))


def torch_loss(module, X, labels, init, V, c):
    """Sum of cross-entropies of Linear(V, c) over the outputs of a torch recurrent module."""
    out, _ = module(torch.tensor(X), init)
    z = out @ torch.tensor(V).T + torch.tensor(c)
    return torch.nn.functional.cross_entropy(z.reshape(-1, K), torch.tensor(labels).reshape(-1), reduction="sum")


def leaf(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def assert_close(ours, theirs, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    scale = max(1e-300, np.abs(theirs).max())
    err = np.abs(ours - theirs).max() / scale
    assert err <= 1e-10, f"{what}: relative error {err:.3e} against PyTorch"


def randomise(module, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight in module.parameters():
            weight.copy_(torch.randn(weight.shape, generator=gen, dtype=torch.float64) * 0.5)


def test_vanilla_rnn_matches_torch():
    X, labels, h0, _ = data(1)
    module = torch.nn.RNN(N, D, nonlinearity="tanh", dtype=torch.float64)
    randomise(module, 1)
    V, c = np.random.default_rng(2).normal(size=(K, D)), np.zeros(K)
    h0_t = leaf(h0[None])
    loss = torch_loss(module, X, labels, h0_t, V, c)
    loss.backward()

    w = {name: p.detach().numpy() for name, p in module.named_parameters()}
    params = {"W": w["weight_hh_l0"], "U": w["weight_ih_l0"], "b": w["bias_ih_l0"] + w["bias_hh_l0"], "V": V, "c": c}
    ours = rnn.bptt(params, X, labels, s0=h0)
    assert ours.loss == pytest.approx(loss.item(), rel=1e-12)
    grads = dict(module.named_parameters())
    assert_close(ours.grads["W"], grads["weight_hh_l0"].grad, "W")
    assert_close(ours.grads["U"], grads["weight_ih_l0"].grad, "U")
    assert_close(ours.grads["b"], grads["bias_ih_l0"].grad, "b")   # = bias_hh_l0.grad
    assert_close(ours.grad_s0, h0_t.grad[0], "s0")


def test_lstm_matches_torch():
    X, labels, h0, s0 = data(3)
    module = torch.nn.LSTM(N, D, dtype=torch.float64)
    randomise(module, 3)
    V, c = np.random.default_rng(4).normal(size=(K, D)), np.random.default_rng(5).normal(size=K)
    h0_t, s0_t = leaf(h0[None]), leaf(s0[None])
    loss = torch_loss(module, X, labels, (h0_t, s0_t), V, c)
    loss.backward()

    w = {name: p.detach().numpy() for name, p in module.named_parameters()}
    g = {name: p.grad.numpy() for name, p in module.named_parameters()}
    params = {"V": V, "c": c}
    rows = {"_i": slice(0, D), "_f": slice(D, 2 * D), "": slice(2 * D, 3 * D), "_o": slice(3 * D, 4 * D)}
    for sfx, r in rows.items():
        params["W" + sfx] = w["weight_hh_l0"][r]
        params["U" + sfx] = w["weight_ih_l0"][r]
        params["b" + sfx] = w["bias_ih_l0"][r] + w["bias_hh_l0"][r]
    ours = lstm.bptt(params, X, labels, h0=h0, s0=s0)
    assert ours.loss == pytest.approx(loss.item(), rel=1e-12)
    for sfx, r in rows.items():
        assert_close(ours.grads["W" + sfx], g["weight_hh_l0"][r], "W" + sfx)
        assert_close(ours.grads["U" + sfx], g["weight_ih_l0"][r], "U" + sfx)
        assert_close(ours.grads["b" + sfx], g["bias_ih_l0"][r], "b" + sfx)
    assert_close(ours.grad_h0, h0_t.grad[0], "h0")
    assert_close(ours.grad_s0, s0_t.grad[0], "s0")


def test_gru_pytorch_variant_matches_torch():
    X, labels, h0, _ = data(6)
    module = torch.nn.GRU(N, D, dtype=torch.float64)
    randomise(module, 6)
    V, c = np.random.default_rng(7).normal(size=(K, D)), np.random.default_rng(8).normal(size=K)
    h0_t = leaf(h0[None])
    loss = torch_loss(module, X, labels, h0_t, V, c)
    loss.backward()

    w = {name: p.detach().numpy() for name, p in module.named_parameters()}
    g = {name: p.grad.numpy() for name, p in module.named_parameters()}
    r_, z_, n_ = slice(0, D), slice(D, 2 * D), slice(2 * D, 3 * D)
    params = {
        # PyTorch's z is our 1 - u = sigma(-a_u): negate the update gate's weights.
        "W_u": -w["weight_hh_l0"][z_], "U_u": -w["weight_ih_l0"][z_],
        "b_u": -(w["bias_ih_l0"][z_] + w["bias_hh_l0"][z_]),
        "W_r": w["weight_hh_l0"][r_], "U_r": w["weight_ih_l0"][r_], "b_r": w["bias_ih_l0"][r_] + w["bias_hh_l0"][r_],
        "W_h": w["weight_hh_l0"][n_], "U_h": w["weight_ih_l0"][n_], "b_h": w["bias_ih_l0"][n_],
        "b_hn": w["bias_hh_l0"][n_], "V": V, "c": c,
    }
    ours = gru.bptt(params, X, labels, h0=h0, variant="pytorch")
    assert ours.loss == pytest.approx(loss.item(), rel=1e-12)
    assert_close(ours.grads["W_u"], -g["weight_hh_l0"][z_], "W_u")
    assert_close(ours.grads["U_u"], -g["weight_ih_l0"][z_], "U_u")
    assert_close(ours.grads["b_u"], -g["bias_ih_l0"][z_], "b_u")
    assert_close(ours.grads["W_r"], g["weight_hh_l0"][r_], "W_r")
    assert_close(ours.grads["U_r"], g["weight_ih_l0"][r_], "U_r")
    assert_close(ours.grads["b_r"], g["bias_hh_l0"][r_], "b_r")
    assert_close(ours.grads["W_h"], g["weight_hh_l0"][n_], "W_h")
    assert_close(ours.grads["U_h"], g["weight_ih_l0"][n_], "U_h")
    assert_close(ours.grads["b_h"], g["bias_ih_l0"][n_], "b_h")
    assert_close(ours.grads["b_hn"], g["bias_hh_l0"][n_], "b_hn")
    assert_close(ours.grad_h0, h0_t.grad[0], "h0")


def test_truncated_rnn_matches_torch_with_detached_windows():
    """Per-loss truncation tau: L_t sees steps max(1, t-tau)..t from a detached state; in
    PyTorch that is one short unroll per loss, summed -- a slow but independent reference."""
    tau = 2
    X, labels, h0, _ = data(9)
    module = torch.nn.RNN(N, D, nonlinearity="tanh", dtype=torch.float64)
    randomise(module, 9)
    V, c = np.random.default_rng(10).normal(size=(K, D)), np.zeros(K)
    with torch.no_grad():
        states, _ = module(torch.tensor(X), torch.tensor(h0[None]))
    states = torch.cat([torch.tensor(h0[None]), states])            # states[t] = s_t
    total = 0.0
    for t in range(1, T + 1):
        a = max(1, t - tau)
        out, _ = module(torch.tensor(X[a - 1:t]), states[a - 1][None].detach())
        z = out[-1] @ torch.tensor(V).T + torch.tensor(c)
        total = total + torch.nn.functional.cross_entropy(z, torch.tensor(labels[t - 1]), reduction="sum")
    total.backward()
    w = {name: p.detach().numpy() for name, p in module.named_parameters()}
    params = {"W": w["weight_hh_l0"], "U": w["weight_ih_l0"], "b": w["bias_ih_l0"] + w["bias_hh_l0"], "V": V, "c": c}
    ours = rnn.bptt(params, X, labels, s0=h0, truncate=tau)
    grads = dict(module.named_parameters())
    assert_close(ours.grads["W"], grads["weight_hh_l0"].grad, "W")
    assert_close(ours.grads["U"], grads["weight_ih_l0"].grad, "U")
