"""Vector-level local Jacobians (derive.model.ir.jacobian) against SymPy's element-level ones, and the structural caches."""

from __future__ import annotations

import numpy as np
import pytest

from derive.numeric import evaluator as numeric
from derive.cells import gru, lstm, rnn
from derive.model.graph import unroll
from derive.numeric.evaluator import Evaluator, Instance, cell_fingerprint, local_jacobians, unrolled

CELLS = [("rnn-tanh", lambda: rnn("tanh")), ("rnn-logistic", lambda: rnn("logistic")),
         ("lstm", lstm), ("gru", gru)]


def _sizes(cell):
    return {str(d): v for d, v in zip(cell.dims, (3, 2, 4))}


@pytest.mark.parametrize("name,builder", CELLS, ids=[c[0] for c in CELLS])
def test_vector_rules_equal_the_element_level_jacobians(name, builder, monkeypatch):
    cell = builder()
    g = unroll(cell, 3, _sizes(cell))
    ev = Evaluator(g, Instance.random(g, seed=3, scale=0.9))
    checked = 0
    for v, info in g.nodes.items():
        if info.kind != "node":
            continue
        for p in info.parents:
            ev._atomic.clear()
            monkeypatch.setitem(numeric.VECTOR_JACOBIANS, "enabled", True)
            vec = ev.atomic(v, p)
            ev._atomic.clear()
            monkeypatch.setitem(numeric.VECTOR_JACOBIANS, "enabled", False)
            elem = ev.atomic(v, p)
            assert vec.shape == elem.shape, (v, p)
            np.testing.assert_allclose(vec, elem, rtol=1e-12, atol=1e-14, err_msg=f"∂{v}/∂{p}")
            checked += 1
    assert checked >= 3 * len(cell.nodes)


def test_a_wrong_rule_would_be_seen():
    """The comparison above is not vacuous: the element-level Jacobian of a changed cell differs."""
    g1, g2 = unroll(rnn("tanh"), 2, {"n": 3, "d": 2, "k": 4}), unroll(rnn("logistic"), 2, {"n": 3, "d": 2, "k": 4})
    inst = Instance.random(g1, seed=1)
    a = Evaluator(g1, inst).atomic(g1.node("s_2"), g1.node("a_2"))
    b = Evaluator(g2, Instance(dict(inst.values))).atomic(g2.node("s_2"), g2.node("a_2"))
    assert np.max(np.abs(a - b)) > 1e-3


def test_caches_are_keyed_by_structure_not_identity():
    assert cell_fingerprint(rnn()) == cell_fingerprint(rnn())
    assert cell_fingerprint(lstm()) == cell_fingerprint(lstm())
    assert cell_fingerprint(rnn("tanh")) != cell_fingerprint(rnn("logistic"))
    assert cell_fingerprint(lstm()) != cell_fingerprint(lstm(gate="tanh"))
    g1, g2 = unrolled(rnn(), 4, {"d": 2, "n": 3, "k": 4}), unrolled(rnn(), 4, {"d": 2, "n": 3, "k": 4})
    assert g1 is g2
    assert unrolled(rnn(), 5, {"d": 2, "n": 3, "k": 4}) is not g1
    assert unrolled(rnn(), 4, {"d": 3, "n": 3, "k": 4}) is not g1
    assert local_jacobians(unroll(rnn(), 2, {"d": 2, "n": 3, "k": 4})) is local_jacobians(g1)
