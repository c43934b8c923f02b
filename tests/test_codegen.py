"""latexify-py snippets of the NumPy reference functions: golden strings inline, and the
functions themselves checked against the activation table."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from derive import activations
from derive.render.codegen import (
    clip_norm, clip_value, logistic, logistic_prime, render_algorithm, render_function, rnn_step,
    slide_snippets, tanh_prime,
)

CLIP_NORM = r"""\begin{algorithmic}
    \Function{ClipNorm}{$g, threshold$}
        \If{$\mathrm{norm} \mathopen{}\left( g \mathclose{}\right) > \mathrm{threshold}$}
            \State $g \gets \frac{\mathrm{threshold}}{\mathrm{norm} \mathopen{}\left( g \mathclose{}\right)} g$
        \EndIf
        \State \Return $g$
    \EndFunction
\end{algorithmic}"""

CLIP_VALUE = r"""\begin{algorithmic}
    \Function{ClipValue}{$g, threshold$}
        \For{$i \in \mathrm{range} \mathopen{}\left( \mathrm{len} \mathopen{}\left( g \mathclose{}\right) \mathclose{}\right)$}
            \If{$g_{i} > \mathrm{threshold}$}
                \State $g_{i} \gets \mathrm{threshold}$
            \EndIf
            \If{$g_{i} < -\mathrm{threshold}$}
                \State $g_{i} \gets -\mathrm{threshold}$
            \EndIf
        \EndFor
        \State \Return $g$
    \EndFunction
\end{algorithmic}"""


@pytest.mark.parametrize("snippet_id, expected", [
    ("logistic", r"\sigma(x) = \frac{1}{1 + \exp \mathopen{}\left( -x \mathclose{}\right)}"),
    ("logistic_prime",
     r"\sigma'(x) = \sigma \mathopen{}\left( x \mathclose{}\right) \cdot "
     r"\mathopen{}\left( 1 - \sigma \mathopen{}\left( x \mathclose{}\right) \mathclose{}\right)"),
    ("tanh_prime", r"\tanh'(x) = 1 - \mathopen{}\left( \tanh x \mathclose{}\right)^{2}"),
    ("rnn_step", r"\mathrm{step}(s, x, W, U, b) = \tanh \mathopen{}\left( W s + U x + b \mathclose{}\right)"),
    ("clip_norm", CLIP_NORM),
    ("clip_value", CLIP_VALUE),
])
def test_slide_snippet(snippet_id, expected):
    assert slide_snippets()[snippet_id] == expected


def test_snippet_ids_are_stable_and_ordered():
    assert list(slide_snippets()) == ["logistic", "logistic_prime", "tanh_prime", "rnn_step", "clip_norm", "clip_value"]


@pytest.mark.parametrize("fn, opts, expected", [
    # Without configuration latexify escapes underscores; the snippets never do.
    (rnn_step, {}, r"\begin{array}{l} a = W \cdot \mathrm{s\_prev} + U x + b \\ "
                   r"\mathrm{rnn\_step}(\mathrm{s\_prev}, x, W, U, b) = \tanh a \end{array}"),
    (rnn_step, {"identifiers": {"rnn_step": "step", "s_prev": "s"}},
     r"\begin{array}{l} a = W s + U x + b \\ \mathrm{step}(s, x, W, U, b) = \tanh a \end{array}"),
    (logistic, {"use_math_symbols": False, "identifiers": {"logistic": "sigma"}},
     r"\mathrm{sigma}(x) = \frac{1}{1 + \exp \mathopen{}\left( -x \mathclose{}\right)}"),
])
def test_render_function_passes_latexify_options(fn, opts, expected):
    assert render_function(fn, **opts) == expected


def test_render_algorithm_defaults_to_math_symbols():
    assert render_algorithm(clip_norm, identifiers={"clip_norm": "ClipNorm"}) == CLIP_NORM


def test_snippets_have_no_escaped_underscores():
    for snippet_id, tex in slide_snippets().items():
        assert r"\_" not in tex, snippet_id


# ---------------------------------------------------------------------------
# The typeset functions are the real ones.
# ---------------------------------------------------------------------------
X = np.linspace(-6.0, 6.0, 25)


@pytest.mark.parametrize("fn, name, which", [
    (logistic, "logistic", "numpy"),
    (logistic_prime, "logistic", "numpy_prime"),
    (tanh_prime, "tanh", "numpy_prime"),
])
def test_reference_functions_match_the_activation_table(fn, name, which):
    np.testing.assert_allclose(fn(X), getattr(activations.get(name), which)(X), rtol=1e-12, atol=1e-15)


def test_rnn_step_is_the_cs7015_recurrence():
    rng = np.random.default_rng(0)
    W, U, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), rng.normal(size=3)
    s_prev, x = rng.normal(size=3), rng.normal(size=2)
    np.testing.assert_allclose(rnn_step(s_prev, x, W, U, b), np.tanh(W @ s_prev + U @ x + b), rtol=1e-15)


def test_clip_norm_rescales_long_gradients_only():
    g = np.array([3.0, 4.0])
    np.testing.assert_allclose(clip_norm(g, 1.0), [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(clip_norm(g, 10.0), g)


def test_clip_value_cuts_each_entry():
    g = np.array([-3.0, 0.5, 2.0])
    np.testing.assert_array_equal(clip_value(g.copy(), 1.0), [-1.0, 0.5, 1.0])


def test_snippets_compile(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
    found = subprocess.run(["kpsewhich", "algpseudocode.sty"], capture_output=True, text=True).stdout.strip()
    if not found:
        pytest.skip("algpseudocode.sty is not installed (apt-get install texlive-science)")
    body = []
    for snippet_id, tex in slide_snippets().items():
        body.append(tex if tex.startswith(r"\begin{algorithmic}") else r"\[ " + tex + r" \]")
    doc = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\usepackage{algpseudocode}\n"
           "\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n")
    (tmp_path / "doc.tex").write_text(doc)
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]


def test_docstring_examples():
    import doctest

    import derive.render.codegen

    result = doctest.testmod(derive.render.codegen)
    assert result.attempted > 0 and result.failed == 0
