"""Issue 12, item 6: beyond the lectures (proofs/beyond_lectures.py), each derivation verified, each wrong variant refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from derive import D, ProdOver, Step, SumOver, Zero, idx, node, verify
from derive.content import collect_derivations, proof_modules
from derive.proofs import beyond_lectures as bl
from derive.terms import Const, Diag, GradientLayout, Prime, Prod, Sum, Transpose, Value

t, j, i, T = idx("t"), idx("j"), idx("i"), idx("T")
L = node("L")
s = bl.s


@pytest.fixture(scope="module")
def by_id():
    return {d.id: d for d in bl.derivations()}


def _with_steps(der, *rhs, bindings=None):
    """The derivation with its steps replaced (a wrong variant), checked at its own bindings."""
    return replace(der, steps=[Step(r, "wrong variant") for r in rhs],
                   bindings=der.bindings if bindings is None else bindings)


def _methods(report, passed: bool) -> set:
    return {r.method for r in report.results if r.passed is passed}


def test_found_by_content_like_the_other_proofs_modules():
    ids = {d.id for d in collect_derivations()}
    assert {d.id for d in bl.derivations()} <= ids
    assert "derive.proofs.beyond_lectures" in [m.__name__ for m in proof_modules()]


def test_every_derivation_holds_exactly_and_numerically(by_id):
    for der in by_id.values():
        report = verify(der)
        assert report.ok, (der.id, [str(r) for r in report.failures()][:3])
        methods = _methods(report, True)
        assert methods & {"exact", "symbolic"}, der.id
        assert methods & {"numeric-fd", "numeric-directional", "numeric-count"}, der.id


# -- (a) the reverse-mode recursion ------------------------------------------------------------
def test_recursion_equals_the_path_sum_at_every_t(by_id):
    rec = by_id["beyond-delta-recursion"]
    report = verify(rec)
    bound = {r.where for r in report.results if r.method == "exact"}
    assert len(bound) == len(rec.bindings) >= 4
    assert all(r.passed for r in report.results if r.step == 1 and r.method == "exact")   # = the path sum


@pytest.mark.parametrize("wrong, why", [
    (lambda: D(node("L", t), s(t)), "the term through the next state dropped"),
    (lambda: D(L, s(t + 1)) * D(s(t + 1), s(t)), "the state's own loss dropped"),
    (lambda: D(node("L", t), s(t)) + D(L, s(t)) * D(s(t + 1), s(t)), "δ_t in place of δ_{t+1}"),
    (lambda: D(node("L", t), s(t)) + D(L, s(t + 1)) * D(s(t), s(t - 1)), "an off-by-one one-step Jacobian"),
    (lambda: SumOver(j, t + 1, T, D(node("L", j), s(j)) * D(s(j), s(t))), "the path sum from t + 1"),
    (lambda: SumOver(j, t, T, D(node("L", j), s(j)) * ProdOver(i, t, j, D(s(i), s(i - 1)), identity=s(j))),
     "one factor too many in the product"),
])
def test_a_wrong_recursion_is_reported_wrong(by_id, wrong, why):
    report = verify(_with_steps(by_id["beyond-delta-recursion"], wrong()))
    assert not report.ok, why
    assert "exact" in _methods(report, False), why


def test_the_recursion_does_not_start_from_a_later_state(by_id):
    last = by_id["beyond-delta-last"]
    assert not verify(_with_steps(last, D(node("L", T - 1), s(T - 1)) * D(s(T), s(T - 1)),
                                  bindings=[{"T": 3}])).ok


# -- (c) input gradients ----------------------------------------------------------------------
@pytest.mark.parametrize("wrong, why", [
    (lambda: D(L, s(t)) * Prod((bl.sigma_prime(t - 1), Value(node("U")))), "σ' at the previous step"),
    (lambda: D(node("L", t), s(t)) * Prod((bl.sigma_prime(t), Value(node("U")))), "only the loss of step t"),
    (lambda: D(L, s(t + 1)) * D(s(t + 1), s(t)) * D(s(t), node("x", t), True), "δ_{t+1} ∂s_{t+1}/∂s_t alone"),
    (lambda: D(L, s(t)) * Prod((Diag(Prime(Value(node("a", t)), "logistic")), Value(node("U")))), "σ' of the wrong σ"),
])
def test_a_wrong_input_gradient_is_reported_wrong(by_id, wrong, why):
    report = verify(_with_steps(by_id["beyond-input-gradient"], wrong()))
    assert not report.ok, why
    assert {"numeric-fd"} & _methods(report, False), why


# -- (f) the stacked RNN ------------------------------------------------------------------------
def test_stacked_rnn_is_a_cell_of_the_public_api():
    cell = bl.stacked_rnn()
    assert cell.recurrent == ["h", "s"]
    assert tuple(cell.params) == bl.STACKED_PARAMS


def test_stacked_total_gradients_match_finite_differences(by_id):
    for theta in bl.STACKED_PARAMS:
        report = verify(by_id[f"beyond-stacked-total-{theta}"])
        assert report.ok and "numeric-fd" in _methods(report, True), theta


@pytest.mark.parametrize("wrong, why", [
    (lambda: D(L, s(t)) * D(s(t), node("h", t), True), "the path through the next first-layer state dropped"),
    (lambda: D(L, s(t + 1)) * D(s(t + 1), node("h", t + 1), True) + D(L, node("h", t + 1))
     * D(node("h", t + 1), node("h", t), True), "the upper state of the next step"),
])
def test_a_wrong_stacked_gradient_is_reported_wrong(by_id, wrong, why):
    report = verify(_with_steps(by_id["beyond-stacked-dL-dh"], wrong()))
    assert not report.ok, why


# -- (d) the softmax–cross-entropy gradient ------------------------------------------------------
def test_softmax_gradient_is_exact_for_every_one_hot_label(by_id):
    report = verify(by_id["beyond-softmax-ce"])
    symbolic = [r for r in report.results if r.method == "symbolic"]
    assert symbolic and all(r.passed and "every one-hot label" in r.detail for r in symbolic)


def _minus(a, b):
    return Sum((a, Prod((Const(-1), b))))


@pytest.mark.parametrize("wrong, why", [
    (lambda: Transpose(_minus(Value(node("e", t)), Value(node("y", t)))), "y − ŷ: the sign flipped"),
    (lambda: Transpose(Value(node("y", t))), "the label dropped"),
    (lambda: Transpose(_minus(Value(node("y", t)), Value(node("o", t)))), "the logits in place of the label"),
])
def test_a_wrong_softmax_gradient_is_reported_wrong(by_id, wrong, why):
    report = verify(_with_steps(by_id["beyond-softmax-ce"], wrong()))
    assert not report.ok, why
    assert {"symbolic", "numeric-fd"} <= _methods(report, False), why


def test_the_label_is_one_hot_only_where_the_cell_says_so():
    """Without a label in the step, the one-hot retry is never tried: a false local formula stays false."""
    der = bl.input_gradient(bl.rnn("tanh"))
    local = replace(der, lhs=D(s(t), node("x", t), True), steps=[Step(Value(node("U")), "wrong: σ' dropped")])
    report = verify(local)
    assert not report.ok
    assert not any("one-hot" in r.detail for r in report.results)


# -- (b) the outer-product parameter gradients -------------------------------------------------
@pytest.mark.parametrize("theta", ["W", "U", "b", "V", "c"])
def test_outer_products_match_the_numpy_bptt_and_finite_differences(by_id, theta):
    report = verify(by_id[f"beyond-grad-{theta}"])
    assert report.ok, [str(r) for r in report.failures()][:3]
    last = len(by_id[f"beyond-grad-{theta}"].steps) - 1
    methods = {r.method for r in report.results if r.step == last and r.passed}
    assert {"exact", "numeric-fd", "numeric-reference"} <= methods, theta


def test_the_outer_product_is_what_an_implementation_computes():
    """Σ_t diag(σ'(a_t)) δ_t s_{t-1}ᵀ with δ_t from the NumPy recursion of derive.numeric.reference, reshaped, is the
    engine's ∂L/∂W row; the matrix itself is the reference's gradient (no transpose)."""
    import numpy as np

    from derive import Evaluator, Instance, unroll
    from derive.numeric.reference import rnn as ref

    g = unroll(bl.rnn("tanh"), 4, {"n": 3, "d": 2, "k": 4})
    inst = Instance.random(g, 1)
    ev = Evaluator(g, inst)
    v = inst.values
    X = np.stack([v[node("x", a)] for a in range(1, 5)])[:, None, :]
    labels = np.array([[int(np.argmax(v[node("e", a)]))] for a in range(1, 5)])
    res = ref.bptt({p: v[node(p)] for p in ("W", "U", "b", "V", "c")}, X, labels, s0=v[node("s", 0)][None, :])
    for theta, read in bl.READS.items():
        got = sum(np.asarray(ev.evaluate(bl.outer(a, read(a)).body)) for a in range(1, 5))
        want = np.asarray(res.grads[theta]).reshape(got.shape)
        assert np.allclose(got, want, rtol=1e-10, atol=1e-12), theta
    wrong = sum(np.asarray(ev.evaluate(Prod((Value(s(a - 1)), D(L, s(a)), bl.sigma_prime(a))))) for a in range(1, 5))
    assert not np.allclose(wrong, np.asarray(res.grads["W"]), atol=1e-6)   # s_{t-1} δ_tᵀ: the transpose


def _grad_W(body):
    return SumOver(t, 1, T, GradientLayout(body(t)))


@pytest.mark.parametrize("wrong, why", [
    (lambda a: Prod((Value(s(a - 1)), D(L, s(a)), bl.sigma_prime(a))), "the transposed outer product s_{t-1} δ_tᵀ"),
    (lambda a: Prod((bl.sigma_prime(a), bl.delta(a), Transpose(Value(s(a))))), "s_t in place of s_{t-1}"),
    (lambda a: Prod((bl.sigma_prime(a - 1), bl.delta(a), Transpose(Value(s(a - 1))))), "σ'(a_{t-1})"),
    (lambda a: Prod((bl.sigma_prime(a), bl.delta(a + 1), Transpose(Value(s(a - 1))))), "δ_{t+1} in place of δ_t"),
    (lambda a: Prod((bl.sigma_prime(a), Transpose(D(node("L", a), s(a))), Transpose(Value(s(a - 1))))),
     "∂L_t/∂s_t in place of δ_t: the later losses dropped"),
    (lambda a: Prod((bl.delta(a), Transpose(Value(s(a - 1))))), "diag(σ'(a_t)) dropped"),
])
def test_a_wrong_outer_product_is_reported_wrong(by_id, wrong, why):
    der = by_id["beyond-grad-W"]
    bindings = [b for b in der.bindings if b["T"] > 1]
    report = verify(_with_steps(der, _grad_W(wrong), bindings=bindings))
    assert not report.ok, why
    assert "exact" in _methods(report, False), why
    assert {"numeric-fd", "numeric-reference"} & _methods(report, False), why


def test_a_wrong_input_gradient_in_gradient_layout_is_reported_wrong(by_id):
    der = by_id["beyond-input-gradient"]
    wrong = GradientLayout(Prod((Value(node("U")), bl.sigma_prime(t), bl.delta(t))))   # U in place of Uᵀ
    assert not verify(_with_steps(der, wrong)).ok


# -- (e) parameter counts ----------------------------------------------------------------------
def test_parameter_counts_hold_exactly_and_on_every_size(by_id):
    counts = [d for d in by_id.values() if d.id.startswith("beyond-count-")]
    assert len(counts) >= 7
    for der in counts:
        report = verify(der)
        assert report.ok, (der.id, [str(r) for r in report.failures()])
        assert {"exact", "numeric-count"} <= _methods(report, True), der.id
        assert len([r for r in report.results if r.method == "numeric-count"]) == 4   # d = 1, 2, 3, 5


def test_lstm_has_four_thirds_the_recurrent_parameters_of_the_gru():
    from derive.cells import gru, lstm
    from derive.terms import ParamCount

    lstm_, gru_ = lstm(), gru("cs224n")
    a = ParamCount(tuple(p for p in lstm_.params if p not in ("V", "c"))).polynomial(lstm_)
    b = ParamCount(tuple(p for p in gru_.params if p not in ("V", "c"))).polynomial(gru_)
    assert (3 * a - 4 * b.subs(dict(zip(gru_.dims, lstm_.dims)))).expand() == 0


@pytest.mark.parametrize("ident, formula, why", [
    ("beyond-count-rnn", "d*(d + n) + k*(d + 1)", "the bias dropped"),
    ("beyond-count-rnn", "d*(d + n + 1) + k*d", "the output bias dropped"),
    ("beyond-count-rnn", "d*(d + n + 1) + d*(k + 1)", "V transposed with c of size d"),
    ("beyond-count-lstm", "3*d*(d + n + 1) + k*(d + 1)", "three blocks for the LSTM"),
    ("beyond-count-lstm-recurrent", "4*d*(d + n + 2)", "off by one"),
    ("beyond-count-gru", "4*d*(d + n + 1) + k*(d + 1)", "four blocks for the GRU"),
    ("beyond-count-gru-pytorch", "3*d*(d + n + 1) + k*(d + 1)", "b_hn dropped"),
    ("beyond-count-stacked", "2*d*(d + n + 1) + k*(d + 1)", "the second layer reading x"),
])
def test_a_wrong_count_is_reported_wrong(by_id, ident, formula, why):
    from derive.terms import DimFormula

    report = verify(_with_steps(by_id[ident], DimFormula(formula)))
    assert not report.ok, why
    assert {"exact", "numeric-count"} <= _methods(report, False), why


# -- (f) the bidirectional RNN: the one engine addition, a lead (g.next) ------------------------
def test_a_lead_makes_the_final_backward_state_a_leaf_and_keeps_the_order_topological():
    from derive import unroll

    g = unroll(bl.bidirectional_rnn(), 3)
    assert g.nodes[node("g", 4)].kind == "init" and g.nodes[node("f", 0)].kind == "init"
    assert node("g", 0) not in g.nodes and node("f", 4) not in g.nodes
    pos = g.position
    for ref, info in g.nodes.items():
        assert all(pos[p] < pos[ref] for p in info.parents), ref
    assert pos[node("g", 3)] < pos[node("g", 1)] < pos[node("y", 1)]


def test_a_cell_without_a_lead_unrolls_as_before():
    from derive import unroll

    g = unroll(bl.rnn("tanh"), 2)
    assert [str(r) for r in g.order] == ["W", "U", "b", "V", "c", "s_0", "x_1", "e_1", "a_1", "s_1", "y_1", "L_1",
                                         "x_2", "e_2", "a_2", "s_2", "y_2", "L_2", "L"]


def test_a_state_read_at_both_neighbours_is_refused():
    from derive import Cell, unroll
    from derive.errors import CellError

    c = Cell("loop", dims=("d",))
    d, = c.dims
    s_ = c.state("s", (d,))
    c.define("s", s_.prev + s_.next)
    with pytest.raises(CellError, match="depends on itself"):
        unroll(c, 2)


def test_bidirectional_gradients_match_finite_differences(by_id):
    for theta in bl.BIDIRECTIONAL_PARAMS:
        report = verify(by_id[f"beyond-bidir-total-{theta}"])
        assert report.ok and "numeric-fd" in _methods(report, True), theta


@pytest.mark.parametrize("ident, wrong, why", [
    ("beyond-bidir-dL-dg", lambda: D(node("L", t), node("g", t)) + D(L, node("g", t + 1)) * D(node("g", t + 1),
                                                                                               node("g", t)),
     "the backward recursion run backwards in time (δ_{t+1})"),
    ("beyond-bidir-dL-dg", lambda: D(node("L", t), node("g", t)), "the term through g_{t-1} dropped"),
    ("beyond-bidir-future", lambda: Zero(), "a backward state reading no later input (as a forward state)"),
    ("beyond-bidir-grad-W_g", lambda: SumOver(t, 1, T, GradientLayout(Prod((
        Diag(Prime(Value(node("a_g", t)), "tanh")), Transpose(D(L, node("g", t))), Transpose(Value(node("g", t - 1))))))),
     "g_{t-1} in place of g_{t+1} in the outer product"),
])
def test_a_wrong_bidirectional_gradient_is_reported_wrong(by_id, ident, wrong, why):
    der = by_id[ident]
    bindings = [b for b in der.bindings if b.get("T", 0) > 1]
    report = verify(_with_steps(der, wrong(), bindings=bindings))
    assert not report.ok, why
    assert "exact" in _methods(report, False), why


# -- the NumPy references of the stacked and bidirectional RNNs ------------------------------------
@pytest.mark.parametrize("cell, inits", [(bl.stacked_rnn, ("h_0", "s_0")), (bl.bidirectional_rnn, ("f_0", "g_4"))])
def test_the_numpy_references_agree_with_central_differences(cell, inits):
    import numpy as np

    from derive import Evaluator, Instance, unroll

    g = unroll(cell(), 3, {"n": 3, "d": 2, "k": 4})
    inst = Instance.random(g, 2)
    ev = Evaluator(g, inst)
    grads = cell().reference(g, inst)
    for x in list(cell().params) + list(inits):
        ref = g.node(x)
        fd = ev.finite_difference(g.node("L"), ref)
        assert np.allclose(np.ravel(grads[ref]), np.ravel(fd), rtol=1e-6, atol=1e-8), x


def test_the_initial_state_gradients_match_the_references(by_id):
    for ident in ("beyond-stacked-dL-dh0", "beyond-bidir-dL-dg-end"):
        report = verify(by_id[ident])
        assert report.ok and "numeric-reference" in _methods(report, True), ident


def test_a_wrong_bidirectional_outer_product_is_refused_by_the_numpy_reference(by_id):
    der = by_id["beyond-bidir-grad-W_g"]
    wrong = SumOver(t, 1, T, GradientLayout(Prod((Diag(Prime(Value(node("a_g", t)), "tanh")),
                                                   Transpose(D(L, node("g", t))), Transpose(Value(node("g", t)))))))
    report = verify(_with_steps(der, wrong, bindings=[{"T": 3}]))   # g_t in place of g_{t+1}
    assert {"exact", "numeric-fd", "numeric-reference"} <= _methods(report, False)
