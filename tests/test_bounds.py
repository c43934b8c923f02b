"""The vanishing/exploding bound of CS7015 Module 14.4, each step proved or measured.

Sources: shared/seeds/002_eb405f471485c68d.txt (Module 14.4),
001_2f382c7a805806de.txt (Lecture 105), 003_9ba40663132a09fb.txt (norm bound,
Pascanu remark), 000_7be57cb19668d348.txt (0.01^47, 0.5^47).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp

from derive import activations
from derive.checks.bounds import (
    check_bound_chain, gamma, lecture_numbers, make_instances, pascanu_examples, power_report,
    spectral_norm, spectral_radius, spectral_radius_counterexample, truncation_curves, truncation_error,
)
from derive.errors import InvalidValue, NotSupported, UnknownName
from derive.numeric.reference import rnn as reference_rnn


@pytest.fixture
def registry(monkeypatch):
    """Register test activations in a copy of the table, restored after the test."""
    monkeypatch.setattr(activations, "_REGISTRY", dict(activations._REGISTRY))

    def register(name, f, fp, nf, nfp):
        return activations.register(name, name, sympy=f, prime=fp, numpy=nf, numpy_prime=nfp)

    return register


# ---------------------------------------------------------------------------
# gamma = sup sigma', proved
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, value, argmax, attained", [
    ("logistic", sp.Rational(1, 4), sp.Integer(0), True),        # "sigma'(a_j) <= 1/4 = gamma [logistic]"
    ("tanh", sp.Integer(1), sp.Integer(0), True),                # "<= 1 = gamma [tanh]"
    ("relu", sp.Integer(1), sp.Interval.open(0, sp.oo), True),   # 1 on x > 0 (the rule table sets relu'(0) = 0)
    ("identity", sp.Integer(1), sp.S.Reals, True),
])
def test_gamma_of_the_lecture_activations_is_exact(name, value, argmax, attained):
    res = gamma(name)
    assert res.proved and isinstance(res.value, sp.Basic)
    assert res.value == value, (res.value, value)
    assert res.argmax == argmax and res.attained is attained
    assert res.numeric == pytest.approx(float(value), rel=1e-12)


def test_gamma_bounds_the_numpy_derivative_of_every_registered_activation():
    x = np.linspace(-30, 30, 60_001)
    for name in activations.names():
        res = gamma(name)
        if res.value == sp.oo:
            continue
        assert np.max(activations.get(name).numpy_prime(x)) <= float(res.value) * (1 + 1e-12), name


def test_gamma_of_user_activations(registry):
    registry("softsign", lambda x: x / (1 + sp.Abs(x)), lambda x, y: 1 / (1 + sp.Abs(x)) ** 2,
             lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2)
    registry("tanh2", lambda x: 2 * sp.tanh(x), lambda x, y: 2 * (1 - sp.tanh(x) ** 2),
             lambda x: 2 * np.tanh(x), lambda x: 2 * (1 - np.tanh(x) ** 2))
    registry("softplus", lambda x: sp.log(1 + sp.exp(x)), lambda x, y: 1 / (1 + sp.exp(-x)),
             lambda x: np.logaddexp(0, x), lambda x: activations.get("logistic").numpy(x))
    registry("gauss", lambda x: sp.exp(-x ** 2), lambda x, y: -2 * x * sp.exp(-x ** 2),
             lambda x: np.exp(-x ** 2), lambda x: -2 * x * np.exp(-x ** 2))
    assert (gamma("softsign").value, gamma("softsign").argmax) == (1, 0)      # kink at 0: piecewise
    assert gamma("tanh2").value == 2
    sp_res = gamma("softplus")                                                # sup = 1, never attained
    assert (sp_res.value, sp_res.argmax, sp_res.attained) == (1, sp.oo, False)
    g = gamma("gauss")                                                        # max of -2x e^{-x^2}
    assert sp.simplify(g.value - sp.sqrt(2) * sp.exp(-sp.Rational(1, 2))) == 0
    assert sp.simplify(g.argmax + 1 / sp.sqrt(2)) == 0


def test_gamma_that_sympy_cannot_prove_is_refused_or_labelled(registry):
    # sigma'' = 0 is transcendental: tanh(x) sech^2(x) = -sin(x)/20 -> a ConditionSet
    registry("wobbly", lambda x: sp.tanh(x) + sp.sin(x) / 10, lambda x, y: 1 - sp.tanh(x) ** 2 + sp.cos(x) / 10,
             lambda x: np.tanh(x) + np.sin(x) / 10, lambda x: 1 - np.tanh(x) ** 2 + np.cos(x) / 10)
    with pytest.raises(NotSupported, match="cannot prove gamma for 'wobbly'"):
        gamma("wobbly")
    est = gamma("wobbly", estimate=True)
    assert not est.proved and est.value is None and "NOT a proof" in est.proof_method
    assert est.numeric == pytest.approx(1.1, rel=1e-9)
    with pytest.raises(NotSupported, match="not proved"):
        float(est)


def test_gamma_is_never_wrong_when_rule_and_numpy_disagree(registry):
    registry("inconsistent", sp.tanh, lambda x, y: 1 - y ** 2, np.tanh, lambda x: 1.5 - np.tanh(x) ** 2)
    with pytest.raises(NotSupported, match="below the NumPy derivative"):
        gamma("inconsistent")


def test_unbounded_derivative_gives_infinite_gamma(registry):
    registry("square", lambda x: x ** 2, lambda x, y: 2 * x, lambda x: x ** 2, lambda x: 2 * x)
    assert gamma("square").value == sp.oo
    with pytest.raises(NotSupported, match="0 < gamma < oo"):
        make_instances("square", 10)


# ---------------------------------------------------------------------------
# the bound chain, measured
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tanh_report():
    start = time.perf_counter()
    report = check_bound_chain(make_instances("tanh", 10_000, seed=0))
    return report, time.perf_counter() - start


def test_every_step_of_the_chain_holds_on_10000_instances(tanh_report):
    report, _ = tanh_report
    assert report.ok, report.summary()
    assert [c.name for c in report.claims] == [
        "jacobian", "submultiplicative", "gamma", "lambda", "step", "product", "power"]
    assert report.instances.N == 10_000 and report["power"].checked == 10_000 * 16


def test_adversarial_instances_make_the_bound_tight(tanh_report):
    report, _ = tanh_report
    inst = report.instances
    tight = (inst.drive_scale == 0) & (inst.kind == "orthogonal")   # pinned at sigma' = gamma, ||W^m|| = lambda^m
    assert tight.sum() > 100
    np.testing.assert_allclose(report["power"].ratio[tight], 1.0, rtol=1e-10)
    assert report["gamma"].tightness()["max"] == 1.0
    # saturated instances: the bound is very loose
    saturated = inst.drive_scale == 10.0
    assert np.median(report["power"].ratio[saturated][:, -1]) < 1e-6
    # both sides of gamma lambda = 1 are represented
    assert {0.99, 1.0, 1.01} <= set(np.unique(inst.target).tolist())


@pytest.mark.parametrize("activation", ["logistic", "relu", "identity"])
def test_chain_holds_for_other_activations(activation):
    report = check_bound_chain(make_instances(activation, 1_000, seed=1))
    assert report.ok, report.summary()


def test_wrong_gamma_is_reported_violated():
    # gamma = 1/8 for the logistic: sigma'(0) = 1/4 > 1/8 on unsaturated instances
    report = check_bound_chain(make_instances("logistic", 1_000, seed=2), gamma_value=1 / 8)
    assert "gamma" in report.violated() and "power" in report.violated()
    assert report["gamma"].tightness()["max"] == pytest.approx(2.0)
    assert "VIOLATED" in report.summary()


def test_wrong_exponent_is_reported_violated():
    # (gamma lambda)^(t-k-1) is below the true norm when gamma lambda > 1 and the bound is tight
    report = check_bound_chain(make_instances("tanh", 1_000, seed=3), exponent=lambda m: m - 1)
    assert report.violated() == ["power"]
    n, gap = report["power"].worst()
    assert report.instances.target[n] > 1


def test_spectral_radius_in_place_of_norm_is_reported_violated():
    report = check_bound_chain(make_instances("tanh", 1_000, seed=4), lam=spectral_radius)
    assert {"lambda", "step", "power"} <= set(report.violated())
    worst = report["power"].worst()[0]
    assert report.instances.kind[worst] == "nonnormal"


def test_jacobian_claim_catches_a_derivative_rule_that_does_not_match_the_function(registry):
    # the rule table claims sigma' = 2 (1 - tanh^2) for sigma = tanh: gamma (= 2) is proved for the
    # claimed rule, but finite differences of sigma disagree with diag(sigma'(a)) W
    registry("tanh_bad_rule", sp.tanh, lambda x, y: 2 * (1 - y ** 2), np.tanh, lambda x: 2 * (1 - np.tanh(x) ** 2))
    report = check_bound_chain(make_instances("tanh_bad_rule", 500, seed=5))
    assert report.violated() == ["jacobian"]


def test_norm_helpers_against_closed_forms():
    W = np.array([[0.9, 4.0], [0.0, 0.9]])
    assert spectral_radius(W) == pytest.approx(0.9)
    # ||W||_2^2 = largest eigenvalue of W^T W
    assert spectral_norm(W) ** 2 == pytest.approx(np.max(np.linalg.eigvalsh(W.T @ W)))


def test_bad_instance_arguments():
    with pytest.raises(InvalidValue, match="n must be"):
        make_instances("tanh", 0)
    with pytest.raises(InvalidValue, match="gamma_lambdas"):
        make_instances("tanh", 10, gamma_lambdas=(-1.0,))
    with pytest.raises(UnknownName, match="kind of W"):
        make_instances("tanh", 10, kinds=("symmetric",))
    with pytest.raises(UnknownName, match="activation"):
        make_instances("sine", 10)


# ---------------------------------------------------------------------------
# spectral radius is not enough; Pascanu et al.'s remark
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "logistic"])
def test_spectral_radius_counterexample(activation):
    c = spectral_radius_counterexample(activation, gamma_rho=0.9, coupling=4.0, T=30)
    assert c.gamma * c.rho < 1 < c.gamma * c.lam
    assert 1 in c.violated_gaps.tolist() and c.lambda_bound_holds
    # closed form: (gamma W)^m = [[r^m, m c r^(m-1)], [0, r^m]], r = 0.9, c = 4
    m = c.gaps
    closed = np.array([np.linalg.norm([[0.9 ** k, k * 4.0 * 0.9 ** (k - 1)], [0, 0.9 ** k]], 2) for k in m])
    np.testing.assert_allclose(c.norms, closed, rtol=1e-12)
    assert c.norms.max() > 10 and c.norms[-1] < c.norms.max()     # transient growth, eventual decay


def test_pascanu_sufficient_not_necessary():
    demo = pascanu_examples("tanh", gamma_lambda=3.0, T=30, n=500)
    assert demo.sufficient.ok and demo.largest_final_norm <= demo.largest_final_bound
    # unsaturated: explodes exactly like 3^t; saturated: vanishes although gamma lambda = 3
    np.testing.assert_allclose(demo.exploding, 3.0 ** np.arange(1, 31), rtol=1e-10)
    assert demo.saturated[-1] < 1e-50 and demo.saturated_preactivation > 3


# ---------------------------------------------------------------------------
# the lecture's numbers
# ---------------------------------------------------------------------------
def test_lecture_numbers_exact_and_float():
    nums = lecture_numbers()
    assert nums["0.01^47"].exact == sp.Rational(1, 10 ** 94)
    assert nums["0.5^47"].exact == sp.Rational(1, 2 ** 47)
    assert nums["0.5^100"].exact == sp.Rational(1, 2 ** 100)
    assert nums["0.5^47"].float_value == 7.105427357601002e-15 and nums["0.5^47"].rel_error == 0.0
    assert nums["0.5^100"].value.startswith("7.88860905221011")
    # 0.01 is not a binary float: 0.01**47 is off by about one ulp
    assert 0 < nums["0.01^47"].rel_error < 1e-14
    assert nums["0.01^47"].agrees_with_lecture() and nums["0.5^47"].agrees_with_lecture()
    assert nums["0.01^47"].latex() == "0.01^{47} = 10^{-94}"
    assert nums["0.5^47"].latex() == r"0.5^{47} = 7.1054274 \times 10^{-15}"


def test_underflow_is_flagged_and_computed_with_mpmath():
    r = lecture_numbers()["0.01^200"]
    assert r.underflows and r.float_value == 0.0 and r.value == "1.0e-400" and r.log10 == pytest.approx(-400)
    assert power_report("0.01", 160).status == "subnormal"
    assert power_report(1.5, 2000).status == "overflow"


def test_power_report_checks_the_printed_digits_and_input():
    assert power_report("0.5", 47, lecture_value="7.1054275e-15").agrees_with_lecture() is False
    assert power_report(0.5, 47).agrees_with_lecture() is None
    for bad in ("abc", -0.5, float("nan"), True):
        with pytest.raises(InvalidValue, match="base"):
            power_report(bad, 3)
    with pytest.raises(InvalidValue, match="exponent"):
        power_report("0.5", 2.5)


# ---------------------------------------------------------------------------
# truncated BPTT
# ---------------------------------------------------------------------------
def test_truncation_error_contracting_vs_expanding():
    contracting, expanding = truncation_curves((0.5, 1.5))
    assert contracting.errors[-1] < 1e-12 and expanding.errors[-1] < 1e-12    # tau = T-1 is full BPTT
    assert contracting.errors[0] > 0.1 and expanding.errors[0] > 0.5
    assert contracting.errors[10] < 1e-4 < 0.1 < expanding.errors[10]
    # contracting: the error shrinks geometrically, about like (gamma lambda)^tau
    rate = np.exp(np.mean(np.diff(np.log(contracting.errors[1:20]))))
    assert 0.3 < rate < 0.7


def test_truncation_definition_by_brute_force_path_sum():
    """g_tau = sum_t dL_t/ds_t sum_{k=max(1,t-tau)}^t ds_t/ds_k d+s_k/dW, written out (Modules 14.3-14.4)."""
    T, d = 6, 3
    params = reference_rnn.init_params(2, d, 3, seed=7)
    rng = np.random.default_rng(8)
    X, labels = rng.standard_normal((T, 1, 2)), rng.integers(3, size=(T, 1))
    cache = reference_rnn.forward(params, X, labels)
    a, s, y = cache.a[:, 0], cache.s[:, 0], cache.y[:, 0]
    dsig = 1 - np.tanh(a) ** 2
    J = [None] + [dsig[t - 1][:, None] * params["W"] for t in range(1, T + 1)]   # J[t] = ds_t/ds_{t-1}
    for tau in (0, 1, 3, T - 1):
        gW = np.zeros((d, d))
        for t in range(1, T + 1):
            e = np.eye(3)[labels[t - 1, 0]]
            dLds = params["V"].T @ (y[t - 1] - e)                     # dL_t/ds_t
            for k in range(max(1, t - tau), t + 1):
                row = dLds.copy()
                for j in range(t, k, -1):                             # row vector times ds_t/ds_k
                    row = row @ J[j]
                gW += np.outer(row * dsig[k - 1], s[k - 1])           # d+s_k/dW contracted with row
        ref = reference_rnn.bptt(params, X, labels, truncate=tau).grads["W"]
        np.testing.assert_allclose(ref, gW, rtol=1e-12, atol=1e-14, err_msg=f"tau = {tau}")


def test_truncation_error_rejects_bad_gamma_lambda():
    with pytest.raises(InvalidValue, match="gamma_lambda"):
        truncation_error(0.0)


_XL = sp.Symbol("x", real=True)


@pytest.mark.parametrize("expr", [
    sp.exp(-_XL) / (1 + sp.exp(-_XL)) ** 2, 1 - sp.tanh(_XL) ** 2, 1 / (1 + sp.exp(-_XL)), sp.exp(_XL),
    (2 * sp.exp(_XL) + 1) / (sp.exp(_XL) + 3), sp.exp(_XL / 2) / (1 + sp.exp(_XL)), sp.exp(_XL) - sp.exp(2 * _XL),
    1 - sp.exp(-_XL), sp.exp(-3 * _XL) / (1 + sp.exp(-_XL)) ** 3,
])
def test_the_fast_limit_at_infinity_agrees_with_sympys_limit(expr):
    # gamma's limits at +-oo of a rational function of exp(c x) are read off the leading terms; each must be
    # SymPy's (Gruntz) limit, and anything else must be left to SymPy
    from derive.model import supremum

    e = expr.subs(_XL, supremum._X)
    for end in (sp.oo, -sp.oo):
        assert supremum._limit_at_infinity_of_exp_rational(e, end) == sp.limit(e, supremum._X, end)
    for other in (supremum._X * sp.exp(-supremum._X), sp.sin(supremum._X), sp.exp(supremum._X ** 2)):
        assert supremum._limit_at_infinity_of_exp_rational(other, sp.oo) is None
