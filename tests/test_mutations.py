"""Sensitivity: deliberately wrong variants of correct lecture claims must all be caught.

Two layers: five hand-written slips, one per kind a lecturer makes (dropped
term, swapped factor order, shifted index, wrong bound constant, transposed
dimension), each stated in the lecture's own notation; and the mechanical
mutants of every claim that holds (`derive.checks.catalog.mutation_report`), whose
kill rate is printed and must be 100 %.
"""

from __future__ import annotations

import pytest

from derive.checks.catalog import (FAST, MUTATION_KINDS, Bound, Claim, Identity, JacobianShape, Shapes, Source, audit,
                            mutation_report)
from derive.cells import rnn

SRC = Source("002_eb405f471485c68d.txt", "mutant")


def _claims():
    from derive.proofs.catalog.l14_cs7015 import rnn_shaped

    pinned = dict(recipes=("random", "pinned"), targets=(0.5, 1.0))
    return {
        # Module 14.3, the short-circuited sum with the k = 1 path dropped
        "dropped term": Identity("ds_4/dW", "ds_4/ds_4 d+s_4/dW + ds_4/ds_3 d+s_3/dW + ds_4/ds_2 d+s_2/dW", rnn,
                                 [{"T": 4}]),
        # Module 14.4, W before diag(σ'(a_j))
        "swapped factor order": Identity("ds_j/ds_{j-1}", "W diag(sigma'(a_j))", rnn, [{"j": 2, "T": 2}],
                                         activations=("tanh", "logistic")),
        # Module 14.3, ∂⁺s_{k-1}/∂W for ∂⁺s_k/∂W
        "shifted index": Identity("dL_t(theta)/dW", "dL_t(theta)/ds_t sum_{k=1}^{t} ds_t/ds_k d+s_{k-1}/dW", rnn,
                                  [{"t": 3, "T": 3}]),
        # Module 14.4 with γ = 1/8 for the logistic
        "wrong bound constant": Bound("||ds_j/ds_{j-1}||", "<=", "1/8 ||W||", rnn, [{"j": 1, "T": 2}],
                                      activations=("logistic",), **pinned),
        # Module 14.3 with W ∈ R^{d x d} but U transposed to R^{n x d}, and ∂L_t/∂s_t ∈ R^{d x 1}
        "transposed dimension": Shapes(rnn_shaped, {"U": ("n", "d")}),
        "transposed Jacobian": JacobianShape("dL_t(theta)/ds_t", ("d", 1), rnn, {"t": 2, "T": 2}),
    }


@pytest.mark.parametrize("kind", list(_claims()))
def test_hand_written_slip_is_caught(kind):
    meaning = _claims()[kind]
    r = audit([Claim("mutant", SRC, "cs7015", meaning)], config=FAST)["mutant"]
    assert r.verdict == "fails", (kind, r.verdict, r.reason)
    assert r.counterexample is not None or any(not c.passed for c in r.checks)


def test_every_mechanical_mutant_is_caught(capsys):
    report = mutation_report()
    with capsys.disabled():
        print(f"\nmutation kill rate: {report['killed']}/{report['mutants']} = {report['kill_rate']:.1%}  "
              + ", ".join(f"{k}: {a}/{b}" for k, (a, b) in report["by_kind"].items()))
    assert not report["survivors"], report["survivors"]
    assert report["kill_rate"] == 1.0
    for kind in MUTATION_KINDS:
        assert report["by_kind"][kind][1] > 0, f"no mutant of kind {kind!r} was generated"
