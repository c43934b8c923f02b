r"""A LaTeX reader that is a grammar: one side of a document's equation -> an engine term.

Nothing here evaluates text: the LaTeX is cut into tokens and read by recursive
descent; index expressions (``t-1``, ``k+1``, exponents ``t-k``) go to
`derive.indices.parse_index`, which is a grammar too.  The terms built are the
project's own (`derive.terms`: D, Prod, Sum, SumOver, ProdOver, Brace, Value, Diag,
Apply, Prime, Hadamard, Norm, Power, Const, Transpose), so the verifier checks them as it
checks the catalog's claims.

Grammar (tokens; spacing commands ``\, \; \! \quad`` and sizes ``\big`` are skipped)::

    expr    := ['+'|'-'] term (('+'|'-') term)*
    term    := (bigop | hfactor) ((\cdot | \times | juxtaposition) (bigop | hfactor))*
    bigop   := (\sum | \prod) '_' '{' i '=' lo '}' '^' '{' hi '}' term     # the body is the rest of the term
             | \prod '_' '{' j '<' i (\le | \leq) t '}' term                 # CS224n: Π_{j<i≤t}, i from j+1 to t
    hfactor := factor ((\odot | \circ) factor)*
    factor  := atom ('^' sup)*            # ^\top, ^T: transpose; ^{(t)}, ^{[t]}: time; else a power
    atom    := '{' expr '}' | '(' expr ')' | '[' expr ']' | \left. … \right. | \| expr \| | \lVert expr \rVert
             | \frac{\partial[^+] f}{\partial x} | \frac{d f}{d x} | \partial[^+]_{x} f | \frac{a}{b} (numbers)
             | \underbrace{expr}_{label} | \overbrace{expr}^{label}
             | (\sigma | \tanh | f)['|^{\prime}] '(' expr ')' | (\operatorname | \text | \mathrm){diag} '(' expr ')'
             | number | symbol
    symbol  := base ('_' sub | '^' time)*  # base: a letter, \mathbf{W}, \boldsymbol{h}, \mathrm{W}, \hat{y}, \theta

A symbol is looked up in the document's map (document name -> cell name):
``W_{hh}`` is first the whole name ``W_hh``, then ``W`` with the time ``hh``
(refused: a parameter has no time).  Anything not understood raises
`NotUnderstood` naming the construct and its position; nothing else escapes.
"""

from __future__ import annotations

import re

import sympy as sp

from derive.terms import (Apply, Brace, Const, D, Diag, Hadamard, Norm, Power, Prime, Prod, ProdOver, Sum,
                          SumOver, Term, Value, walk)
from derive.terms.base import sub_time as _sub_ref
from derive.model.cell import Cell
from derive.errors import DeriveError
from derive.model.graph import NodeRef
from derive.indices import IndexSyntaxError, index_symbol, parse_index
from .errors import NotUnderstood
from .lexer import (_ACTIVATIONS, _GREEK, _MAX_LENGTH, _TRANSPOSE, Tok, _is_d, _key_part, _label, _plain,
                    tokens)
from .symbols import SymbolReading
from .terms import Transpose

__all__ = ["NotUnderstood", "Reader", "read", "symbol_key", "tokens"]

class Reader(SymbolReading):
    """Recursive descent over the tokens of one side, in a document's symbol map.

    ``names``: the document's symbol keys (`symbol_key`) -> the cell's names.
    ``layout``: "jacobian" (numerator layout: ∂f/∂x is the engine's Jacobian, CS7015)
    or "gradient" (denominator layout: ∂f/∂x is its transpose, ∂L/∂h a column).
    """

    def __init__(self, text: str, names: "dict[str, str]", cell: Cell, layout: str = "jacobian"):
        if len(text) > _MAX_LENGTH:
            raise NotUnderstood(f"a side of {len(text)} characters (at most {_MAX_LENGTH} are read)")
        self.text, self.toks, self.i = text, tokens(text), 0
        self.names, self.cell, self.layout = names, cell, layout
        self.norm_depth, self.applied = 0, False
        self.applications: "list[tuple[NodeRef, list]]" = []   # f(args): (node, its arguments), checked per binding

    # -- tokens ------------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Tok:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else Tok("end", "", len(self.text))

    def at(self, *texts: str) -> bool:
        t = self.peek()
        return t.kind != "end" and t.text in texts

    def take(self, *texts: str) -> bool:
        if self.at(*texts):
            self.i += 1
            return True
        return False

    def next(self) -> Tok:
        t = self.peek()
        self.i += 1
        return t

    def fail(self, what: str, tok: "Tok | None" = None):
        tok = tok or self.peek()
        raise NotUnderstood(what, tok.pos)

    def expect(self, text: str, what: str = ""):
        if not self.take(text):
            t = self.peek()
            found = "the end" if t.kind == "end" else repr(t.text)
            self.fail(f"expected {text!r}{' ' + what if what else ''}, found {found}")

    def group_tokens(self) -> "list[Tok]":
        """The tokens of ``{…}`` (nesting kept) or of one token."""
        if self.take("{"):
            depth, out = 1, []
            while True:
                t = self.next()
                if t.kind == "end":
                    self.fail("unbalanced '{'", t)
                if t.text == "{":
                    depth += 1
                elif t.text == "}":
                    depth -= 1
                    if depth == 0:
                        return out
                out.append(t)
        t = self.next()
        if t.kind == "end":
            self.fail("a subscript or superscript is missing")
        if t.kind == "cmd" and t.text in ("\\mathrm", "\\mathsf", "\\text", "\\textsf", "\\mathbf"):
            return [t, Tok("char", "{", t.pos)] + self.group_tokens() + [Tok("char", "}", t.pos)]
        return [t]

    def sub_reader(self, toks: "list[Tok]") -> "Reader":
        r = Reader.__new__(Reader)
        r.text, r.toks, r.i = self.text, list(toks), 0
        r.names, r.cell, r.layout, r.norm_depth, r.applied = self.names, self.cell, self.layout, 0, False
        r.applications = self.applications
        return r

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> Term:
        if not self.toks:
            raise NotUnderstood("an empty side")
        out = self.expr()
        if self.peek().kind != "end":
            self.fail(f"unexpected {self.peek().text!r}")
        return out

    def expr(self) -> Term:
        terms = []
        sign = -1 if self.take("-") else 1
        self.take("+") if sign == 1 else None
        while True:
            t = self.term()
            terms.append(_neg(t) if sign < 0 else t)
            if self.take("+"):
                sign = 1
            elif self.take("-"):
                sign = -1
            else:
                break
        flat = [x for t in terms for x in (t.terms if isinstance(t, Sum) else (t,))]
        return flat[0] if len(flat) == 1 else Sum(tuple(flat))

    def _ends_term(self) -> bool:
        t = self.peek()
        if t.kind == "end" or t.text in ("+", "-", ")", "]", "}", "\\right", "&", ",", "="):
            return True
        return self.norm_depth > 0 and t.text in ("|", "\\|", "\\rVert", "\\Vert")

    def term(self) -> Term:
        factors: list = []
        while not self._ends_term():
            if self.take("\\cdot", "\\times", "*", "\\ast"):
                continue
            if self.at("\\sum", "\\prod"):
                factors.append(self.bigop())
                break
            f = self.factor()
            while self.take("\\odot", "\\circ"):
                f = Hadamard(f, self.factor())
            factors.append(f)
        if not factors:
            t = self.peek()
            self.fail("expected a term, found " + ("the end" if t.kind == "end" else repr(t.text)))
        flat = [x for f in factors for x in (f.factors if isinstance(f, Prod) else (f,))]
        return flat[0] if len(flat) == 1 else Prod(tuple(flat))

    def bigop(self) -> Term:
        op = self.next()
        kind = "sum" if op.text == "\\sum" else "prod"
        lo_toks = hi_toks = None
        for _ in range(2):
            if self.take("_"):
                lo_toks = self.group_tokens()
            elif self.take("^"):
                hi_toks = self.group_tokens()
        if lo_toks is None:
            self.fail(f"a \\{kind} without limits: expected _{{i=lo}}^{{hi}}", op)
        lower = _plain(lo_toks)
        chain = re.fullmatch(r"\s*(.+?)\s*<\s*([A-Za-z]\w*)\s*(?:\\leq?|<=|≤)\s*(.+?)\s*", lower)
        if chain and hi_toks is None:
            i = index_symbol(chain.group(2))
            lo, hi = self.index(chain.group(1), op) + 1, self.index(chain.group(3), op)
        else:
            eq = re.fullmatch(r"\s*([A-Za-z]\w*)\s*=\s*(.+?)\s*", lower)
            if not eq or hi_toks is None:
                self.fail(f"a \\{kind} needs limits _{{i=lo}}^{{hi}} or _{{j<i\\le t}}, got _{{{lower}}}", op)
            i, lo, hi = index_symbol(eq.group(1)), self.index(eq.group(2), op), self.index(_plain(hi_toks), op)
        body = self.term()
        if kind == "sum":
            return SumOver(i, lo, hi, body)
        ds = [t for t in walk(body) if isinstance(t, D)]
        if ds:  # the empty product is ∂f/∂f = I, f the numerator at the top index
            ident = _sub_ref(ds[0].f, {i: hi})
        else:
            ident = NodeRef(self.cell.recurrent[0], hi) if self.cell.recurrent else None
        return ProdOver(i, lo, hi, body, descending=True, identity=ident)

    def index(self, text: str, tok: "Tok | None" = None):
        text = text.strip()
        m = re.fullmatch(r"[(\[]\s*(.*?)\s*[)\]]", text)
        if m:
            text = m.group(1)
        try:
            e = parse_index(text)
        except IndexSyntaxError as exc:
            self.fail(f"the index {text!r} is not an index expression ({exc})", tok)
        for name in sorted(str(x) for x in e.free_symbols):
            if len(name) > 1 and name not in _GREEK:   # s_{kp}: the entry p of s_k, not an index "kp"
                self.fail(f"the index {text!r}: {name!r} is not one index name (an element index?)", tok)
        return int(e) if e.is_Integer else e

    def factor(self) -> Term:
        atom = self.atom()
        while self.at("^"):
            tok = self.next()
            sup = self.group_tokens()
            s = _plain(sup)
            if s in _TRANSPOSE or s.replace(" ", "") in _TRANSPOSE:
                atom = Transpose(atom)
            elif re.fullmatch(r"\s*[(\[].*[)\]]\s*", s):
                self.fail(f"a time index ^{{{s}}} on something that is not a symbol of the cell", tok)
            else:
                atom = Power(atom, self.index(s, tok))
        if self.at("'") or self.at("_"):
            self.fail(f"unexpected {self.peek().text!r} after a complete factor")
        return atom

    def atom(self) -> Term:
        t = self.peek()
        if t.kind == "end":
            self.fail("expected a factor, found the end")
        if t.text == "{":
            self.i += 1
            inner = self.expr()
            self.expect("}")
            return inner
        if t.text in ("(", "["):
            self.i += 1
            inner = self.expr()
            self.expect(")" if t.text == "(" else "]")
            return inner
        if t.text == "\\left":
            return self.left_right()
        if t.text in ("\\|", "\\lVert", "\\Vert"):
            self.i += 1
            self.norm_depth += 1
            inner = self.expr()
            self.norm_depth -= 1
            if not self.take("\\|", "\\rVert", "\\Vert"):
                self.fail("expected a closing \\| of the norm")
            self.norm_subscript()
            return Norm(inner)
        if t.text == "|" and self.peek(1).text == "|":
            self.i += 2
            self.norm_depth += 1
            inner = self.expr()
            self.norm_depth -= 1
            if not (self.take("|") and self.take("|")):
                self.fail("expected a closing || of the norm")
            self.norm_subscript()
            return Norm(inner)
        if t.text == "\\frac" or t.text == "\\dfrac" or t.text == "\\tfrac":
            return self.frac()
        if t.text == "\\partial":
            return self.partial_operator()
        if t.text == "\\nabla":
            return self.nabla()
        if t.text in ("\\underbrace", "\\overbrace", "\\underset", "\\overset"):
            return self.brace()
        if t.kind == "num":
            self.i += 1
            return Const(sp.Rational(t.text) if "." in t.text else sp.Integer(t.text))
        if t.text in ("\\operatorname", "\\text", "\\mathrm", "\\textrm", "\\mathop") and \
                _plain(self._peek_group(1)) in ("diag", "Diag"):
            self.i += 1
            self.group_tokens()
            return Diag(self.argument("diag"))
        if t.text == "\\diag":
            self.i += 1
            return Diag(self.argument("diag"))
        if t.kind == "cmd" and t.text[1:] in _ACTIVATIONS:
            return self.activation()
        if t.text in ("\\sum", "\\prod"):
            return self.bigop()
        return self.symbol_value()

    def _peek_group(self, k: int) -> "list[Tok]":
        save = self.i
        self.i += k
        try:
            return self.group_tokens()
        except NotUnderstood:
            return []
        finally:
            self.i = save

    def norm_subscript(self):
        if self.take("_"):
            sub = _plain(self.group_tokens())
            if sub not in ("2",):
                self.fail(f"the norm ||·||_{{{sub}}}: only the 2-norm (the lectures' norm) is read")

    def left_right(self) -> Term:
        self.expect("\\left")
        opener = self.next()
        pairs = {"(": ")", "[": "]", "\\|": "\\|", "\\lVert": "\\rVert", "\\Vert": "\\Vert", "\\{": "\\}",
                 "|": "|", ".": "."}
        if opener.text not in pairs:
            self.fail(f"\\left{opener.text} is not read", opener)
        inner = self.expr()
        if not self.take("\\right"):
            self.fail(f"expected \\right to close \\left{opener.text}")
        closer = self.next()
        if opener.text in ("|",) and closer.text == "|":
            self.fail("|…| (an absolute value or a determinant) is not read", opener)
        if opener.text == "\\{":
            self.fail("\\left\\{ is not read", opener)
        if opener.text in ("\\|", "\\lVert", "\\Vert"):
            self.norm_subscript()
            return Norm(inner)
        return inner

    def argument(self, what: str) -> Term:
        """The argument of diag(…), σ(…): parentheses, brackets, a group, or \\left( … \\right)."""
        if self.at("(", "[", "{", "\\left"):
            return self.atom()
        self.fail(f"{what} needs an argument in parentheses")

    def activation(self) -> Term:
        tok = self.next()
        act = _ACTIVATIONS[tok.text[1:]]
        prime = False
        if self.take("'"):
            prime = True
        elif self.at("^") and _plain(self._peek_group(1)) in ("\\prime", "'"):
            self.i += 1
            self.group_tokens()
            prime = True
        if self.at("_"):
            self.fail(f"{tok.text} with a subscript is not read", tok)
        power = None
        if self.at("^"):   # \tanh^2(a_t): the element-wise square of tanh(a_t)
            self.i += 1
            power = self.index(_plain(self.group_tokens()), tok)
            if not isinstance(power, int) or prime:
                self.fail(f"the power {power} of {tok.text} is not read", tok)
        x = self.argument(tok.text)
        out = Prime(x, act) if prime else Apply(x, act)
        return out if power is None else Power(out, power)

    def nabla(self) -> Term:
        """\\nabla_{x} f: the gradient of a scalar f, a column (the transpose of the Jacobian row)."""
        tok = self.next()
        if not self.take("_"):
            self.fail("\\nabla without a subscript _{x} is not read", tok)
        x = self.sub_reader(self.group_tokens()).node_ref()
        f = self.node_ref()
        if self.cell.symbols[f.name].shape != ():
            self.fail(f"\\nabla of {f}, which is not a scalar", tok)
        return Transpose(D(f, x))

    def brace(self) -> Term:
        tok = self.next()
        if tok.text in ("\\underset", "\\overset"):
            self.group_tokens()  # the label above/below
            body = self.sub_reader(self.group_tokens()).parse()
            return body
        body = self.sub_reader(self.group_tokens()).parse()
        mark = "_" if tok.text == "\\underbrace" else "^"
        if self.take(mark):
            label = _label(self.group_tokens())
            return Brace(body, label)
        return body

    def frac(self) -> Term:
        tok = self.next()
        num, den = self.group_tokens(), self.group_tokens()
        if num and (num[0].text == "\\partial" or _is_d(num)):
            return self.derivative(num, den, tok)
        if _plain(num).isdigit() and _plain(den).isdigit():
            if int(_plain(den)) == 0:
                self.fail("a fraction with denominator 0", tok)
            return Const(sp.Rational(int(_plain(num)), int(_plain(den))))
        self.fail("a fraction that is neither a derivative nor a number (division is not read)", tok)

    def derivative(self, num, den, tok) -> Term:
        explicit = False
        r = self.sub_reader(num)
        if r.take("\\partial"):
            if r.take("^"):
                mark = _plain(r.group_tokens())
                if mark != "+":
                    self.fail(f"\\partial^{{{mark}}}: only \\partial^{{+}} (the explicit derivative) is read", tok)
                explicit = True
        else:
            r.next() if r.peek().text == "d" else (r.next(), r.group_tokens())
        if r.peek().kind == "end":
            self.fail("\\frac{\\partial}{\\partial x} applied to what follows is not read; "
                      "write \\frac{\\partial f}{\\partial x}", tok)
        f = r.node_ref()
        explicit = explicit or r.applied
        if r.peek().kind != "end":
            self.fail(f"the numerator of a derivative must be one symbol, found more after it: {r.peek().text!r}", tok)
        q = self.sub_reader(den)
        if not (q.take("\\partial") or (q.peek().text == "d" and q.next()) or
                (_is_d(den) and (q.next(), q.group_tokens()))):
            self.fail("the denominator of a derivative must be \\partial x", tok)
        x = q.node_ref()
        if q.peek().kind != "end":
            self.fail(f"the denominator of a derivative must be one symbol, found {q.peek().text!r} after it", tok)
        return self.jacobian(f, x, explicit)

    def partial_operator(self) -> Term:
        tok = self.next()
        explicit = False
        x = None
        for _ in range(2):
            if self.take("^"):
                mark = _plain(self.group_tokens())
                if mark != "+":
                    self.fail(f"\\partial^{{{mark}}}: only \\partial^{{+}} is read", tok)
                explicit = True
            elif self.take("_"):
                x = self.sub_reader(self.group_tokens()).node_ref()
        if x is None:
            self.fail("a lone \\partial (outside \\frac, without a subscript) is not read", tok)
        f = self.node_ref()
        return self.jacobian(f, x, explicit)

    def jacobian(self, f: NodeRef, x: NodeRef, explicit: bool) -> Term:
        """∂f/∂x; in gradient layout the derivative of a scalar is a column, the transpose of its Jacobian row
        (the mixed layout of most textbooks: ∂L/∂h_t a gradient, ∂h_t/∂h_k a Jacobian)."""
        d = D(f, x, explicit)
        if self.layout != "gradient" or self.cell.symbols[f.name].shape != ():
            return d
        if self.cell.symbols[x.name].role == "param" and len(self.cell.symbols[x.name].shape) == 2:
            raise NotUnderstood(f"∂{f}/∂{x} in gradient layout is a matrix shaped like {x}; the engine's "
                                f"Jacobian is its flattened row, and matrix-shaped gradients are not read")
        return Transpose(d)

    # -- symbols ---------------------------------------------------------------------------
def _neg(t: Term) -> Term:
    return Prod((Const(sp.Integer(-1)),) + (t.factors if isinstance(t, Prod) else (t,)))


def symbol_key(tex: str) -> str:
    """The key a symbol written as ``tex`` is looked up by: ``W_{hh}`` -> ``W_hh``, ``\\mathscr{L}`` -> ``L``,
    ``\\hat{y}`` -> ``y_hat``, ``\\mathbf{h}`` -> ``h``, ``b_{1}`` -> ``b_1``."""
    r = Reader.__new__(Reader)
    r.text, r.toks, r.i = tex, tokens(tex), 0
    r.names, r.cell, r.layout, r.norm_depth, r.applied, r.applications = {}, None, "jacobian", 0, False, []
    base, scripts, _ = r.raw_symbol()
    if r.peek().kind != "end":
        raise NotUnderstood(f"{tex!r} is not one symbol")
    for mark, s in scripts:
        if mark == "_":
            base += "_" + _key_part(s)
        else:
            raise NotUnderstood(f"{tex!r}: a symbol name with a superscript")
    return base


def read(text: str, names: "dict[str, str]", cell: Cell, layout: str = "jacobian", applications=None) -> Term:
    """One side of an equation as an engine term; `NotUnderstood` when it cannot be read.

    ``applications``: a list that receives (node, arguments) for each f(…) of an abstract cell."""
    try:
        r = Reader(text, names, cell, layout)
        out = r.parse()
        if applications is not None:
            applications.extend(r.applications)
        return out
    except NotUnderstood:
        raise
    except RecursionError:
        raise NotUnderstood("the expression is nested too deeply to read") from None
    except (DeriveError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise NotUnderstood(f"{type(exc).__name__}: {exc}") from None
