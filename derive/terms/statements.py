"""What a document typesets for a clipping rule, a supremum, a printed dimension, a path count or
pseudo-code (a claim's ``display``): terms that state, with their numeric meaning where they have one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from derive.errors import InvalidValue, NotSupported
from derive.model.graph import NodeRef
from .base import Term, numeric_of

__all__ = ["Var", "Frac", "Sup", "RealSpace", "PathCount", "Code", "Within"]


# ---------------------------------------------------------------------------
# Statements about rules and shapes: what a document typesets for a clipping
# rule, a supremum or a printed dimension (a claim's ``display``)
# ---------------------------------------------------------------------------
_VAR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(frozen=True)
class Var(Term):
    """A quantity of a rule that is not a node of the graph: the gradient g, ĝ, a threshold, x in sup_x.

    ``Var("g", hat=True)`` is ĝ (CS224n Algorithm 1); a name of several letters
    prints upright as a word (``threshold``), as the slides write it.
    """

    name: str
    hat: bool = False
    _data = ("name", "hat")

    def __post_init__(self):
        if not isinstance(self.name, str) or not _VAR_NAME.fullmatch(self.name):
            raise InvalidValue(f"a variable name is a word of letters and digits such as 'g', got {self.name!r}")

    def __str__(self):
        return self.name + ("^" if self.hat else "")


@dataclass(frozen=True)
class Frac(Term):
    """num / den of two scalars, printed as a fraction: threshold / ||ĝ|| (norm clipping), 1/T."""

    num: Any
    den: Any

    def numeric(self, ctx):
        a, b = numeric_of(self.num, ctx), numeric_of(self.den, ctx)
        a = 0.0 if a is None else a
        if b is None or np.size(b) != 1 or np.size(a) != 1:
            raise NotSupported(f"{self} is not a ratio of two scalars on this instance")
        return float(np.ravel(a)[0]) / float(np.ravel(b)[0])

    def __str__(self):
        return f"({self.num})/({self.den})"


@dataclass(frozen=True)
class Sup(Term):
    """sup over ``var`` of ``body``: γ = sup_x σ'(x) (CS7015 Lecture 105, slide 36/41); proved by
    `derive.checks.bounds.gamma`, typeset by this term."""

    var: Any
    body: Any

    def __str__(self):
        return f"sup_{self.var} {self.body}"


@dataclass(frozen=True)
class RealSpace(Term):
    """ℝ^{d × d × d}: the space a printed shape names (CS7015 Module 14.3's W ∈ ℝ^{d×d}, 14.5's tensor).

    ``dims`` are dimension names of the cell ("d", "n", "k") or positive integers.
    """

    dims: tuple
    _data = ("dims",)

    def __post_init__(self):
        dims = tuple(self.dims) if isinstance(self.dims, (tuple, list)) else (self.dims,)
        for x in dims:
            ok = (isinstance(x, int) and not isinstance(x, bool) and x > 0) or \
                (isinstance(x, str) and _VAR_NAME.fullmatch(x) is not None)
            if not ok:
                raise InvalidValue(f"a dimension is a name such as 'd' or a positive integer, got {x!r}")
        if not dims:
            raise InvalidValue("a real space needs at least one dimension")
        object.__setattr__(self, "dims", dims)

    def __str__(self):
        return "R^{" + " x ".join(map(str, self.dims)) + "}"


@dataclass(frozen=True)
class PathCount(Term):
    """The number of paths from f down to x in the unrolled graph (CS7015 Lecture 111: "many paths
    from L_t to s_k"); its value is `derive.prove.canon.count_paths`, exact."""

    f: NodeRef
    x: NodeRef

    def numeric(self, ctx):
        return float(ctx.path_count(self.f, self.x))

    def __str__(self):
        return f"N({self.f} -> {self.x})"


@dataclass(frozen=True)
class Code(Term):
    """A Python function typeset as pseudo-code by latexify-py: the code that runs *is* the slide's rule
    (Applied NLP Lecture 59's clipping, CS224n Algorithm 1).

    ``style="algorithmic"`` prints an ``algorithmic`` block (text mode, needs the
    ``algpseudocode`` package); ``"function"`` a math-mode definition ``f(x) = ...``.
    ``identifiers`` renames Python names for the slide, ``(("clip_norm", "ClipNorm"),)``.
    """

    fn: Any
    identifiers: tuple = ()
    style: str = "algorithmic"
    _data = ("fn", "identifiers", "style")

    def __post_init__(self):
        if not callable(self.fn) or not hasattr(self.fn, "__code__"):
            raise InvalidValue(f"Code needs a Python function, got {self.fn!r}")
        if self.style not in ("algorithmic", "function"):
            raise InvalidValue(f"Code style must be 'algorithmic' or 'function', got {self.style!r}")
        ids = tuple(tuple(p) for p in (self.identifiers.items() if isinstance(self.identifiers, dict)
                                        else self.identifiers))
        if not all(len(p) == 2 and all(isinstance(x, str) and x.isidentifier() for x in p) for p in ids):
            raise InvalidValue(f"Code identifiers are (python name, slide name) pairs, got {self.identifiers!r}")
        object.__setattr__(self, "identifiers", ids)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __str__(self):
        return f"code {self.fn.__name__}"


@dataclass(frozen=True)
class Within(Term):
    """``body`` written in the names of the cell family ``cell`` ("lstm", "gru"): the notations map a
    name per cell (CS224n writes the LSTM's s_t as c^{(t)}, the RNN's as h^{(t)})."""

    cell: str
    body: Any
    _data = ("cell",)

    def numeric(self, ctx):
        return numeric_of(self.body, ctx)

    def __str__(self):
        return str(self.body)
