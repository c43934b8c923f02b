"""The exact check at large T (issue 14, item 5a): the shared, memoised canonical forms still see every error.

The speed-ups (prefix-memoised concatenation, sweeps that stop early, forms
memoised by identity, lines that share their terms) must not let a wrong step
through: a dropped path, a swapped factor order or an index off by one in a
long BPTT form or deep in a long recursive expansion is still a failed exact
check, naming the path that differs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from derive import D, Derivation, Prod, Step, Sum, SumOver, bptt_form, idx, node, recursive_expansion, unroll, verify
from derive.prove.canon import Canon
from derive.cells import gru, lstm, rnn

t, k = idx("t"), idx("k")
W = node("W")
T_BIG = 300


def _exact(der):
    report = verify(der, numeric=False)
    return [r for r in report.results if r.method == "exact"]


def _bptt(rhs, T=T_BIG):
    return Derivation("bptt-big", "t", "", rnn(), D(node("L", t), W), [Step(rhs)], bindings=[{"t": T, "T": T}])


def test_bptt_form_at_large_T_is_proved():
    checks = _exact(_bptt(bptt_form(rnn(), "W")))
    assert checks and all(r.passed for r in checks), [str(r) for r in checks]


@pytest.mark.parametrize("wrong", [
    # Σ_{k=2}^{t}: the k = 1 path dropped
    Prod((D(node("L", t), node("s", t)), SumOver(k, 2, t, Prod((D(node("s", t), node("s", k)),
                                                                 D(node("s", k), W, True)))))),
    # the two factors of each term swapped
    Prod((D(node("L", t), node("s", t)), SumOver(k, 1, t, Prod((D(node("s", k), W, True),
                                                                 D(node("s", t), node("s", k))))))),
    # ∂s_t/∂s_{k-1} ∂⁺s_k/∂W: an index off by one
    Prod((D(node("L", t), node("s", t)), SumOver(k, 2, t, Prod((D(node("s", t), node("s", k - 1)),
                                                                 D(node("s", k), W, True)))))),
], ids=["dropped path", "swapped order", "index off by one"])
def test_wrong_bptt_form_at_large_T_is_rejected(wrong):
    checks = _exact(_bptt(wrong))
    assert checks and not any(r.passed for r in checks), [str(r) for r in checks]
    assert "path ∂" in checks[0].detail


def _mutate_line(der, i, fn):
    steps = list(der.steps)
    steps[i] = Step(fn(steps[i].rhs), steps[i].why)
    return replace(der, steps=steps)


def _drop_one(rhs):
    return Sum(rhs.terms[:7] + rhs.terms[8:])


def _swap_in_term(rhs):
    terms = list(rhs.terms)
    f = terms[7].factors
    terms[7] = Prod((f[1], f[0]) + f[2:])
    return Sum(tuple(terms))


def _shift_in_term(rhs):
    terms = list(rhs.terms)
    last = terms[7].factors[-1]          # ∂⁺s_j/∂W  ->  ∂⁺s_{j-1}/∂W
    terms[7] = Prod(terms[7].factors[:-1] + (D(node("s", last.f.t - 1), W, True),))
    return Sum(tuple(terms))


@pytest.mark.parametrize("mutate", [_drop_one, _swap_in_term, _shift_in_term],
                         ids=["dropped path", "swapped order", "index off by one"])
def test_wrong_line_deep_in_a_long_recursive_expansion_is_rejected(mutate):
    T = 120
    der = recursive_expansion(unroll(rnn(), T), f"s_{T}", "W")
    line = 60   # a line with 61 finished terms and one open one: terms[7] is a finished product
    assert isinstance(der.steps[line].rhs, Sum) and isinstance(der.steps[line].rhs.terms[7], Prod)
    good = _exact(der)
    assert all(r.passed for r in good)
    bad = _exact(_mutate_line(der, line, mutate))
    failed = [r.step for r in bad if not r.passed]
    assert failed == [line], [str(r) for r in bad if not r.passed]


@pytest.mark.parametrize("cell", [rnn, lstm, gru], ids=["rnn", "lstm", "gru"])
def test_implicit_paths_test_agrees_with_counting_the_paths(cell):
    """`Canon.has_implicit` (one search) says what len(paths) > len(explicit) says, in every view,
    for every pair of nodes (folded ones included)."""
    c = cell()
    g = unroll(c, 3)
    views = [None, list(c.nodes)] + [[n] for n in c.recurrent]
    for keep in views:
        canon = Canon(g, g.view(keep))
        for f in g.order:
            for x in g.order:
                assert canon.has_implicit(f, x) == (len(canon.paths(f, x)) > len(canon.explicit(f, x))), (keep, f, x)


# -- gated cells: the exact proof's size budget (issue 14, item 6c) ---------------------------------
from derive import idx as _idx  # noqa: E402
from derive import total_loss_form  # noqa: E402
from derive.prove.canon import TooLarge  # noqa: E402
from derive.checks.verify import BUDGET_NOTE  # noqa: E402

SMALL = [{"n": 2, "d": 3, "k": 4}]


def _total_loss(cell, theta, rhs, T=16):
    return Derivation(f"total-{cell.name}", "t", "", cell, D(node("L"), node(theta)), [Step(rhs)],
                      bindings=[{"T": T}])


@pytest.mark.parametrize("cell,theta", [(lstm, "W_f"), (gru, "W_u")], ids=["lstm", "gru"])
def test_gated_total_loss_at_T16_is_decided_numerically_and_says_so(cell, theta):
    c = cell()
    report = verify(_total_loss(c, theta, total_loss_form(c, theta)), sizes=SMALL)
    assert report.ok, [str(r) for r in report.failures()]
    budget = [r for r in report.results if r.method == "skipped" and r.detail.startswith(BUDGET_NOTE)]
    assert budget, [str(r) for r in report.results]
    assert {r.method for r in report.results} >= {"numeric-directional", "numeric-reference"}
    assert not any(r.method == "exact" and r.passed for r in report.results)   # never counted as an exact proof


@pytest.mark.parametrize("cell,theta", [(lstm, "W_f"), (gru, "W_u")], ids=["lstm", "gru"])
def test_gated_total_loss_beyond_the_budget_without_numbers_is_undecided_not_a_pass(cell, theta):
    c = cell()
    report = verify(_total_loss(c, theta, total_loss_form(c, theta)), numeric=False)
    assert not report.ok
    assert any(r.method == "exact" and not r.passed and "undecided" in r.detail for r in report.results)


@pytest.mark.parametrize("cell,theta", [(lstm, "W_f"), (gru, "W_u")], ids=["lstm", "gru"])
def test_wrong_gated_total_loss_beyond_the_budget_is_rejected_by_the_numbers(cell, theta):
    c = cell()
    tt, TT = _idx("t"), _idx("T")
    wrong = SumOver(tt, 2, TT, bptt_form(c, theta))      # the t = 1 loss term dropped
    report = verify(_total_loss(c, theta, wrong), sizes=SMALL)
    assert not report.ok
    assert any(r.method == "numeric-reference" and not r.passed for r in report.results)


def test_a_spent_canon_refuses_further_work():
    g = unroll(lstm(), 6)
    canon = Canon(g, g.view(), budget=1000)
    with pytest.raises(TooLarge):
        canon.paths(node("L"), node("W_f"))
    with pytest.raises(TooLarge):   # half-done sweeps are never read
        canon.paths(node("L", 1), node("W_f"))


def test_within_the_budget_the_gated_proof_is_exact():
    c = lstm()
    report = verify(_total_loss(c, "W_f", total_loss_form(c, "W_f"), T=5), numeric=False)
    assert report.ok and [r.method for r in report.results] == ["exact"]


@pytest.mark.parametrize("cell", [rnn, lstm], ids=["rnn", "lstm"])
def test_a_form_built_after_a_word_is_that_word_times_the_form(cell):
    """`Canon.in_context(term, w)` (sums distributed, sweeps seeded with w) equals w · (the term's form)."""
    from derive import Brace
    from derive.prove.canon import Poly

    c = cell()
    g = unroll(c, 4)
    state, theta = c.recurrent[0], c.params[0]
    s_ = lambda i: node(state, i)  # noqa: E731
    terms = [D(s_(3), node(theta)), D(s_(3), s_(1)), D(s_(2), node(theta), True), D(node("L"), node(theta)),
             Sum((Brace(D(s_(3), node(theta), True), "explicit"),
                  Brace(Prod((D(s_(3), s_(2)), D(s_(2), node(theta)))), "implicit"))),
             Prod((D(s_(3), s_(2)), Sum((D(s_(2), node(theta)), D(s_(2), s_(1)))), D(s_(1), node(theta), True)))]
    fresh = Canon(g, g.view())
    words = [0] + sorted(fresh.paths(node("L", 4), s_(3)))[:3]
    for term in terms:
        for w in words:
            canon = Canon(g, g.view())
            canon.paths(node("L", 4), s_(3))   # the same word ids as in `fresh`
            want = canon.mul(Poly({w: 1}), canon.cached(term))
            assert canon.in_context(term, w) == want, (term, w)
