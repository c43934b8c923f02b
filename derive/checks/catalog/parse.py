"""Lecture symbols -> engine names, and the parser: a claim written in a course's notation as an engine term."""

from __future__ import annotations

import re

import sympy as sp

from derive.terms import (Apply, Const, D, Diag, Gamma, Hadamard, Lam, Norm, Power, Prime, Prod, ProdOver,
                          SpectralRadius, Sum, SumOver, Term, Value, idx, walk)
from derive.model.cell import Cell
from derive.errors import DeriveError, InvalidValue, UnknownName
from derive.model.graph import NodeRef
from derive.indices import IndexSyntaxError, parse_index
from derive.notation import get_notation, notations
from derive.terms.base import sub_time as _sub_ref


class _Notations:
    """The registered notations' names, read at use (a profile registered later is included)."""

    def __iter__(self):
        return iter(notations())

    def __contains__(self, name) -> bool:
        return name in notations()

    def __len__(self) -> int:
        return len(notations())

    def __repr__(self) -> str:
        return repr(tuple(notations()))


#: Every registered notation (`derive.notation`): the ones a claim may be written in.
NOTATIONS = _Notations()


def lecture_names(notation: str, cell: "Cell | None" = None) -> "dict[str, str]":
    """How a course writes the engine names of ``cell`` (default the vanilla RNN): written symbol -> engine name.

    Derived from the notation's printing tables (`derive.notation.Notation.reading`):
    what prints as ``W_{h}`` reads back from ``W_h``.
    """
    if cell is None:
        from derive.cells import rnn

        cell = rnn()
    return get_notation(notation).reading(cell)


class _LectureNames:
    """``LECTURE_NAMES[notation]``: `lecture_names` for the vanilla RNN (kept for existing callers)."""

    def __getitem__(self, notation: str) -> "dict[str, str]":
        return lecture_names(notation)

    def __iter__(self):
        return iter(notations())


LECTURE_NAMES = _LectureNames()


class _TimeStyles:
    """``TIME_STYLE[notation]``: where a course writes the time index (sub, bracket, paren)."""

    def __getitem__(self, notation: str) -> "tuple[str, ...]":
        return get_notation(notation).time_styles


TIME_STYLE = _TimeStyles()

_GREEK = {"τ": "tau", "γ": "gamma", "λ": "lambda", "σ": "sigma", "θ": "theta", "ρ": "rho"}


class _Parser:
    r"""Recursive descent over a claim written in plain lecture notation.

    Grammar (whitespace free)::

        expr   := term ('+' term)*
        term   := factor ((' ' | '*' | '×' | '\times') factor)* [bigop]
        bigop  := ('prod' | 'sum' | 'Π' | 'Σ') '_{' i '=' lo '}' '^{' hi '}' term     (body: rest of the term)
                | 'prod' '_{' j '<' i '<=' t '}' term                                 (CS224n: Π_{j<t≤i})
        factor := atom ['^' '{' exponent '}']
        atom   := 'd' ['+'] sym '/' 'd' sym | 'diag(' expr ')' | "σ'(" expr ')' | 'σ(' expr ')'
                | 'tanh(' expr ')' | 'rho(' expr ')' | '||' expr '||' | '(' expr ')' | '[' expr ']'
                | 'γ' | 'λ' | number | sym
        sym    := name [time]      s_{t-1} (cs7015), h^{[t]} / h^{(t)} (appliednlp), h^{(t)} (cs224n)

    Unknown symbols raise `UnknownName` listing the course's symbols; anything
    else that does not parse raises `DeriveError` naming the position.
    """

    def __init__(self, text: str, notation: str, cell: Cell, order: str = "descending", outside: str = "error"):
        nota = get_notation(notation)  # an unregistered name lists the registered ones
        if order not in ("descending", "ascending"):
            raise UnknownName("product order", order, ("descending", "ascending"))
        for g, name in _GREEK.items():
            text = text.replace(g, f" {name} " if name in ("gamma", "lambda") else name)
        text = text.replace("∂", "d").replace("⁺", "+").replace("‖", "||").replace("≤", "<=").replace("\\", "")
        self.text, self.pos, self.notation, self.cell, self.order = text, 0, notation, cell, order
        self.outside, self.in_norm = outside, 0
        # the course's printing tables, read the other way (per cell family; engine names as a fallback)
        self.names, self.time_styles = nota.reading(cell), nota.time_styles

    # -- low level ---------------------------------------------------------------------
    def error(self, what: str):
        raise DeriveError(f"cannot parse {self.text.strip()!r} ({self.notation} notation) at position "
                          f"{self.pos}: {what}; the rest is {self.text[self.pos:self.pos + 20]!r}")

    def ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t\n":
            self.pos += 1

    def peek(self, s: str) -> bool:
        self.ws()
        return self.text.startswith(s, self.pos)

    def take(self, s: str) -> bool:
        if self.peek(s):
            self.pos += len(s)
            return True
        return False

    def expect(self, s: str):
        if not self.take(s):
            self.error(f"expected {s!r}")

    def match(self, pattern: str):
        self.ws()
        m = re.compile(pattern).match(self.text, self.pos)
        if m:
            self.pos = m.end()
        return m

    def braced(self) -> str:
        """The text of {...} (nesting allowed) or one character."""
        self.ws()
        if not self.take("{"):
            m = self.match(r"[A-Za-z0-9]")
            if not m:
                self.error("expected an index or exponent")
            return m.group(0)
        depth, start = 1, self.pos
        while self.pos < len(self.text) and depth:
            depth += {"{": 1, "}": -1}.get(self.text[self.pos], 0)
            self.pos += 1
        if depth:
            self.error("unbalanced '{'")
        return self.text[start:self.pos - 1]

    def index_expr(self, text: str):
        """An index or exponent, read by the index grammar (`derive.indices`): text is never evaluated."""
        text = text.strip().strip("[]()").strip()
        try:
            e = parse_index(text)
        except IndexSyntaxError as exc:
            self.error(str(exc))
        return int(e) if e.is_Integer else e

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Term:
        out = self.expr()
        self.ws()
        if self.pos != len(self.text):
            self.error("unexpected text")
        return out

    def expr(self) -> Term:
        terms = [self.term()]
        while self.take("+"):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Sum(tuple(_flat_sum(terms)))

    def term(self) -> Term:
        factors: list = []
        while True:
            self.ws()
            if self.pos >= len(self.text) or self.text[self.pos] in "+)]" or (self.in_norm and self.peek("||")):
                break
            if self.take("*") or self.take("×") or self.take("times") or self.take("·"):
                continue
            big = self.bigop()
            if big is not None:
                factors.append(big)
                break
            f = self.factor()
            while self.take("⊙") or self.take("odot"):
                f = Hadamard(f, self.factor())
            factors.append(f)
        if not factors:
            self.error("expected a term")
        return factors[0] if len(factors) == 1 else Prod(tuple(x for f in factors for x in _flat_prod(f)))

    def bigop(self) -> "Term | None":
        m = self.match(r"(prod|sum|Π|Σ)_")
        if not m:
            return None
        kind = "prod" if m.group(1) in ("prod", "Π") else "sum"
        sub = self.braced()
        chain = re.fullmatch(r"\s*(\w+)\s*<\s*(\w+)\s*<=\s*(\w+)\s*", sub)
        if chain:  # Π_{j<t<=i}: t from j+1 to i
            i, lo, hi = idx(chain.group(2)), self.index_expr(chain.group(1)) + 1, self.index_expr(chain.group(3))
        else:
            eq = re.fullmatch(r"\s*(\w+)\s*=\s*(.+)", sub)
            if not eq:
                self.error(f"a {kind} needs limits {{i=lo}}^{{hi}} or {{j<t<=i}}, got {{{sub}}}")
            i, lo = idx(eq.group(1)), self.index_expr(eq.group(2))
            self.expect("^")
            hi = self.index_expr(self.braced())
        body = self.term()
        if kind == "sum":
            return SumOver(i, lo, hi, body)
        ds = [t for t in walk(body) if isinstance(t, D)]
        if ds:  # the empty product is ∂f/∂f = I for the body's numerator at the top index
            ident = _sub_ref(ds[0].f, {i: hi})
        else:   # a product of d x d formulas (diag(σ') U): I of the state's size
            ident = NodeRef(self.cell.recurrent[0], hi) if self.cell.recurrent else None
        return ProdOver(i, lo, hi, body, descending=self.order == "descending", identity=ident)

    def factor(self) -> Term:
        atom = self.atom()
        if self.take("^"):
            atom = Power(atom, self.index_expr(self.braced()))
        return atom

    def atom(self) -> Term:
        for opener, closer in (("(", ")"), ("[", "]"), ("||", "||")):
            if self.take(opener):
                self.in_norm += opener == "||"
                inner = self.expr()
                self.expect(closer)
                self.in_norm -= opener == "||"
                return Norm(inner) if opener == "||" else inner
        m = self.match(r"(diag|sigma'|sigma|tanh'|tanh|logistic'|logistic|rho)\s*\(")
        if m:
            inner = self.expr()
            self.expect(")")
            head = m.group(1)
            act = None if head.startswith("sigma") else head.rstrip("'")
            if head == "diag":
                return Diag(inner)
            if head == "rho":
                return SpectralRadius(inner)
            return Prime(inner, act) if head.endswith("'") else Apply(inner, act)
        if self.match(r"gamma\b"):
            return Gamma()
        if self.match(r"lambda\b"):
            return Lam()
        m = self.match(r"\d+(\.\d+)?(/\d+)?")
        if m:
            return Const(sp.Rational(m.group(0)) if "/" in m.group(0) else sp.nsimplify(m.group(0)))
        derivative = self.derivative()
        if derivative is not None:
            return derivative
        return Value(self.symbol(), self.outside)

    def derivative(self) -> "D | None":
        start = self.pos
        m = self.match(r"d(\+)?\s*(?=[A-Za-z])")
        if not m:
            return None
        try:
            f = self.symbol()
        except DeriveError:
            self.pos = start
            return None
        if not self.take("/"):
            self.pos = start
            return None
        if not self.match(r"d\s*(?=[A-Za-z])"):
            self.error("expected 'd' (or '∂') after '/' in a derivative")
        return D(f, self.symbol(), explicit=bool(m.group(1)))

    def symbol(self) -> NodeRef:
        m = self.match(r"[A-Za-z][A-Za-z0-9]*(?:_(?:\{[^{}]*\}|[A-Za-z0-9]+))*")
        if not m:
            self.error("expected a symbol")
        name, time = m.group(0), None
        sup = re.compile(r"\^(\{\[[^\]]*\]\}|\{\([^)]*\)\}|\[[^\]]*\]|\([^)]*\))").match(self.text, self.pos)
        engine = self.names.get(name)
        if engine is None and "_" in name and "sub" in self.time_styles:
            base, _, sub = name.rpartition("_")
            known = self.cell.symbols.get(self.names.get(base, ""))
            if known is not None and known.role != "param":  # s_{t-1}; but W_h is a name, not W at time h
                engine, time = self.names[base], self.index_expr(sub.strip("{}"))
        if engine is None:
            raise UnknownName(f"symbol of the {self.notation} notation (cell {self.cell.name!r})", name,
                              sorted(self.names))
        sym = self.cell.symbols.get(engine)
        if sym is None:
            raise UnknownName(f"name in cell {self.cell.name!r}", engine, sorted(self.cell.symbols))
        if sup and sym.role != "param" and time is None:
            self.pos = sup.end()
            time = self.index_expr(sup.group(1).strip("{}"))
        self.match(r"\((theta|θ)\)")  # the loss's argument L_t(θ)
        if sym.role == "param":
            if time is not None:
                self.error(f"{name} is a parameter and takes no time index")
            return NodeRef(engine)
        if time is None and engine in self.cell.losses:
            return NodeRef(engine)  # the total loss L = Σ_t L_t
        if time is None:
            self.error(f"{name} needs a time index")
        return NodeRef(engine, time)


def _flat_sum(terms):
    return [x for t in terms for x in (t.terms if isinstance(t, Sum) else (t,))]


def _flat_prod(f):
    return f.factors if isinstance(f, Prod) else (f,)


def parse(text: str, notation: str, cell: Cell, *, order: str = "descending", outside: str = "error") -> Term:
    """A claim's side, written in a course's symbols, as an engine term.

    ``order`` is how a plain Π is read: "descending" (the chain-rule order,
    factor of the largest index leftmost, as every lecture expands it) or
    "ascending" (factor of the smallest index leftmost).  ``outside="zero"``
    reads a value at a time outside the graph (x_0) as zero.

    Example::

        >>> parse("dE^{(t)}/dh^{(t)} prod_{tau=1}^{t} dh^{(tau)}/dh^{(tau-1)}", "appliednlp", rnn())
        Prod(...)   # ∂L_t/∂s_t Π_{τ=1}^{t} ∂s_τ/∂s_{τ-1}
    """
    if isinstance(text, Term):
        return text
    if not isinstance(text, str):
        raise InvalidValue(f"a claim's side is a string or an engine term, got {type(text).__name__}")
    return _Parser(text, notation, cell, order, outside).parse()
