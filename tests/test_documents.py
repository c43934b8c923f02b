"""The lecture documents' pieces: a claim typeset with its verdict, the erratum of a failing one, prose, plans."""

from __future__ import annotations

import re

import pytest

from derive.catalog import Claim, Identity, Source, audit
from derive.content import collect_claims
from derive.documents import Lecture, Section
from derive.documents.typeset import claim_piece, counterexample_table, heading
from derive.errors import InvalidValue
from derive.latex.text import prose

REPR = re.compile(r"\{'|array\(|np\.|<[a-z_.]+ object|\bNone\b|Counterexample\(")


@pytest.fixture(scope="module")
def results():
    claims = [c for c in collect_claims() if c.id in ("l59-eq16", "l59-eq17", "l59-u-small", "l14-14.4-strict")]
    return {r.claim.id: r for r in audit(claims).results}


def test_a_claim_that_holds_is_its_equation_with_the_verdict_in_the_margin(results):
    p = claim_piece(results["l59-eq16"], "appliednlp")
    assert p.verdict == "holds" and not p.erratum
    assert r"\tag*{\holds{holds}}" in p.notes
    assert r"h^{[t]}" in p.notes and "s_{t}" not in p.notes  # the lecture's notation, not the engine's


def test_a_failing_claim_shows_the_correction_in_place_and_an_erratum(results):
    r = results["l59-eq17"]
    p = claim_piece(r, "appliednlp")
    assert p.verdict == "fails" and p.erratum and not p.problem
    main, erratum = p.notes.split(r"\textbf{Erratum}")
    assert r"\prod_{\tau=1}^{t}" in main and r"\fails{corrected}" in main      # the corrected equation
    assert r"\prod_{\tau=1}^{t - 1}" in erratum                                # what was printed, typeset
    assert r"\texttt" not in p.notes and not REPR.search(p.notes), p.notes
    assert "activation" in erratum and "tanh" in erratum and "seed" in erratum   # the counterexample table
    assert p.frames[1].count(r"\textbf{Erratum}") == 1                        # its own slide


def test_a_wrong_correction_is_said_not_dropped(results):
    r = results["l59-eq17"]
    broken = type(r)(**{**r.__dict__, "correction": type(r)(**{**r.correction.__dict__, "verdict": "fails"})})
    p = claim_piece(broken, "appliednlp")
    assert p.problem and "no verified correction" in p.problem
    assert r"\fails{fails as printed}" in p.notes and "No verified correction" in p.notes


def test_prose_is_quoted_and_marked_not_checkable(results):
    p = claim_piece(results["l59-u-small"], "appliednlp")
    assert p.verdict == "not_checkable" and r"\verdict{not checkable}" in p.notes and r"\itshape" in p.notes


def test_the_counterexample_table_has_no_python_repr(results):
    cx = results["l14-14.4-strict"].counterexample
    tex = counterexample_table(cx)
    assert r"\begin{tabular}" in tex and not REPR.search(tex)
    assert r"$\gamma\lambda$" in tex and "pinned" in tex


def test_headings_typeset_their_mathematics_through_the_printer():
    assert heading("Recursive expansion of ∂s_4/∂W (explicit + implicit)", r"\frac{a}{b}") == \
        r"Recursive expansion of $\frac{a}{b}$"
    assert heading("BPTT form", "x") == "BPTT form"


def test_prose_makes_symbols_maths_and_everything_else_text():
    assert prose("the factor ∂h^{(t)}/∂h^{(t-1)} is missing") == \
        r"the factor $\frac{\partial h^{(t)}}{\partial h^{(t-1)}}$ is missing"
    assert prose("see tests/test_reference_rnn.py") == r"see tests/test\_reference\_rnn.py"
    hostile = prose(r"\input{/etc/passwd} $x$ & 100% #")
    assert r"\input" not in hostile.replace(r"\textbackslash{}input", "") and r"\$" in hostile and r"\%" in hostile


# ---------------------------------------------------------------------------------------------- the plan

def _claim(ident):
    return Claim(ident, Source("x.txt", "eq. (1)"), "cs7015", None, "a prose statement", kind="prose",
                 not_checkable="advice")


def test_a_plan_resolves_in_the_lectures_order():
    claims = [_claim("lx-a"), _claim("lx-b"), _claim("lx-c")]
    lec = Lecture("lx", "Lecture X", "Course", "cs7015",
                  (Section("Two", ("lx-c", "lx-a")), Section("One", ("lx-b",), topic="lstm")))
    got = [[o.id for o in objs] for _, objs in lec.resolve(claims, [])]
    assert got == [["lx-c", "lx-a"], ["lx-b"]]


@pytest.mark.parametrize("sections,message", [
    ((Section("S", ("lx-a", "lx-typo")),), "'lx-typo' names no claim or derivation"),
    ((Section("S", ("lx-a",)), Section("T", ("lx-a",))), "'lx-a' is placed twice"),
    ((Section("S", ("lx-a",)),), "claim(s) lx-b are in no section"),
])
def test_a_bad_plan_is_refused_naming_the_item(sections, message):
    lec = Lecture("lx", "Lecture X", "Course", "cs7015", sections)
    with pytest.raises(InvalidValue, match=re.escape(message)):
        lec.resolve([_claim("lx-a"), _claim("lx-b")], [])


@pytest.mark.parametrize("kwargs,message", [
    ({"id": "L 14"}, "a lecture id is a lowercase word"),
    ({"sections": ()}, "sections must be a non-empty tuple"),
])
def test_bad_lectures_are_refused(kwargs, message):
    args = {"id": "lx", "title": "T", "course": "C", "notation": "cs7015", "sections": (Section("S", ("a",)),)}
    with pytest.raises(InvalidValue, match=message):
        Lecture(**{**args, **kwargs})


def test_bad_sections_are_refused():
    with pytest.raises(InvalidValue, match="topic must be one of"):
        Section("S", ("a",), topic="misc")
    with pytest.raises(InvalidValue, match="items must be a tuple of ids"):
        Section("S", "lx-a")


def test_an_identity_claim_prints_in_the_lecture_notation_whatever_its_engine_names():
    from derive.cells import rnn

    c = Claim("lx-id", Source("x.txt", "eq. (2)"), "cs224n",
              Identity("∂h^{(t)}/∂h^{(t-1)}", "∂h^{(t)}/∂h^{(t-1)}", lambda a: rnn(a), [{"t": 2, "T": 2}]))
    (r,) = audit([c]).results
    p = claim_piece(r, "cs224n")
    assert r"h^{(t)}" in p.notes and p.verdict == "holds"
