"""Index and dimension expressions read by a grammar, never by ``eval``.

Time indices (``t``, ``k+1``, ``T-2``, ``2t``), exponents (``t-k``) and tensor
dimensions (``n``, ``2*d``) are the only arithmetic a lecture writes inside a
subscript.  They are read here by a small recursive-descent grammar

    expr   := ["+"|"-"] term (("+"|"-") term)*
    term   := factor (["*"|"\\cdot"] factor)*        # "2t" is 2*t
    factor := INTEGER | NAME | "(" expr ")" | "{" expr "}"

and built with SymPy constructors, so no text a user or a document supplies is
ever passed to ``sympify`` (which is ``eval``).  Names become integer symbols,
the same ones :func:`derive.algebra.idx` makes.
"""

from __future__ import annotations

import re

import sympy as sp

from .errors import DeriveError

__all__ = ["IndexSyntaxError", "parse_index", "as_index", "index_symbol"]

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z][A-Za-z0-9_]*)|(\\cdot|[-+*(){}]))")
_MAX_LENGTH = 200


class IndexSyntaxError(DeriveError, ValueError):
    """An index or dimension expression that the grammar does not accept."""


def index_symbol(name: str) -> sp.Symbol:
    """The integer symbol for an index name (``t``, ``k``, ``tau``)."""
    return sp.Symbol(name, integer=True)


def _tokens(text: str):
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise IndexSyntaxError(
                f"index expression {text!r}: unexpected {text[pos:].strip()[:12]!r} at position {pos}; "
                "expected integers, index names, +, -, * and parentheses")
        number, name, op = m.groups()
        out.append(("int", int(number)) if number else ("name", name) if name else ("op", op))
        pos = m.end()
    return out


class _Reader:
    def __init__(self, text: str, symbols):
        self.text, self.toks, self.i, self.symbols = text, _tokens(text), 0, symbols

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def fail(self, what: str):
        raise IndexSyntaxError(f"index expression {self.text!r}: {what}; "
                               "expected integers, index names, +, -, * and parentheses")

    def expr(self):
        sign = 1
        kind, v = self.peek()
        if kind == "op" and v in "+-":
            self.i += 1
            sign = -1 if v == "-" else 1
        out = sign * self.term()
        while True:
            kind, v = self.peek()
            if kind == "op" and v in "+-":
                self.i += 1
                t = self.term()
                out = out + t if v == "+" else out - t
            else:
                return out

    def term(self):
        out = self.factor()
        while True:
            kind, v = self.peek()
            if kind == "op" and v in ("*", "\\cdot"):
                self.i += 1
                out = out * self.factor()
            elif kind in ("int", "name") or (kind == "op" and v in "({"):
                out = out * self.factor()           # juxtaposition: 2t, 2(t-1)
            else:
                return out

    def factor(self):
        kind, v = self.peek()
        if kind is None:
            self.fail("it ends where a number or a name was expected")
        self.i += 1
        if kind == "int":
            return sp.Integer(v)
        if kind == "name":
            return self.symbols(v)
        if v in "({":
            inner = self.expr()
            close = ")" if v == "(" else "}"
            if self.peek() != ("op", close):
                self.fail(f"missing {close!r}")
            self.i += 1
            return inner
        self.fail(f"unexpected {v!r}")


def parse_index(text: str, symbols=index_symbol) -> sp.Expr:
    """Read ``text`` as an index expression; ``symbols`` maps a name to its SymPy symbol.

    >>> parse_index("k+1")
    k + 1
    """
    if not isinstance(text, str):
        raise IndexSyntaxError(f"index expression: expected text, got {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise IndexSyntaxError(f"index expression of {len(text)} characters: expected at most {_MAX_LENGTH}")
    reader = _Reader(text, symbols)
    if not reader.toks:
        raise IndexSyntaxError("index expression '': expected an integer or an index name")
    out = reader.expr()
    if reader.i != len(reader.toks):
        reader.fail(f"unexpected {reader.toks[reader.i][1]!r} after a complete expression")
    return out


def as_index(value, symbols=index_symbol):
    """An int, a SymPy expression or index text, as an int where it is a number, else a SymPy expression.

    ``None`` stays ``None`` (a node without time).  Anything else is an error naming the value.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise IndexSyntaxError(f"index {value!r}: expected an integer, an index name or an expression")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = parse_index(value, symbols)
    if isinstance(value, sp.Basic):
        if value.is_Integer:
            return int(value)
        if isinstance(value, sp.Expr) and all(s.is_integer for s in value.free_symbols) \
                and not value.atoms(sp.Float):
            return value
    raise IndexSyntaxError(f"index {value!r}: expected an integer, an index name or an integer expression")
