"""The command line and `derive build`: outputs, determinism, bad input, compiled PDFs (issue 3)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from derive.cli import main

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("DERIVE_REGENERATE") == "1"  # DERIVE_REGENERATE=1 pytest tests/test_cli.py
ONLY = ["l14-expand-s4-W", "l14-bptt-W", "l14-ds-ds"]


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_names_every_derivation_with_its_source(capsys):
    code, out, _ = run(["list"], capsys)
    assert code == 0
    assert re.search(r"^l14-expand-s4-W\s+Recursive expansion.*Lecture 14, Module 14\.3", out, re.M)


def test_show_prints_the_latex(capsys):
    code, out, _ = run(["show", "l14-expand-s4-W"], capsys)
    assert code == 0 and out.startswith(r"\begin{align*}")
    assert r"\underbrace{\frac{\partial^{+} s_{4}}{\partial W}}_{\text{explicit}}" in out


@pytest.mark.parametrize("argv,message", [
    (["show", "nope"], "unknown derivation id 'nope'; expected one of: "),
    (["show", "l14-bptt-W", "--notation", "klingon"], "unknown notation 'klingon'; expected one of: "),
    (["build", "--T", "0", "--no-pdf"], "--T must be an integer in [1, 12], got 0"),
    (["build", "--T", "13", "--no-pdf"], "--T must be an integer in [1, 12], got 13"),
    (["build", "--only", "nope", "--no-pdf"], "unknown derivation id 'nope'"),
])
def test_bad_input_exits_2_with_a_message(argv, message, capsys, tmp_path):
    code, out, err = run(argv + (["--out", str(tmp_path / "o")] if argv[0] == "build" else []), capsys)
    assert code == 2 and message in err and "Traceback" not in err
    if "derivation id" in message:
        assert "l14-expand-s4-W" in err
    assert not (tmp_path / "o").exists()


def test_unwritable_output_folder_is_refused_before_any_work(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(["build", "--out", str(blocker / "sub"), "--no-pdf"], capsys)
    assert code == 2 and "cannot write the output folder" in err


def test_help_tells_the_truth(capsys):
    code, out, _ = run(["build", "--help"], capsys)
    assert code == 0
    for opt in ("--out", "--notation", "--T", "--only", "--no-pdf"):
        assert opt in out


def _build(out: Path, *extra) -> int:
    return main(["build", "--out", str(out), "--no-pdf", "--only", *ONLY, *extra])


def test_build_is_deterministic_and_matches_the_golden_files(tmp_path, capsys):
    assert _build(tmp_path / "a") == 0
    assert _build(tmp_path / "b") == 0
    capsys.readouterr()
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.tex"))
    assert Path("selection/equations/l14-bptt-W.tex") in files and Path("selection/notes.tex") in files
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    for name in ("notes.tex", "slides.tex"):
        got = (tmp_path / "a" / "selection" / name).read_text()
        golden = GOLDEN / f"only-{name}"
        if REGENERATE:
            golden.write_text(got)
        assert golden.exists(), f"{golden} is missing; create it with DERIVE_REGENERATE=1"
        assert got == golden.read_text(), f"{name} differs from {golden}; regenerate with DERIVE_REGENERATE=1"


@pytest.mark.parametrize("notation", ["cs7015", "appliednlp", "cs224n"])
def test_every_notation_builds(notation, tmp_path, capsys):
    assert _build(tmp_path, "--notation", notation) == 0
    text = (tmp_path / "selection" / "equations" / "l14-bptt-W.tex").read_text()
    expected = {"cs7015": r"\partial s_{t}", "appliednlp": r"\partial h^{[t]}", "cs224n": r"\partial h^{(t)}"}
    assert expected[notation] in text


def test_compile_failure_reports_the_first_error_with_its_line(tmp_path):
    if not shutil.which("pdflatex"):
        pytest.skip("TeX Live (pdflatex) is not installed")
    from derive.render.build import compile_pdf

    tex = tmp_path / "bad.tex"
    tex.write_text("\\documentclass{article}\n\\begin{document}\n\\undefinedmacro\n\\end{document}\n")
    ok, err = compile_pdf(tex, None)
    assert not ok and "Undefined control sequence" in err and "line 3" in err


def test_console_script_is_installed():
    exe = shutil.which("derive")
    if exe is None:
        pytest.skip("the console script is not on PATH (package not installed with pip)")
    proc = subprocess.run([exe, "list"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "l14-expand-s4-W" in proc.stdout


def test_objects_render_themselves_in_jupyter():
    from derive.cells import rnn
    from derive.proofs.lecture14_bptt import derivations

    d = derivations()[0]
    assert d._repr_latex_().startswith(r"$\displaystyle \begin{aligned}\frac{\partial s_{4}}{\partial W} &= ")
    assert r"s_{t} &= \tanh(a_{t})" in rnn()._repr_latex_()
    assert rnn().equations["a"]._repr_latex_() == r"$\displaystyle W s_{t - 1} + U x_{t} + b$"
    assert d.steps[0].rhs._repr_latex_().startswith(r"$\displaystyle \underbrace{")
