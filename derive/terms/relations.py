"""Relations between terms: lhs rel rhs, chains of relations, equations over several lines, systems.

These carry no meaning of their own beyond their operands; `derive.checks.verify`
and the lecture checks decide whether a relation holds, the printer typesets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import InvalidValue, UnknownName
from .base import Term

__all__ = ["Relation", "Chain", "Equation", "System", "Cases", "SetOf", "RELATIONS", "relation", "cell_equations"]

#: Relation names an author may use -> LaTeX.
RELATIONS = MappingProxyType({
    "=": "=", "==": "=", "!=": r"\neq", "<": "<", ">": ">",
    "<=": r"\leq", ">=": r"\geq", "equiv": r"\equiv", "approx": r"\approx",
    "in": r"\in", "<-": r"\leftarrow", "->": r"\rightarrow", "therefore": r"\therefore",
    "=>": r"\implies",
})


def relation(rel: str) -> str:
    """The LaTeX of a relation name; unknown names list the known ones."""
    try:
        return RELATIONS[rel]
    except (KeyError, TypeError):
        raise UnknownName("relation", rel, list(RELATIONS)) from None


@dataclass(frozen=True)
class Relation(Term):
    """lhs rel rhs, with ``rel`` a key of `RELATIONS` (``"="``, ``"<="``, ``"equiv"``, ...)."""

    lhs: Any
    rel: str
    rhs: Any
    _data = ("rel",)

    def __post_init__(self):
        relation(self.rel)


@dataclass(frozen=True)
class Chain(Term):
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
class Equation(Term):
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
class System(Term):
    """Several equations aligned at their relations (a cell's equations)."""

    equations: tuple

    def __post_init__(self):
        object.__setattr__(self, "equations", tuple(self.equations))


@dataclass(frozen=True)
class Cases(Term):
    """A value by cases: ``((value, condition), ..., (value, None))``, None meaning "otherwise".

    The clipping rules of Applied NLP Lecture 59 (slide 17/21): g <- -1 if g < -1, g if |g| <= 1, 1 if g > 1.
    A condition is a term (a `Relation`, a `Chain`) or a tuple of terms read "or".
    """

    rows: tuple

    def __post_init__(self):
        rows = tuple(tuple(r) for r in self.rows)
        if not rows:
            raise InvalidValue("a definition by cases needs at least one case")
        for r in rows:
            if len(r) != 2:
                raise InvalidValue(f"a case is a (value, condition) pair, got {r!r}")
        if any(r[1] is None for r in rows[:-1]):
            raise InvalidValue("only the last case may be 'otherwise' (condition None)")
        object.__setattr__(self, "rows", rows)


@dataclass(frozen=True)
class SetOf(Term):
    """{a, b, c}: the nodes a node feeds (Lecture 111: h_k feeds o_{k+1}, i_{k+1}, f_{k+1}, s~_{k+1})."""

    items: tuple

    def __post_init__(self):
        object.__setattr__(self, "items", tuple(self.items))


def cell_equations(cell) -> System:
    """The equations of one step of ``cell``, in evaluation order: ``a_t = W s_{t-1} + U x_t + b``, ..."""
    lines = []
    for name in cell.nodes:
        sym = cell.symbols[name]
        lines.append(Equation(sym, (cell.equations[name],)))
    return System(tuple(lines))
