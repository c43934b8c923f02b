"""One term language: formulas inside derivation steps are proved, evaluated and printed like derivatives."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import D, Derivation, Evaluator, Instance, NotSupported, Prod, ProdOver, Step, Sum, idx, node, unroll, verify
from derive.cells import rnn
from derive.render.latex import latex
from derive.numeric.evaluator import Numbers
from derive.terms import Apply, Diag, Hadamard, Norm, Power, Prime, SpectralRadius, Term, Transpose, Value

t, k, j = idx("t"), idx("k"), idx("j")
SIZES = [{"n": 2, "d": 2, "k": 3}, {"n": 3, "d": 3, "k": 2}]


def lecture_product(body):
    """∂s_t/∂s_k = Π_{j=k+1}^{t} body (CS7015 Lecture 14, Module 14.4)."""
    return Derivation("product", "", "", rnn("tanh"), D(node("s", t), node("s", k)),
                      [Step(ProdOver(j, k + 1, t, body, identity=node("s", k)))],
                      bindings=[{"t": 4, "k": 1, "T": 4}, {"t": 3, "k": 0, "T": 3}])


def test_the_lectures_product_of_formulas_is_one_verified_step():
    right = Prod((Diag(Prime(Value(node("a", j)), "tanh")), Value(node("W"))))
    report = verify(lecture_product(right), sizes=SIZES)
    assert report.ok, report.summary()
    methods = {r.method for r in report.results}
    assert "exact" in methods and "numeric-fd" in methods
    exact = [r for r in report.results if r.method == "exact"]
    assert all("one-step Jacobian" in r.detail for r in exact)


@pytest.mark.parametrize("wrong", [
    Prod((Value(node("W")), Diag(Prime(Value(node("a", j)), "tanh")))),          # matrix order swapped
    Prod((Diag(Prime(Value(node("a", j - 1)), "tanh")), Value(node("W")))),      # index off by one
    Prod((Diag(Prime(Value(node("a", j)), "logistic")), Value(node("W")))),      # the wrong σ'
    Diag(Prime(Value(node("a", j)), "tanh")),                                    # the W dropped
])
def test_a_wrong_formula_inside_the_product_is_reported_wrong(wrong):
    report = verify(lecture_product(wrong), sizes=SIZES)
    failed = {r.method for r in report.failures()}
    assert "exact" in failed and ({"numeric-fd", "numeric"} & failed)


def test_formulas_evaluate_like_numpy():
    g = unroll(rnn("tanh"), 3, {"n": 2, "d": 3, "k": 2})
    ev = Evaluator(g, Instance.random(g, seed=1))
    ctx = Numbers(ev)
    W, a2, s2 = ev.values[node("W")], ev.values[node("a", 2)], ev.values[node("s", 2)]
    assert np.allclose(ctx.value(Diag(Prime(Value(node("a", 2)), "tanh"))), np.diag(1 - np.tanh(a2) ** 2))
    assert np.allclose(ctx.value(Transpose(Value(node("W")))), W.T)
    assert np.isclose(ctx.value(Norm(Value(node("W")), "fro")), np.linalg.norm(W))
    assert np.isclose(ctx.value(Norm(Value(node("W")))), np.linalg.norm(W, 2))
    assert np.isclose(ctx.value(SpectralRadius(Value(node("W")))), max(abs(np.linalg.eigvals(W))))
    assert np.allclose(ctx.value(Power(Value(node("W")), 3)), np.linalg.matrix_power(W, 3))
    assert np.allclose(ctx.value(Hadamard(Value(node("s", 2)), Apply(Value(node("a", 2)), "tanh"))).ravel(),
                       s2 * np.tanh(a2))
    # the transposed product Wᵀ diag(σ') is the gradient-layout form of the same Jacobian
    J = ev.evaluate(D(node("s", 2), node("s", 1)))
    assert np.allclose(ctx.value(Transpose(Prod((Diag(Prime(Value(node("a", 2)), "tanh")), Value(node("W")))))), J.T)


def test_input_gradients_are_derivatives_like_any_other():
    """∂L/∂x_t (the input gradient): no new code, the algebra already has it."""
    g = unroll(rnn("tanh"), 3, {"n": 2, "d": 2, "k": 2})
    ev = Evaluator(g, Instance.random(g, seed=0))
    got = ev.evaluate(D(node("L"), node("x", 2)))
    assert np.allclose(got, ev.finite_difference(node("L"), node("x", 2)), rtol=1e-6, atol=1e-9)


def test_spectral_radius_prints_as_rho_and_transposes_as_top():
    assert latex(SpectralRadius(Value(node("W")))) == r"\rho(W)"
    assert latex(SpectralRadius(Value(node("W"))), notation="cs224n") == r"\rho(W_{h})"
    assert latex(Transpose(Value(node("W")))) == r"W^{\top}"
    assert latex(Transpose(Prod((Diag(Prime(Value(node("a", "j")))), Value(node("W")))))) == \
        r"\left(\operatorname{diag}(\sigma'(a_{j})) W\right)^{\top}"


def test_a_term_without_a_meaning_says_so():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Hessian(Term):
        f: object
        x: object

    g = unroll(rnn(), 2, {"n": 2, "d": 2, "k": 2})
    ev = Evaluator(g, Instance.random(g))
    with pytest.raises(NotSupported, match="Hessian"):
        ev.evaluate(Sum((D(node("L"), node("W")), Hessian(node("L"), node("W")))))
    with pytest.raises(NotSupported, match="Hessian"):
        latex(Hessian(node("L"), node("W")))


def test_old_argument_order_still_reads_with_a_warning():
    with pytest.warns(DeprecationWarning):
        old = Prime("tanh", node("a", "j"))
    assert old == Prime(node("a", "j"), "tanh")


def test_substitution_reaches_every_operand():
    term = Norm(Prod((Diag(Prime(Value(node("a", j)))), Value(node("W")))))
    assert term.subs({j: 3}) == Norm(Prod((Diag(Prime(Value(node("a", 3)))), Value(node("W")))))
    assert Power(Value(node("W")), t - k).subs({t: 5, k: 2}).exponent == 3
    assert {3} == term.subs({j: 3}).times()
    assert isinstance(Power(Value(node("W")), "t - k").exponent, sp.Expr)


def test_a_registered_notation_prints_and_reads(tmp_path):
    """One table, both directions: a user's notation prints a term and parses a claim written in it."""
    from derive.checks.catalog import Claim, Identity, Source, audit
    from derive.checks.catalog.parse import parse
    from derive.notation import Notation, register_notation

    register_notation(Notation("mycourse", "my course: z_t, R recurrent", symbols={"s": "z", "W": "R", "L": "J"},
                               time="sub"), replace=True)
    term = D(node("s", 3), node("W"))
    assert latex(term, "mycourse") == r"\frac{\partial z_{3}}{\partial R}"
    cell = rnn()
    assert parse("dz_3/dR", "mycourse", cell) == term
    claim = Claim("my-chain", Source("notes.tex", "eq. 1"), "mycourse", Identity(
        "dz_3/dz_1", "prod_{j=2}^{3} dz_j/dz_{j-1}", rnn, [{"T": 3}]), expected="holds")
    assert audit([claim]).results[0].verdict == "holds"
    wrong = Claim("my-wrong", Source("notes.tex", "eq. 2"), "mycourse", Identity(
        "dz_3/dz_1", "prod_{j=3}^{3} dz_j/dz_{j-1}", rnn, [{"T": 3}]), expected="fails")
    assert audit([wrong]).results[0].verdict == "fails"
