"""Adversarial instances for bounds, by the cell's structure, and the counterexample search (issue 14, item 6b).

A bound is "holds (numeric)" only after a search for a counterexample: random
restarts over random and adversarial instances (pinned, non-normal, nilpotent,
saturated, gates near 0 and 1) and a local maximisation of the ratio.  The false
bound ‖∂h_t/∂h_k‖ ≤ ‖W_h^{t−k}‖ is refuted by a nilpotent W_h (W_h² = 0 while
‖∂h_3/∂h_1‖ > 0); the lecture's ‖∂s_t/∂s_k‖ ≤ (γ‖W‖)^{t−k} (CS7015 Lecture 14,
Module 14.4) survives the same search.
"""

from __future__ import annotations

import numpy as np
import pytest

from derive import Cell, activations
from derive.checks.catalog import Bound, Claim
from derive.checks.catalog.audit import check_claim
from derive.cells import gru, lstm, rnn
from derive.errors import InvalidValue
from derive.model.graph import NodeRef
from derive.numeric.instances import ADVERSARIAL, adversarial, gates, search
from derive.model.ir import nll, softmax
from derive.numeric.evaluator import Evaluator, unrolled

SIZES = {"n": 3, "d": 2, "k": 4}


def elman(act="tanh"):
    """The CS224n RNN with its own names (h, M): nothing named s or W, so recipes must read the structure."""
    sigma = activations.get(act)
    c = Cell("elman", dims=("n", "d", "k"))
    n, d, k = c.dims
    M, U, b, V = c.param("M", (d, d)), c.param("U", (d, n)), c.param("b", (d,)), c.param("V", (k, d))
    x, e = c.input("x", (n,)), c.label("e", k)
    h = c.state("h", (d,))
    c.define("h", sigma(M @ h.prev + U @ x + b))
    c.loss("L", nll(c.define("y", softmax(V @ h)), e))
    return c


def _sides(power):
    def sides(ev):
        J = ev.total(NodeRef("h", 3), NodeRef("h", 1))
        M = ev.values[NodeRef("M")]
        rhs = np.linalg.norm(np.linalg.matrix_power(M, 2), 2) if power else np.linalg.norm(M, 2) ** 2
        return np.linalg.norm(J, 2), rhs
    return sides


def test_nilpotent_recipe_by_structure():
    g = unrolled(elman(), 3, SIZES)
    inst = adversarial(g, "nilpotent", 0)
    M = inst.values[NodeRef("M")]
    assert np.allclose(M @ M, 0) and np.linalg.norm(M) > 0.5


def test_false_power_bound_is_refuted():
    """‖∂h_3/∂h_1‖ ≤ ‖W_h²‖ is false: the search finds the nilpotent counterexample."""
    found = search(unrolled(elman(), 3, SIZES), _sides(power=True))
    assert found.found and found.recipe == "nilpotent", found.describe()
    assert "counterexample after a counterexample search" in found.describe()


@pytest.mark.parametrize("act", ["tanh", "logistic"])
def test_true_bound_survives_the_search_and_says_so(act):
    g = unrolled(elman(act), 3, SIZES)
    gam = float(__import__("derive.checks.bounds", fromlist=["gamma"]).gamma(act).value)

    def sides(ev):
        lhs, rhs = _sides(power=False)(ev)
        return lhs, gam ** 2 * rhs
    found = search(g, sides)
    assert not found.found, found.describe()
    assert found.ratio > 0.5                              # the search gets close: pinned instances attain it
    assert "after a counterexample search" in found.describe() and found.restarts > 10


@pytest.mark.parametrize("builder", [lstm, gru])
def test_gates_near_one_and_zero_by_structure(builder):
    cell = builder()
    names = gates(cell)
    assert len(names) >= 2
    g = unrolled(cell, 3, SIZES)
    for recipe, lo, hi in (("gates_open", 0.97, 1.0), ("gates_closed", 0.0, 0.03)):
        ev = Evaluator(g, adversarial(g, recipe, 0))
        for name in names:
            v = np.concatenate([np.ravel(ev.values[NodeRef(name, t)]) for t in (1, 2, 3)])
            assert lo <= v.mean() <= hi, (recipe, name, v)


@pytest.mark.parametrize("builder", [rnn, lstm, gru, elman])
def test_every_recipe_applies_to_every_cell(builder):
    g = unrolled(builder(), 3, SIZES)
    for recipe in ADVERSARIAL:
        if recipe.startswith("gates") and builder in (rnn, elman):
            assert adversarial(g, recipe, 0) is None       # no gates: the recipe does not apply
            continue
        inst = adversarial(g, recipe, 0)
        assert inst is not None and all(np.all(np.isfinite(v)) for v in inst.values.values())


def test_saturated_recipe_saturates():
    g = unrolled(rnn("tanh"), 3, SIZES)
    ev = Evaluator(g, adversarial(g, "saturated", 0))
    assert np.all(np.abs(ev.values[NodeRef("a", 3)]) > 3)


def test_unknown_recipe_is_one_line_error():
    with pytest.raises(InvalidValue, match="adversarial recipe 'bogus'"):
        adversarial(unrolled(rnn(), 3, SIZES), "bogus")


def test_audit_refutes_the_false_bound_and_keeps_the_true_one():
    """Through the audit: the false bound fails with the search's counterexample; the lecture's holds after it."""
    rnn_t = lambda act: rnn(act)  # noqa: E731
    binding = [{"t": 3, "k": 1, "T": 3}]
    wrong = check_claim(Claim("t-false", "test", "cs7015", Bound("||ds_t/ds_k||", "<=", "||W^{t-k}||", rnn_t, binding,
                                                               activations=("tanh",)), expected="fails"))
    assert wrong.verdict == "fails", wrong.reason
    assert wrong.counterexample is not None
    right = check_claim(Claim("t-true", "test", "cs7015", Bound("||ds_t/ds_k||", "<=", "(gamma ||W||)^{t-k}", rnn_t,
                                                               binding, activations=("tanh",)), expected="holds"))
    assert right.verdict == "holds", right.reason
    assert any("after a counterexample search" in c.detail for c in right.checks)


def test_a_climb_ends_at_a_local_maximum_and_the_search_still_refutes():
    # a climb stops after PATIENCE failures in a row (the step at its floor); the false power bound is still
    # refuted and the true one still holds, with fewer evaluations than the full budget
    from derive.numeric.instances import PATIENCE

    g = unrolled(elman(), 3, SIZES)
    false, true = search(g, _sides(power=True)), search(g, _sides(power=False))
    assert false.found and not true.found
    budget = true.restarts + 3 * 40
    assert true.restarts + min(3, true.restarts) * PATIENCE <= true.evaluations < budget


def _fine_scan(cell, dims, seed=0):
    """|log ‖∂states_t/∂states_{t-1}‖| at 33 log-spaced gains, built as `alive` builds its probe: the best
    any gain in the range achieves (to the scan's resolution)."""
    from derive.model.graph import unroll
    from derive.numeric import instances as inst
    from derive.numeric.evaluator import Instance

    probe = unroll(cell, inst._PROBE_T, dims)
    rec, pins = set(inst.recurrent_matrices(cell)), inst.pinned_biases(cell)
    best = np.inf
    for gain in np.exp(np.linspace(np.log(0.05), np.log(inst.MAX_GAIN), 33)):
        values = inst._base(probe, seed, gain, rec, {})
        for _ in range(2):
            values = inst._base(probe, seed, gain, rec, inst._center(probe, values, pins))
        best = min(best, abs(np.log(inst.one_step_norm(Evaluator(probe, Instance(values))))))
    return best


@pytest.mark.parametrize("make, dims", [
    (rnn, {"n": 3, "d": 2, "k": 4}), (rnn, {"n": 2, "d": 1, "k": 3}),     # the second saturates below 1
    (lstm, {"n": 3, "d": 3, "k": 4}), (gru, {"n": 3, "d": 3, "k": 4}), (gru, {"n": 4, "d": 3, "k": 5}),
], ids=["rnn-d2", "rnn-d1", "lstm-d3", "gru-d3", "gru-d3-k5"])
def test_alive_instances_reach_norm_one_or_come_as_close_as_any_gain(make, dims):
    # the gain is found by the secant method (to 0.1%) or, where that fails, by a scan and a refinement:
    # never further from norm 1 than the best of a fine scan of gains
    from derive.numeric.instances import SECANT_TOL, alive, one_step_norm

    cell = make()
    g = unrolled(cell, 6, dims)
    inst = alive(g, 0)
    best = _fine_scan(cell, dims)
    assert abs(np.log(inst.norm)) <= max(SECANT_TOL, best + 0.005)
    if best < 0.01:                                     # 1 is reachable: reached
        assert abs(np.log(inst.norm)) < SECANT_TOL
    assert 0.5 < one_step_norm(Evaluator(g, inst)) < 2.0   # on the graph's own inputs, still alive
    assert all(np.array_equal(v, alive(g, 0).values[r]) for r, v in inst.values.items())   # deterministic
