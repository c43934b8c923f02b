"""The audit's verdict logic (issue 14, item 6a) and the one checking vocabulary (issue 11, item 3a).

A failed exact or symbolic check is a failure whatever the numbers say; the numbers decide only where
no exact check applies; an exception inside a check is a failed check with its reason, never a crash.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from derive.prove.canon import Canon
from derive.checks.catalog import (AuditConfig, AuditReport, ClaimResult, Claim, Computed, Identity, Implication, Source,
                            audit, check_claim, format_table, to_json)
from derive.checks.catalog.checks import Run, compare_sides
from derive.cells import lstm, rnn
from derive.errors import NotSupported
from derive.checks.verify import CheckResult, Counterexample, Report, compare

SRC = Source("course.txt", "eq. (1)", "...")
# ∂L_t/∂W with the k = 1 path dropped (Σ_{k=2}^{t}): at t = 30 the dropped path has vanished below the
# numeric tolerance on every default instance of the logistic RNN, so only the exact check sees it.
DROPPED = "dL_t(theta)/ds_t sum_{k=2}^{t} ds_t/ds_k d+s_k/dW"
RIGHT = "dL_t(theta)/ds_t sum_{k=1}^{t} ds_t/ds_k d+s_k/dW"


def _claim(rhs: str, t: int, cid: str = "c") -> Claim:
    return Claim(cid, SRC, "cs7015", Identity("dL_t(theta)/dW", rhs, rnn, [{"t": t, "T": t}],
                                              activations=("logistic",)))


def test_a_failed_exact_check_is_a_failure_whatever_the_numbers_say():
    r = check_claim(_claim(DROPPED, 30))
    numeric = [c for c in r.checks if c.method == "numeric"]
    assert numeric and all(c.passed for c in numeric)           # the numbers alone cannot see the dropped path
    assert [c.verdict for c in r.checks if c.method == "exact"] == ["failed"]
    assert r.verdict == "fails" and r.decided_by == "exact" and not r.passed
    doc = json.loads(to_json(AuditReport([r])))["claims"][0]
    assert doc["verdict"] == "fails" and doc["decided_by"] == "exact"
    table = format_table(AuditReport([r]))
    assert "decided by the exact check" in table and "FAILS" in table


def test_the_right_statement_holds_and_the_exact_check_decides():
    r = check_claim(_claim(RIGHT, 30))
    assert r.verdict == "holds" and r.decided_by == "exact" and r.how == ["exact", "numeric"]
    assert json.loads(to_json(AuditReport([r])))["claims"][0]["decided_by"] == "exact"


def test_numbers_decide_only_where_no_exact_check_applies(monkeypatch):
    def no_canonical_form(self, lhs, rhs):
        raise NotSupported("no canonical form for this term")

    monkeypatch.setattr(Canon, "difference", no_canonical_form)
    right = check_claim(_claim(RIGHT, 8))
    exact = [c for c in right.checks if c.method == "exact"]
    assert [c.verdict for c in exact] == ["not_applicable"] and "no canonical form" in exact[0].detail
    assert right.verdict == "holds" and right.decided_by == "numeric" and right.how == ["numeric"]
    wrong = check_claim(_claim(DROPPED, 8))                     # at t = 8 the numbers see the dropped path
    assert wrong.verdict == "fails" and wrong.decided_by == "numeric"
    checks = json.loads(to_json(AuditReport([right])))["claims"][0]["checks"]
    assert {c["verdict"] for c in checks} == {"not_applicable", "passed"}


def test_an_exception_inside_the_exact_check_is_a_failed_check_not_a_crash(monkeypatch):
    def broken(self, lhs, rhs):
        raise KeyError("a_1")

    monkeypatch.setattr(Canon, "difference", broken)
    r = check_claim(_claim(RIGHT, 8))
    bad = [c for c in r.checks if not c.passed]
    assert [c.method for c in bad] == ["exact"] and "KeyError" in bad[0].detail and "a_1" in bad[0].detail
    assert r.verdict == "fails" and r.decided_by == "exact"     # the numbers pass, and do not overrule it


def test_an_exception_in_the_numeric_evaluation_is_a_failed_check(monkeypatch):
    from derive.checks.catalog.evaluate import ClaimNumbers

    def broken(self, term):
        raise ZeroDivisionError("the instance divides by zero")

    monkeypatch.setattr(ClaimNumbers, "value", broken)
    r = check_claim(_claim(RIGHT, 4))
    numeric = [c for c in r.checks if c.method == "numeric"]
    assert numeric and not any(c.passed for c in numeric)
    assert all("ZeroDivisionError: the instance divides by zero" in c.detail for c in numeric)
    assert r.verdict == "fails" and r.decided_by == "numeric"


@pytest.mark.parametrize("meaning", [
    Computed(lambda rng: (_ for _ in ()).throw(RuntimeError("boom")), "a property that raises"),
    Implication("", "a conclusion", lambda rng: (_ for _ in ()).throw(IndexError("boom"))),
])
def test_any_exception_inside_a_claim_check_is_a_failed_check_with_its_reason(meaning):
    rep = audit([Claim("raises", SRC, "cs7015", meaning), _claim(RIGHT, 3, "after")])   # the audit goes on
    r = rep["raises"]
    assert r.verdict == "fails" and r.checks and not any(c.passed for c in r.checks)
    assert all("boom" in c.detail and "Error" in c.detail for c in r.checks)
    assert rep["after"].verdict == "holds"


def test_an_exception_in_a_meanings_own_check_code_is_a_failed_check(monkeypatch):
    monkeypatch.setattr(Identity, "check", lambda self, run, notation: [][0])
    r = check_claim(_claim(RIGHT, 3))
    assert r.verdict == "fails" and r.decided_by == "exception"
    assert "IndexError" in r.checks[0].detail and r.checks[0].verdict == "failed"


# -- one vocabulary ------------------------------------------------------------------------------
def test_claims_speak_the_verify_vocabulary():
    r = check_claim(_claim(DROPPED, 8))
    assert isinstance(r, CheckResult) and all(type(c) is CheckResult for c in r.checks)
    assert all(c.subject == "c" and c.reference for c in r.checks)
    assert isinstance(r.counterexample, Counterexample)
    rep = AuditReport([r])
    assert isinstance(rep, Report) and not rep.ok and rep.failures() == [r] and rep["c"] is r
    copy = ClaimResult(**r.__dict__)
    assert copy.verdict == r.verdict and copy.decided_by == r.decided_by


def test_one_compare_relative_to_the_terms():
    ok, msg = compare(np.array([[1.0, 2e-12]]), np.array([[1.0, 0.0]]), rtol=1e-9, what="a", against="b")
    assert ok and "relative to the terms' size" in msg
    wrong = compare(np.array([[1e-3]]), np.array([[2e-3]]), rtol=1e-9, what="a", against="b", scale=2e-3)
    assert not wrong.passed and wrong.entry == (0, 0) and wrong.relative == pytest.approx(0.5)
    side = compare_sides(0.0, np.ones((2, 2)))                  # a scalar 0 is the zero matrix
    assert not side.passed and side.entry is not None and "left = 0" in side.detail
    assert compare_sides(np.eye(2), np.eye(2)).passed


def test_the_audit_caches_are_keyed_by_the_cell_structure_not_its_identity():
    run = Run(AuditConfig())
    a, b = rnn("tanh"), rnn("tanh")
    assert a is not b and run.graph(a, 3) is run.graph(b, 3)
    assert run.graph(rnn("logistic"), 3) is not run.graph(a, 3)
    assert run.graph(lstm(), 3) is not run.graph(a, 3)
    size = {"n": 2, "d": 1, "k": 3}
    assert run.evaluator(a, 3, size, 0) is run.evaluator(b, 3, size, 0)


def test_renamed_names_still_work_with_a_deprecation():
    import derive.checks.bounds as bounds
    from derive.checks.catalog import Check

    with pytest.warns(DeprecationWarning, match="SpectralRadiusExample"):
        old = bounds.Counterexample
    assert old is bounds.SpectralRadiusExample
    example = bounds.spectral_radius_counterexample("tanh", T=5)
    cx = example.counterexample
    assert isinstance(cx, Counterexample) and cx.lhs > cx.rhs and cx.instance["t - k"] == 1
    with pytest.warns(DeprecationWarning, match="CheckResult"):
        c = Check("exact", False, {"binding": {"t": 2}}, "differs")
    assert isinstance(c, CheckResult) and c.method == "exact" and c.verdict == "failed" and c.where_text() == \
        "binding=t=2"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from derive.checks.bounds import SpectralRadiusExample  # noqa: F401 - the new name does not warn


def test_an_exception_inside_a_numeric_reference_fails_the_step_and_verify_goes_on(monkeypatch):
    from derive.prove.expand import recursive_expansion
    from derive.model.graph import unroll
    from derive.numeric.evaluator import Evaluator
    from derive.checks.verify import verify

    der = recursive_expansion(unroll(rnn(), 3), "s_3", "W")

    def broken(self, f, x):
        raise KeyError("a_1")

    monkeypatch.setattr(Evaluator, "finite_difference", broken)
    rep = verify(der, sizes=[{"n": 2, "d": 2, "k": 3}], alive_paths=False)
    bad = rep.failures()
    assert bad and all(r.method == "numeric-fd" and "KeyError" in r.detail and "a_1" in r.detail for r in bad)
    assert {r.step for r in bad} == set(range(len(der.steps)))
    assert any(r.method == "exact" and r.passed for r in rep.results)    # the exact checks still ran
    assert rep.verdict(der.id, 0) == "FAILED"


def test_a_derivations_numeric_failure_carries_the_one_counterexample_type():
    from derive import D, Derivation, Prod, Step, Sum, node, verify

    s, W = (lambda i: node("s", i)), node("W")
    wrong = Sum(tuple(Prod((D(s(4), s(i)), D(s(i), W, True))) for i in (4, 3, 2)))    # the k = 1 path dropped
    der = Derivation("dropped", "", "", rnn(), D(s(4), W), [Step(wrong)], bindings=[{"T": 4}])
    rep = verify(der, sizes=[{"n": 3, "d": 2, "k": 4}], exact=False, alive_paths=False)
    bad = [r for r in rep.failures() if r.method.startswith("numeric")]
    assert bad and all(isinstance(r.counterexample, Counterexample) for r in bad)
    cx = bad[0].counterexample
    assert cx.entry is not None and cx.relative > 1e-6 and np.shape(cx.lhs) == np.shape(cx.rhs)
    right = Sum(tuple(Prod((D(s(4), s(i)), D(s(i), W, True))) for i in (4, 3, 2, 1)))
    ok = verify(Derivation("right", "", "", rnn(), D(s(4), W), [Step(right)], bindings=[{"T": 4}]),
                sizes=[{"n": 3, "d": 2, "k": 4}], exact=False, alive_paths=False)
    assert ok.ok and all(r.counterexample is None for r in ok.results)


def test_every_check_of_a_lecture_names_its_reference_and_every_verdict_the_method_that_decided_it():
    rep = audit(pattern="l105-*")
    assert len(rep.results) > 20
    for r in rep.results:
        assert all(c.reference for c in r.checks), r.claim.id
        if r.verdict in ("holds", "holds_simplified", "fails", "transcription"):
            assert r.decided_by in ("exact", "symbolic", "numeric"), r.claim.id
        else:
            assert not r.decided_by
