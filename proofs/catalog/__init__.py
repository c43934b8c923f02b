"""The lecture catalog: every equation of the five lectures in ../shared/seeds/, as a `derive.checks.catalog.Claim`.

One module per lecture, each with ``claims()``; they are found by module,
never listed by hand, and returned in file order (000 ... 004)::

    l59_appliednlp   000_7be57cb19668d348.txt  Applied NLP, Lecture 59 (h^[t], E, U recurrent, W input)
    l105_cs7015      001_2f382c7a805806de.txt  CS7015, Lecture 105 (exploding and vanishing gradients)
    l14_cs7015       002_eb405f471485c68d.txt  CS7015, Lecture 14 slides, Modules 14.1-14.5
    cs224n_notes     003_9ba40663132a09fb.txt  CS224n notes, vanishing gradients and fancy RNNs
    l111_lstm        004_ac394c33ecf151bd.txt  CS7015, Lecture 111, how LSTMs avoid vanishing gradients

Each claim encodes what is *printed* (index ranges, time arguments, factor
order); a failing one carries its correction.  This package deliberately has
no ``derivations()``: `derive.content` collects the derivations of proofs/,
`derive.checks.catalog.verify_all` adds the claims that should hold.

Example::

    >>> from derive.proofs.catalog import claims
    >>> from derive.checks.catalog import audit, format_table
    >>> print(format_table(audit(claims(), pattern="l59-eq1*")))
"""

from __future__ import annotations

from derive.checks.catalog import Claim, Source
from derive.content import claim_modules, collect_claims

__all__ = ["claims", "lecture_modules", "source"]


def source(file: str):
    """``source(FILE)(where, quote)`` -> `Source`: the citation helper of one lecture module."""

    def make(where: str, quote: str = "") -> Source:
        return Source(file, where, quote)

    return make


def lecture_modules() -> list:
    """The lecture modules of this package (those with ``claims()``), ordered by their seed file."""
    return claim_modules(__name__.rpartition(".")[0])


def claims() -> "list[Claim]":
    """Every claim of every lecture module, in file order; ids are unique (corrections included)."""
    return collect_claims(__name__.rpartition(".")[0])


# ---------------------------------------------------------------------------
# Shared properties: gradient clipping (Applied NLP, Lecture 105, CS224n, Lecture 111)
# ---------------------------------------------------------------------------
def norm_clipping(rule, threshold: float = 1.0, strict: bool = True):
    """A `Computed` property of a norm-clipping rule ``rule(g, threshold)``.

    The clipped gradient must have norm min(||g||, threshold) and the direction
    of g (cosine 1), on random gradients on both sides of the threshold; when
    `derive.numeric.clipping` is installed the rule must also agree with its
    ``clip_norm`` (which clips at ||g|| >= threshold; the two agree except on
    the sphere ||g|| = threshold itself, where both leave g unchanged).
    """
    import numpy as np

    def fn(rng):
        g = rng.standard_normal(6) * rng.choice([0.1, 0.5, 2.0, 10.0])
        out = np.asarray(rule(g.copy(), threshold), dtype=float)
        n, m = np.linalg.norm(g), np.linalg.norm(out)
        lhs = [m, float(out @ g) / (m * n)]
        rhs = [min(n, threshold), 1.0]
        try:
            from derive.numeric.clipping import clip_norm
        except ImportError:
            clip_norm = None
        if clip_norm is not None:
            lhs += list(out)
            rhs += list(clip_norm(g, threshold))
        return lhs, rhs, {"g": g, "threshold": threshold}

    return fn
