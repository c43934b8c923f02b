"""The lectures' missing content (issue 9, item 4): each derivation verifies, and each wrong variant is caught."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import D, Derivation, ProdOver, Step, idx, node, unroll
from derive.prove.canon import count_paths
from derive.model.graph import NodeRef
from derive.terms import Brace, Power, Value
from derive.checks.verify import verify
from derive.proofs import cs224n_rnn, lecture59_appliednlp, lecture105_vanishing
from derive.proofs.catalog import l111_lstm, l105_cs7015

t, k, tau, j = idx("t"), idx("k"), idx("tau"), idx("j")
MODULES = (lecture59_appliednlp, lecture105_vanishing, cs224n_rnn)
NEW = {d.id: d for m in MODULES for d in m.derivations()}
MATH_SOUP = set("∂⁺⊙σ∘Σ∏Π→←≤≥λγτ_^\\")


@pytest.mark.parametrize("did", sorted(NEW))
def test_every_new_derivation_verifies(did):
    report = verify(NEW[did])
    assert report.ok, "\n".join(map(str, report.failures()[:5]))
    assert len(report.results) >= 18


@pytest.mark.parametrize("did", sorted(NEW))
def test_titles_are_plain_phrases_and_sources_name_the_place(did):
    d = NEW[did]
    assert not (set(d.title) & MATH_SOUP), d.title
    assert ".txt" not in d.source and d.source.split(",")[0] in ("Lecture 59", "Lecture 105", "CS224n notes")


def _fails(d: Derivation) -> bool:
    return not verify(d, sizes=[{"n": 2, "d": 2, "k": 3}]).ok


def _variant(d: Derivation, rhs, bindings=None) -> Derivation:
    return Derivation(d.id + "-wrong", d.title, d.source, d.cell, d.lhs, [Step(rhs, "as printed")],
                      keep=d.keep, bindings=bindings or d.bindings)


def test_eq19_as_printed_is_caught():
    """(19) as printed evaluates σ' at X^{(τ-1)}: the corrected derivation holds, the printed one fails."""
    d = NEW["l59-one-step-jacobian"]
    printed = lecture59_appliednlp.one_step(tau, "tanh").subs({})
    arg = printed.factors[0].v.x                      # W X^{(τ)} + U h^{(τ-1)}  ->  W X^{(τ-1)} + U h^{(τ-1)}
    from derive.terms import Diag, Prime, Prod, Sum
    wrong = Prod((Diag(Prime(Sum((Prod((Value(node("U")), Value(node("x", tau - 1)))), arg.terms[1])), "tanh")),
                  Value(node("W"))))
    assert _fails(_variant(d, wrong, [{"tau": 2, "T": 3}, {"tau": 3, "T": 3}]))


def test_eq17_and_eq20_as_printed_are_caught():
    d17 = NEW["l59-product-of-jacobians"]
    s = lambda i: node("s", i)  # noqa: E731
    short = D(node("L", t), s(t)) * ProdOver(tau, 1, t - 1, D(s(tau), s(tau - 1)), identity=s(t))
    assert _fails(_variant(d17, short, [{"t": 2, "T": 2}, {"t": 3, "T": 3}]))
    d20 = NEW["l59-product-of-factors"]
    from derive.terms import Diag, Prime, Prod
    diag = lambda i: Diag(Prime(lecture59_appliednlp.one_step(i).factors[0].v.x, "tanh"))  # noqa: E731
    pulled = D(node("L", t), s(t)) * Power(Value(node("W")), t) * ProdOver(tau, 1, t, diag(tau), identity=s(t))
    assert _fails(_variant(d20, pulled, [{"t": 2, "T": 2}, {"t": 3, "T": 3}]))


def test_pulling_w_h_out_of_the_cs224n_product_is_caught():
    d = NEW["cs224n-loss-product"]
    i_, j_ = idx("i"), idx("j")
    from derive.terms import Diag, Prime
    diag = lambda x: Diag(Prime(cs224n_rnn.one_step(x).factors[0].v.x, "tanh"))  # noqa: E731
    pulled = D(node("L", i_), node("s", i_)) * Power(Value(node("W")), i_ - j_) * \
        ProdOver(t, j_ + 1, i_, diag(t), identity=node("s", i_))
    assert _fails(_variant(d, pulled, [{"i": 3, "j": 1, "T": 3}]))


def test_a_truncation_split_at_the_wrong_step_is_caught():
    d = NEW["l105-truncated-W"]
    pt = lecture105_vanishing.path_terms
    wrong = Brace(pt("W", t - tau + 2, t), "truncated") + Brace(pt("W", 1, t - tau), "error")   # drops k = t - τ + 1
    assert _fails(_variant(d, wrong, [{"t": 4, "tau": 2, "T": 4}]))


def test_the_product_with_a_swapped_factor_order_is_caught():
    d = NEW["l105-product-factors-tanh"]
    from derive.terms import Prod
    f = lecture105_vanishing.factor(j, "tanh")
    swapped = ProdOver(j, k + 1, t, Prod((f.factors[1], f.factors[0])), identity=node("s", t))
    assert _fails(_variant(d, swapped, [{"t": 2, "k": 0, "T": 2}]))


# ---------------------------------------------------------------------------
# Lecture 111: the number of paths from L_t to s_k
# ---------------------------------------------------------------------------
def test_path_count_closed_form_against_count_paths():
    g = unroll(l111_lstm.lstm(), 15)
    for t_ in range(1, 16):
        for k_ in range(1, t_ + 1):
            exact = int(sp.expand(l111_lstm.path_count_closed_form(sp.Integer(t_ - k_))))
            assert count_paths(g, NodeRef("L", t_), NodeRef("s", k_)) == exact, (t_, k_)
        assert count_paths(g, NodeRef("L", t_), NodeRef("s", 0)) == count_paths(g, NodeRef("L", t_), NodeRef("s", 1))
    assert [int(sp.expand(l111_lstm.path_count_closed_form(sp.Integer(m)))) for m in range(5)] == [1, 5, 24, 115, 551]


def test_path_count_claim_rejects_a_wrong_closed_form(monkeypatch):
    fn = l111_lstm._path_counts(6)
    lhs, rhs, _ = fn(np.random.default_rng(0))
    assert np.array_equal(lhs, rhs)
    monkeypatch.setattr(l111_lstm, "path_count_closed_form", lambda m: sp.Integer(5) ** m)   # 5^{t-k}: too few
    lhs, rhs, _ = fn(np.random.default_rng(0))
    assert not np.array_equal(lhs, rhs)


# ---------------------------------------------------------------------------
# Lecture 105: the truncated path sum is the NumPy truncated BPTT, the bound chain holds and is tight
# ---------------------------------------------------------------------------
def test_truncated_formula_equals_numpy_truncated_bptt():
    lhs, rhs, info = l105_cs7015._truncated_numpy(np.random.default_rng(1))
    assert np.allclose(lhs, rhs, rtol=1e-10, atol=1e-13) and info["windows"] == [1, 2, 3, 5]


def test_truncation_window_off_by_one_is_caught(monkeypatch):
    """Comparing the τ-term path sum with truncate=τ (one factor more) must disagree."""
    from derive.numeric.reference import rnn as reference

    real = reference.bptt
    monkeypatch.setattr(reference, "bptt", lambda *a, truncate=None, **kw: real(*a, truncate=truncate + 1, **kw))
    lhs, rhs, _ = l105_cs7015._truncated_numpy(np.random.default_rng(1), windows=(1, 2))
    assert not np.allclose(lhs, rhs, rtol=1e-8)


def test_bound_chain_claims_hold_and_report_tightness():
    lhs, rhs, where = l105_cs7015._bound_chain(l105_cs7015.POWER_LINKS, n=300)(np.random.default_rng(0))
    assert not lhs.any() and where["gamma (logistic)"] == 0.25
    assert 0.999 < where["tanh power tightness"] <= 1 + 1e-9           # attained by the pinned orthogonal ones


def test_bound_chain_catches_a_wrong_gamma(monkeypatch):
    import derive.checks.bounds as bounds

    real = bounds.check_bound_chain
    monkeypatch.setattr(bounds, "check_bound_chain",
                        lambda inst, **kw: real(inst, gamma_value=0.125 if inst.activation == "logistic" else 0.5))
    lhs, _, _ = l105_cs7015._bound_chain(l105_cs7015.STEP_LINKS, n=300)(np.random.default_rng(0))
    assert lhs.sum() > 0


def test_dependency_graph_claim_holds_and_a_missing_edge_is_caught(monkeypatch):
    lhs, rhs, _ = l111_lstm._dependency_graph(np.random.default_rng(0))
    assert np.array_equal(lhs, rhs) and len(lhs) == 24
    monkeypatch.setitem(l111_lstm.DEPENDS, "h", (("o", 0),))          # h_t <- o_t only: s_t forgotten
    lhs, rhs, _ = l111_lstm._dependency_graph(np.random.default_rng(0))
    assert lhs.sum() == len(lhs) - 4


@pytest.mark.parametrize("did", [d for d in sorted(NEW) if d.startswith("l59-")])
def test_lecture59_derivations_print_in_its_notation(did):
    """h^{[t]}, E^{[t]}, U recurrent and W input: the Applied NLP lecture's own symbols, never s_t."""
    from derive.render.latex import latex

    d = NEW[did]
    tex = " ".join(latex(x, notation="appliednlp", cell=d.cell) for x in [d.lhs] + [s.rhs for s in d.steps])
    assert "h^{[" in tex and "s_{" not in tex and r"\mathscr{L}" not in tex
    assert "E^{[" in tex or did == "l59-one-step-jacobian"                # (19) has no loss in it
    if "diag" in tex:
        assert r"W x^{[\tau]} + U h^{[\tau - 1]}" in tex              # eq. (18)'s W X^{(τ)} + U h^{(τ-1)}
