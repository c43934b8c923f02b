"""A verifier is only as good as the errors it catches: wrong steps must be reported wrong.

Every mutation is checked twice, by the exact proof and by the numeric checks
alone, and each must fail on its own with a message naming the step and the
values that disagree.
"""

from __future__ import annotations

import pytest

from derive import D, Derivation, Prod, ProdOver, Step, Sum, SumOver, idx, node, verify
from derive.cells import rnn
from derive.prove.structure import LocalForm

t, k, j = idx("t"), idx("k"), idx("j")
W = node("W")


def s(i):
    return node("s", i)


def _wrong(name):
    """Deliberately wrong versions of correct Lecture 14 statements."""
    if name == "dropped term":  # the k = 1 path is missing
        return D(s(4), W), Sum(tuple(Prod((D(s(4), s(i)), D(s(i), W, True))) for i in (4, 3, 2)))
    if name == "swapped factor order":
        return D(s(4), W), SumOver(k, 1, 4, Prod((D(s(k), W, True), D(s(4), s(k)))))
    if name == "shifted index":  # ∂⁺s_{k-1}/∂W instead of ∂⁺s_k/∂W
        return D(s(4), W), SumOver(k, 1, 4, Prod((D(s(4), s(k)), D(s(k - 1), W, True))))
    if name == "total for explicit":  # ∂s_k/∂W in place of ∂⁺s_k/∂W double counts paths
        return D(s(4), W), SumOver(k, 1, 4, Prod((D(s(4), s(k)), D(s(k), W))))
    if name == "range off by one":  # Σ_{k=2}^{t} drops the first step
        return D(node("L", 4), W), Prod((D(node("L", 4), s(4)),
                                         SumOver(k, 2, 4, Prod((D(s(4), s(k)), D(s(k), W, True))))))
    if name == "ascending product":
        return D(s(4), s(1)), ProdOver(j, 2, 4, D(s(j), s(j - 1)), descending=False)
    if name == "product misses a factor":
        return D(s(4), s(1)), ProdOver(j, 3, 4, D(s(j), s(j - 1)))
    raise KeyError(name)


MUTATIONS = ["dropped term", "swapped factor order", "shifted index", "total for explicit", "range off by one",
             "ascending product", "product misses a factor"]


@pytest.mark.parametrize("name", MUTATIONS)
@pytest.mark.parametrize("mode", ["exact", "numeric"])
def test_wrong_step_is_reported(name, mode):
    lhs, rhs = _wrong(name)
    d = Derivation(f"mut-{name}", name, "", rnn(), lhs, [Step(rhs)], bindings=[{"T": 4}])
    report = verify(d, sizes=[{"n": 3, "d": 2, "k": 4}], exact=mode == "exact", numeric=mode == "numeric")
    assert report.results and not report.ok
    failure = report.failures()[0]
    assert failure.derivation == f"mut-{name}" and failure.step == 0
    if mode == "exact":
        assert "coefficient" in failure.detail and "∂" in failure.detail
    else:
        assert ("entry (" in failure.detail and "finite differences" in failure.detail) or \
            "cannot multiply" in failure.detail


def test_swapped_matrix_order_in_a_local_formula_is_caught_symbolically():
    """diag(σ'(a_j)) W is right; W diag(σ'(a_j)) (the order swapped) is not."""
    from derive import explicit_structure, unroll
    from derive.numeric.evaluator import local_jacobians

    g = unroll(rnn(), 2, {"n": 3, "d": 2, "k": 4})
    right = LocalForm.of(explicit_structure(g, g.view(), "s_2", "s_1", local_jacobians(g)), f_index=j)
    assert right.kind == "diag_matrix"

    diag, w = right.body.factors
    wrong = Prod((w, diag))  # W diag(v): the order swapped
    d = Derivation("swap", "", "", rnn(), D(s(j), s(j - 1)), [Step(wrong)], bindings=[{"j": 2, "T": 2}])
    report = verify(d, sizes=[{"n": 3, "d": 2, "k": 4}])
    methods = {r.method for r in report.failures()}
    assert {"symbolic", "numeric-fd"} <= methods
    ok = Derivation("right", "", "", rnn(), D(s(j), s(j - 1)), [Step(right)], bindings=[{"j": 2, "T": 2}])
    assert verify(ok, sizes=[{"n": 3, "d": 2, "k": 4}]).ok


def test_correct_versions_pass():
    k_ = idx("k")
    for lhs, rhs in [(D(s(4), W), SumOver(k_, 1, 4, Prod((D(s(4), s(k_)), D(s(k_), W, True))))),
                     (D(s(4), s(1)), ProdOver(j, 2, 4, D(s(j), s(j - 1))))]:
        d = Derivation("ok", "", "", rnn(), lhs, [Step(rhs)], bindings=[{"T": 4}])
        assert verify(d, sizes=[{"n": 3, "d": 2, "k": 4}]).ok
