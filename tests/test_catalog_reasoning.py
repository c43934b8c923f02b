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
