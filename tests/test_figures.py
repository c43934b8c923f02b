"""Figures (matplotlib, byte-stable) and TikZ pictures generated from the unrolled graph."""

from __future__ import annotations

import logging
import shutil
import subprocess

import pytest

from derive import activations
from derive.model.cell import Cell
from derive.cells import rnn
from derive.errors import DeriveError, NotSupported, UnknownName
from derive.render.figures import FIGURES, FigureSpec, build_figures, captions
from derive.model.graph import NodeRef, unroll
from derive.model.ir import nll, softmax
from derive.render.tikz import default_symbol, find_path, standalone_document, tikz_unrolled


# ---------------------------------------------------------------------------
# matplotlib figures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    first, second = tmp_path_factory.mktemp("figs1"), tmp_path_factory.mktemp("figs2")
    return build_figures(first), build_figures(second)


def test_every_figure_is_written_as_pdf_and_png(built):
    paths, _ = built
    assert [p.name for p in paths] == [f"{spec.id}.{fmt}" for spec in FIGURES for fmt in ("pdf", "png")]
    for p in paths:
        head = p.read_bytes()[:8]
        assert head.startswith(b"%PDF") if p.suffix == ".pdf" else head == b"\x89PNG\r\n\x1a\n", p
        assert p.stat().st_size > 5_000, p
    assert not list(paths[0].parent.glob("*.tmp"))


def test_figures_are_byte_stable(built):
    first, second = built
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two builds"
    assert b"CreationDate" not in first[0].read_bytes()


def test_every_figure_has_an_id_and_a_caption():
    ids = [spec.id for spec in FIGURES]
    assert ids == ["rnn-jacobian-norms", "lstm-forget-gates", "truncation-error", "clipping-2d"]
    assert len(set(ids)) == len(ids)
    for fig_id, caption in captions().items():
        assert len(caption) > 80 and caption.count("$") % 2 == 0, fig_id


def test_a_figure_without_its_data_is_skipped_with_a_logged_reason(tmp_path, monkeypatch, caplog):
    def missing(fig):
        raise NotSupported("derive.numeric.reference.demos is not there yet")

    import derive.render.figures as figures
    monkeypatch.setattr(figures, "FIGURES", (FigureSpec("needs-demos", "caption", missing), FIGURES[-1]))
    with caplog.at_level(logging.WARNING, logger="derive.render.figures"):
        paths = build_figures(tmp_path)
    assert [p.name for p in paths] == ["clipping-2d.pdf", "clipping-2d.png"]
    assert "figure needs-demos skipped: derive.numeric.reference.demos is not there yet" in caplog.text


def test_unknown_figure_or_format(tmp_path):
    with pytest.raises(UnknownName, match="figure 'nope'"):
        build_figures(tmp_path, ids=["nope"])
    with pytest.raises(UnknownName, match="figure format 'svg'"):
        build_figures(tmp_path, ids=["clipping-2d"], formats=("svg",))


# ---------------------------------------------------------------------------
# TikZ
# ---------------------------------------------------------------------------
def leaky_cell() -> Cell:
    """A two-state cell that is not in derive.cells: m_t = m_{t-1} + sigma(U x_t), h_t = tanh(W h_{t-1} + m_t)."""
    tanh, logistic = activations.get("tanh"), activations.get("logistic")
    cell = Cell("leaky", dims=("n", "d", "k"))
    n, d, k = cell.dims
    W, U, V = cell.param("W", (d, d)), cell.param("U", (d, n)), cell.param("V", (k, d))
    x, e = cell.input("x", (n,)), cell.label("e", k)
    h, m = cell.state("h", (d,)), cell.state("m", (d,))
    cell.define("m", m.prev + logistic(U @ x))
    cell.define("h", tanh(W @ h.prev + m))
    y = cell.define("y", softmax(V @ h))
    cell.loss("L", nll(y, e))
    return cell


@pytest.fixture(scope="module")
def rnn_view():
    return unroll(rnn(), 4).view()


def test_find_path_is_the_lecture_path(rnn_view):
    # CS7015 Module 14.3: L_4 depends on s_4, s_4 on s_3 and W, ..., s_1 on s_0 and W
    path = find_path(rnn_view, "L_4", "W", through=["s_1"])
    assert path == (NodeRef("L", 4), NodeRef("s", 4), NodeRef("s", 3), NodeRef("s", 2), NodeRef("s", 1), NodeRef("W"))
    assert find_path(rnn_view, "L_4", "W") == (NodeRef("L", 4), NodeRef("s", 4), NodeRef("W"))
    with pytest.raises(DeriveError, match="no path from L_2 to s_3"):
        find_path(rnn_view, "L_2", "s_3")


def test_rnn_picture_structure(rnn_view):
    path = find_path(rnn_view, "L_4", "W", through=["s_1"])
    tex = tikz_unrolled(rnn_view, highlight=path)
    assert tex == tikz_unrolled(rnn_view, highlight=path)          # deterministic
    assert tex.startswith("\\begin{tikzpicture}[") and tex.endswith("\\end{tikzpicture}\n")
    nodes = [line for line in tex.splitlines() if line.startswith("\\node[")]
    # W U b V c, s_0, x_1..4, s_1..4, L_1..4, L
    assert len(nodes) == 5 + 1 + 4 + 4 + 4 + 1
    highlighted = [line for line in tex.splitlines() if line.startswith("\\draw[hl]")]
    assert highlighted == [
        "\\draw[hl] (n-W) -- (n-s-1);",
        "\\draw[hl] (n-s-1) -- (n-s-2);",
        "\\draw[hl] (n-s-2) -- (n-s-3);",
        "\\draw[hl] (n-s-3) -- (n-s-4);",
        "\\draw[hl] (n-s-4) -- (n-L-4);",
    ]
    assert "\\node[node, hlnode] (n-s-1) at (2.00,1.50) {${s}_{1}$};" in tex
    # the parameter W is one node with an edge to every s_t (shared across time)
    assert sum(line.endswith(f"(n-s-{t});") and "(n-W)" in line for line in tex.splitlines() for t in range(1, 5)) == 4
    declared = {line.split("(")[1].split(")")[0] for line in nodes}
    for line in tex.splitlines():
        if line.startswith("\\draw"):
            ends = [part.split(")")[0] for part in line.split("(")[1:] if not part.startswith("$")]
            assert set(ends) <= declared, line


def test_parameters_as_edge_labels(rnn_view):
    tex = tikz_unrolled(rnn_view, highlight=["L_4", "s_4", "s_3"], params="labels")
    assert "\\draw[hl] (n-s-3) -- node[elabel, midway] {$W$} (n-s-4);" in tex
    assert "\\draw[edge] (n-x-2) -- node[elabel, midway] {$U$} (n-s-2);" in tex
    assert "\\draw[edge] (n-s-1) -- node[elabel, midway] {$V$} (n-L-1);" in tex
    assert "also parameters: $b$, $c$" in tex
    assert "(n-W)" not in tex


def test_custom_cell_picture():
    view = unroll(leaky_cell(), 3).view()
    assert view.keep == ("m", "h", "L")
    path = find_path(view, "L_3", "U", through=["m_1"])
    assert [str(r) for r in path] == ["L_3", "h_3", "h_2", "h_1", "m_1", "U"]
    tex = tikz_unrolled(view, highlight=path, symbol=lambda name, t: default_symbol(name, t))
    assert "\\draw[hl] (n-m-1) -- (n-h-1);" in tex and "\\draw[hl] (n-U) -- (n-m-1);" in tex
    assert "(n-m-0)" in tex and "(n-h-0)" in tex
    labelled = tikz_unrolled(view, params="labels", leaves=("input", "init", "label"))
    assert "\\draw[edge] (n-h-1) -- node[elabel, midway] {$W$} (n-h-2);" in labelled
    assert "(n-e-3)" in labelled


def test_tikz_errors(rnn_view):
    with pytest.raises(DeriveError, match="cannot highlight s_4 -> s_2"):
        tikz_unrolled(rnn_view, highlight=["L_4", "s_4", "s_2"])
    with pytest.raises(UnknownName, match="node"):
        tikz_unrolled(rnn_view, highlight=["L_9"])
    with pytest.raises(UnknownName, match="node in the picture 'e_4'"):
        tikz_unrolled(rnn_view, highlight=["L_4", "e_4"])
    with pytest.raises(DeriveError, match="params must be"):
        tikz_unrolled(rnn_view, params="edges")
    with pytest.raises(DeriveError, match="leaves may contain"):
        tikz_unrolled(rnn_view, leaves=("weights",))
    with pytest.raises(DeriveError, match="documentclass"):
        standalone_document("", documentclass="beamer")


def _pdflatex(tmp_path, name: str, document: str) -> None:
    (tmp_path / f"{name}.tex").write_text(document)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_pictures_compile_with_pdflatex(tmp_path, rnn_view):
    path = find_path(rnn_view, "L_4", "W", through=["s_1"])
    _pdflatex(tmp_path, "rnn", standalone_document(tikz_unrolled(rnn_view, highlight=path)))
    _pdflatex(tmp_path, "rnn_labels", standalone_document(tikz_unrolled(rnn_view, highlight=path[:-1], params="labels")))
    view = unroll(leaky_cell(), 3).view()
    _pdflatex(tmp_path, "leaky", standalone_document(tikz_unrolled(view, highlight=find_path(view, "L_3", "U"))))
    kpse = shutil.which("kpsewhich")
    if kpse and subprocess.run([kpse, "standalone.cls"], capture_output=True, text=True).stdout.strip():
        _pdflatex(tmp_path, "rnn_standalone",
                  standalone_document(tikz_unrolled(rnn_view, highlight=path), documentclass="standalone"))
