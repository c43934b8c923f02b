"""The lecture documents' pieces: a claim typeset with its verdict, the erratum of a failing one, prose, plans."""

from __future__ import annotations

import re

import pytest

from derive.checks.catalog import Claim, Identity, Source, audit
from derive.content import collect_claims
from derive.render.documents import Lecture, Section
from derive.render.documents.typeset import claim_piece, counterexample_table, heading
from derive.errors import InvalidValue
from derive.render.latex.text import prose

REPR = re.compile(r"\{'[^'\n]*': |array\(|np\.|<[a-z_.]+ object|\bNone\b|Counterexample\(")


@pytest.fixture(scope="module")
def results():
    claims = [c for c in collect_claims() if c.id in ("l59-eq16", "l59-eq17", "l59-clip-speed", "l14-14.4-strict")]
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
    # l59-u-small was the example until it was checked (issue 12); an empirical statement is truly not checkable
    p = claim_piece(results["l59-clip-speed"], "appliednlp")
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
    assert heading("∂L/∂W_f", "x") == ""  # maths alone: the equation below says it


def test_prose_makes_symbols_maths_and_everything_else_text():
    assert prose("the factor ∂h^{(t)}/∂h^{(t-1)} is missing") == \
        r"the factor $\frac{\partial h^{(t)}}{\partial h^{(t-1)}}$ is missing"
    assert prose("see tests/test_reference_rnn.py") == r"see tests/test\_reference\_rnn.py"
    assert prose("h~_t reads h_{t-1}") == r"$\tilde{h}_{t}$ reads $h_{t-1}$"
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


# ------------------------------------------------------------------------------------- the whole build

import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

from derive.cli import main  # noqa: E402
from derive.content import collect_derivations  # noqa: E402
from derive.render.documents import collect_lectures  # noqa: E402

LECTURES = ("l59", "l105", "l14", "cs224n", "l111")
SEED_NAME = re.compile(r"\d{3}_[0-9a-f]{16}")
# what only the project's developers know: an issue number, a claim id, a seed folder, a test file
INTERNAL = re.compile(r"\b[Ii]ssue \d+|\bseeds/\d{3}|\btests/\w+\.py|\b(?:l14|l59|l105|l111|cs224n)-[a-z0-9.-]+[a-z0-9]\b(?!\})")
AUX = (".aux", ".fls", ".fdb_latexmk", ".toc", ".nav", ".snm", ".out", ".synctex.gz")
TEX = shutil.which("pdflatex") and shutil.which("pdftotext")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "out"
    args = ["build", "--out", str(out)] + ([] if TEX else ["--no-pdf"])
    assert main(args) == 0
    return out


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_every_lecture_has_its_notes_slides_and_equations_and_there_is_a_book(built):
    # the book's order: each lecture's first topic in teaching order (RNN and BPTT first, the LSTM last)
    assert [lec.id for lec in collect_lectures()] == ["l14", "l59", "l105", "cs224n", "l111"]
    for lec in LECTURES:
        assert (built / lec / "notes.tex").exists() and (built / lec / "slides.tex").exists(), lec
        assert list((built / lec / "equations").glob("*.tex")), lec
    assert (built / "book.tex").exists()
    stray = [p.name for p in built.rglob("*") if p.name.endswith(AUX)]
    assert not stray, f"TeX's auxiliary files in the build: {stray}"


def test_each_lecture_follows_its_plan_in_its_own_notation(built):
    ders = collect_derivations(T=4)
    for lec in collect_lectures():
        tex = (built / lec.id / "notes.tex").read_text()
        from derive.render.build import _claims_of

        order = [o.id for _, objs in lec.resolve(_claims_of(lec), ders) for o in objs]
        where = [tex.find(rf"\label{{piece:{i}}}") for i in order]
        assert -1 not in where, [i for i, w in zip(order, where) if w < 0]
        assert where == sorted(where), f"{lec.id}: the notes do not follow the lecture's order"
    l59 = (built / "l59" / "notes.tex").read_text()
    assert r"h^{[t]}" in l59 and r"E^{[t]}" in l59 and "s_{t}" not in l59
    for lec in collect_lectures():  # every figure a section names is shown in the notes
        tex = (built / lec.id / "notes.tex").read_text()
        for fid in (f for sec in lec.sections for f in sec.figures):
            assert f"../figures/{fid}." in tex and list((built / "figures").glob(f"{fid}.*")), (lec.id, fid)
    c224 = (built / "cs224n" / "notes.tex").read_text()
    assert r"h^{(t)}" in c224 and "W_{h}" in c224 and "s_{t}" not in c224


def test_every_failing_claim_appears_corrected_with_its_erratum(built):
    from derive.render.build import _claims_of

    for lec in collect_lectures():
        tex = (built / lec.id / "notes.tex").read_text()
        report = audit(_claims_of(lec))
        for r in report.results:
            start = tex.find(rf"\label{{piece:{r.claim.id}}}")
            block = tex[start:tex.find(r"\label{piece:", start + 10) if tex.find(r"\label{piece:", start + 10) > 0
                        else len(tex)]
            if r.verdict in ("fails", "transcription"):
                assert r"\textbf{Erratum}" in block or r"\textbf{Transcription}" in block, r.claim.id
                assert r"\fails{" in block, r.claim.id


def test_no_seed_file_name_no_repr_no_texttt_statement(built):
    for tex in built.rglob("*.tex"):
        body = tex.read_text()
        assert not SEED_NAME.search(body), f"{tex}: {SEED_NAME.search(body).group(0)}"
        assert not REPR.search(body), f"{tex}: {REPR.search(body).group(0)!r}"
        text = re.sub(r"\\(?:label|pageref|ref|input|includegraphics)(?:\[[^]]*\])?\{[^}]*\}", "", body)
        assert not INTERNAL.search(text), f"{tex}: {INTERNAL.search(text).group(0)!r}"


@pytest.mark.skipif(not TEX, reason="TeX Live (pdflatex, pdftotext) is not installed")
def test_the_pdfs_compile_read_back_and_no_slide_overflows(built):
    logs = {p.stem: p.read_text(errors="replace") for p in (built / "logs").glob("*.log")}
    assert set(logs) >= {f"{lec}-{kind}" for lec in LECTURES for kind in ("notes", "slides")} | {"book"}
    for name, log in logs.items():
        assert "\n! " not in log, name
        if name.endswith("slides"):
            assert "Overfull \\vbox" not in log, f"{name}: a slide overflows"
        assert "Float too large" not in log, f"{name}: a figure runs off the page"
    assert sum(log.count("Overfull \\hbox") for log in logs.values()) <= 5
    l59 = _text(built / "l59" / "notes.pdf")
    assert "Erratum" in l59 and "Gradient clipping" in l59
    assert not SEED_NAME.search(l59)
    for lec in LECTURES:
        assert _text(built / lec / "slides.pdf").strip()
    assert "Vanishing and exploding gradients" in _text(built / "book.pdf")


def test_the_lecture_documents_are_deterministic(built, tmp_path):
    assert main(["build", "--out", str(tmp_path / "again"), "--no-pdf"]) == 0
    for tex in built.rglob("*.tex"):
        rel = tex.relative_to(built)
        if rel.parts[0] == "figures":
            continue
        assert (tmp_path / "again" / rel).read_bytes() == tex.read_bytes(), rel


def test_an_unknown_lecture_lists_the_valid_ones_and_writes_nothing(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "o"), "--lecture", "l999", "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "l999" in err and all(lec in err for lec in LECTURES) and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_one_lecture_builds_alone(tmp_path, capsys):
    assert main(["build", "--out", str(tmp_path / "o"), "--lecture", "l59", "--no-pdf"]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if not p.name.startswith(".")) == ["figures", "l59"]
    assert "verify: l59" in err and "verify: l14" not in err


@pytest.mark.skipif(not TEX, reason="TeX Live (pdflatex) is not installed")
def test_a_tex_error_names_the_lecture_the_file_and_the_line(tmp_path, capsys, monkeypatch):
    import derive.render.documents.write as write

    monkeypatch.setattr(write, "_HOW", write._HOW + r" \undefinedmacro")
    out = tmp_path / "o"
    assert main(["build", "--out", str(out), "--lecture", "l59"]) == 1
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "Undefined control sequence" in x)
    assert "l59/notes.tex" in line and re.search(r"line \d+", line), line
    assert "nothing published" in err and not out.exists()


def test_a_plan_naming_an_unknown_figure_is_refused(tmp_path, capsys, monkeypatch):
    import derive.proofs.catalog.l59_appliednlp as l59

    plan = l59.lecture()
    bad = Lecture(plan.id, plan.title, plan.course, plan.notation,
                  plan.sections[:-1] + (Section(plan.sections[-1].title, plan.sections[-1].items,
                                                topic="remedies", figures=("clipping-3d",)),))
    monkeypatch.setattr(l59, "lecture", lambda: bad)
    assert main(["build", "--out", str(tmp_path / "o"), "--lecture", "l59", "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "clipping-3d" in err and "clipping-2d" in err and not (tmp_path / "o").exists()


def test_prose_typesets_numbers_with_exponents_and_big_operators():
    """Implication statements read '10^{-3}', '1.5^{T-1}', 'Π_{j=2}^{T}' (issue 12): maths, not a caret in text."""
    from derive.render.latex.text import prose

    assert prose("|g| > 10^3") == r"|g| > $10^{3}$"
    assert prose("grows like 1.5^{T-1}") == r"grows like $1.5^{T-1}$"
    assert prose("Π_{j=2}^{T} f_j") == r"$\prod _{j=2}^{T}$ $f_{j}$"
    assert prose("version 3.11 of x.py") == "version 3.11 of x.py"          # a number without a script stays text
