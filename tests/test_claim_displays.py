"""Every claim whose meaning has no equation of terms has a ``display`` term that typesets as mathematics."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.checks.catalog import Computed, Exact, JacobianShape, Shapes
from derive.content import collect_claims
from derive.errors import InvalidValue, UnknownName
from derive.render.latex import latex
from derive.terms import Cases, Code, Const, Norm, Power, Prime, RealSpace, Relation, SetOf, Sup, Var, node

NO_TERMS = (Computed, Exact, Shapes, JacobianShape)


def _all_claims():
    for c in collect_claims():
        yield c
        if c.correction is not None:
            yield c.correction


CLAIMS = [c for c in _all_claims() if isinstance(c.build(), NO_TERMS)]


def test_there_are_such_claims():
    assert len(CLAIMS) >= 30


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_display_typesets_as_mathematics(claim):
    assert claim.display is not None, f"{claim.id} has no display"
    tex = latex(claim.display, notation=claim.notation)
    if isinstance(claim.display, Code):  # pseudo-code: an algorithmic block (text mode), maths between $
        assert tex.startswith(r"\begin{algorithmic}") and r"\Return" in tex and r"\gets" in tex, tex
        return
    assert tex and not re.fullmatch(r"\\text\{[^{}]*\}", tex), tex
    assert re.search(r"=|\\leq|\\geq|\\in|\\leftarrow|\\rightarrow|\\approx|\\implies", tex), tex
    assert "$" not in tex and "\\texttt" not in tex


@pytest.mark.parametrize("cid, notation, tex", [
    ("l59-0.01-pow-47", "appliednlp", r"0.01^{47} = 1.0 \cdot 10^{-94}"),
    ("l59-eq20-jacobian", "appliednlp", r"\frac{\partial h^{[\tau]}}{\partial h^{[\tau - 1]}} \in \mathbb{R}^{d \times d}"),
    ("l14-14.5-shape-dsdW", "cs7015", r"\frac{\partial^{+} s_{k}}{\partial W} \in \mathbb{R}^{d \times d \times d}"),
    ("l14-14.3-dims-U", "cs7015", r"U \in \mathbb{R}^{n \times d}"),
    ("l105-gamma-logistic", "cs7015", r"\gamma = \sup_{x} \sigma'(x) = \frac{1}{4}"),
    ("l59-clip-value:corrected", "appliednlp", r"g \leftarrow \begin{cases} -1 & \text{if } g < -1 \\ g & \text{if } "
                                               r"-1 \leq g \leq 1 \\ 1 & \text{if } g > 1 \end{cases}"),
    ("cs224n-clip-alg1", "cs224n", r"\hat{g} \leftarrow \begin{cases} \frac{\mathit{threshold}}{\left\lVert \hat{g} "
                                   r"\right\rVert} \hat{g} & \text{if } \left\lVert \hat{g} \right\rVert \geq "
                                   r"\mathit{threshold} \\ \hat{g} & \text{otherwise} \end{cases}"),
    ("l59-eq12", "appliednlp", r"\begin{aligned} E(\theta) &= \frac{1}{T} \sum_{t=1}^{T} E^{[t]} \\ E^{[t]} &= "
                               r"-\log (\hat{y}^{[t]})_{c^{[t]}} \end{aligned}"),
])
def test_golden_displays(cid, notation, tex):
    claim = next(c for c in _all_claims() if c.id == cid)
    assert latex(claim.display, notation=notation) == tex


def test_displays_follow_the_notation():
    """The engine's W is Applied NLP's U and CS224n's W_h: a display is written once, in engine names."""
    shape = Relation(node("W"), "in", RealSpace(("d", "d")))
    assert [latex(shape, notation=n) for n in ("cs7015", "appliednlp", "cs224n")] == [
        r"W \in \mathbb{R}^{d \times d}", r"U \in \mathbb{R}^{d \times d}", r"W_{h} \in \mathbb{R}^{d \times d}"]


@pytest.mark.parametrize("term, tex", [
    (Power(Const(0.5), 47), "0.5^{47}"),
    (Power(Const(sp.Rational(1, 2)), 3), r"\left(\frac{1}{2}\right)^{3}"),
    (Power(Const(-2), 3), r"\left(-2\right)^{3}"),
    (Prime(Const(0), "logistic"), r"\sigma'(0)"),
    (Sup(Var("x"), Prime(Var("x"), "tanh")), r"\sup_{x} \tanh'(x)"),
    (Norm(Var("g", hat=True)), r"\left\lVert \hat{g} \right\rVert"),
    (SetOf((node("o", 2), node("f", 2))), r"\{o_{2}, f_{2}\}"),
    (Cases(((Const(1), None),)), r"\begin{cases} 1 & \text{otherwise} \end{cases}"),
])
def test_new_terms_print(term, tex):
    assert latex(term) == tex


@pytest.mark.parametrize("make, message", [
    (lambda: Var("g'"), "a variable name is a word"),
    (lambda: RealSpace(("d", 0)), "a dimension is a name"),
    (lambda: RealSpace(()), "at least one dimension"),
    (lambda: Cases(((Const(1), None), (Const(2), None))), "only the last case"),
    (lambda: Cases(((Const(1),),)), "a case is a"),
])
def test_bad_terms_are_refused(make, message):
    with pytest.raises(InvalidValue, match=message):
        make()


def test_unknown_display_lists_the_known_ones():
    from derive.proofs.catalog.displays import display

    with pytest.raises(UnknownName, match="l59-eq12"):
        display("l59-eq99")


def test_pseudo_code_is_the_function_the_claim_checks():
    """A Code display prints the very function its Computed meaning runs: change the function, the text changes."""
    from derive.render import codegen
    from derive.proofs.catalog.cs224n_notes import norm_clipping_algorithm_1

    claims = {c.id: c for c in _all_claims()}
    assert claims["l59-clip-norm-code"].display.fn is codegen.clip_norm
    assert claims["l59-clip-value-code"].display.fn is codegen.clip_value
    tex = latex(claims["cs224n-clip-alg1-code"].display)
    assert r"\ge \mathrm{threshold}" in tex and "NormClipping" in tex       # Algorithm 1 clips at >=
    assert claims["cs224n-clip-alg1-code"].display.fn is norm_clipping_algorithm_1
    assert r"> \mathrm{threshold}" in latex(claims["l59-clip-norm-code"].display)   # the slide's strict >


@pytest.mark.parametrize("bad", [lambda: Code(len), lambda: Code(lambda g: g, style="slides"),
                                 lambda: Code(lambda g: g, (("g", "not a name"),))])
def test_bad_code_terms_are_refused(bad):
    with pytest.raises(InvalidValue):
        bad()


def test_every_display_compiles_with_pdflatex(tmp_path):
    """Typeset every display (maths in \\[ \\], pseudo-code as an algorithmic block): TeX accepts all of it."""
    import shutil
    import subprocess

    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    from derive.render.latex.text import escape

    body = []
    for c in _all_claims():
        if c.display is not None:
            tex = latex(c.display, notation=c.notation)
            body += [r"\paragraph{" + escape(c.id) + "}", tex if isinstance(c.display, Code) else rf"\[{tex}\]"]
    doc = "\n".join([r"\documentclass{article}", r"\usepackage{amsmath,amssymb,mathrsfs,algpseudocode}",
                     r"\usepackage[margin=2cm]{geometry}", r"\begin{document}", *body, r"\end{document}"])
    (tmp_path / "d.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "d.log").read_text(errors="replace")
    assert run.returncode == 0, log[-2000:]
    assert "Overfull \\hbox" not in log and len(body) >= 70


def test_a_failing_bound_shows_both_sides_and_the_relation_that_fails():
    from derive.checks.catalog.checks import Counterexample
    from derive.render.documents.typeset import counterexample_table

    cx = Counterexample({"activation": "tanh", "T": 4}, 0.7304, 0.09326, None, 7.8, "0.7304 <= 0.09326 is false")
    bound = counterexample_table(cx, relation="<=")
    assert "left side & $0.7304$" in bound and "right side & $0.09326$" in bound
    assert r"$0.7304 \not\leq 0.09326$" in bound and "as printed" not in bound
    equation = counterexample_table(cx)
    assert "as printed & $0.7304$" in equation and "true value & $0.09326$" in equation and "not" not in equation


def test_an_erratum_reason_is_one_sentence_and_keeps_citations_whole():
    from derive.render.documents.typeset import _sentence

    assert _sentence("the bound is 1/γ, as Pascanu et al. (2013) show in sec. 3.1. It is 4 for the logistic.") \
        == "The bound is 1/γ, as Pascanu et al. (2013) show in sec. 3.1."
    assert _sentence("dL/dW is a row; Its transpose is the gradient") == "dL/dW is a row."
    assert _sentence("s_t depends on s_(t-1)") == "s_t depends on s_(t-1)."


def test_a_family_of_one_step_derivations_is_typeset_once_with_every_member_kept():
    from derive.render.documents.typeset import Piece, group_pieces
    from derive.render.documents.write import summary

    def one(i, title="The total loss", verdict="holds"):
        body = rf"\frac{{\partial J}}{{\partial W_{i}}} &= x_{i}"
        return Piece(f"d{i}", "derivation", verdict, "", f"notes {i}", [f"frame {i}"], f"fragment {i}",
                     line=(body, r"\holds{numeric}"), family=(title, "steps"))

    claim = Piece("c", "claim", "holds", "", "claim notes")
    pieces = [one(1), one(2), one(3), one(4, verdict="fails"), claim, one(5), one(6), one(7, title="Other")]
    out = group_pieces(pieces)
    assert [p.id for p in out] == ["d1", "c", "d5", "d6", "d7"]
    family = out[0]
    assert [m.id for m in family.members] == ["d1", "d2", "d3", "d4"] and family.verdict == "fails"
    assert family.notes.count(r"\paragraph{The total loss}") == 1 and all(f"x_{i}" in family.notes for i in (1, 2, 3, 4))
    assert [m.fragment for m in family.members] == ["fragment 1", "fragment 2", "fragment 3", "fragment 4"]
    assert summary([(None, out)]) == {"derivation": 6, "FAILED": 1, "holds": 1}


def test_a_reading_names_other_claims_by_their_lecture_and_place_not_by_id():
    """Readings name claims by id for the audit; the notes name the lecture and place instead (and never a seed
    file or a test file)."""
    import re

    from derive.content import collect_claims
    from derive.render.documents.refs import readable

    claims = collect_claims()
    ids = sorted({c.id for c in claims}, key=len, reverse=True)
    leak = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])|seeds/\d{3}|\.py\b")
    texts = [getattr(c, f) for c in claims for c in (c, c.correction) if c is not None
             for f in ("reading", "evidence", "not_checkable")]
    assert any(leak.search(t) for t in texts)  # the audit's readings do cross-reference
    assert [t for t in texts if leak.search(readable(t))] == []
    assert readable("as in l105-power; the same slide in seeds/002 (tests/test_catalog.py checks it)") == \
        "as in Lecture 105, slide 36/41; the same slide in Lecture 14"


def test_an_exact_number_is_written_as_a_reader_writes_it():
    import sympy as sp

    from derive.checks.catalog.meaning_values import _exact_text

    assert [_exact_text(x) for x in (sp.Integer(4), sp.Float(4.0, 17), sp.Rational(1, 4))] == ["4", "4", "1/4"]
    assert _exact_text(sp.Rational(1, 2) ** 47) == "7.1054273576010019e-15"  # not a 15-digit denominator
