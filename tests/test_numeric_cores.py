"""Shared numbers and batched differences (issue 14, item 4): faster, and never a different answer.

Evaluators of one graph on instances with the same values share one numeric core (values, local
Jacobians, sweeps, differences); central, directional and explicit differences perturb every
entry in one batched pass.  Each is checked here against the one-at-a-time computation, and the
ways it could go wrong (an instance changed after it was drawn, a caller writing into a shared
array, an expression that does not batch) are shown to be caught.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive.cells import gru, lstm, rnn
from derive.model import activations
from derive.model.graph import NodeRef, unrolled
from derive.numeric import evaluator as numeric
from derive.numeric.evaluator import Evaluator, Instance

SIZES = {"n": 2, "d": 3, "k": 2}


def _graph(cell, T=4):
    return unrolled(cell, T, {str(k): SIZES[str(k)] for k in cell.dims})


def _serial_central(ev, f, x, eps=1e-5):
    """Central differences one entry at a time, with the evaluator's own forward pass (the definition)."""
    f, x = ev.graph.node(f), ev.graph.node(x)
    base = np.asarray(ev.values[x], dtype=float)
    J = np.empty((ev.graph.size(f), base.size))
    for i in range(base.size):
        cols = []
        for sign in (1.0, -1.0):
            pert = base.ravel().copy()
            pert[i] += sign * eps
            cols.append(np.ravel(ev.forward({x: pert.reshape(base.shape)})[f]))
        J[:, i] = (cols[0] - cols[1]) / (2 * eps)
    return J


@pytest.mark.parametrize("make, f, x", [
    (rnn, "L", "W"), (rnn, "L", "s_1"), (rnn, "L_3", "x_2"),
    (lstm, "L", "W_f"), (lstm, "L", "s_1"), (lstm, "h_3", "x_2"),
    (gru, "L", "W_u"), (gru, "L", "h_1"), (gru, "L_3", "x_2"),
], ids=lambda v: v if isinstance(v, str) else v.__name__)
def test_batched_central_differences_are_the_one_at_a_time_ones(make, f, x):
    g = _graph(make())
    if x not in {str(r) for r in g.nodes}:
        x = next(str(r) for r in g.nodes if g.nodes[r].kind == "param" and len(g.nodes[r].shape) == 2)
    ev = Evaluator(g, Instance.random(g, 3))
    got = ev.finite_difference(f, x)
    want = _serial_central(ev, f, x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert g.__dict__["_batch_ok"] and all(g.__dict__["_batch_ok"].values())   # batched, and trusted


def test_batched_directional_differences_take_many_directions_at_once():
    g = _graph(rnn())
    ev = Evaluator(g, Instance.random(g, 1))
    V = np.random.default_rng(0).standard_normal((9, 3))
    many = ev.directional_difference("L", "W", V)
    assert many.shape == (1, 3)
    for i in range(3):
        np.testing.assert_allclose(many[:, i], ev.directional_difference("L", "W", V[:, i]), rtol=1e-12)
    np.testing.assert_allclose(many, ev.total(g.node("L"), g.node("W")) @ V, rtol=1e-7)


def test_evaluators_on_equal_instances_share_numbers_and_a_changed_instance_does_not():
    g = _graph(rnn())
    a, b = Evaluator(g, Instance.random(g, 5)), Evaluator(g, Instance.random(g, 5))
    assert a.values is b.values                       # the same seed, the same values: one core
    changed = Instance.random(g, 5)
    changed.values[NodeRef("W")] = changed.values[NodeRef("W")] * 1.5   # what a proof does to an instance
    c = Evaluator(g, changed)
    assert c.values is not a.values
    assert not np.allclose(c.values[NodeRef("s", 4)], a.values[NodeRef("s", 4)])
    # and each gives its own instance's derivative
    np.testing.assert_allclose(c.total(g.node("L"), g.node("W")), _serial_central(c, "L", "W"), rtol=1e-6)


def test_shared_numbers_are_read_only():
    g = _graph(rnn())
    ev = Evaluator(g, Instance.random(g, 2))
    J = ev.atomic(g.node("a_2"), g.node("s_1"))
    with pytest.raises(ValueError, match="read-only"):
        J += 1.0
    with pytest.raises(ValueError, match="read-only"):
        ev.values[g.node("s_2")][0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        ev.finite_difference("L", "W")[0, 0] = 0.0


def test_sharing_can_be_switched_off_and_gives_the_same_numbers():
    g = _graph(lstm())
    shared = Evaluator(g, Instance.random(g, 4)).total(g.node("L"), g.node("W_f"))
    numeric.SHARED["enabled"] = False
    try:
        alone = Evaluator(g, Instance.random(g, 4))
        assert alone.values is not Evaluator(g, Instance.random(g, 4)).values
        np.testing.assert_array_equal(alone.total(g.node("L"), g.node("W_f")), shared)
    finally:
        numeric.SHARED["enabled"] = True


def _vectors_only(x):
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError("this activation takes vectors only")
    return np.tanh(x)


@pytest.mark.parametrize("numpy_fn, name", [
    (_vectors_only, "vectors_only"),                       # raises on a batch: run one at a time
    (lambda x: np.tanh(x) + 0.0 * np.mean(x) + 1e-3 * (np.size(x) > 3), "size_dependent"),  # differs on a batch
])
def test_an_expression_that_does_not_batch_is_run_one_at_a_time(numpy_fn, name):
    act = activations.register(name, r"\phi", sympy=sp.tanh, prime=lambda x, y: 1 - y ** 2, numpy=numpy_fn,
                               numpy_prime=lambda x: 1 - np.tanh(np.asarray(x, dtype=float)) ** 2, replace=True)
    g = _graph(rnn(act.name), T=3)
    ev = Evaluator(g, Instance.random(g, 0))
    got = ev.finite_difference("L", "W")
    np.testing.assert_allclose(got, _serial_central(ev, "L", "W"), rtol=1e-9, atol=1e-12)
    assert False in g.__dict__["_batch_ok"].values()      # the batched pass was refused, not trusted
