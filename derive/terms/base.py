"""The base of every term: one generic walk, substitution and instantiation.

A term is a frozen dataclass.  Its fields are sub-terms, node references,
index expressions (SymPy, integer symbols) or plain data (labels, activation
names); the walk below treats them by kind, so a new term class gets
``subs``, ``instantiate``, ``expand_indexed``, ``children`` and ``walk`` for
free and only says what it *means*:

- ``numeric(ctx)``: its value on one instance (`derive.numeric.evaluator.Numbers`);
- ``symbolic(ctx)``: a SymPy matrix at one step (`derive.prove.step.StepSymbols`);
- ``canon(ctx)``: its canonical path sum for the exact check (`derive.prove.canon.Canon`).

A meaning a class does not have raises `NotSupported` naming the class; nothing
is skipped silently.  Printing is not a method: the LaTeX printer has one
``_print_<Class>`` per term (`derive.render.latex.printer`), registered here as a
renderer so that the core never imports it.
"""

from __future__ import annotations

from dataclasses import fields, replace

import sympy as sp

from ..display import register_renderer, render  # noqa: F401  (register_renderer re-exported)
from ..errors import NotSupported, ShapeError
from derive.model.graph import NodeRef
from ..indices import as_index, index_symbol

__all__ = ["Term", "sub_time", "sub_index", "register_renderer"]

#: ``a * b`` and ``a + b``: the ordered product and the sum, set by `derive.terms.calculus`.
OPERATORS: dict = {}


def sub_index(e, mapping):
    """Substitute index symbols in an index expression; integers come back as int."""
    if e is None or isinstance(e, int):
        return e
    if isinstance(e, str):
        e = as_index(e)
        if isinstance(e, int):
            return e
    if not mapping:
        v = e
    elif all(isinstance(k, sp.Symbol) for k in mapping):
        # index symbols only: xreplace is subs, ten times faster
        v = e.xreplace({k: sp.Integer(x) if isinstance(x, int) else x for k, x in mapping.items()})
    else:
        v = e.subs(mapping)
    return int(v) if v.is_Integer else v


def sub_time(ref: NodeRef, mapping) -> NodeRef:
    """A node reference with its time index substituted."""
    if ref.t is None or isinstance(ref.t, int):
        return ref
    return NodeRef(ref.name, sub_index(ref.t, mapping))


def _map_value(v, fn_term, fn_ref, fn_index):
    if isinstance(v, Term):
        return fn_term(v)
    if isinstance(v, NodeRef):
        return fn_ref(v)
    if isinstance(v, sp.Basic) and fn_index is not None:
        return fn_index(v)
    if isinstance(v, tuple):
        return tuple(_map_value(x, fn_term, fn_ref, fn_index) for x in v)
    return v


class Term:
    """Base of every term.  ``a * b`` is the ordered product, ``a + b`` the sum.

    Subclasses are frozen dataclasses; the fields listed in ``_data`` are plain
    data that substitution leaves alone (labels, activation names, index symbols
    that a sum or product binds).
    """

    _data: tuple = ()
    _scalar: bool = False   # a number (Const): scales and broadcasts in `sym_mul` / `sym_broadcast`

    # -- algebra sugar ------------------------------------------------------------------
    def __mul__(self, other: "Term") -> "Term":
        return OPERATORS["mul"](self, other)

    def __add__(self, other: "Term") -> "Term":
        return OPERATORS["add"](self, other)

    # -- the generic walk ---------------------------------------------------------------
    def _fields(self):
        return [(f.name, getattr(self, f.name)) for f in fields(self) if f.name not in self._data]

    def children(self) -> tuple:
        """The direct sub-terms, in field order."""
        out = []

        def visit(v):
            if isinstance(v, Term):
                out.append(v)
            elif isinstance(v, tuple):
                for x in v:
                    visit(x)

        for _, v in self._fields():
            visit(v)
        return tuple(out)

    def walk(self):
        """This term and every sub-term, depth first."""
        yield self
        for c in self.children():
            yield from c.walk()

    def fixed(self) -> bool:
        """No free index and nothing to write out: ``subs`` and ``expand_indexed`` return the term itself.

        Cached on the term (terms are immutable), so a term shared by many
        lines (the recursive expansion's) is inspected once: substituting in or
        expanding such a line costs its length, not the size of its tree.
        Conservative: a class with its own ``subs`` or ``expand_indexed`` is
        never fixed, nor is a product with a product factor (it flattens).
        """
        hit = self.__dict__.get("_fixed_")
        if hit is None:
            hit = _fixed(self)
            object.__setattr__(self, "_fixed_", hit)
        return hit

    def map(self, fn) -> "Term":
        """The same term with ``fn`` applied to each direct sub-term."""
        changes = {name: _map_value(v, fn, lambda r: r, None) for name, v in self._fields()}
        return replace(self, **changes) if changes else self

    def subs(self, mapping: dict) -> "Term":
        """Substitute index symbols (``{k: 3}``) in times, bounds and exponents."""
        if self.fixed():
            return self
        changes = {name: _map_value(v, lambda t: t.subs(mapping), lambda r: sub_time(r, mapping),
                                    lambda e: sub_index(e, mapping))
                   for name, v in self._fields()}
        return replace(self, **changes) if changes else self

    def instantiate(self, **values: int) -> "Term":
        """Bind index symbols (``T=4``) and expand indexed sums and products with concrete bounds."""
        mapping = {index_symbol(k): v for k, v in values.items()}
        return self.subs(mapping).expand_indexed()

    def expand_indexed(self) -> "Term":
        """Indexed sums and products with numeric bounds written out."""
        if self.fixed():
            return self
        return self.map(expand)

    def times(self) -> set:
        """The time indices of every node this term mentions."""
        out = set()

        def refs(v):
            if isinstance(v, NodeRef):
                if v.t is not None:
                    out.add(v.t)
            elif isinstance(v, tuple):
                for x in v:
                    refs(x)

        for t in self.walk():
            for _, v in t._fields():
                refs(v)
        return out

    # -- meanings (overridden where a term has them) ------------------------------------
    def numeric(self, ctx):
        """The value on one instance: a 2-D array, a float, or None for an exact zero."""
        raise NotSupported(f"cannot evaluate a {type(self).__name__} numerically")

    def symbolic(self, ctx):
        """The SymPy matrix of this term at one step (`derive.prove.step.StepSymbols`)."""
        raise NotSupported(f"no one-step SymPy form for a {type(self).__name__}")

    def canon(self, ctx):
        """The canonical path sum (`derive.prove.canon.Poly`) for the exact check."""
        raise NotSupported(f"no canonical form for a {type(self).__name__}: it is not a derivative, "
                           "a product or a sum of them")

    def _repr_latex_(self) -> str:
        return "$\\displaystyle " + render(self) + "$"


def _fixed_value(v) -> bool:
    if isinstance(v, Term):
        return v.fixed()
    if isinstance(v, NodeRef):
        return v.t is None or (isinstance(v.t, int) and not isinstance(v.t, bool))
    if isinstance(v, sp.Basic):
        return False
    if isinstance(v, tuple):
        return all(_fixed_value(x) for x in v)
    return True   # plain data: `_map_value` leaves it as it is


def _fixed(term: Term) -> bool:
    cls = type(term)
    if cls.subs is not Term.subs or cls.expand_indexed not in _PLAIN_EXPAND:
        return False
    flat = getattr(cls, "_flattens", None)   # Prod: "factors", Sum: "terms" (`derive.terms.calculus`)
    if flat is not None:
        owner = next(c for c in cls.__mro__ if "_flattens" in c.__dict__)
        if any(isinstance(x, owner) for x in getattr(term, flat)):
            return False    # a product of products (a sum of sums) is flattened by expand_indexed
    return all(_fixed_value(v) for _, v in term._fields())


#: expand_indexed methods that only write out their sub-terms (filled in by `derive.terms.calculus`).
_PLAIN_EXPAND: list = [Term.expand_indexed]


def expand(x):
    """``x.expand_indexed()`` for a term; operands that are not terms stay as they are."""
    return x.expand_indexed() if isinstance(x, Term) else x


def numeric_of(x, ctx):
    """The value of an operand, asked of the context (so a context may refine any term's value)."""
    return ctx.value(x)


def numeric_value(x, ctx):
    """The default value of an operand: a term's meaning, a node's value, a number as a float."""
    if isinstance(x, Term):
        return x.numeric(ctx)
    if isinstance(x, NodeRef):
        return ctx.node(x)
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, sp.Basic) and x.is_number:
        return float(x)
    raise NotSupported(f"cannot evaluate {x!r} ({type(x).__name__}) numerically: it is not a term")


def symbolic_of(x, ctx):
    """The one-step SymPy matrix of an operand."""
    if isinstance(x, Term):
        return x.symbolic(ctx)
    if isinstance(x, NodeRef):
        return ctx.node(x)
    if isinstance(x, (int, sp.Basic)) and not isinstance(x, bool) and sp.sympify(x).is_number:
        return sp.Matrix([[x]])
    raise NotSupported(f"no one-step SymPy form for {x!r} ({type(x).__name__}): it is not a term")


def is_scalar(x) -> bool:
    """A number written in a formula (1, 1/4, −1, or a product or sum of them): it scales or
    broadcasts, as NumPy does with a float, where a 1x1 Jacobian would be a shape error."""
    if getattr(x, "_scalar", False) or (isinstance(x, (int, float)) and not isinstance(x, bool)):
        return True
    if isinstance(x, sp.Basic):
        return bool(x.is_number)
    parts = getattr(x, "factors", None)
    if parts is None and type(x).__name__ == "Sum":
        parts = x.terms
    return parts is not None and len(parts) > 0 and all(is_scalar(p) for p in parts)


def sym_mul(a, b, a_scalar: bool, b_scalar: bool):
    """The one-step SymPy product of two operands; a number scales the other side."""
    if a_scalar and a.shape == (1, 1) and b.shape != (1, 1):
        return a[0, 0] * b
    if b_scalar and b.shape == (1, 1) and a.shape != (1, 1):
        return a * b[0, 0]
    if a.cols != b.rows:
        raise ShapeError(f"cannot multiply a {a.rows}x{a.cols} matrix by a {b.rows}x{b.cols} matrix")
    return a * b


def sym_broadcast(a, b, a_scalar: bool, b_scalar: bool, what: str):
    """Two operands of a sum or an element-wise product at one shape: a number is broadcast (1 − s_t)."""
    if a.shape == b.shape:
        return a, b
    if a_scalar and a.shape == (1, 1):
        return sp.ones(*b.shape) * a[0, 0], b
    if b_scalar and b.shape == (1, 1):
        return a, sp.ones(*a.shape) * b[0, 0]
    raise ShapeError(f"cannot {what} a {a.rows}x{a.cols} and a {b.rows}x{b.cols} matrix")


def canon_of(x, ctx):
    """The canonical path sum of an operand (only terms have one)."""
    if isinstance(x, Term):
        cached = getattr(ctx, "cached", None)   # `derive.prove.canon.Canon` memoises by identity
        return x.canon(ctx) if cached is None else cached(x)
    raise NotSupported(f"no canonical form for {x!r} ({type(x).__name__}): it is not a derivative term")


def walk(term):
    """Every sub-term of ``term``, depth first; a value that is not a term (a node, a number) is its own walk."""
    return term.walk() if isinstance(term, Term) else iter((term,))
