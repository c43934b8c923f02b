"""Lecture 111's gradient-flow argument for the LSTM (and the CS224n GRU): every derivation
verified exactly and numerically, wrong claims caught, the numeric demonstrations' claims checked.

Lecture 111: shared/seeds/004_ac394c33ecf151bd.txt; CS224n notes: 003_9ba40663132a09fb.txt.
"""

import numpy as np
import pytest
import sympy as sp

from derive import Brace, D, Derivation, ProdOver, Step, explicit_structure, idx, node, path_sum, unroll, verify
from derive.cells.lstm import lstm
from derive.numeric.evaluator import local_jacobians
from derive.numeric.reference import demos
from derive.prove.structure import LocalForm
from derive.proofs import cs224n_gru, lecture111_lstm as l111

# Numeric checks at d = 3 and d = 2; the symbolic (element-by-element) check runs at the second, d = 2.
SIZES = [{"n": 4, "d": 3, "k": 2}, {"n": 3, "d": 2, "k": 4}]
t, k, j = idx("t"), idx("k"), idx("j")

LSTM_DERIVATIONS = {d.id: d for d in l111.derivations()}
GRU_DERIVATIONS = {d.id: d for d in cs224n_gru.derivations()}


def methods(report):
    return {r.method for r in report.results}


# ---------------------------------------------------------------------------
# Every derivation holds, by every method that applies
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("did", [d for d in LSTM_DERIVATIONS if not d.startswith("l111-total-")]
                         + ["l111-total-W_f", "l111-total-V", "l111-total-b_o"])
def test_lecture111_derivation_verifies(did):
    der = LSTM_DERIVATIONS[did]
    report = verify(der, sizes=SIZES)
    assert report.ok, "\n".join(map(str, report.failures()))
    assert "exact" in methods(report) or "symbolic" in methods(report)
    assert methods(report) & {"numeric-fd", "numeric"}
    if der.lhs.f.name == "L" and der.lhs.f.t is None:
        assert "numeric-reference" in methods(report)       # against derive.numeric.reference.lstm


@pytest.mark.parametrize("did", [d for d in GRU_DERIVATIONS if "-total-" not in d]
                         + ["gru-cs224n-total-W_h", "gru-pytorch-total-W_h", "gru-pytorch-total-b_hn"])
def test_gru_derivation_verifies(did):
    report = verify(GRU_DERIVATIONS[did], sizes=SIZES)
    assert report.ok, "\n".join(map(str, report.failures()))


def test_every_derivation_cites_its_source():
    for d in list(LSTM_DERIVATIONS.values()) + list(GRU_DERIVATIONS.values()):
        assert d.source.startswith(("Lecture 111", "CS224n notes, Gated Recurrent Units")), d.id
        assert ".txt" not in d.source, d.id  # documents name the lecture's place, not the seed file
        assert d.title and d.bindings


# ---------------------------------------------------------------------------
# What the structure recogniser states (and what it cannot)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("did, kind, text", [
    ("l111-local-dh-ds", "diag", "diag(o_t*tanh_prime(s_t))"),
    ("l111-local-ds-ds", "diag", "diag(f_t)"),
    ("l111-dh-do", "diag", "diag(tanh(s_t))"),
    ("l111-do-dh", "diag_matrix", "diag(logistic_prime(a_o_t)) W_o"),
    ("l111-dh-dh-output", "diag_matrix", "W_o"),
    ("l111-ds-dWf", "delta_outer", "(h_t - 1)_r"),
])
def test_recognised_lstm_local_forms(did, kind, text):
    form = LSTM_DERIVATIONS[did].steps[-1].rhs
    assert isinstance(form, LocalForm) and form.kind == kind
    assert text in str(form)


@pytest.mark.parametrize("did, text", [
    ("gru-carry", "diag(1 - u_t)"), ("gru-dh-dhtilde", "diag(u_t)"),
    ("gru-du-dh", "diag(logistic_prime(a_u_t)) W_u"), ("gru-dr-dh", "diag(logistic_prime(a_r_t)) W_r"),
])
def test_recognised_gru_local_forms(did, text):
    assert str(GRU_DERIVATIONS[did].steps[-1].rhs) == text


@pytest.mark.parametrize("preactivations, keep, f, x, kind", [
    (False, l111.FULL, "o_2", "h_1", "dense"),       # σ'(W_o h_1 + U_o x_2 + b_o) is not a function of nodes
    (True, l111.STATES, "s_2", "h_1", "dense"),      # a sum of three diag(·) W terms: no single form
    (True, l111.STATES, "s_2", "s_1", "diag"),
])
def test_recogniser_limits(preactivations, keep, f, x, kind):
    g = unroll(lstm(preactivations=preactivations), 2, SIZES[1])
    st = explicit_structure(g, g.view(list(keep)), f, x, local_jacobians(g))
    assert st.kind == kind


# ---------------------------------------------------------------------------
# The forget-gate product and the GRU carry product
# ---------------------------------------------------------------------------
def test_product_of_forget_gates():
    assert l111.diag_product_identity(2, 4)
    report = l111.forget_path_checks(T=4)
    assert report.ok and len(report.results) == 1 + 2 * 2 * 4, "\n".join(map(str, report.failures()))


def test_gru_carry_product():
    report = cs224n_gru.carry_path_checks(T=3)
    assert report.ok, "\n".join(map(str, report.failures()))


# ---------------------------------------------------------------------------
# Wrong claims are caught
# ---------------------------------------------------------------------------
def _claim(did, lhs, rhs, keep, bindings):
    return Derivation(did, did, "test", l111.cell(), lhs, [Step(rhs, "wrong on purpose")], keep=keep,
                      bindings=bindings)


def test_wrong_local_form_diag_i_is_caught():
    """∂⁺s_t/∂s_{t-1} = diag(i_t) (the input gate instead of the forget gate)."""
    probe = unroll(l111.cell(), 2, SIZES[1])
    diag_i = LocalForm.of(explicit_structure(probe, probe.view(list(l111.FULL)), "s_2", "s_tilde_2",
                                             local_jacobians(probe)), f_index=t)
    assert str(diag_i) == "diag(i_t)"
    der = _claim("wrong-diag-i", D(node("s", t), node("s", t - 1), True), diag_i, l111.STATES,
                 [{"t": 2, "T": 2}])
    report = verify(der, sizes=SIZES)
    failed = {r.method for r in report.failures()}
    assert failed == {"symbolic", "numeric-fd"}  # ∂⁺ is compared with finite differences by intervention
    assert any("entry (0, 0)" in r.detail for r in report.failures() if r.method == "symbolic")


def test_path_sum_missing_one_path_is_caught():
    g = unroll(l111.cell(), 2)
    full = path_sum(g, "L_2", "W_f", keep=l111.FULL)
    missing = type(full)(full.terms[:-1])
    der = _claim("missing-path", D(node("L", 2), node("W_f")), missing, l111.FULL, [{"T": 2}])
    report = verify(der, sizes=SIZES[1:])
    assert {r.method for r in report.failures()} == {"exact", "numeric-fd"}
    assert "coefficient 1 on the left and 0 on the right" in report.failures()[0].detail


def test_diagonal_factors_in_the_other_order_are_not_a_false_alarm():
    """∂⁺s_j/∂s_{j−1} = diag(f_j) is diagonal by the cell's equations, so the cell-state chain may be
    written in either order (issue 14, item 7): the exact check says that commuting decided."""
    chain, leave = l111.first_exit("s", "h", "previous")
    ascending = ProdOver(j, k + 1, t, chain.body, descending=False, identity=chain.identity)
    der = _claim("other-order", D(node("s", t), node("s", k)), ascending + leave, l111.STATES,
                 [{"t": 3, "k": 1, "T": 3}])
    report = verify(der, sizes=SIZES[1:])
    assert report.ok, [str(r) for r in report.failures()]
    assert any("diagonal one-step Jacobians commute" in r.detail for r in report.results if r.method == "exact")


def test_product_in_the_wrong_order_is_caught_exactly():
    """The output-gate chain h_t <- h_{t−1} <- ... is not diagonal: written ascending, it is wrong."""
    chain, leave = l111.first_exit("h", "s", "same")
    ascending = ProdOver(j, k + 1, t, chain.body, descending=False, identity=chain.identity)
    der = _claim("wrong-order", D(node("h", t), node("h", k)), ascending + leave, l111.STATES,
                 [{"t": 3, "k": 1, "T": 3}])
    report = verify(der, sizes=SIZES[1:])
    assert "exact" in {r.method for r in report.failures()}


def test_worst_case_assumption_is_not_an_identity():
    """The lecture drops the implicit term on purpose ("a worst case assumption"); as an equation it is false."""
    der = _claim("no-implicit", D(node("s", t), node("s", t - 1)), D(node("s", t), node("s", t - 1), True),
                 l111.STATES, [{"t": 2, "T": 2}])
    report = verify(der, sizes=SIZES[1:])
    assert not report.ok and "exact" in {r.method for r in report.failures()}


def test_cell_path_alone_is_not_the_gradient():
    chain, leave = l111.first_exit("s", "h", "previous")
    der = _claim("only-t0", D(node("s", t), node("s", k)), Brace(chain, "t0"), l111.STATES,
                 [{"t": 3, "k": 1, "T": 3}])
    assert not verify(der, sizes=SIZES[1:]).ok


# ---------------------------------------------------------------------------
# The numeric demonstration (derive.numeric.reference.demos) says what the lecture says
# ---------------------------------------------------------------------------
def test_forget_gates_near_one_keep_the_gradient_order_one_over_100_steps():
    demo = demos.lstm_forget_path(T=100, forget_bias=10.0)
    assert demo.forget == pytest.approx(1 / (1 + np.exp(-10.0)), rel=1e-15)
    assert np.all((demo.full_norms > 0.5) & (demo.full_norms < 10.0))
    np.testing.assert_allclose(demo.forget_path_norms, demo.forget ** demo.lags, rtol=1e-12)


def test_forget_gates_at_one_half_decay_like_one_half_to_the_lag():
    demo = demos.lstm_forget_path(T=100, forget_bias=0.0)
    np.testing.assert_allclose(demo.forget_path_norms, 0.5 ** demo.lags, rtol=1e-12)
    np.testing.assert_allclose(demo.forward_decay, 0.5 ** demo.lags, rtol=1e-12)  # forgotten in the forward pass too
    rate = (demo.full_norms[99] / demo.full_norms[50]) ** (1 / 49)
    assert 0.5 <= rate < 0.55


def test_vanilla_rnn_decays_like_gamma_lambda_to_the_lag():
    demo = demos.rnn_jacobian_norms(T=100, gamma_lambda=0.9)
    assert np.all(demo.norms <= demo.bound * (1 + 1e-12))
    rate = (demo.norms[99] / demo.norms[50]) ** (1 / 49)
    assert 0.8 < rate <= 0.9 and demo.norms[99] < 1e-5
