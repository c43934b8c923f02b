"""No false alarms on correct textbook forms, and the wrong variants still fail (issue 14, item 7).

- σ' written through the output: ∂s_j/∂a_j = diag(s_j ⊙ (1 − s_j)) for the logistic,
  diag(1 − s_j ⊙ s_j) for tanh (CS7015 Lecture 14, Module 14.4: "σ'(a_j)");
- diagonal one-step Jacobians commute: in an IndRNN-like cell s_t = σ(w ⊙ s_{t−1} + U x_t + b)
  the product ∂s_4/∂s_3 ∂s_3/∂s_2 ∂s_2/∂s_1 may be written in any order;
- underbrace labels "explicit" / "implicit" are checked against what they label
  (CS7015 Lecture 14, Module 14.3: "explicit" and "implicit" terms);
- transposed local Jacobians: (Wᵀ diag(σ'(a_t)))ᵀ = diag(σ'(a_t)) W.
"""

from __future__ import annotations

import pytest

from derive import Cell, D, Derivation, Prod, Step, activations, node, verify
from derive.cells import rnn
from derive.model.ir import nll, softmax
from derive.render.latex import latex
from derive.terms import Brace, Const, Diag, Hadamard, Power, Prime, Sum, Transpose, Value

s, a, W = (lambda i: node("s", i)), (lambda i: node("a", i)), Value(node("W"))


def one_minus(v):
    """1 − v: the number 1 broadcast, as notes write it (derive.checks.doccheck reads "1 - s" the same way)."""
    return Sum((Const(1), Prod((Const(-1), v))))


def _verify(cell, lhs, rhs, keep=None, T=3):
    der = Derivation("textbook", "textbook form", "", cell, lhs, [Step(rhs)], keep=keep, bindings=[{"T": T}])
    return verify(der)


def _methods(report, passed):
    return {r.method for r in report.results if r.passed == passed}


LOCAL = [  # (activation, formula for ∂s_3/∂a_3, right?)
    ("logistic", Diag(Hadamard(s(3), one_minus(s(3)))), True),
    ("tanh", Diag(one_minus(Hadamard(s(3), s(3)))), True),
    ("tanh", Diag(one_minus(Power(s(3), 2))), True),
    ("logistic", Diag(Prime(a(3), "logistic")), True),
    ("logistic", Diag(Hadamard(s(3), Sum((Const(1), s(3))))), False),     # 1 + s: a sign slip
    ("tanh", Diag(one_minus(Power(s(2), 2))), False),                      # one step late
    ("tanh", Diag(Hadamard(s(3), one_minus(s(3)))), False),                # the logistic's rule for tanh
    ("logistic", Diag(one_minus(Hadamard(s(3), s(3)))), False),            # tanh's rule for the logistic
]


@pytest.mark.parametrize("keep", [None, ("s", "a", "L")])
@pytest.mark.parametrize("act,formula,right", LOCAL)
def test_sigma_prime_through_the_output(act, formula, right, keep):
    report = _verify(rnn(act), D(s(3), a(3)), formula, keep)
    symbolic = [r for r in report.results if r.method == "symbolic"]
    assert symbolic, [str(r) for r in report.results]
    if right:
        assert report.ok, [str(r) for r in report.failures()]
    else:
        assert not any(r.passed for r in symbolic), [str(r) for r in symbolic]
        assert "numeric-fd" in _methods(report, False)


def test_the_failure_names_the_textbook_form():
    report = _verify(rnn("tanh"), D(s(3), a(3)), Diag(one_minus(Power(s(2), 2))))
    detail = next(r.detail for r in report.results if r.method == "symbolic")
    assert "1 - tanh(a" in detail and "s_m" in detail, detail   # SymPy's σ' in the output form, and s_{t-1}


PRODUCTS = [  # ∂s_3/∂s_2 in a product, with and without a transpose
    ("logistic", Prod((Diag(Hadamard(s(3), one_minus(s(3)))), W)), True),
    ("logistic", Prod((W, Diag(Hadamard(s(3), one_minus(s(3)))))), False),
    ("tanh", Transpose(Prod((Transpose(W), Diag(one_minus(Power(s(3), 2)))))), True),
    ("tanh", Transpose(Prod((W, Diag(one_minus(Power(s(3), 2)))))), False),
    ("tanh", Prod((Transpose(W), Diag(Prime(a(3), "tanh")))), False),      # the gradient layout, not transposed back
]


@pytest.mark.parametrize("act,formula,right", PRODUCTS)
def test_one_step_jacobian_textbook_and_transposed(act, formula, right):
    report = _verify(rnn(act), D(s(3), s(2)), formula)
    if right:
        assert report.ok, [str(r) for r in report.failures()]
    else:
        assert not report.ok
        assert {"symbolic", "numeric-fd"} & _methods(report, False)


@pytest.mark.parametrize("order,right", [((0, 1), True), ((1, 0), False)])
def test_transposed_local_jacobian_inside_a_chain(order, right):
    """∂L_3/∂s_2 = ∂L_3/∂s_3 (Wᵀ diag(tanh'(a_3)))ᵀ, proved exactly; the factors swapped inside fails."""
    inner = [Transpose(W), Diag(Prime(a(3), "tanh"))]
    rhs = Prod((D(node("L", 3), s(3)), Transpose(Prod(tuple(inner[i] for i in order)))))
    report = _verify(rnn("tanh"), D(node("L", 3), s(2)), rhs)
    exact = [r for r in report.results if r.method == "exact"]
    assert exact and all(r.passed == right for r in exact), [str(r) for r in exact]
    assert report.ok == right


def test_one_minus_prints_as_a_difference():
    assert latex(Diag(Hadamard(s(3), one_minus(s(3))))) == \
        r"\operatorname{diag}\left(s_{3} \odot \left(1 - s_{3}\right)\right)"
    assert latex(Diag(one_minus(Power(s(3), 2)))) == r"\operatorname{diag}\left(1 - s_{3}^{2}\right)"


def indrnn(act="logistic"):
    """An IndRNN-like cell: a_t = w ⊙ s_{t−1} + U x_t + b, s_t = σ(a_t): every ∂s_t/∂s_{t−1} is diagonal."""
    sigma = activations.get(act)
    c = Cell("indrnn", dims=("n", "d", "k"))
    n, d, k = c.dims
    w, U, b, V = c.param("w", (d,)), c.param("U", (d, n)), c.param("b", (d,)), c.param("V", (k, d))
    x, e = c.input("x", (n,)), c.label("e", k)
    st = c.state("s", (d,))
    c.define("a", w * st.prev + U @ x + b)
    c.define("s", sigma(c.symbols["a"]))
    y = c.define("y", softmax(V @ c.symbols["s"]))
    c.loss("L", nll(y, e))
    return c


def _chain(order):
    pairs = {1: D(s(2), s(1)), 2: D(s(3), s(2)), 3: D(s(4), s(3))}
    return Prod(tuple(pairs[i] for i in order))


@pytest.mark.parametrize("act", ["logistic", "tanh"])
def test_diagonal_jacobians_commute(act):
    report = _verify(indrnn(act), D(s(4), s(1)), _chain((1, 2, 3)), T=4)
    assert report.ok, [str(r) for r in report.failures()]
    exact = next(r for r in report.results if r.method == "exact")
    assert "diagonal one-step Jacobians commute" in exact.detail and "∂s/∂a" in exact.detail


def test_diagonal_jacobians_still_count_paths():
    report = _verify(indrnn(), D(s(4), s(1)), _chain((1, 3)), T=4)       # ∂s_3/∂s_2 dropped
    assert not report.ok
    assert "exact" in _methods(report, False)


def test_full_jacobians_do_not_commute():
    report = _verify(rnn("logistic"), D(s(4), s(1)), _chain((1, 2, 3)), T=4)
    exact = next(r for r in report.results if r.method == "exact")
    assert not exact.passed and "commute" not in exact.detail


LABELS = [  # ∂s_4/∂W (CS7015 Lecture 14, Module 14.3), each underbrace right or wrong
    (Brace(D(s(4), node("W"), True), "explicit") + Brace(D(s(4), s(3)) * D(s(3), node("W")), "implicit"), 0),
    (Brace(D(s(4), node("W"), True), "implicit") + Brace(D(s(4), s(3)) * D(s(3), node("W")), "explicit"), 2),
    (D(s(4), node("W"), True) + Brace(D(s(4), s(3)) * D(s(3), node("W")), "explicit: the rest"), 1),
    (Brace(D(s(4), node("W")), "explicit"), 1),                     # a total derivative holds both kinds
    (Brace(D(s(4), node("W")), "every path"), 0),                   # a description: not a claim about kinds
]


@pytest.mark.parametrize("rhs,wrong", LABELS)
def test_underbrace_labels_are_checked(rhs, wrong):
    report = verify(Derivation("labels", "labels", "", rnn("tanh"), D(s(4), node("W")), [Step(rhs)],
                               bindings=[{"T": 4}]))
    labels = [r for r in report.results if r.method == "label"]
    assert sum(not r.passed for r in labels) == wrong, [str(r) for r in labels]
    assert all(r.passed for r in report.results if r.method != "label")   # the equation itself is right
    if wrong:
        assert report.verdict("labels", 0) == "FAILED"
