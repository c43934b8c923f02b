r"""Slide snippets typeset from the NumPy reference functions themselves, by latexify-py.

A snippet shows the *code that runs* (the same functions the tests evaluate),
so a slide cannot drift from the implementation.  latexify-py reads a
function's source and prints it either as a definition (``render_function``)
or as ``algorithmicx`` pseudo-code (``render_algorithm``).

Its limits, and how they are met through its own configuration (never by
editing its output):

- a multi-letter identifier prints upright with its underscores escaped
  (``s_prev`` -> ``\mathrm{s\_prev}``): ``identifiers=`` renames it to a slide
  name (``s_prev`` -> ``s``, ``rnn_step`` -> ``step``, ``clip_norm`` -> ``ClipNorm``);
- Greek letters need ``use_math_symbols=True`` (``sigma`` -> ``\sigma``);
- ``identifiers=`` only accepts Python identifiers, and rejects keywords, so it
  can produce neither ``\sigma'`` nor ``\lambda`` (google/latexify_py#214).  A
  derivative is therefore printed without latexify's signature
  (``use_signature=False``) and given its left-hand side, ``\sigma'(x)``, by
  `derive.render.latex` (``render_function(fn, signature=...)``); ``\lambda`` appears
  only in formulas typeset by `derive.render.latex`.

Example::

    >>> print(render_function(logistic, identifiers={"logistic": "sigma"}))
    \sigma(x) = \frac{1}{1 + \exp \mathopen{}\left( -x \mathclose{}\right)}
"""

from __future__ import annotations

from typing import Any, Callable

import latexify
import sympy as sp
from numpy import exp, tanh
from numpy.linalg import norm

__all__ = [
    "render_function", "render_algorithm", "slide_snippets",
    "logistic", "logistic_prime", "tanh_prime", "rnn_step", "clip_norm", "clip_value",
]


# ---------------------------------------------------------------------------
# Reference functions, written as a slide writes them (NumPy, float64).
# The numerically stable logistic used in computations is derive.model.activations'.
# ---------------------------------------------------------------------------
def logistic(x):
    return 1 / (1 + exp(-x))


def logistic_prime(x):
    return logistic(x) * (1 - logistic(x))


def tanh_prime(x):
    return 1 - tanh(x) ** 2


def rnn_step(s_prev, x, W, U, b):
    # One step of the CS7015 RNN (Lecture 14, Module 14.2): s_t = tanh(W s_{t-1} + U x_t + b).
    a = W @ s_prev + U @ x + b
    return tanh(a)


def clip_norm(g, threshold):
    # Norm clipping (Applied NLP Lecture 59, "Gradient clipping"; CS224n Algorithm 1):
    # a gradient longer than the threshold is rescaled to that length, direction kept.
    if norm(g) > threshold:
        g = threshold / norm(g) * g
    return g


def clip_value(g, threshold):
    # Value clipping (Applied NLP Lecture 59): each entry is cut to [-threshold, threshold].
    # Works in place on g, as the pseudo-code reads; pass a copy to keep the original.
    for i in range(len(g)):
        if g[i] > threshold:
            g[i] = threshold
        if g[i] < -threshold:
            g[i] = -threshold
    return g


# ---------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------
def render_function(fn: Callable[..., Any], *, signature: "str | None" = None, **opts: Any) -> str:
    """``fn`` as a definition ``f(x) = ...``, by latexify-py.

    Args:
        fn: a function whose body latexify understands (assignments, then a return).
        signature: LaTeX of the left-hand side to use instead of latexify's
            ``name(args)``, for names an identifier cannot spell (``\\sigma'(x)``).
        **opts: latexify configuration (``identifiers``, ``reduce_assignments``, ...);
            ``use_math_symbols`` defaults to True.
    """
    opts = {"use_math_symbols": True, **opts}
    if signature is None:
        return latexify.get_latex(fn, **opts)
    return f"{signature} = " + latexify.get_latex(fn, use_signature=False, **opts)


def render_algorithm(fn: Callable[..., Any], **opts: Any) -> str:
    """``fn`` as ``algorithmicx`` pseudo-code (``\\begin{algorithmic} ... \\end{algorithmic}``).

    Needs ``\\usepackage{algpseudocode}`` in the document.  ``opts`` as in `render_function`.
    """
    opts = {"use_math_symbols": True, **opts}
    return latexify.get_latex(fn, style=latexify.Style.ALGORITHMIC, **opts)


def _prime(name: str) -> str:
    from .latex import Prime, latex

    return latex(Prime(sp.Symbol("x"), name))


def slide_snippets() -> "dict[str, str]":
    """The snippets a lecture uses, by stable id, in a fixed order."""
    sigma = {"logistic": "sigma"}
    return {
        "logistic": render_function(logistic, identifiers=sigma),
        "logistic_prime": render_function(logistic_prime, identifiers=sigma, signature=_prime("logistic")),
        "tanh_prime": render_function(tanh_prime, signature=_prime("tanh")),
        "rnn_step": render_function(rnn_step, identifiers={"rnn_step": "step", "s_prev": "s"},
                                    reduce_assignments=True),
        "clip_norm": render_algorithm(clip_norm, identifiers={"clip_norm": "ClipNorm"}),
        "clip_value": render_algorithm(clip_value, identifiers={"clip_value": "ClipValue"}),
    }
