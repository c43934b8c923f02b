r"""Slide concepts for typesetting: the term classes of `derive.terms`, under their printing names.

Every object here is a `derive.terms` term, so what is typeset can also be
evaluated and checked.  ``Applied`` is `derive.terms.Apply`; ``Prime`` and
``Applied`` take ``(x, act)`` (the old ``(act, x)`` order still works, with a
DeprecationWarning).

Example (CS7015 Lecture 14, Module 14.4, the bound on one Jacobian)::

    >>> from derive.terms import D, Prod, node
    >>> from derive.render.latex import latex
    >>> step = D(node("s", "j"), node("s", "j - 1"))
    >>> print(latex(Chain.of(Norm(step), "<=", Norm(Prod((Diag(Prime(node("a", "j"), "logistic")), node("W")))))))
    \left\lVert \frac{\partial s_{j}}{\partial s_{j - 1}} \right\rVert \leq \left\lVert \operatorname{diag}(\sigma'(a_{j})) W \right\rVert
"""

from __future__ import annotations

from derive.terms import (RELATIONS, Apply, Chain, Diag, Entry, Equation, Norm, Power, Prime, Relation, System, Text,
                     Transpose, cell_equations, relation)

Applied = Apply

__all__ = [
    "Diag", "Prime", "Applied", "Norm", "Power", "Entry", "Text", "Transpose",
    "Relation", "Chain", "Equation", "System", "RELATIONS", "cell_equations", "relation",
]
