"""The lecture catalog and its audit: every claim as printed, verdicts, counterexamples, corrections, outputs.

The audit of the whole catalog runs once (module fixture, ~5 s); the tests
read it.  Expected verdicts live in the catalog itself (``Claim.expected``),
so a change in the engine that flips a verdict fails here with the claim's id.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest

from derive.algebra import D, Prod, ProdOver, Sum, SumOver, idx, node
from derive.checks.catalog import (
    AuditConfig, Bound, Claim, Identity, Shapes, Source, audit, check_claim, collect_derivations, errata_entries,
    format_table, load_claims, main_audit, main_verify, parse, results_to_json, select_ids, to_json, to_junit,
    verify_all,
)
from derive.cells import rnn
from derive.errors import DeriveError, InvalidValue, UnknownName
from derive.checks.verify import CheckResult

SEEDS = ("000_7be57cb19668d348.txt", "001_2f382c7a805806de.txt", "002_eb405f471485c68d.txt",
         "003_9ba40663132a09fb.txt", "004_ac394c33ecf151bd.txt")


@pytest.fixture(scope="module")
def report():
    return audit()


# -- the catalog itself ----------------------------------------------------------------------
def test_every_lecture_has_claims_and_ids_are_unique():
    claims = load_claims()
    assert {c.source.file for c in claims} == set(SEEDS)
    ids = ([c.id for c in claims] + [c.correction.id for c in claims if c.correction]
           + [c.simplified.id for c in claims if c.simplified])
    assert len(ids) == len(set(ids))
    # a correction holds; a transcription's reconstruction may hold with its lecture's announced simplification
    assert all(c.correction.expected in ("holds", "holds_simplified") for c in claims if c.correction)
    assert all(c.correction is not None for c in claims if c.expected in ("fails", "transcription"))
    assert all(c.simplified is not None and c.simplified.expected == "holds"
               for c in claims if c.expected == "holds_simplified")


def test_every_verdict_is_the_expected_one(report):
    wrong = [(r.claim.id, r.claim.expected, r.verdict, r.reason) for r in report.results if r.unexpected]
    assert not wrong
    assert not report.by_verdict("error"), [r.reason for r in report.by_verdict("error")]


def test_every_correction_holds(report):
    for r in report.results:
        if r.correction is not None:
            c = r.correction
            assert c.verdict in ("holds", "holds_simplified"), (c.claim.id, c.reason)
            if c.verdict == "holds_simplified":      # a reconstruction that is itself an announced simplification
                assert r.verdict == "transcription" and c.simplified.verdict == "holds", c.claim.id
                c = c.simplified
            assert c.how, c.claim.id


LECTURE_ERRORS = ["l59-eq17", "l59-eq19", "l59-eq20", "l59-eq20-order", "l105-recap-Lt", "l14-14.3-dims-U",
                  "l14-14.3-dims-V", "cs224n-power", "cs224n-pascanu-sigmoid", "cs224n-pascanu-eigen",
                  "cs224n-explode-eigen"]
TRANSCRIPTION_SLIPS = ["l59-clip-value", "l14-expand-3-labels", "l14-expand-4", "l14-14.4-aj", "l14-14.4-strict",
                       "l14-14.5-da-dW"]
ANNOUNCED_SIMPLIFICATIONS = ["l105-aj", "l14-14.3-s4"]


@pytest.mark.parametrize("claim_id", LECTURE_ERRORS)
def test_known_errors_fail_as_printed(report, claim_id):
    r = report[claim_id]
    assert r.verdict == "fails"
    assert r.correction is not None and r.correction.verdict == "holds"
    assert r.counterexample is not None and r.counterexample.detail
    assert r.claim.evidence


@pytest.mark.parametrize("claim_id", TRANSCRIPTION_SLIPS)
def test_transcription_slips_fail_as_transcribed_and_their_reconstruction_holds(report, claim_id):
    r = report[claim_id]
    assert r.verdict == "transcription"
    assert r.claim.transcript and r.claim.evidence
    assert any(not c.passed for c in r.checks)                 # the garbled text is checked, and fails
    assert r.correction is not None and r.correction.verdict in ("holds", "holds_simplified")
    if claim_id != "l14-expand-3-labels":  # a label error has no numbers, only the offending term
        assert r.counterexample is not None and r.counterexample.detail


@pytest.mark.parametrize("claim_id", ANNOUNCED_SIMPLIFICATIONS + ["l14-14.4-aj:corrected"])
def test_announced_simplifications_hold_in_their_special_case(report, claim_id):
    r = report[claim_id] if ":" not in claim_id else report[claim_id.split(":")[0]].correction
    assert r.verdict == "holds_simplified"
    assert any(not c.passed for c in r.checks)                 # as stated (U x_j kept) it does not hold
    assert r.simplified is not None and r.simplified.verdict == "holds"
    assert all(c.where["recipe"] == "no_input" for c in r.simplified.checks)
    assert "you will have a U x_j here" in r.claim.evidence


def test_judgements_the_checks_do_not_bear_out_are_not_applied():
    from derive.checks.catalog import Identity as Id

    wrong = Id("a_j", "W s_j + b", rnn, [{"j": 1, "T": 2}])
    right = Id("a_j", "W s_{j-1} + U x_j + b", rnn, [{"j": 1, "T": 2}])
    # a "simplification" whose special case does not hold either (s_j for s_{j-1}): the lecture's error
    bad = Claim("bad-simplified", _src(1), "cs7015", wrong, judged="holds_simplified", evidence="said so",
                simplified=Claim("bad-simplified:s", _src(1), "cs7015",
                                 Id("a_j", "W s_j + b", rnn, [{"j": 1, "T": 2}], recipe="no_input"),
                                 statement="a_j = W s_j + b when x = 0"))
    assert check_claim(bad).verdict == "fails"
    # a "transcription" whose reconstruction fails is not excused
    slip = Claim("bad-slip", _src(1), "cs7015", wrong, judged="transcription", transcript="|a_j| = Ws_j + b",
                 evidence="the other seed", correction=Claim("bad-slip:r", _src(1), "cs7015",
                                                             Id("a_j", "W s_j + U x_j + b", rnn, [{"j": 1, "T": 2}])))
    assert check_claim(slip).verdict == "fails"
    ok = Claim("ok-slip", _src(1), "cs7015", wrong, judged="transcription", transcript="|a_j| = Ws_j + b",
               evidence="the other seed", correction=Claim("ok-slip:r", _src(1), "cs7015", right))
    assert check_claim(ok).verdict == "transcription"
    # a "transcription" that holds as printed is reported as holding (and differs from what was expected)
    fine = Claim("fine", _src(1), "cs7015", right, judged="transcription", transcript="x", evidence="e",
                 expected="transcription", correction=Claim("fine:r", _src(1), "cs7015",
                                                            Id("a_j", "U x_j + W s_{j-1} + b", rnn,
                                                               [{"j": 1, "T": 2}])))
    r = check_claim(fine)
    assert r.verdict == "holds" and r.unexpected


def test_a_correction_identical_to_its_statement_is_refused():
    same = Identity("ds_t/ds_k", "prod_{j=k}^{t-1} ds_{j+1}/ds_j", rnn, [{"t": 2, "k": 0, "T": 2}])
    with pytest.raises(InvalidValue, match="prints the same statement"):
        Claim("same", _src(1), "cs7015", same, expected="fails", evidence="e",
              correction=Claim("same:c", _src(1), "cs7015", same, expected="holds"))
    with pytest.raises(InvalidValue, match="prints the same statement"):
        Claim("same2", _src(1), "cs7015", same, statement="x  =  y", evidence="e",
              correction=Claim("same2:c", _src(1), "cs7015", same, statement="x = y"))

    def lazy():
        return Identity("ds_2/ds_0", "ds_2/ds_1 ds_1/ds_0", rnn, [{"T": 2}])

    r = check_claim(Claim("lazy-same", _src(1), "cs7015", lazy, evidence="e",
                          correction=Claim("lazy-same:c", _src(1), "cs7015", lazy)))
    assert r.verdict == "error" and "prints the same statement" in r.reason


def test_no_catalog_correction_prints_the_same_as_its_claim(report):
    for r in report.results:
        if r.correction is not None:
            assert " ".join(r.claim.statement.split()) != " ".join(r.correction.claim.statement.split()), r.claim.id


def _printed(claim) -> str:
    """A claim's printed statement, normalised (spaces, and the lecture's ∂⁺ spelled as the parser's d+)."""
    return " ".join(claim.statement.replace("∂⁺", "d+").split())


def test_identical_printed_statements_get_the_same_verdict(report):
    """The same printed formula gets the same reading everywhere: identical statements (in the same notation),
    across seeds and within one, have identical verdicts; corrections and special cases included."""
    results = list(report.results) + [r.correction for r in report.results if r.correction is not None]
    groups: dict = {}
    for r in results:
        if r.claim.kind != "prose":
            # a claim on the underbrace labels (l14-expand-3-labels) says something else about the same formula
            labels = getattr(r.claim.build(), "labels", False)
            groups.setdefault((r.claim.notation, _printed(r.claim)) + (("labels",) if labels else ()), []).append(r)
    shared = {k: rs for k, rs in groups.items() if len(rs) > 1}
    files = {k: {r.claim.source.file for r in rs} for k, rs in shared.items()}
    assert any(len(f) > 1 for f in files.values())           # there are statements printed in two seeds
    for key, rs in shared.items():
        assert len({r.verdict for r in rs}) == 1, [(r.claim.id, r.verdict) for r in rs]
    # the Π of slide 34/41 (seeds/001) and of Module 14.4 (seeds/002) is one statement with one verdict
    pi = {r.claim.id for r in groups[("cs7015", "ds_t/ds_k = prod_{j=k}^{t-1} ds_{j+1}/ds_j")]}
    assert {"l105-product", "l105-product-ascending", "l14-14.4-product"} <= pi
    # a_j = W s_{j-1} + b: printed on slide 35/41, reconstructed for Module 14.4: both hold as simplified
    aj = groups[("cs7015", "a_j = W s_{j-1} + b")]
    assert {r.claim.id for r in aj} == {"l105-aj", "l14-14.4-aj:corrected"}


def test_every_verdict_carries_its_kind_and_evidence(report):
    from derive.checks.catalog import VERDICTS

    doc = json.loads(to_json(report))
    for r, c in zip(report.results, doc["claims"]):
        assert r.kind == r.verdict == c["verdict"] and r.verdict in VERDICTS
        if r.verdict in ("fails", "transcription", "holds_simplified"):
            assert r.claim.evidence.strip() and c["evidence"] == r.claim.evidence, r.claim.id
        if r.verdict == "transcription":
            assert c["transcript"] and c["correction"]["verdict"] in ("holds", "holds_simplified")
        if r.verdict == "holds_simplified":
            assert c["simplified"]["verdict"] == "holds" and r.special_case
    s = report.summary()
    assert sum(s[v] for v in VERDICTS) == s["claims"] == len(report.results)
    assert s["transcription"] >= 6 and s["holds_simplified"] >= 2


@pytest.mark.parametrize("claim_id", [
    "l59-eq15", "l59-eq15-product", "l59-eq16", "l59-eq18", "l59-0.5-pow-47", "l59-0.01-pow-47",
    "l105-product", "l105-ds-ds", "l105-power", "l105-step-gammalambda", "l105-gamma-logistic",
    "l14-expand-1", "l14-expand-2", "l14-expand-3", "l14-short-circuit-sum", "l14-bptt", "l14-14.5-tensor",
    "cs224n-chain", "cs224n-jacobian", "cs224n-norm-bound", "l111-ds-ds-explicit", "l111-forget-path",
])
def test_correct_statements_hold(report, claim_id):
    assert report[claim_id].verdict == "holds"


def test_how_a_claim_holds_is_reported(report):
    assert report["l14-expand-2"].how == ["exact", "numeric"]           # path sums in the free algebra
    assert report["l105-ds-ds"].how == ["symbolic", "numeric"]          # SymPy, element by element
    assert report["l105-power"].how == ["numeric"]                      # a bound, on seeded instances
    assert report["l59-0.5-pow-47"].how == ["exact", "numeric"]         # exact arithmetic and float64


def _ascending_product():
    """The Π of slide 34/41 with its factors in increasing j: not the lecture's reading, true for d = 1 only."""
    from derive.proofs.catalog.l105_cs7015 import PAIRS

    return check_claim(Claim("ascending", _src(1), "cs7015",
                             Identity("ds_t/ds_k", "prod_{j=k}^{t-1} ds_{j+1}/ds_j", rnn, PAIRS, order="ascending")))


@pytest.mark.parametrize("claim_id", ["ascending", "cs224n-power", "l59-eq20-order"])
def test_claims_true_only_for_scalars_say_so(report, claim_id):
    r = _ascending_product() if claim_id == "ascending" else report[claim_id]
    assert "d = 1 only" in r.special_case
    numeric = [c for c in r.checks if c.method == "numeric"]
    assert all(c.passed for c in numeric if c.where["sizes"]["d"] == 1)
    assert not all(c.passed for c in numeric if c.where["sizes"]["d"] >= 2)
    assert r.counterexample.instance["sizes"]["d"] >= 2


def test_counterexample_is_small_seeded_and_names_both_values(report):
    cx = report["l59-eq17"].counterexample
    assert cx.instance["sizes"]["d"] == 1 and cx.instance["seed"] in (0, 1) and "T" in cx.instance
    assert cx.discrepancy > 1e-6 and "left" in cx.detail and "right" in cx.detail
    strict = report["l14-14.4-strict"].counterexample
    assert strict.instance["recipe"] == "pinned" and strict.lhs == pytest.approx(strict.rhs, rel=1e-12)


def test_prose_is_not_checkable_with_a_reason(report):
    for r in report.by_verdict("not_checkable"):
        assert r.claim.kind == "prose" and r.reason


# -- outputs -------------------------------------------------------------------------------------
def test_json_schema(report):
    doc = json.loads(to_json(report))
    assert doc["schema"] == "derive.audit/2"
    assert set(doc["summary"]) == {"claims", "holds", "holds_simplified", "fails", "transcription", "not_checkable",
                                   "pending", "error", "unexpected", "seconds"}
    keys = {"id", "kind", "notation", "source", "statement", "meaning", "reading", "verdict", "decided_by", "how",
            "special_case",
            "reason", "expected", "evidence", "judged", "transcript", "checks", "counterexample", "correction",
            "simplified", "seconds"}
    for c in doc["claims"]:
        assert set(c) == keys
        assert c["verdict"] in ("holds", "holds_simplified", "fails", "transcription", "not_checkable", "pending",
                                "error")
        assert set(c["source"]) == {"file", "where", "quote"}
        if c["correction"] is not None:
            assert c["correction"]["correction"] is None and set(c["correction"]) == keys
    eq17 = next(c for c in doc["claims"] if c["id"] == "l59-eq17")
    assert set(eq17["counterexample"]) == {"instance", "lhs", "rhs", "entry", "discrepancy", "detail"}
    assert isinstance(eq17["counterexample"]["lhs"], list)


def test_table_lists_every_claim_and_explains_failures(report):
    table = format_table(report)
    for r in report.results:
        assert r.claim.id in table
    assert "l59-eq17 (000_7be57cb19668d348.txt, eq. (17)) FAILS as printed" in table
    assert "correction (holds" in table
    assert "l14-expand-4 (002_eb405f471485c68d.txt, Module 14.3) is a TRANSCRIPTION slip" in table
    assert "reconstruction (holds" in table and "transcript: = ∂⁺s_4/∂W" in table
    assert "l105-aj (001_2f382c7a805806de.txt, slide 35/41) holds with the simplification" in table
    assert "special case (holds: numeric): a_j = W s_{j-1} + b when U x_j = 0" in table
    last = table.rstrip().splitlines()[-1] if "verdicts differing" not in table else table.splitlines()[-2]
    s = report.summary()
    assert (f"{s['holds']} hold, {s['holds_simplified']} hold as simplified, {s['fails']} fail, "
            f"{s['transcription']} transcription slips") in last


def test_errata_entries(report):
    entries = errata_entries(report)
    assert [e["id"] for e in entries] == [r.claim.id for r in report.results
                                          if r.verdict in ("fails", "transcription")]
    assert {e["verdict"] for e in entries} == {"fails", "transcription"}
    assert all(e["evidence"] for e in entries)
    slip = next(e for e in entries if e["id"] == "l14-14.4-aj")
    assert slip["transcript"] == "|a_j| = Ws_j + b" and slip["correction"]["verdict"] == "holds_simplified"
    assert [e["id"] for e in errata_entries(report, kinds=("holds_simplified",))] == ["l59-u-power-47", "l105-aj",
                                                                                 "l14-14.3-s4"]
    e = next(e for e in entries if e["id"] == "l59-eq19")
    assert e["source"]["where"] == "eq. (19)" and "X^{(τ-1)}" in e["source"]["quote"]
    assert e["correction"]["verdict"] == "holds" and e["counterexample"]["instance"]["binding"]["tau"] == 2
    assert len(e["terms"]["printed"]) == 2


def test_errata_latex(report):
    latex_mod = pytest.importorskip("derive.render.latex")
    from derive.render.errata import errata_latex

    tex = errata_latex(report)
    assert tex.startswith("\\begin{description}") and tex.rstrip().endswith("\\end{description}")
    assert r"\item[l59-eq17]" in tex and r"\prod_{\tau=1}^{t - 1}" in tex
    assert "As transcribed" in tex and "Reconstruction (holds" in tex and "Evidence: " in tex
    assert r"\left\lVert \frac{\partial s_{j}}{\partial s_{j - 1}} \right\rVert < \gamma \lambda" in tex
    cs = errata_latex(report, "cs7015")
    assert r"\frac{\partial \mathscr{L}_{t}(\theta)}{\partial s_{0}}" in cs
    assert latex_mod is not None


# -- bad input: a clear error naming the claim, the rest of the audit runs ----------------------------
def _src(n):
    return Source("course.txt", f"eq. ({n})", "...")


@pytest.mark.parametrize("lhs, rhs, notation, message", [
    ("ds_4/dq", "ds_4/ds_3 ds_3/dq", "cs7015", "unknown symbol of the cs7015 notation (cell 'rnn') 'q'"),
    ("dE^{[5]}/dh^{[0]}", "dE^{[5]}/dh^{[5]} U^{⊗5}", "appliednlp", "cannot parse"),
    ("ds_4/dW", "ds_4/ds_9 d+s_9/dW", "cs7015", "unknown node 's_9'"),
    ("dh^{(2)}/dh^{(1)}", "diag(sigma'(W_h h^{(1)})) W_q", "cs224n", "'W_q'"),
    ("ds_2/ds_1", "diag(sigma'(a_2) W", "cs7015", "expected ')'"),
])
def test_bad_claims_are_reported_and_the_audit_goes_on(lhs, rhs, notation, message):
    bad = Claim("bad", _src(1), notation, Identity(lhs, rhs, rnn, [{"T": 5}]))
    good = Claim("good", _src(2), "cs7015", Identity("ds_3/ds_1", "ds_3/ds_2 ds_2/ds_1", rnn, [{"T": 3}]))
    rep = audit([bad, good], config=AuditConfig(sizes=({"n": 2, "d": 1, "k": 3},), seeds=(0,)))
    assert rep["bad"].verdict == "error"
    assert rep["bad"].reason.startswith("claim bad (course.txt, eq. (1)): ")
    assert message in rep["bad"].reason
    assert rep["good"].verdict == "holds"


def test_a_meaning_builder_that_raises_is_an_error_of_that_claim():
    def broken():
        raise UnknownName("parameter", "Q", ["W", "U"])

    r = check_claim(Claim("lazy", _src(3), "cs7015", broken))
    assert r.verdict == "error" and "unknown parameter 'Q'" in r.reason and "lazy" in r.reason


@pytest.mark.parametrize("kwargs, message", [
    ({"id": "Bad Id"}, "claim id"),
    ({"kind": "lemma"}, "unknown claim kind"),
    ({"notation": "mit6s191"}, "unknown notation"),
    ({"kind": "prose"}, "must say why"),
    ({"expected": "maybe"}, "expected must be"),
    ({"judged": "holds_simplified"}, "must cite its evidence"),
    ({"judged": "typo"}, "unknown judgement"),
    ({"judged": "transcription", "evidence": "e"}, "needs its reconstruction"),
    ({"expected": "transcription", "evidence": "e"}, "needs judged='transcription'"),
    ({"simplified": Claim("s", _src(1), "cs7015", kind="prose", not_checkable="x")}, "simplified=... is"),
])
def test_claims_are_validated(kwargs, message):
    args = {"id": "x", "source": _src(1), "notation": "cs7015", **kwargs}
    with pytest.raises(DeriveError, match=message):
        Claim(**args)


# -- the parser ------------------------------------------------------------------------------------------
t, k, j, tau = idx("t"), idx("k"), idx("j"), idx("tau")
_IMPLICIT = Prod((D(node("s", 3), node("s", 2)), D(node("s", 2), node("W"))))
_BRACKETED = Prod((D(node("s", 4), node("s", 3)), Sum((D(node("s", 3), node("W"), True), _IMPLICIT))))


@pytest.mark.parametrize("text, notation, expected", [
    ("ds_4/dW", "cs7015", D(node("s", 4), node("W"))),
    ("d+s_k/dW", "cs7015", D(node("s", k), node("W"), True)),
    ("dE^{[5]}/dh^{[0]}", "appliednlp", D(node("L", 5), node("s", 0))),
    ("dh^{(tau)}/dh^{(tau-1)}", "appliednlp", D(node("s", tau), node("s", tau - 1))),
    ("dJ^{(i)}(theta)/dW_h", "cs224n", D(node("L", idx("i")), node("W"))),
    ("ds_t/ds_{t-1} ds_{t-1}/ds_k", "cs7015",
     Prod((D(node("s", t), node("s", t - 1)), D(node("s", t - 1), node("s", k))))),
    ("ds_4/ds_3 [d+s_3/dW + ds_3/ds_2 ds_2/dW]", "cs7015", _BRACKETED),
    ("sum_{k=1}^{t} ds_t/ds_k d+s_k/dW", "cs7015",
     SumOver(k, 1, t, Prod((D(node("s", t), node("s", k)), D(node("s", k), node("W"), True))))),
    ("prod_{j=k}^{t-1} ds_{j+1}/ds_j", "cs7015",
     ProdOver(j, k, t - 1, D(node("s", j + 1), node("s", j)), identity=node("s", t))),
])
def test_parse(text, notation, expected):
    assert parse(text, notation, rnn()) == expected


def test_parse_names_the_course_symbols():
    # Applied NLP's U is the recurrent matrix: the engine's W.
    assert parse("U", "appliednlp", rnn()).ref == node("W")
    assert parse("W_x", "cs224n", rnn()).ref == node("U")
    with pytest.raises(UnknownName, match="W_h"):
        parse("W_h", "cs7015", rnn())


def test_cs224n_product_range_and_ascending_order():
    p = parse("prod_{j<t<=i} dh^{(t)}/dh^{(t-1)}", "cs224n", rnn(), order="ascending")
    assert (p.lo, p.hi, p.descending) == (j + 1, idx("i"), False)


# -- meanings on small claims ---------------------------------------------------------------------------
def test_bound_strictness_is_caught_by_the_pinned_instance():
    kw = dict(cell=rnn, bindings=[{"j": 1, "T": 1}], activations=("tanh",), recipes=("pinned",), targets=(0.5,))
    le = check_claim(Claim("le", _src(1), "cs7015", Bound("||ds_j/ds_{j-1}||", "<=", "gamma lambda", **kw)))
    lt = check_claim(Claim("lt", _src(1), "cs7015", Bound("||ds_j/ds_{j-1}||", "<", "gamma lambda", **kw)))
    assert (le.verdict, lt.verdict) == ("holds", "fails")


def test_shapes_name_both_operands():
    from derive.proofs.catalog.l14_cs7015 import rnn_shaped

    r = check_claim(Claim("v", _src(1), "cs7015", Shapes(rnn_shaped, {"V": ("d", "k")})))
    assert r.verdict == "fails" and "cannot multiply V (matrix in R^{d x k}) by s (vector in R^d)" in \
        r.counterexample.detail


# -- verify: selection, JUnit, JSON, exit codes ----------------------------------------------------------
@pytest.mark.parametrize("pattern, ids, expected", [
    (None, ["a-1", "b-2"], ["a-1", "b-2"]),
    ("a-", ["a-1", "b-2"], ["a-1"]),
    ("*-2", ["a-1", "b-2"], ["b-2"]),
    ("a-1,b-2", ["a-1", "b-2", "c-3"], ["a-1", "b-2"]),
    ("l59-eq1?", ["l59-eq15", "l59-eq17", "l59-eq15-product"], ["l59-eq15", "l59-eq17"]),
])
def test_select_ids(pattern, ids, expected):
    assert select_ids(ids, pattern) == expected


def test_verify_all_runs_holding_claims_corrections_and_derivations():
    results = verify_all("l59-eq17,l14-expand-s4-W")
    ids = {r.derivation for r in results}
    assert ids == {"l59-eq17:corrected", "l14-expand-s4-W"}         # the printed l59-eq17 fails by design
    assert all(isinstance(r, CheckResult) and r.passed for r in results)
    assert collect_derivations("l14-expand") and all(d.id.startswith("l14-expand") for d in
                                                     collect_derivations("l14-expand"))


def test_junit_and_json():
    results = [CheckResult("a", 0, "exact", True, "ok", "(T=4)", 0.01),
               CheckResult("a", 1, "numeric", False, "entry (0, 0): left 1, right 2", "(T=4, d=2)", 0.02),
               CheckResult("b", 0, "skipped", True, "pending: derive.checks.bounds is not installed")]
    root = ET.fromstring(to_junit(results))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [("a", "step 2")]
    assert "left 1, right 2" in failed[0].find("failure").get("message")
    doc = json.loads(results_to_json(results))
    assert doc["schema"] == "derive.verify/1" and doc["summary"] == {"checks": 3, "passed": 1, "failed": 1,
                                                                   "skipped": 1}


@pytest.mark.parametrize("pattern, code", [("l59-eq15", 0), ("l59-eq17", 1)])
def test_main_audit_exit_codes(pattern, code):
    out = io.StringIO()
    assert main_audit(pattern, "table", out) == code
    assert pattern in out.getvalue()
    assert main_audit("l59-eq17", "table", io.StringIO(), expected=True) == 0   # fails, as the catalog expects


def test_main_verify_formats():
    out = io.StringIO()
    assert main_verify("l14-14.3-dims", "junit", out, jobs=1) == 0
    assert ET.fromstring(out.getvalue()).find("testsuite").get("failures") == "0"
    out = io.StringIO()
    assert main_verify("l59-eq17", "json", out, jobs=1) == 0
    assert json.loads(out.getvalue())["summary"]["failed"] == 0


def test_bad_usage_raises_for_the_cli():
    with pytest.raises(InvalidValue, match="no claim id matches"):
        main_audit("no-such-claim", "table", io.StringIO())
    with pytest.raises(UnknownName, match="output format"):
        main_audit(None, "yaml", io.StringIO())
    from derive.cli import main

    assert main(["audit", "-k", "no-such-claim"]) == 2
    assert main(["audit", "-k", "l59-eq15-product"]) == 0


def test_a_claim_needing_a_missing_module_is_pending_and_skipped_by_verify():
    from derive.checks.catalog import Computed, Pending

    def needs_module(rng):
        raise Pending("derive.nonexistent (for this claim) is not installed")

    c = Claim("needs-module", _src(9), "cs7015", Computed(needs_module, "a property"), expected="holds")
    r = check_claim(c)
    assert r.verdict == "pending" and "derive.nonexistent" in r.reason and "needs-module" in r.reason
    (res,) = verify_all(claims=[c], derivations=[])
    assert (res.method, res.passed) == ("skipped", True)
