r"""Lecture-ready LaTeX for every object of `derive`, in the notation of a chosen course.

- `latex(obj, notation="cs7015", time="t")`: the one entry point;
- `LatexPrinter`: SymPy's printer with one ``_print_<ClassName>`` per concept
  (`derive.render.latex.printer` states the printing conventions);
- `Notation`, `notations`, `get_notation`, `register_notation`: the profiles
  (`derive.notation`);
- `Diag`, `Prime`, `Applied`, `Norm`, `Power`, `Entry`, `Text`, `Relation`,
  `Chain`, `Equation`, `System`, `cell_equations`: slide concepts the engine
  builds (`derive.render.latex.objects`).

Example::

    >>> from derive.terms import D, Brace, node
    >>> s4, s3, W = node("s", 4), node("s", 3), node("W")
    >>> print(latex(Brace(D(s4, W, explicit=True), "explicit") + D(s4, s3) * D(s3, W)))
    \underbrace{\frac{\partial^{+} s_{4}}{\partial W}}_{\text{explicit}} + \frac{\partial s_{4}}{\partial s_{3}} \frac{\partial s_{3}}{\partial W}
"""

from derive.notation import Notation, get_notation, notations, register_notation
from .objects import (
    RELATIONS, Applied, Chain, Diag, Entry, Equation, Norm, Power, Prime, Relation, System, Text,
    cell_equations,
)
from derive.display import register_renderer
from .printer import LatexPrinter, latex

register_renderer(latex)  # Jupyter shows every term typeset; the core never imports this package

__all__ = [
    "latex", "LatexPrinter", "Notation", "notations", "get_notation", "register_notation",
    "Diag", "Prime", "Applied", "Norm", "Power", "Entry", "Text", "Relation", "Chain",
    "Equation", "System", "RELATIONS", "cell_equations",
]
