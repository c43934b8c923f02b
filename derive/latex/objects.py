r"""Slide concepts beyond the derivative algebra, as small frozen dataclasses.

The engine builds these; `derive.latex.LatexPrinter` prints them (one
``_print_<ClassName>`` each).  Operands are anything the printer prints: a
`derive.algebra` term, a `derive.ir` vector expression, a `NodeRef`, a SymPy
expression, another object of this module, or a raw LaTeX ``str``.

Example (CS7015 Lecture 14, Module 14.4, the bound on one Jacobian)::

    >>> from derive.algebra import D, Prod, node
    >>> from derive.latex import latex
    >>> step = D(node("s", "j"), node("s", "j - 1"))
    >>> print(latex(Chain.of(Norm(step), "<=", Norm(Prod((Diag(Prime("logistic", node("a", "j"))), node("W")))))))
    \left\lVert \frac{\partial s_{j}}{\partial s_{j - 1}} \right\rVert \leq \left\lVert \operatorname{diag}(\sigma'(a_{j})) W \right\rVert
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .. import activations
from ..errors import InvalidValue, UnknownName

__all__ = [
    "Diag", "Prime", "Applied", "Norm", "Power", "Entry", "Text",
    "Relation", "Chain", "Equation", "System", "RELATIONS", "cell_equations",
]

#: Relation names an author may use -> LaTeX.
RELATIONS = MappingProxyType({
    "=": "=", "==": "=", "!=": r"\neq", "<": "<", ">": ">",
    "<=": r"\leq", ">=": r"\geq", "equiv": r"\equiv", "approx": r"\approx",
    "in": r"\in", "<-": r"\leftarrow", "->": r"\rightarrow", "therefore": r"\therefore",
})


def relation(rel: str) -> str:
    """The LaTeX of a relation name; unknown names list the known ones."""
    try:
        return RELATIONS[rel]
    except (KeyError, TypeError):
        raise UnknownName("relation", rel, list(RELATIONS)) from None


class _Printable:
    """Jupyter shows these objects as typeset LaTeX."""

    def _repr_latex_(self) -> str:
        from . import latex

        return "$\\displaystyle " + latex(self) + "$"


@dataclass(frozen=True)
class Diag(_Printable):
    """diag(v): the square matrix with the vector v on its diagonal.

    ``Diag(Prime("logistic", node("a", "j")))`` prints ``\\operatorname{diag}(\\sigma'(a_{j}))``.
    """

    v: Any


@dataclass(frozen=True)
class Applied(_Printable):
    """An activation applied element-wise to any printable: ``\\sigma(a_{j})``.

    (Inside a cell equation use the activation itself: ``logistic(a)``.)
    """

    act: Any  # activation name or derive.activations.Activation
    x: Any

    def __post_init__(self):
        object.__setattr__(self, "act", activations.get(self.act))


@dataclass(frozen=True)
class Prime(_Printable):
    """The derivative of an activation applied element-wise: ``\\sigma'(a_{j})``."""

    act: Any
    x: Any

    def __post_init__(self):
        object.__setattr__(self, "act", activations.get(self.act))


@dataclass(frozen=True)
class Norm(_Printable):
    """||x||.  ``ord=2`` (the lectures' norm) prints bare; others print as a subscript
    (``1``, ``"inf"`` -> ``\\infty``, ``"fro"`` -> ``F``)."""

    x: Any
    ord: Any = 2

    def __post_init__(self):
        if self.ord not in (1, 2, "inf", "fro"):
            raise InvalidValue(f"norm order must be one of 1, 2, 'inf', 'fro', got {self.ord!r}")


@dataclass(frozen=True)
class Power(_Printable):
    """base^exponent, for factors SymPy does not hold: ``\\lVert W\\rVert^{t - k}``."""

    base: Any
    exponent: Any


@dataclass(frozen=True)
class Entry(_Printable):
    """One element of a node: ``Entry(node("s", "k"), ("p",))`` is ``s_{k, p}``; of a
    parameter, ``Entry(node("W"), ("q", "r"))`` is ``W_{qr}`` (CS7015 Module 14.5)."""

    of: Any  # NodeRef
    indices: tuple

    def __post_init__(self):
        if not self.indices:
            raise InvalidValue(f"an entry of {self.of} needs at least one index")
        object.__setattr__(self, "indices", tuple(self.indices))


@dataclass(frozen=True)
class Text(_Printable):
    """Words inside an equation, ``$...$`` marking maths: ``Text("if $\\sigma$ is logistic")``."""

    text: str


@dataclass(frozen=True)
class Relation(_Printable):
    """lhs rel rhs, with ``rel`` a key of `RELATIONS` (``"="``, ``"<="``, ``"equiv"``, ...)."""

    lhs: Any
    rel: str
    rhs: Any

    def __post_init__(self):
        relation(self.rel)


@dataclass(frozen=True)
class Chain(_Printable):
    """An inequality (or equality) chain on one line: ``a <= b < c``; a bound.

    ``steps`` is a tuple of ``(rel, expr)`` pairs; build it with `Chain.of`.
    """

    first: Any
    steps: tuple

    def __post_init__(self):
        steps = tuple(tuple(s) for s in self.steps)
        for step in steps:
            if len(step) != 2:
                raise InvalidValue(f"a chain step is a (relation, expression) pair, got {step!r}")
            relation(step[0])
        object.__setattr__(self, "steps", steps)

    @classmethod
    def of(cls, first, *rest) -> "Chain":
        """``Chain.of(a, "<=", b, "<", c)``."""
        if len(rest) % 2:
            raise InvalidValue("Chain.of takes an expression, then (relation, expression) pairs")
        return cls(first, tuple(zip(rest[::2], rest[1::2])))


@dataclass(frozen=True)
class Equation(_Printable):
    """lhs = rhs_1 = rhs_2 ..., one right-hand side per line (aligned at the relation).

    Each line is an expression (related by ``=``) or a ``(rel, expr)`` pair, so
    the slide's "≡" steps keep their mark.  One line prints inline.
    """

    lhs: Any
    rhs_lines: tuple

    def __post_init__(self):
        lines = self.rhs_lines if isinstance(self.rhs_lines, (tuple, list)) else (self.rhs_lines,)
        out = []
        for line in lines:
            if isinstance(line, tuple) and len(line) == 2 and isinstance(line[0], str) and line[0] in RELATIONS:
                out.append(line)
            else:
                out.append(("=", line))
        if not out:
            raise InvalidValue(f"the equation for {self.lhs!r} has no right-hand side")
        object.__setattr__(self, "rhs_lines", tuple(out))


@dataclass(frozen=True)
class System(_Printable):
    """Several equations aligned at their relations (a cell's equations)."""

    equations: tuple

    def __post_init__(self):
        object.__setattr__(self, "equations", tuple(self.equations))


def cell_equations(cell) -> System:
    """The equations of one step of ``cell``, in evaluation order: ``a_t = W s_{t-1} + U x_t + b``, ..."""
    lines = []
    for name in cell.nodes:
        sym = cell.symbols[name]
        lines.append(Equation(sym, (cell.equations[name],)))
    return System(tuple(lines))
