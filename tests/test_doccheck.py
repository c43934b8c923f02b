"""derive check: extraction with line numbers, the LaTeX grammar, document models, verdicts, injection."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from derive.cells import rnn
from derive.cli import main
from derive.checks.doccheck import check, check_paths, extract, extract_text, model_for
from derive.checks.doccheck.model import ModelError, load_toml
from derive.checks.doccheck.reader import NotUnderstood, read, symbol_key

CORPUS = Path(__file__).parent / "corpus"
pytest_plugins = ["pytester"]
NAMES = {n: n for n in rnn().symbols}


def verdicts(results):
    return [(r.line, r.verdict) for r in results]


# -- extraction --------------------------------------------------------------------------------
def test_tex_environments_labels_rows_and_lines():
    doc = "\n".join([
        r"Text $a_t = b$ inline.",                                       # 1
        r"\begin{align}",                                                 # 2
        r"  x &= y \label{eq:first} \\",                                  # 3
        r"    &= z, \nonumber \\",                                        # 4
        r"  p &\le q",                                                    # 5
        r"\end{align}",                                                   # 6
        r"% $$ commented = out $$",                                       # 7
        r"\begin{equation*}\begin{aligned} u &= v \\ &= w \end{aligned}\end{equation*}",  # 8
        r"\[ m = n \]",                                                   # 9
        r"\begin{gather} g = h \end{gather}",                             # 10
    ])
    eqs = extract_text(doc, "notes.tex", "tex")
    assert [(e.line, e.kind, e.label) for e in eqs] == [
        (3, "align", "eq:first"), (8, "equation", None), (9, "\\[", None), (10, "gather", None)]
    assert [(l.lhs, l.rel, l.rhs, l.line) for l in eqs[0].links] == [
        ("x", "=", "y", 3), ("y", "=", "z", 4), ("p", "<=", "q", 5)]
    assert [(l.lhs, l.rhs) for l in eqs[1].links] == [("u", "v"), ("v", "w")]
    inline = extract_text(doc, "notes.tex", "tex", inline=True)
    assert (inline[0].kind, inline[0].line, inline[0].links[0].lhs) == ("inline", 1, "a_t")


def test_markdown_code_is_ignored_and_chains_continue_across_displays():
    doc = "\n".join(["```", "$$ a = b $$", "```", "Use `$$c = d$$` in code.", "$$s_4 = x$$", "", "$$= y$$", "",
                     "    code $x = 1$ indented"])
    eqs = extract_text(doc, "n.md", "md", inline=True)
    assert [(e.line, [(l.lhs, l.rhs, l.line) for l in e.links]) for e in eqs] == [
        (5, [("s_4", "x", 5)]), (7, [("x", "y", 7)])]


def test_notebook_markdown_cells_with_cell_index_and_line():
    eqs = extract(CORPUS / "ipynb_cs224n" / "vanishing.ipynb")
    assert [(e.cell, e.line) for e in eqs] == [(2, 3), (3, 3), (3, 7), (4, 1), (4, 1)]
    assert eqs[0].where() == f"{CORPUS / 'ipynb_cs224n' / 'vanishing.ipynb'}[cell 2]:3"


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01binary", "binary"), (b"\xff\xfe\xfa", "not UTF-8"), (b"{not json", "invalid JSON")])
def test_unreadable_documents_are_one_line_errors(tmp_path, capsys, content, message):
    p = tmp_path / ("bad.ipynb" if message == "invalid JSON" else "bad.md")
    p.write_bytes(content)
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# -- the reader ------------------------------------------------------------------------------------
@pytest.mark.parametrize("tex, term", [
    (r"\frac{\partial \mathscr{L}_4(\theta)}{\partial s_4} \frac{\partial s_4}{\partial W}", "∂L_4/∂s_4 ∂s_4/∂W"),
    (r"\frac{\partial^{+} s_k}{\partial W}", "∂⁺s_k/∂W"),
    (r"\partial_{W} s_t", "∂s_t/∂W"),
    (r"\partial^{+}_{W} s_t", "∂⁺s_t/∂W"),
    (r"\sum_{k=1}^{t} \frac{\partial s_t}{\partial s_k}", "Σ_{k=1}^{t} (∂s_t/∂s_k)"),
    (r"\prod_{j=k+1}^{t} \operatorname{diag}(\sigma'(a_j)) W", "Π_{j=k + 1}^{t} (diag(σ'(a_j)) W)"),
    (r"\prod_{j<i\le t} \frac{\partial s_i}{\partial s_{i-1}}", "Π_{i=j + 1}^{t} (∂s_i/∂s_i - 1)"),
    (r"\left\| \text{diag}(\tanh'(a_j)) \, \mathbf{W} \right\|", "||diag(tanh'(a_j)) W||"),
    (r"\mathrm{diag}\left(\sigma^{\prime}(a_t)\right) \cdot \boldsymbol{W}", "diag(σ'(a_t)) W"),
    (r"W^\top s_t \odot s_t", "(W)^T (s_t ⊙ s_t)"),
    (r"\mathbf{W}^{t-k} \times U", "(W)^{-k + t} U"),
    (r"\underbrace{\frac{\partial^+ s_4}{\partial W}}_{\text{explicit}}", "{∂⁺s_4/∂W}_explicit"),
    (r"\left[ s_{t} \circ s_t \right]", "(s_t ⊙ s_t)"),
    (r"\frac{1}{4} \; s_t", "1/4 s_t"),
    (r"s^{(t)} + s^{[t-1]}", "s_t + s_t - 1"),
    (r"\sigma(W s_{t-1} + U x_t + b)", "σ(W s_t - 1 + U x_t + b)"),
])
def test_reader_constructs(tex, term):
    assert str(read(tex, NAMES, rnn())) == term


@pytest.mark.parametrize("tex, reason", [
    (r"\log y_t", r"'\\log' is not read"),
    (r"f(x_t)", "unknown symbol 'f'"),
    (r"W_{t}", "parameter"),
    (r"s", "needs a time index"),
    (r"\frac{a}{b}", "division is not read"),
    (r"\sum_{k} s_k", "needs limits"),
    (r"\| s_t \|_1", "only the 2-norm"),
    (r"\frac{\partial^2 s_t}{\partial W}", r"only \\partial\^\{\+\}"),
    (r"s_{t", "unbalanced"),
    (r"\left| s_t \right|", "absolute value"),
])
def test_reader_names_what_it_does_not_understand(tex, reason):
    with pytest.raises(NotUnderstood, match=reason):
        read(tex, NAMES, rnn())


def test_reader_never_crashes_on_garbage():
    text = (CORPUS / "tex_cs7015" / "bptt.tex").read_text()
    rng = random.Random(0)
    for _ in range(400):
        a = rng.randrange(len(text))
        piece = text[a:a + rng.randrange(1, 80)]
        try:
            read(piece, NAMES, rnn())
        except NotUnderstood:
            pass


def test_symbol_keys_from_printing_tables():
    assert [symbol_key(t) for t in (r"W_{hh}", r"\mathscr{L}", r"\hat{y}", r"\mathbf{h}", "b_{1}", r"\tilde{s}")] == \
        ["W_hh", "L", "y_hat", "h", "b_1", "s_tilde"]
    assert model_for("rnn", "cs224n").names["W_h"] == "W"
    assert model_for("rnn", "appliednlp").names["U"] == "W"       # Applied NLP's U is the recurrent matrix
    assert model_for("lstm", "cs224n").names["c_tilde"] == "s_tilde"


# -- verdicts on the corpus ----------------------------------------------------------------------------
def test_cs7015_tex_corpus():
    rs = check_paths([CORPUS / "tex_cs7015"])
    assert verdicts(rs) == [(7, "holds"), (11, "holds"), (13, "holds"), (17, "fails"), (20, "holds"),
                            (21, "fails"), (23, "holds"), (26, "not_understood")]
    assert rs[1].how == ("exact", "numeric")
    assert "coefficient 1 on the left and 0 on the right" in rs[3].detail   # the dropped term k = 1
    assert rs[5].counterexample["method"] == "numeric"                     # the swapped matrix order


def test_gradient_layout_markdown_corpus():
    rs = check_paths([CORPUS / "md_gradient"])
    assert verdicts(rs) == [(11, "holds"), (15, "holds"), (19, "fails"), (25, "holds"), (26, "holds"),
                            (27, "fails"), (31, "not_understood")]
    assert rs[3].how == ("exact", "numeric")   # transposed back to the Jacobian layout and proved


def test_cs224n_notebook_corpus():
    rs = check_paths([CORPUS / "ipynb_cs224n"])
    assert [(r.equation.cell, r.line, r.verdict) for r in rs] == [
        (2, 3, "holds"), (3, 3, "holds"), (3, 7, "fails"), (4, 1, "not_understood"), (4, 1, "not_understood")]


def test_wrong_index_by_one_fails_with_its_row():
    doc = "\n".join([r"\begin{align}",
                     r"\frac{\partial s_t}{\partial s_{t-1}} &= \operatorname{diag}(\sigma'(a_t)) W \\",
                     r"  &= \operatorname{diag}(\sigma'(a_{t-1})) W",
                     r"\end{align}"])
    rs = check(doc, cell="rnn", notation="cs7015", kind="tex")
    assert verdicts(rs) == [(2, "holds"), (3, "fails")]


# -- injection: a document never executes ------------------------------------------------------------------
INJECT = "__import__('os').system('touch pwned')"


@pytest.mark.parametrize("tex", [
    "$$s_{%s} = s_t$$", "$$s^{(%s)} = s_t$$", "$$\\sum_{k=%s}^{t} s_k = s_t$$", "$$\\sum_{k=1}^{%s} s_k = s_t$$",
    "$$W^{%s} = W$$", "$$\\prod_{j<%s\\le t} W = W$$", "$$\\frac{\\partial s_{%s}}{\\partial W} = W$$",
    "$$\\underbrace{s_t}_{%s} = s_{%s}$$",
])
def test_injection_in_every_field_is_not_understood_and_runs_nothing(tmp_path, monkeypatch, tex):
    monkeypatch.chdir(tmp_path)
    doc = tmp_path / "evil.md"
    doc.write_text(tex.replace("%s", INJECT))
    rs = check(doc, cell="rnn", notation="cs7015")
    assert [r.verdict for r in rs] == ["not_understood"]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_injection_in_derive_toml_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("$$h_t = h_t$$\n")
    (tmp_path / "derive.toml").write_text(f'cell = "rnn"\n[symbols]\nh = "{INJECT}"\n')
    assert main(["check", str(tmp_path / "notes.md")]) == 2
    assert "is not a name of cell 'rnn'" in capsys.readouterr().err
    (tmp_path / "derive.toml").write_text(f'cell = "{INJECT}"\n')
    assert main(["check", str(tmp_path / "notes.md")]) == 2
    assert "unknown cell" in capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()


def test_malformed_toml_names_key_and_line(tmp_path):
    p = tmp_path / "derive.toml"
    p.write_text('cell = "rnn"\n\ncolour = "red"\n')
    with pytest.raises(ModelError, match=r"derive.toml:3: unknown key 'colour'"):
        load_toml(p)
    p.write_text('cell = "rnn"\n[symbols]\nh = 3\n')
    with pytest.raises(ModelError, match=r"derive.toml:3: symbols.h must be a string"):
        load_toml(p)
    p.write_text('cell = \n')
    with pytest.raises(ModelError, match="not valid TOML"):
        load_toml(p)


# -- the command line ---------------------------------------------------------------------------------------
def test_cli_exit_codes_and_formats(tmp_path, capsys):
    good = tmp_path / "good.md"
    good.write_text("$$s_t = \\sigma(W s_{t-1} + U x_t + b)$$\n\n$$\\log s_t = 0$$\n")
    assert main(["check", str(good), "--notation", "cs7015"]) == 0
    out = capsys.readouterr().out
    assert f"{good}:1: holds (numeric):" in out and f"{good}:3: not understood:" in out
    assert "1 of 2 display equations understood, 0 fail" in out
    assert main(["check", str(good), "--strict"]) == 1
    capsys.readouterr()
    assert main(["check", str(CORPUS / "tex_cs7015"), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "derive-check" and doc["version"] == 1 and doc["summary"]["fails"] == 2
    assert {r["line"] for r in doc["results"] if r["verdict"] == "fails"} == {17, 21}
    assert main(["check", str(CORPUS / "tex_cs7015"), "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"::error file={CORPUS / 'tex_cs7015' / 'bptt.tex'},line=21,") for line in lines)
    assert main(["check", str(CORPUS / "tex_cs7015"), "--format", "junit"]) == 1
    assert "<testsuite" in capsys.readouterr().out
    empty = tmp_path / "prose.md"
    empty.write_text("No maths here.\n")
    assert main(["check", str(empty)]) == 0
    assert "0 equations found" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing.md")]) == 2
    assert main(["check", str(good), "--cell", "transformer"]) == 2
    assert main(["check", str(good), "--notation", "nope"]) == 2
    assert "unknown notation 'nope'" in capsys.readouterr().err


def test_deterministic_output(capsys):
    main(["check", str(CORPUS), "--format", "json"])
    first = capsys.readouterr().out
    main(["check", str(CORPUS), "--format", "json"])
    assert capsys.readouterr().out == first


# -- the seeds: the lecture transcripts as a first corpus ------------------------------------------------
SEEDS = Path(__file__).resolve().parent / "seeds"  # the transcripts (tests/seeds/README.md)
#: (seed, cell, notation, line, verdicts of the links on that line, the catalog claim(s) with that verdict)
SEED_LINES = [
    ("000_7be57cb19668d348.txt", "rnn", "appliednlp", 42, ["holds", "holds"], "l59 dE5/dh0 product, both forms"),
    ("000_7be57cb19668d348.txt", "rnn", "appliednlp", 61, ["fails"], "l59 product to t-1 (fails as printed)"),
    ("001_2f382c7a805806de.txt", "rnn", "cs7015", 62, ["fails"], "l105 a_j = W s_{j-1} + b (U x_j dropped)"),
    ("001_2f382c7a805806de.txt", "rnn", "cs7015", 66, ["holds", "holds"], "l105 one-step Jacobian"),
    ("002_eb405f471485c68d.txt", "rnn", "cs7015", 245, ["holds"], "l14-14.3-total-loss"),
    ("002_eb405f471485c68d.txt", "rnn", "cs7015", 259, ["holds"], "l14-14.3-dLdV"),
    ("002_eb405f471485c68d.txt", "rnn", "cs7015", 291, ["holds"], "l14-14.3-dL4dW"),
    ("002_eb405f471485c68d.txt", "rnn", "cs7015", 300, ["fails"], "l14-14.3-s4"),
    ("002_eb405f471485c68d.txt", "rnn", "cs7015", 308, ["holds"], "l14 expansion of ds_4/dW, line 1"),
    ("003_9ba40663132a09fb.txt", "rnn", "cs224n", 10, ["holds", "fails"], "cs224n-chain, cs224n-power"),
] + [("003_9ba40663132a09fb.txt", "gru", "cs224n", line, ["holds"], "cs224n-gru-equations")
     for line in (121, 123, 125, 127)]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the lecture transcripts are not beside the repository")
@pytest.mark.parametrize("seed, cell, notation, line, expected, claim", SEED_LINES)
def test_seed_lines_match_the_catalog(seed, cell, notation, line, expected, claim):
    rs = check((SEEDS / seed).read_text(encoding="utf-8"), cell=cell, notation=notation)
    assert [r.verdict for r in rs if r.line == line] == expected, claim


def test_inequalities_between_numbers_are_checked_on_instances():
    doc = "\n".join([
        r"$$\left\| \frac{\partial s_t}{\partial s_k} \right\| \le \prod_{j=k+1}^{t} "
        r"\left\| \operatorname{diag}(\sigma'(a_j)) W \right\|$$",
        r"$$\left\| \frac{\partial s_t}{\partial s_k} \right\| \le \frac{1}{4} \left\| \frac{\partial s_t}{\partial s_{k+1}} \right\|$$",
        r"$$\frac{\partial s_t}{\partial s_k} \le W$$",
    ])
    rs = check(doc, cell="rnn", notation="cs7015")
    assert verdicts(rs) == [(1, "holds"), (2, "fails"), (3, "not_understood")]
    assert "is false" in rs[1].detail and rs[1].counterexample["recipe"] in ("random", "large")


def test_pytest_plugin_collects_one_item_per_equation(pytester):
    import importlib.metadata

    loaded = any(ep.value == "derive.checks.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    pytester.makeini("[pytest]\nderive_files = notes_*.md\n")
    pytester.makefile(".toml", derive='cell = "rnn"\nnotation = "cs7015"\n')
    pytester.makefile(".md", notes_week1="\n".join([
        r"$$s_t = \sigma(W s_{t-1} + U x_t + b)$$", "",
        r"$$\frac{\partial s_t}{\partial s_{t-1}} = W \operatorname{diag}(\sigma'(a_t))$$", "",
        r"$$\log s_t = 0$$"]), other="$$s_t = s_t$$")
    result = pytester.runpytest("-v", "-rs", *([] if loaded else ["-p", "derive.checks.pytest_plugin"]))
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*notes_week1.md:3: fails: *", "*not understood: *log*"])


def test_abstract_cell_with_generic_functions():
    rs = check_paths([CORPUS / "md_abstract"])
    assert verdicts(rs) == [(5, "holds"), (6, "holds"), (10, "holds"), (14, "holds"), (18, "fails"), (22, "holds")]
    assert all("exact" in r.how for r in rs[2:])   # ∂f(…)/∂w_h is ∂⁺: proved in the free algebra


def test_abstract_function_arguments_must_be_the_nodes_inputs(tmp_path):
    (tmp_path / "derive.toml").write_text((CORPUS / "md_abstract" / "derive.toml").read_text())
    (tmp_path / "n.md").write_text("$$h_t = f(x_{t-1}, h_{t-1}, w_h)$$\n")
    (r,) = check(tmp_path / "n.md")
    assert r.verdict == "not_understood" and "not the explicit inputs" in r.detail


def test_gradients_nabla_and_elementwise_squares():
    doc = "\n".join([
        r"$$\frac{\partial s_t}{\partial a_t} = \operatorname{diag}(1 - s_t^2)$$",
        r"$$\frac{\partial s_t}{\partial a_t} = \operatorname{diag}(1 - \tanh^2(a_t))$$",
        r"$$\frac{\partial s_t}{\partial a_t} = \operatorname{diag}(1 - \tanh(a_t))$$",
        r"$$\nabla_{s_{t-1}} \mathscr{L}_t = W^\top \operatorname{diag}(1 - s_t^2) \nabla_{s_t} \mathscr{L}_t$$",
        r"$$\nabla_{s_{t-1}} \mathscr{L}_t = \operatorname{diag}(1 - s_t^2) W^\top \nabla_{s_t} \mathscr{L}_t$$",
    ])
    rs = check(doc, cell="rnn", notation="cs7015", activation="tanh")
    assert verdicts(rs) == [(1, "holds"), (2, "holds"), (3, "fails"), (4, "holds"), (5, "fails")]


def test_product_of_two_vectors_is_not_understood_and_odot_is():
    doc = "\n".join([r"$$\frac{\partial s_t}{\partial a_t} = \operatorname{diag}(\sigma(a_t) (1 - \sigma(a_t)))$$",
                     r"$$\frac{\partial s_t}{\partial a_t} = \operatorname{diag}(s_t \odot (1 - s_t))$$"])
    rs = check(doc, cell="rnn", activation="logistic")
    assert verdicts(rs) == [(1, "not_understood"), (2, "holds")]
    assert "two column vectors" in rs[0].detail


def test_deeply_nested_or_huge_input_is_not_understood():
    (r,) = check("$$s_t = " + "(" * 900 + "s_t" + ")" * 900 + "$$", cell="rnn")
    assert r.verdict == "not_understood" and "nested too deeply" in r.detail
    (r,) = check("$$s_t = " + "s_t + " * 1000 + "s_t$$", cell="rnn")
    assert r.verdict == "not_understood" and "characters" in r.detail


def test_toml_front_matter_declares_the_model(tmp_path, capsys):
    doc = tmp_path / "fm.md"
    doc.write_text("\n".join(["+++", 'cell = "rnn"', 'layout = "gradient"', "[symbols]", 'h = "s"', 'W_hh = "W"',
                              "+++", "# Notes",
                              r"$$\frac{\partial L}{\partial h_t} = \frac{\partial L_t}{\partial h_t} + W_{hh}^\top "
                              r"\operatorname{diag}(\sigma'(a_{t+1})) \frac{\partial L}{\partial h_{t+1}}$$", ""]))
    assert verdicts(check(doc)) == [(9, "holds")]
    doc.write_text('+++\ncell = "rnn"\n\nbogus = 1\n+++\n$$s_t = s_t$$\n')
    assert main(["check", str(doc)]) == 2
    assert f"{doc}:4: unknown key 'bogus'" in capsys.readouterr().err
