r"""The lecture catalog and its audit: every equation of the five lectures, checked as printed.

A `Claim` is one statement of one lecture (file, equation number or slide, a
short verbatim quote), the notation it is written in, and its *meaning* in
the engine's terms.  ``audit(claims)`` checks each claim exactly as printed
and says whether it **holds** (and how: exactly, symbolically, numerically),
**fails** (with a small seeded counterexample and a corrected statement that
is itself checked), is **not checkable** (prose, and why), is **pending** (it
needs a module that is not installed) or is an **error** (the claim names a
symbol its notation does not define, or cannot be parsed; the rest of the
audit still runs).  ``verify_all`` runs every claim that should hold, every
correction, and every derivation in ``proofs/``.

Claims are written in the lecture's own symbols and parsed here (`parse`), so
an entry reads like the slide::

    Claim("l59-eq17", Source("000_7be57cb19668d348.txt", "eq. (17)", "..."), "appliednlp",
          Identity("dE^{(t)}/dh^{(0)}", "dE^{(t)}/dh^{(t)} prod_{tau=1}^{t-1} dh^{(tau)}/dh^{(tau-1)}",
                   cell=rnn, bindings=[{"t": 3}]), expected="fails", correction=...)

Meanings (what the engine checks):

- `Identity`  lhs = rhs, terms of the derivative algebra (exact proof in the
  free algebra of path sums, `derive.canon`) or formulas with values, diag,
  σ', powers (SymPy at d = 1, 2 when every derivative is local; float64 at
  d = 1, 2, 3 always).  A claim true only at d = 1 (1 x 1 Jacobians commute)
  is reported as such;
- `Bound`     an inequality (``<=``, ``<``, ``=`` ...) over seeded instances,
  random and adversarial (pre-activations pinned at the argmax of σ', so the
  bound is attained; non-normal or saturated W);
- `Exact`     a number printed on a slide (0.5^47 = 7.1054274e-15), in exact arithmetic;
- `Shapes`    the printed dimensions of parameters, imposed on the cell: a
  transposed matrix is a shape error naming both shapes;
- `JacobianShape`  the printed shape of a Jacobian (∂⁺s_k/∂W ∈ R^{d x d x d});
- `Computed`  a property computed by a small function (perplexity, clipping rules).

JSON schema of ``to_json(report)`` (``"schema": "derive.audit/1"``)::

    {"schema": "derive.audit/1",
     "config": {"sizes": [{"n": 2, "d": 1, "k": 3}, ...], "seeds": [0, 1]},
     "summary": {"claims": int, "holds": int, "fails": int, "not_checkable": int,
                 "pending": int, "error": int, "unexpected": [claim ids], "seconds": float},
     "claims": [{
        "id": str, "kind": "equation" | "definition" | "prose", "notation": str,
        "source": {"file": str, "where": str, "quote": str},
        "statement": str,                 # the claim as printed, in the lecture's symbols
        "meaning": str,                   # what the engine checked, in its own names
        "reading": str,                   # how a garbled transcription was read ("" if not)
        "verdict": "holds" | "fails" | "not_checkable" | "pending" | "error",
        "how": ["exact" | "symbolic" | "numeric"],   # the kinds of checks that passed
        "special_case": str,              # e.g. "holds for d = 1 only (1 x 1 Jacobians commute)"
        "reason": str,                    # why not checkable / pending / error; notes
        "expected": "holds" | "fails" | null,
        "checks": [{"method": str, "passed": bool, "where": {...}, "detail": str}],
        "counterexample": null | {"instance": {"activation", "sizes", "seed", "T", "binding", "recipe"},
                                  "lhs": number | nested list, "rhs": number | nested list,
                                  "entry": [int, ...] | null, "discrepancy": float | null, "detail": str},
        "correction": null | {the same object for the corrected claim, without its own correction},
        "seconds": float}]}

Fields are never removed within a schema version; new fields may be added.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

import numpy as np
import sympy as sp

from . import activations
from .algebra import Brace, D, Prod, ProdOver, Sum, SumOver, Term, Zero, idx
from .canon import Canon
from .cell import Cell
from .errors import DeriveError, InvalidValue, NotSupported, ShapeError, UnknownName
from .graph import Graph, NodeRef, unroll
from .local import _flat, element_symbols
from .numeric import Evaluator, Instance, local_jacobians
from .structure import symbolic_explicit
from .verify import RTOL_EXACT, CheckResult, Report, verify

__all__ = [
    # claims
    "Source", "Claim", "KINDS", "NOTATIONS", "VERDICTS",
    # meanings
    "Meaning", "Identity", "Bound", "Exact", "Shapes", "JacobianShape", "Computed",
    # formula terms and the parser
    "Value", "Diag", "SigmaPrime", "Sigma", "MatPow", "Norm", "SpectralRadius", "Const", "Gamma", "Lam",
    "DeltaOuter", "Hadamard", "parse", "LECTURE_NAMES", "gamma_of", "Pending",
    # audit
    "AuditConfig", "Check", "Counterexample", "ClaimResult", "AuditReport", "audit", "check_claim",
    "format_table", "to_json", "errata_entries", "errata_latex", "mutation_report",
    # verify
    "collect_derivations", "load_claims", "select_ids", "verify_all", "to_junit", "results_to_json",
    "main_audit", "main_verify",
]

KINDS = ("equation", "definition", "prose")
NOTATIONS = ("cs7015", "appliednlp", "cs224n")
VERDICTS = ("holds", "fails", "not_checkable", "pending", "error")


# ===========================================================================
# 1. Claims
# ===========================================================================
@dataclass(frozen=True)
class Source:
    """Where a claim is printed: the seed file, the equation number or slide, a short verbatim quote."""

    file: str
    where: str
    quote: str = ""

    def __str__(self) -> str:
        return f"{self.file}, {self.where}"


@dataclass
class Claim:
    """One statement of one lecture, and what it means in the engine's terms.

    Attributes:
        id: a stable identifier, ``l59-eq17`` (lecture, then equation or slide).
        source: file, equation number or slide, verbatim quote.
        notation: the course whose symbols ``statement`` and the meaning's strings use.
        meaning: an `Identity`, `Bound`, ... (None for prose); a zero-argument
            callable returning one is built lazily, so an error in it is
            reported against this claim without stopping the audit.
        statement: the claim as printed (defaults to the meaning's own text).
        kind: "equation", "definition" or "prose" (not checkable: say why in ``not_checkable``).
        reading: how a garbled transcription was read, and that it was.
        expected: what we believe ("holds" / "fails"), used by the tests only.
        correction: for a failing claim, the corrected statement (itself a claim that must hold).
        not_checkable: for prose, why the engine cannot check it.
    """

    id: str
    source: Source
    notation: str
    meaning: "Meaning | Callable[[], Meaning] | None" = None
    statement: str = ""
    kind: str = "equation"
    reading: str = ""
    expected: "str | None" = None
    correction: "Claim | None" = None
    not_checkable: str = ""

    def __post_init__(self):
        if not isinstance(self.id, str) or not re.fullmatch(r"[a-z0-9][\w.:/+~-]*", self.id):
            raise InvalidValue(f"a claim id is a lowercase word such as 'l59-eq17', got {self.id!r}")
        if self.kind not in KINDS:
            raise UnknownName("claim kind", self.kind, KINDS)
        if self.notation not in NOTATIONS:
            raise UnknownName("notation", self.notation, NOTATIONS)
        if self.expected not in (None, "holds", "fails"):
            raise InvalidValue(f"claim {self.id}: expected must be 'holds', 'fails' or None, got {self.expected!r}")
        if self.kind == "prose" and not self.not_checkable:
            raise InvalidValue(f"claim {self.id}: a prose claim must say why it is not checkable")
        if not self.statement and isinstance(self.meaning, Meaning):
            self.statement = self.meaning.text()

    def build(self) -> "Meaning | None":
        """The meaning, built now if it was given as a callable."""
        m = self.meaning
        if m is not None and not isinstance(m, Meaning):
            m = m()
            if not isinstance(m, Meaning):
                raise InvalidValue(f"claim {self.id}: its meaning builder returned {type(m).__name__}, not a Meaning")
            if not self.statement:
                self.statement = m.text()
        return m


# ===========================================================================
# 2. Formula terms: values, diag, σ', powers, norms (beside the derivative algebra)
# ===========================================================================
def _sub_ref(ref: NodeRef, mapping) -> NodeRef:
    if ref.t is None or isinstance(ref.t, int):
        return ref
    v = sp.sympify(ref.t).subs(mapping)
    return NodeRef(ref.name, int(v) if v.is_Integer else v)


def _sub_expr(e, mapping):
    v = sp.sympify(e).subs(mapping)
    return int(v) if v.is_Integer else v


@dataclass(frozen=True)
class Value(Term):
    """The value of a node at a time (a column vector) or of a parameter (a matrix).

    ``outside="zero"``: a time outside the graph (x_0: inputs start at x_1) reads
    as the zero vector instead of raising; a claim that needs it says so in its reading.
    """

    ref: NodeRef
    outside: str = "error"

    def subs(self, mapping):
        return Value(_sub_ref(self.ref, mapping), self.outside)

    def __str__(self):
        return str(self.ref)


@dataclass(frozen=True)
class _Unary(Term):
    x: Any

    def subs(self, mapping):
        return replace(self, x=self.x.subs(mapping))

    def expand_indexed(self):
        return replace(self, x=self.x.expand_indexed())


@dataclass(frozen=True)
class Diag(Term):
    """diag(v): the square matrix with the vector v on its diagonal."""

    v: Any

    def subs(self, mapping):
        return Diag(self.v.subs(mapping))

    def expand_indexed(self):
        return Diag(self.v.expand_indexed())

    def __str__(self):
        return f"diag({self.v})"


@dataclass(frozen=True)
class SigmaPrime(_Unary):
    """σ'(x) element-wise; ``act=None`` is the cell's activation σ."""

    act: "str | None" = None

    def __str__(self):
        return f"{self.act or 'σ'}'({self.x})"


@dataclass(frozen=True)
class Sigma(_Unary):
    """σ(x) element-wise; ``act=None`` is the cell's activation σ."""

    act: "str | None" = None

    def __str__(self):
        return f"{self.act or 'σ'}({self.x})"


@dataclass(frozen=True)
class MatPow(Term):
    """base^exponent: a matrix power (U^t) or a power of a scalar ((γλ)^{t-k})."""

    base: Any
    exponent: Any

    def subs(self, mapping):
        return MatPow(self.base.subs(mapping), _sub_expr(self.exponent, mapping))

    def expand_indexed(self):
        return MatPow(self.base.expand_indexed(), self.exponent)

    def __str__(self):
        return f"({self.base})^{{{self.exponent}}}"


@dataclass(frozen=True)
class Norm(_Unary):
    """||x||: the spectral norm of a matrix, the Euclidean norm of a vector (the lectures' norm)."""

    ord: int = 2

    def __str__(self):
        return f"||{self.x}||"


@dataclass(frozen=True)
class SpectralRadius(_Unary):
    """ρ(M) = max |eigenvalue| (NOT a norm; the CS224n "largest eigenvalue")."""

    def __str__(self):
        return f"ρ({self.x})"


@dataclass(frozen=True)
class Const(Term):
    """A number (kept exact: 1/4)."""

    value: Any

    def subs(self, mapping):
        return self

    def __str__(self):
        return str(self.value)


@dataclass(frozen=True)
class Gamma(Term):
    """γ = sup_x σ'(x) of the cell's activation (proved by `derive.bounds.gamma`)."""

    act: "str | None" = None

    def subs(self, mapping):
        return self

    def __str__(self):
        return "γ"


@dataclass(frozen=True)
class Lam(Term):
    """λ = ||W||_2, the tightest λ with ||W|| <= λ (the worst case for a bound that uses it)."""

    param: str = "W"

    def subs(self, mapping):
        return self

    def __str__(self):
        return "λ"


@dataclass(frozen=True)
class DeltaOuter(Term):
    """The d x d x c tensor T_{p,q,r} = δ_pq v_p u_r, unfolded to d x (d c) (CS7015 Module 14.5)."""

    v: Any
    u: Any

    def subs(self, mapping):
        return DeltaOuter(self.v.subs(mapping), self.u.subs(mapping))

    def __str__(self):
        return f"δ_pq ({self.v})_p ({self.u})_r"


@dataclass(frozen=True)
class Hadamard(Term):
    """u ⊙ v, the element-wise product of two vectors."""

    left: Any
    right: Any

    def subs(self, mapping):
        return Hadamard(self.left.subs(mapping), self.right.subs(mapping))

    def expand_indexed(self):
        return Hadamard(self.left.expand_indexed(), self.right.expand_indexed())

    def __str__(self):
        return f"({self.left} ⊙ {self.right})"


_FORMULA = (Value, Diag, SigmaPrime, Sigma, MatPow, Norm, SpectralRadius, Const, Gamma, Lam, DeltaOuter)


def _walk(term) -> "Iterable[Any]":
    """Every sub-term, depth first."""
    yield term
    for child in _children(term):
        yield from _walk(child)


def _children(term) -> tuple:
    if isinstance(term, Prod):
        return term.factors
    if isinstance(term, Sum):
        return term.terms
    if isinstance(term, (Brace, SumOver, ProdOver)):
        return (term.body,)
    if isinstance(term, (_Unary,)):
        return (term.x,)
    if isinstance(term, Diag):
        return (term.v,)
    if isinstance(term, MatPow):
        return (term.base,)
    if isinstance(term, DeltaOuter):
        return (term.v, term.u)
    if isinstance(term, Hadamard):
        return (term.left, term.right)
    return ()


def _is_algebra(term) -> bool:
    """Only derivatives, products, sums: an identity of the free algebra of path sums."""
    return all(isinstance(t, (D, Prod, Sum, Brace, Zero, SumOver, ProdOver)) for t in _walk(term))


# ===========================================================================
# 3. Lecture symbols -> engine names, and the parser
# ===========================================================================
#: How each course writes the vanilla RNN's engine names (s, a, x, y, e, L, W, U, V, b, c).
#: Applied NLP calls the *recurrent* matrix U and the input matrix W: mapped by name.
LECTURE_NAMES = {
    "cs7015": {"s": "s", "a": "a", "x": "x", "y": "y", "L": "L", "W": "W", "U": "U", "V": "V", "b": "b", "c": "c"},
    "appliednlp": {"h": "s", "a": "a", "X": "x", "x": "x", "y": "y", "E": "L", "U": "W", "W": "U", "V": "V",
                   "b": "b", "c": "c"},
    "cs224n": {"h": "s", "a": "a", "x": "x", "y": "y", "J": "L", "W_h": "W", "W_x": "U", "U": "V", "b_1": "b",
               "b_2": "c"},
}
#: Where a course writes the time index: s_t (sub), h^{[t]} (bracket), h^{(t)} (paren).
TIME_STYLE = {"cs7015": ("sub",), "appliednlp": ("bracket", "paren"), "cs224n": ("paren",)}

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
        if notation not in NOTATIONS:
            raise UnknownName("notation", notation, NOTATIONS)
        if order not in ("descending", "ascending"):
            raise UnknownName("product order", order, ("descending", "ascending"))
        for g, name in _GREEK.items():
            text = text.replace(g, f" {name} " if name in ("gamma", "lambda") else name)
        text = text.replace("∂", "d").replace("⁺", "+").replace("‖", "||").replace("≤", "<=").replace("\\", "")
        self.text, self.pos, self.notation, self.cell, self.order = text, 0, notation, cell, order
        self.outside, self.in_norm = outside, 0
        # the vanilla RNN family is written in each course's names; other cells in the cell's own names
        self.names = LECTURE_NAMES[notation] if cell.name.startswith("rnn") else {n: n for n in cell.symbols}

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
        text = text.strip().strip("[]()").strip()
        names = {w: idx(w) for w in re.findall(r"[A-Za-z]\w*", text)}
        try:
            e = sp.sympify(text, locals=names)
        except (sp.SympifyError, SyntaxError, TypeError) as exc:
            self.error(f"the index {text!r} is not an expression ({type(exc).__name__})")
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
        ds = [t for t in _walk(body) if isinstance(t, D)]
        if ds:  # the empty product is ∂f/∂f = I for the body's numerator at the top index
            ident = _sub_ref(ds[0].f, {i: hi})
        else:   # a product of d x d formulas (diag(σ') U): I of the state's size
            ident = NodeRef(self.cell.recurrent[0], hi) if self.cell.recurrent else None
        return ProdOver(i, lo, hi, body, descending=self.order == "descending", identity=ident)

    def factor(self) -> Term:
        atom = self.atom()
        if self.take("^"):
            atom = MatPow(atom, self.index_expr(self.braced()))
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
            return SigmaPrime(inner, act) if head.endswith("'") else Sigma(inner, act)
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
        if engine is None and "_" in name and "sub" in TIME_STYLE[self.notation]:
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


# ===========================================================================
# 4. Evaluating terms: numbers (float64) and SymPy matrices (one step, exact)
# ===========================================================================
class _Numbers:
    """Numeric values of terms on one instance (derivatives from the engine's Evaluator)."""

    def __init__(self, ev: Evaluator, act: activations.Activation):
        self.ev, self.act, self.graph = ev, act, ev.graph

    def value(self, term):
        g = self.graph
        if isinstance(term, D):
            f, x = g.node(term.f), g.node(term.x)
            return self.ev.explicit(f, x) if term.explicit else self.total(f, x)
        return self._value(term)

    def total(self, f: NodeRef, x: NodeRef) -> np.ndarray:
        """∂f/∂x by reverse accumulation through the nodes that depend on x only.

        The engine's `Evaluator.total` sweeps every parent of every node (so it
        builds ∂y/∂V even for ∂s_4/∂s_1); pruning to x's descendants gives the
        same sum over paths with only the Jacobians on those paths.
        """
        cache = self.ev.__dict__.setdefault("_catalog_totals", {})
        key = (f, x)
        if key not in cache:
            g = self.graph
            desc, stack = {x}, [x]
            while stack:
                for c in g.children[stack.pop()]:
                    if c not in desc:
                        desc.add(c)
                        stack.append(c)
            G = {f: np.eye(g.size(f))}
            if f in desc and f != x:
                for v in reversed(g.order[: g.order.index(f) + 1]):
                    Gv = G.get(v)
                    if Gv is None or v == x:
                        continue
                    for p in g.nodes[v].parents:
                        if p in desc:
                            contrib = Gv @ self.ev.atomic(v, p)
                            G[p] = G[p] + contrib if p in G else contrib
            cache[key] = G.get(x, np.zeros((g.size(f), g.size(x))))
        return cache[key]

    def _value(self, term):
        g = self.graph
        if isinstance(term, Prod):
            out = None
            for f in term.factors:
                v = self.value(f)
                out = v if out is None else _mul(out, v, term)
            return out
        if isinstance(term, Sum):
            out = None
            for t in term.terms:
                v = self.value(t)
                out = v if out is None else _add(out, v, term)
            return out
        if isinstance(term, Brace):
            return self.value(term.body)
        if isinstance(term, Zero):
            return 0.0
        if isinstance(term, (SumOver, ProdOver)):
            return self.value(term.expand_indexed())
        if isinstance(term, Value):
            ref = term.ref
            if ref not in g.nodes:
                if term.outside == "zero" and ref.name in g.cell.symbols:
                    return np.zeros((g.size(_any_ref(g, ref.name)), 1))
                g.node(ref)  # raises UnknownName listing the graph's nodes
            v = np.asarray(self.ev.values[ref], dtype=np.float64)
            return v.reshape(-1, 1) if v.ndim == 1 else v
        if isinstance(term, Diag):
            return np.diag(np.ravel(self.value(term.v)))
        if isinstance(term, (SigmaPrime, Sigma)):
            act = activations.get(term.act) if term.act else self.act
            x = np.asarray(self.value(term.x), dtype=np.float64)
            return act.numpy_prime(x) if isinstance(term, SigmaPrime) else act.numpy(x)
        if isinstance(term, MatPow):
            base, e = self.value(term.base), term.exponent
            if not isinstance(e, int):
                raise InvalidValue(f"the exponent {e} of {term} is not an integer at this binding")
            if np.ndim(base) == 0 or np.size(base) == 1 and np.ndim(base) < 2:
                return float(base) ** e
            if e < 0:
                raise InvalidValue(f"negative matrix power in {term}")
            return np.linalg.matrix_power(base, e)
        if isinstance(term, Norm):
            x = np.asarray(self.value(term.x), dtype=np.float64)
            return float(np.linalg.norm(x.ravel()) if min(x.shape or (1,)) == 1 else np.linalg.norm(x, 2))
        if isinstance(term, SpectralRadius):
            return float(np.max(np.abs(np.linalg.eigvals(np.asarray(self.value(term.x), dtype=np.float64)))))
        if isinstance(term, Const):
            return float(term.value)
        if isinstance(term, Gamma):
            return float(_gamma(term.act or self.act.name).value)
        if isinstance(term, Lam):
            return float(np.linalg.norm(self.ev.values[NodeRef(term.param)], 2))
        if isinstance(term, Hadamard):
            a, b = self.value(term.left), self.value(term.right)
            if np.shape(a) != np.shape(b):
                raise ShapeError(f"in {term}: element-wise product of {np.shape(a)} and {np.shape(b)}")
            return a * b
        if isinstance(term, DeltaOuter):
            v, u = np.ravel(self.value(term.v)), np.ravel(self.value(term.u))
            return np.einsum("pq,r->pqr", np.diag(v), u).reshape(v.size, -1)
        raise NotSupported(f"cannot evaluate a {type(term).__name__} numerically")


def _any_ref(g: Graph, name: str) -> NodeRef:
    for ref in g.nodes:
        if ref.name == name:
            return ref
    raise UnknownName("node", name, sorted({r.name for r in g.nodes}))


def _mul(a, b, where):
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    try:
        return a @ b
    except ValueError:
        raise ShapeError(f"in {where}: cannot multiply a {np.shape(a)[0]}x{np.shape(a)[1]} matrix by a "
                         f"{np.shape(b)[0]}x{np.shape(b)[1]} matrix") from None


def _add(a, b, where):
    if np.ndim(a) and np.ndim(b) and np.shape(a) != np.shape(b):
        raise ShapeError(f"in {where}: cannot add {np.shape(a)} and {np.shape(b)}")
    return a + b


def _gamma(act_name: str):
    try:
        from .bounds import gamma
    except ImportError:  # pragma: no cover - depends on the installation
        raise _Pending("derive.bounds (γ by symbolic maximisation) is not installed") from None
    return gamma(act_name)


def gamma_of(activation: str) -> sp.Expr:
    """γ = sup σ' as an exact SymPy number (`derive.bounds.gamma`); a claim using it is pending without bounds."""
    return _gamma(activation).value


class _Pending(NotSupported):
    """A check that needs a module which is not installed."""


Pending = _Pending


class _NotLocal(Exception):
    """A term with a derivative across steps: no one-step SymPy form."""


class _StepSymbols:
    """SymPy matrices for the terms of one step τ, in the element symbols of its leaves.

    Nodes at step τ are replaced by their equations (so a_τ becomes
    W s_{τ-1} + U x_τ + b), leaves of step τ keep their symbols, and any other
    value (x_{τ-1}, a_{τ-1}) gets fresh symbols: a formula that needs it cannot
    equal a one-step Jacobian unless it cancels.
    """

    def __init__(self, graph: Graph, view, tau: int, act: activations.Activation):
        self.graph, self.view, self.tau, self.act = graph, view, tau, act
        self.local = local_jacobians(graph)
        self.expand: dict = {}
        for name in graph.cell.nodes:
            lowered = self.local.lowered(name).xreplace(self.expand)
            self.expand.update(zip(_flat(self.local.env[(name, 0)]), lowered))
        self.canon = Canon(graph, view)

    def value(self, term) -> sp.Matrix:
        g = self.graph
        if isinstance(term, D):
            f, x = g.node(term.f), g.node(term.x)
            if f.t != self.tau or (not term.explicit and self.canon.paths(f, x) != self.canon.explicit(f, x)):
                raise _NotLocal(str(term))
            return symbolic_explicit(g, self.view, f, x, self.local).xreplace(self.expand)
        if isinstance(term, Prod):
            out = None
            for f in term.factors:
                v = self.value(f)
                out = v if out is None else (out * v)
            return out
        if isinstance(term, Sum):
            out = None
            for t in term.terms:
                v = self.value(t)
                out = v if out is None else out + v
            return out
        if isinstance(term, (Brace,)):
            return self.value(term.body)
        if isinstance(term, (SumOver, ProdOver)):
            return self.value(term.expand_indexed())
        if isinstance(term, Value):
            return self._leaf(term)
        if isinstance(term, Diag):
            return sp.diag(*list(self.value(term.v)))
        if isinstance(term, (SigmaPrime, Sigma)):
            act = activations.get(term.act) if term.act else self.act
            fn = act.derivative_function if isinstance(term, SigmaPrime) else act.function
            return self.value(term.x).applyfunc(fn)
        if isinstance(term, MatPow):
            return self.value(term.base) ** int(term.exponent)
        if isinstance(term, Const):
            return sp.Matrix([[term.value]])
        if isinstance(term, Hadamard):
            return self.value(term.left).multiply_elementwise(self.value(term.right))
        if isinstance(term, DeltaOuter):
            v, u = list(self.value(term.v)), list(self.value(term.u))
            m, c = len(v), len(u)
            return sp.Matrix(m, m * c, lambda p, col: v[p] * u[col % c] if col // c == p else 0)
        raise _NotLocal(type(term).__name__)

    def _leaf(self, term: Value) -> sp.Matrix:
        g, ref = self.graph, term.ref
        sym = g.cell.symbols[ref.name]
        if ref.t is None:
            if sym.role != "param":
                raise _NotLocal(f"{ref} (a total over all steps)")
            return self.local.env[(ref.name, 0)]
        lag = self.tau - ref.t
        if ref not in g.nodes and term.outside == "zero":
            return sp.zeros(int(g.shape_of(sym.shape)[0]), 1)
        g.node(ref)
        key = (ref.name, lag)
        if key in self.local.env:  # a leaf of step τ, or a node of step τ (replaced by its equation)
            return self.local.env[key].xreplace(self.expand)
        return element_symbols(f"{ref.name}_at{ref.t}", 0, g.shape_of(sym.shape))


def _symbolic_equal(a: sp.Matrix, b: sp.Matrix) -> "tuple[bool, str]":
    if a.shape != b.shape:
        return False, f"the left side is {a.shape[0]}x{a.shape[1]}, the right side {b.shape[0]}x{b.shape[1]}"
    for r in range(a.rows):
        for c in range(a.cols):
            if not _is_zero(a[r, c] - b[r, c]):
                return False, f"entry ({r}, {c}): left {a[r, c]}, right {b[r, c]}"
    return True, "equal element by element"


def _is_zero(expr) -> bool:
    """expr == 0 identically: expanded to 0, or simplified to 0 after a numeric screen.

    A difference that is visibly non-zero at a random point (30 digits) is
    rejected at once; SymPy's simplify, slow on sums of tanh, is only asked
    to prove the zeros.
    """
    e = sp.expand(expr)
    if e == 0:
        return True
    e = e.rewrite("elementary")
    rng = np.random.default_rng(0)
    for _ in range(2):
        point = {x: sp.Rational(int(rng.integers(-900, 900)), 997) for x in sorted(e.free_symbols, key=str)}
        v = sp.N(e.subs(point), 30)
        if not v.is_number or abs(v) > 1e-20:
            return False
    return sp.simplify(e) == 0


# ===========================================================================
# 5. Checks, counterexamples, the run context
# ===========================================================================
@dataclass(frozen=True)
class AuditConfig:
    """Sizes and seeds of the numeric checks; SymPy checks use the first ``symbolic_sizes`` sizes.

    Sizes differ in every dimension (n = d + 1, k = d + 2), so a transposed
    matrix is a shape error or a wrong value, never an accident that fits.
    """

    sizes: tuple = ({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 5})
    seeds: tuple = (0, 1)
    symbolic_sizes: int = 2

    def as_dict(self) -> dict:
        return {"sizes": [dict(s) for s in self.sizes], "seeds": list(self.seeds)}


FAST = AuditConfig(sizes=({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}), seeds=(0,), symbolic_sizes=1)


@dataclass
class Check:
    """One check of one claim: method, outcome, the instance (``where``) and a detail naming values."""

    method: str           # "exact" | "symbolic" | "numeric" | "arithmetic" | "shape" | "labels"
    passed: bool
    where: dict = field(default_factory=dict)
    detail: str = ""
    seconds: float = 0.0

    def where_text(self) -> str:
        return ", ".join(f"{k}={_fmt_where(v)}" for k, v in self.where.items())


def _fmt_where(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}={x}" for k, x in v.items()) + "}"
    return str(v)


@dataclass
class Counterexample:
    """A small, seeded instance on which a claim fails, with both sides' values."""

    instance: dict
    lhs: Any
    rhs: Any
    entry: "tuple | None" = None
    discrepancy: "float | None" = None
    detail: str = ""

    def as_dict(self) -> dict:
        return {"instance": _jsonable(self.instance), "lhs": _jsonable(self.lhs), "rhs": _jsonable(self.rhs),
                "entry": list(self.entry) if self.entry is not None else None,
                "discrepancy": _jsonable(self.discrepancy), "detail": self.detail}


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, sp.Basic):
        return str(x)
    return x


@dataclass
class _Outcome:
    checks: "list[Check]"
    counterexample: "Counterexample | None" = None
    special_case: str = ""
    notes: str = ""
    sides: tuple = ()  # engine terms (lhs, rhs) for printing


class _Run:
    """Caches shared by the claims of one audit: cells per activation, evaluators per instance."""

    def __init__(self, config: AuditConfig):
        self.config = config
        self._cells: dict = {}
        self._evs: dict = {}
        self._graphs: dict = {}

    def graph(self, cell: Cell, T: int, size: "dict | None" = None) -> Graph:
        key = (id(cell), T, tuple(sorted(size.items())) if size else None)
        if key not in self._graphs:
            self._graphs[key] = (cell, unroll(cell, T, size))  # the cell is kept alive with its id
        return self._graphs[key][1]

    def cell(self, builder: Callable[[str], Cell], act: str) -> Cell:
        key = (builder, act)
        if key not in self._cells:
            self._cells[key] = builder(act)
        return self._cells[key]

    def evaluator(self, cell: Cell, T: int, size: dict, seed: int, keep=None, recipe: str = "random",
                  target: float = 1.0) -> "Evaluator | None":
        key = (id(cell), T, tuple(sorted(size.items())), seed, keep, recipe, target)
        if key not in self._evs:
            g = self.graph(cell, T, size)
            inst = _instance(g, recipe, seed, target)
            self._evs[key] = None if inst is None else Evaluator(g, inst, g.view(list(keep) if keep else None))
        return self._evs[key]


def _graph_T(binding: dict) -> int:
    if "T" in binding:
        return int(binding["T"])
    return max([int(v) for v in binding.values()] + [1])


# -- instances: random, and adversarial ones for bounds --------------------------------------
RECIPES = ("random", "large", "pinned", "nonnormal", "saturated")


def _instance(g: Graph, recipe: str, seed: int, target: float) -> "Instance | None":
    """A seeded instance of the graph; None when the recipe does not apply to this graph.

    - ``random``: N(0, 0.25) parameters and inputs (`Instance.random`);
    - ``large``: N(0, 2.25), pre-activations spread over the saturated range too;
    - ``pinned``: W = (target/γ) Q with Q orthogonal, inputs zero and b, s_0 chosen so that
      every a_j is the argmax x* of σ': diag(σ'(a_j)) = γ I and γ||W|| = target, the
      case where the bound of Module 14.4 is attained;
    - ``nonnormal``: as pinned with W = (target/γ) I + 4 N (N strictly upper triangular):
      spectral radius target/γ but a large norm (d >= 2 only);
    - ``saturated``: W = (target/γ) I with b = 20: σ' ~ 0 however large W is.
    """
    if recipe not in RECIPES:
        raise UnknownName("instance recipe", recipe, RECIPES)
    if recipe in ("random", "large"):
        return Instance.random(g, seed, scale=0.5 if recipe == "random" else 1.5)
    base = Instance.random(g, seed)
    act = _state_activation(g.cell)
    if act is None or NodeRef("W") not in g.nodes:
        return None
    res = _gamma(act.name)
    gam = float(res.value)
    d = g.size(NodeRef("s", 0))
    rng = np.random.default_rng(seed + 1000)
    if recipe == "pinned":
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        W = (target / gam) * q * np.sign(np.diag(r))
    elif recipe == "nonnormal":
        if d < 2:
            return None
        W = (target / gam) * np.eye(d) + 4.0 * np.triu(np.ones((d, d)), 1)
    else:
        W = (target / gam) * np.eye(d)
    values = dict(base.values)
    values[NodeRef("W")] = W
    if recipe == "saturated":
        if NodeRef("b") not in g.nodes:
            return None
        values[NodeRef("b")] = np.full(d, 20.0)
        return Instance(values, seed)
    x_star = res.point()
    if x_star is None:
        return None
    s_star = np.full(d, float(act.numpy(np.float64(x_star))))
    for ref, info in g.nodes.items():
        if info.kind == "input":
            values[ref] = np.zeros(info.shape)
    values[NodeRef("s", 0)] = s_star
    rest = x_star - W @ s_star
    if NodeRef("b") in g.nodes:
        values[NodeRef("b")] = rest
    elif not np.allclose(rest, 0.0):
        return None
    return Instance(values, seed)


def _state_activation(cell: Cell) -> "activations.Activation | None":
    """σ of s = σ(a) for an RNN-like cell (the activation applied in the state's equation)."""
    from .ir import Apply

    expr = cell.equations.get("s")
    return expr.act if isinstance(expr, Apply) else None


def _compare(lv, rv) -> "tuple[bool, str, tuple | None, float | None]":
    """Scale-aware comparison of two values: |lhs - rhs| <= 1e-9 max(1, |lhs|), naming the worst entry."""
    a = np.atleast_2d(np.asarray(0.0 if lv is None else lv, dtype=np.float64))
    b = np.atleast_2d(np.asarray(0.0 if rv is None else rv, dtype=np.float64))
    if a.size == 1 and b.size > 1 and a.item() == 0.0:
        a = np.zeros_like(b)
    if b.size == 1 and a.size > 1 and b.item() == 0.0:
        b = np.zeros_like(a)
    if a.shape != b.shape:
        return False, f"the left side is {a.shape[0]}x{a.shape[1]} but the right side is {b.shape[0]}x{b.shape[1]}", \
            None, None
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False, "non-finite values (overflow on this instance)", None, None
    err = np.abs(a - b)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    scale = max(1.0, float(np.max(np.abs(a))))
    rel = float(err[i]) / scale
    entry = tuple(int(v) for v in i)
    msg = f"entry {entry}: left {a[i]:.12g}, right {b[i]:.12g} (relative error {rel:.2e})"
    return rel <= RTOL_EXACT, msg, entry, float(err[i])


def _round(x):
    if isinstance(x, (int, float, np.floating)) or np.ndim(x) == 0:
        return float(f"{float(x):.12g}")
    return np.vectorize(lambda v: float(f"{v:.12g}"))(np.asarray(x, dtype=np.float64))


# ===========================================================================
# 6. Meanings
# ===========================================================================
class Meaning:
    """What a claim means in the engine's terms; ``check`` returns the checks and any counterexample."""

    def text(self) -> str:  # the claim in its own (lecture) symbols
        raise NotImplementedError

    def describe(self, notation: str) -> str:  # what the engine checks, in engine names
        return self.text()

    def check(self, run: _Run, notation: str) -> _Outcome:  # pragma: no cover - every meaning overrides
        raise NotImplementedError

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        """Deliberately wrong variants (kind, meaning) for the sensitivity test."""
        return []


def _side_text(x) -> str:
    return x if isinstance(x, str) else str(x)


@dataclass
class Identity(Meaning):
    """lhs = rhs for every binding of the indices, on the cell ``cell(activation)``.

    Sides are strings in the claim's notation (parsed by `parse`) or engine terms.
    Pure derivative algebra is proved exactly in the free algebra of path sums;
    a formula with local derivatives only is compared by SymPy element by element;
    every claim is evaluated in float64 at each size and seed.  ``labels=True``
    also checks the underbrace labels: an "explicit" brace must hold one ∂⁺.
    """

    lhs: Any
    rhs: Any
    cell: Callable[[str], Cell]
    bindings: "list[dict]"
    keep: "tuple | None" = None
    activations: tuple = ("tanh",)
    order: str = "descending"
    labels: bool = False
    outside: str = "error"

    def text(self) -> str:
        return f"{_side_text(self.lhs)} = {_side_text(self.rhs)}"

    def sides(self, cell: Cell, notation: str) -> "tuple[Term, Term]":
        return tuple(parse(x, notation, cell, order=self.order, outside=self.outside) for x in (self.lhs, self.rhs))

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        order = "" if self.order == "descending" else " (products in ascending order)"
        return f"{lhs} = {rhs}{order} [cell {cell.name}]"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cfg = run.config
        checks: list[Check] = []
        failures: list[tuple] = []
        sides = ()
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = self.sides(cell, notation)
            sides = sides or (L, R)
            algebra = _is_algebra(L) and _is_algebra(R)
            for binding in self.bindings:
                lhs, rhs = L.instantiate(**binding), R.instantiate(**binding)
                T = _graph_T(binding)
                if algebra and ai == 0:
                    checks.append(self._exact(run.graph(cell, T), lhs, rhs, binding))
                if not algebra:
                    checks.extend(self._symbolic(run, cell, T, lhs, rhs, binding, act, cfg))
                for size in cfg.sizes:
                    for seed in cfg.seeds:
                        c, cx = self._numeric(run, cell, T, size, seed, lhs, rhs, binding, act)
                        checks.append(c)
                        if cx is not None:
                            failures.append(((size["d"], -_rel(cx), seed, T, ai), cx))
        if self.labels:
            checks.append(_label_check(sides[1]))
        out = _Outcome(checks, sides=sides)
        if failures:
            out.counterexample = min(failures, key=lambda f: f[0])[1]
        numeric = [c for c in checks if c.method == "numeric"]
        bad_d = {c.where["sizes"]["d"] for c in numeric if not c.passed}
        if bad_d and 1 not in bad_d and any(c.where["sizes"]["d"] == 1 for c in numeric):
            out.special_case = "holds for d = 1 only (1 x 1 Jacobians commute); fails for d >= 2"
        return out

    def _exact(self, g, lhs, rhs, binding) -> Check:
        t0 = time.perf_counter()
        diff = Canon(g, g.view(list(self.keep) if self.keep else None)).difference(lhs, rhs)
        return Check("exact", not diff, {"binding": dict(binding)},
                     "canonical path sums agree" if not diff else "; ".join(diff), time.perf_counter() - t0)

    def _symbolic(self, run, cell, T, lhs, rhs, binding, act, cfg) -> "list[Check]":
        out = []
        tau = _step_of(lhs, rhs)
        for size in cfg.sizes[: cfg.symbolic_sizes]:
            t0 = time.perf_counter()
            g = run.graph(cell, T, size)
            try:
                st = _StepSymbols(g, g.view(list(self.keep) if self.keep else None), tau, activations.get(act))
                ok, detail = _symbolic_equal(st.value(lhs), st.value(rhs))
            except _NotLocal:
                return []  # a derivative across steps: numeric checks only
            except ValueError as exc:  # derive's ShapeError, or SymPy's for a product that does not fit
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            out.append(Check("symbolic", ok, {"binding": dict(binding), "sizes": dict(size), "activation": act},
                             detail, time.perf_counter() - t0))
        return out

    def _numeric(self, run, cell, T, size, seed, lhs, rhs, binding, act):
        t0 = time.perf_counter()
        where = {"binding": dict(binding), "sizes": dict(size), "seed": seed, "T": T, "activation": act,
                 "recipe": "random"}
        ev = run.evaluator(cell, T, size, seed, self.keep)
        nums = _Numbers(ev, activations.get(act))
        try:
            lv, rv = nums.value(lhs), nums.value(rhs)
        except ShapeError as exc:
            c = Check("numeric", False, where, str(exc), time.perf_counter() - t0)
            return c, Counterexample(where, "-", "-", None, None, str(exc))
        ok, msg, entry, disc = _compare(lv, rv)
        c = Check("numeric", ok, where, msg, time.perf_counter() - t0)
        cx = None if ok else Counterexample(where, _round(lv), _round(rv), entry, disc, msg)
        return c, cx

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        cell = self.cell(self.activations[0])
        lhs, rhs = self.sides(cell, notation)
        return [(kind, replace(self, lhs=lhs, rhs=m, labels=False)) for kind, m in _term_mutants(rhs)]


def _rel(cx: Counterexample) -> float:
    """The relative size of a counterexample's discrepancy (0 when unknown)."""
    if cx.discrepancy is None:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(np.asarray(cx.lhs, dtype=float)))) if not isinstance(cx.lhs, str) else 1.0)
    return float(cx.discrepancy) / scale


def _step_of(*terms) -> int:
    """The step τ of a one-step formula: the latest time of any derivative's numerator or value."""
    times = []
    for t in terms:
        for x in _walk(t):
            if isinstance(x, D) and isinstance(x.f.t, int):
                times.append(x.f.t)
            if isinstance(x, Value) and isinstance(x.ref.t, int):
                times.append(x.ref.t)
    return max(times) if times else 1


def _label_check(rhs: Term) -> Check:
    """An underbrace labelled "explicit" must hold exactly one explicit derivative ∂⁺."""
    bad = [str(b.body) for b in _walk(rhs) if isinstance(b, Brace) and b.label == "explicit"
           and not (isinstance(b.body, D) and b.body.explicit)]
    if bad:
        return Check("labels", False, {}, "labelled explicit but not a single ∂⁺: " + "; ".join(bad))
    return Check("labels", True, {}, "every 'explicit' brace holds one ∂⁺")


_RELS = {
    "<=": lambda a, b: a <= b + 1e-9 * abs(b) + 1e-300,
    "<": lambda a, b: a < b - 1e-12 * abs(b),
    "=": lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300),
    ">=": lambda a, b: a >= b - 1e-9 * abs(b) - 1e-300,
    ">": lambda a, b: a > b + 1e-12 * abs(b),
}


@dataclass
class Bound(Meaning):
    """lhs rel rhs (scalars: norms, γ, λ, powers) on seeded random and adversarial instances.

    ``quantifier="all"``: every instance (satisfying ``assume``) and binding; a
    violation is the counterexample.  ``"exists"``: some instance satisfies the
    relation at every binding (a witness: "the gradient *could* explode").
    ``assume`` is ``(lhs, rel, rhs)``, e.g. ``("rho(W_h)", "<", "1")``.
    ``targets``: the γλ values of the adversarial recipes.
    """

    lhs: Any
    rel: str
    rhs: Any
    cell: Callable[[str], Cell]
    bindings: "list[dict]"
    activations: tuple = ("tanh", "logistic")
    recipes: tuple = ("random", "large", "pinned")
    targets: tuple = (0.5, 1.0, 1.5)
    quantifier: str = "all"
    assume: "tuple | None" = None
    keep: "tuple | None" = None

    def __post_init__(self):
        if self.rel not in _RELS:
            raise UnknownName("relation", self.rel, list(_RELS))
        if self.quantifier not in ("all", "exists"):
            raise UnknownName("quantifier", self.quantifier, ("all", "exists"))

    def text(self) -> str:
        cond = f"if {' '.join(map(_side_text, self.assume))}: " if self.assume else ""
        q = "for some instance: " if self.quantifier == "exists" else ""
        return f"{q}{cond}{_side_text(self.lhs)} {self.rel} {_side_text(self.rhs)}"

    def describe(self, notation: str) -> str:
        cell = self.cell(self.activations[0])
        lhs, rhs = (parse(x, notation, cell) for x in (self.lhs, self.rhs))
        return f"{lhs} {self.rel} {rhs} over instances {', '.join(self.recipes)} [cell {cell.name}]"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cfg = run.config
        checks, failures, witnesses, sides = [], [], [], ()
        considered = 0
        for ai, act in enumerate(self.activations):
            cell = run.cell(self.cell, act)
            L, R = parse(self.lhs, notation, cell), parse(self.rhs, notation, cell)
            cond = None if not self.assume else (parse(self.assume[0], notation, cell), self.assume[1],
                                                 parse(self.assume[2], notation, cell))
            sides = sides or (L, R)
            T = max(_graph_T(b) for b in self.bindings)
            inst = [(b, L.instantiate(**b), R.instantiate(**b)) for b in self.bindings]
            cond_terms = None if cond is None else (cond[0].instantiate(), cond[2].instantiate())
            for recipe in self.recipes:
                for size in cfg.sizes:
                    for seed in cfg.seeds:
                        for target in (self.targets if recipe not in ("random", "large") else (None,)):
                            ev = run.evaluator(cell, T, size, seed, self.keep, recipe, target or 1.0)
                            if ev is None:
                                continue
                            nums = _Numbers(ev, activations.get(act))
                            where = {"activation": act, "recipe": recipe, "sizes": dict(size), "seed": seed, "T": T}
                            if target is not None:
                                where["gamma_lambda"] = target
                            if cond is not None:
                                a, b = nums.value(cond_terms[0]), nums.value(cond_terms[1])
                                if not _RELS[cond[1]](float(a), float(b)):
                                    continue
                            considered += 1
                            ok_all, first_bad, t0 = True, None, time.perf_counter()
                            for binding, lt, rt in inst:
                                lv, rv = float(nums.value(lt)), float(nums.value(rt))
                                if not _RELS[self.rel](lv, rv):
                                    ok_all = False
                                    if first_bad is None:
                                        first_bad = (binding, lv, rv)
                            w = dict(where)
                            if first_bad is not None:
                                w["binding"] = dict(first_bad[0])
                                detail = (f"{first_bad[1]:.12g} {self.rel} {first_bad[2]:.12g} is false "
                                          f"(ratio {first_bad[1] / first_bad[2] if first_bad[2] else math.inf:.12g})")
                            else:
                                detail = f"holds at all {len(self.bindings)} bindings"
                            passed = ok_all if self.quantifier == "all" else True
                            checks.append(Check("numeric", passed, w, detail, time.perf_counter() - t0))
                            if ok_all:
                                witnesses.append(w)
                            elif self.quantifier == "all":
                                b, lv, rv = first_bad
                                failures.append(((size["d"], -abs(lv - rv) / max(abs(rv), 1e-300), seed, ai),
                                                 Counterexample(
                                    w, _round(lv), _round(rv), None, _round(lv - rv), detail)))
        out = _Outcome(checks, sides=sides + (self.rel,))
        if considered == 0:
            raise NotSupported("no instance satisfies the assumption " + " ".join(map(_side_text, self.assume or ())))
        if self.quantifier == "exists":
            ok = bool(witnesses)
            detail = (f"witness: {_fmt_where(witnesses[0])}" if ok
                      else f"no instance among {considered} satisfies it at every binding")
            out.checks = [Check("numeric", ok, witnesses[0] if ok else {}, detail)]
            return out
        if failures:
            out.counterexample = min(failures, key=lambda f: f[0])[1]
        return out

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        cell = self.cell(self.activations[0])
        rhs = parse(self.rhs, notation, cell)
        out: "list[tuple[str, Meaning]]" = []
        if self.quantifier == "all" and self.rel in ("<=", "<"):
            out.append(("wrong bound constant", replace(self, lhs=parse(self.lhs, notation, cell),
                                                        rhs=Prod((Const(sp.Rational(1, 2)), rhs)))))
        pw = next((x for x in _walk(rhs) if isinstance(x, MatPow) and isinstance(x.exponent, sp.Basic)), None)
        if pw is not None and self.quantifier == "all":
            shifted = _replace_sub(rhs, pw, MatPow(pw.base, pw.exponent + 1))
            out.append(("shifted index", replace(self, lhs=parse(self.lhs, notation, cell), rhs=shifted,
                                                 recipes=tuple(dict.fromkeys(self.recipes + ("pinned",))),
                                                 targets=tuple(sorted(set(self.targets) | {0.5})))))
        return out


@dataclass
class Exact(Meaning):
    """A number printed on a slide, in exact arithmetic (and optionally as float64 computes it).

    ``rhs`` as a string keeps the printed precision: "7.1054274e-15" holds for
    0.5^47 = 7.10542735760100...e-15 because it rounds to those 8 digits.
    """

    lhs: Any                 # SymPy number, or a callable returning one
    rhs: Any                 # printed decimal string, or a SymPy number
    lhs_text: str = ""
    float64: "Callable[[], float] | None" = None

    def text(self) -> str:
        return f"{self.lhs_text or self.lhs} = {self.rhs}"

    def check(self, run: _Run, notation: str) -> _Outcome:
        t0 = time.perf_counter()
        exact = self.lhs() if callable(self.lhs) else sp.sympify(self.lhs)
        ok, detail = _matches_printed(exact, self.rhs)
        checks = [Check("arithmetic", ok, {}, f"exactly {sp.N(exact, 17)}: {detail}", time.perf_counter() - t0)]
        cx = None if ok else Counterexample({}, str(sp.N(exact, 17)), str(self.rhs), None,
                                            _jsonable(float(abs(sp.N(exact - sp.sympify(self.rhs), 17)))), detail)
        if self.float64 is not None:
            v = float(self.float64())
            ok64, d64 = _matches_printed(sp.Float(v, 17), self.rhs)
            checks.append(Check("numeric", ok64, {"arithmetic": "float64"}, f"float64 gives {v!r}: {d64}"))
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        value = sp.sympify(self.rhs) if not isinstance(self.rhs, str) else sp.Float(self.rhs, 30)
        return [("wrong bound constant", replace(self, rhs=value * sp.Rational(101, 100)))]


def _matches_printed(exact, printed) -> "tuple[bool, str]":
    if isinstance(printed, str):
        from decimal import Decimal, InvalidOperation

        try:
            dec = Decimal(printed.replace(" ", ""))
        except InvalidOperation:
            raise DeriveError(f"cannot read the printed number {printed!r}") from None
        digits = len(dec.as_tuple().digits)
        got = Decimal(str(sp.N(exact, digits + 10)))
        fmt = f".{max(digits - 1, 0)}e"
        ok = format(got, fmt) == format(dec, fmt)
        return ok, f"rounds to {format(got, fmt)} at the printed {digits} significant digits, printed {printed}"
    ok = sp.simplify(sp.sympify(exact) - sp.sympify(printed)) == 0
    return ok, f"{sp.nsimplify(exact)} {'=' if ok else '≠'} {printed} (as printed)"


@dataclass
class Shapes(Meaning):
    """Printed parameter shapes imposed on the cell: ``build(shapes)`` must give a cell that unrolls.

    ``build`` takes ``{name: shape}`` (shape a tuple of dimension names) and
    returns the cell with those shapes; a transposed matrix raises a
    `ShapeError` that names both operands' shapes.
    """

    build: Callable[[dict], Cell]
    shapes: dict
    description: str = ""

    def text(self) -> str:
        return self.description or ", ".join(f"{k} ∈ R^{{{' x '.join(map(str, v))}}}" for k, v in self.shapes.items())

    def check(self, run: _Run, notation: str) -> _Outcome:
        t0 = time.perf_counter()
        where = {"sizes": "symbolic n, d, k (pairwise different)"}
        try:
            cell = self.build(dict(self.shapes))
            cell.check()
            unroll(cell, 2)
        except DeriveError as exc:
            detail = str(exc)
            return _Outcome([Check("shape", False, where, detail, time.perf_counter() - t0)],
                            Counterexample(where, _shape_text(self.shapes), "-", None, None, detail))
        return _Outcome([Check("shape", True, where, "the cell's equations accept these shapes",
                               time.perf_counter() - t0)])

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        for name, shape in self.shapes.items():
            if len(shape) == 2 and shape[0] != shape[1]:
                return [("transposed dimension", replace(self, shapes={**self.shapes, name: shape[::-1]},
                                                         description=""))]
        return []


def _shape_text(shapes: dict) -> str:
    return ", ".join(f"{k} in R^({' x '.join(map(str, v))})" for k, v in shapes.items())


@dataclass
class JacobianShape(Meaning):
    """A derivative's printed shape (∂⁺s_k/∂W ∈ R^{d x d x d}) against the engine's Jacobian.

    The engine's Jacobian of f w.r.t. x is (entries of f) x (entries of x), a
    matrix x flattened row by row; the printed shape must be shape(f) + shape(x),
    a leading 1 standing for a scalar numerator (a row vector, ∈ R^{1 x d}).
    """

    term: Any
    shape: tuple
    cell: Callable[[str], Cell]
    binding: dict

    def text(self) -> str:
        return f"{_side_text(self.term)} ∈ R^{{{' x '.join(map(str, self.shape))}}}"

    def check(self, run: _Run, notation: str) -> _Outcome:
        cell = run.cell(self.cell, "tanh")
        term = parse(self.term, notation, cell).instantiate(**self.binding)
        if not isinstance(term, D):
            raise InvalidValue(f"a Jacobian shape claim needs one derivative, got {term}")
        checks, cx = [], None
        for size in run.config.sizes[1:] or run.config.sizes:
            g = run.graph(cell, _graph_T(self.binding), size)
            f, x = g.node(term.f), g.node(term.x)
            natural = tuple(g.nodes[f].shape) + tuple(g.nodes[x].shape)
            printed = tuple(int(sp.sympify(s).subs({sp.Symbol(k): v for k, v in size.items()})) for s in self.shape)
            ok = printed == natural or (g.nodes[f].shape == () and printed[:1] == (1,) and printed[1:] == natural)
            J = _Numbers(run.evaluator(cell, g.T, size, 0), activations.get("tanh")).value(term)
            rows, cols = np.shape(J)
            ok = ok and rows * cols == int(np.prod(natural))
            detail = (f"the engine's Jacobian is {rows} x {cols}, the unfolding of {' x '.join(map(str, natural))}; "
                      f"printed {' x '.join(map(str, printed))}")
            where = {"sizes": dict(size), "binding": dict(self.binding)}
            checks.append(Check("shape", ok, where, detail))
            if not ok and cx is None:
                cx = Counterexample(where, list(natural), list(printed), None, None, detail)
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        if len(self.shape) >= 2 and self.shape[0] != self.shape[-1]:
            return [("transposed dimension", replace(self, shape=tuple(reversed(self.shape))))]
        if len(self.shape) >= 2:
            return [("transposed dimension", replace(self, shape=self.shape[:-1]))]
        return []


@dataclass
class Computed(Meaning):
    """A property computed by a small function on seeded random inputs.

    ``fn(rng)`` returns ``(lhs, rhs, inputs)``; the claim holds when lhs = rhs
    (to ``rtol``) on every trial.  Used for what the derivative algebra does
    not cover: perplexity and cross-entropy, clipping rules, the GRU's gates.
    """

    fn: Callable
    description: str
    trials: int = 10
    rtol: float = 1e-9

    def text(self) -> str:
        return self.description

    def check(self, run: _Run, notation: str) -> _Outcome:
        checks, cx = [], None
        for seed in range(self.trials):
            t0 = time.perf_counter()
            lv, rv, inputs = self.fn(np.random.default_rng(seed))
            a, b = np.asarray(lv, dtype=np.float64), np.asarray(rv, dtype=np.float64)
            ok = a.shape == b.shape and bool(np.all(np.abs(a - b) <= self.rtol * np.maximum(1.0, np.abs(a))))
            disc = float(np.max(np.abs(a - b))) if a.shape == b.shape else None
            where = {"seed": seed, **{k: _jsonable(_round(v)) if isinstance(v, (float, np.ndarray)) else v
                                      for k, v in inputs.items()}}
            detail = f"left {_jsonable(_round(a))}, right {_jsonable(_round(b))}"
            checks.append(Check("numeric", ok, where, detail, time.perf_counter() - t0))
            if not ok and cx is None:
                cx = Counterexample(where, _round(a), _round(b), None, disc, detail)
        return _Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        def wrong(rng, fn=self.fn):
            lv, rv, inputs = fn(rng)
            return lv, np.asarray(rv, dtype=np.float64) * 1.01 + 0.01, inputs

        return [("wrong bound constant", replace(self, fn=wrong))]


# -- mutation operators on terms ---------------------------------------------------------------
_COMMUTING = (Diag, Const, Gamma, Lam, Norm, SpectralRadius)


def _replace_sub(term, old, new):
    """term with the sub-term ``old`` (by identity) replaced by ``new``."""
    if term is old:
        return new
    if isinstance(term, Prod):
        return Prod(tuple(_replace_sub(f, old, new) for f in term.factors))
    if isinstance(term, Sum):
        return Sum(tuple(_replace_sub(t, old, new) for t in term.terms))
    if isinstance(term, (Brace, SumOver, ProdOver)):
        return replace(term, body=_replace_sub(term.body, old, new))
    if isinstance(term, _Unary):
        return replace(term, x=_replace_sub(term.x, old, new))
    if isinstance(term, Diag):
        return Diag(_replace_sub(term.v, old, new))
    if isinstance(term, MatPow):
        return MatPow(_replace_sub(term.base, old, new), term.exponent)
    if isinstance(term, Hadamard):
        return Hadamard(_replace_sub(term.left, old, new), _replace_sub(term.right, old, new))
    if isinstance(term, DeltaOuter):
        return DeltaOuter(_replace_sub(term.v, old, new), _replace_sub(term.u, old, new))
    return term


def _term_mutants(term: Term) -> "list[tuple[str, Term]]":
    """Deliberately wrong variants of a correct right-hand side, one per kind of slip."""
    subs = list(_walk(term))
    out = []
    s = next((x for x in subs if isinstance(x, Sum) and len(x.terms) >= 2), None)
    if s is not None:
        out.append(("dropped term", _replace_sub(term, s, Sum(s.terms[:-1]) if len(s.terms) > 2 else s.terms[0])))
    for p in subs:
        if isinstance(p, Prod):
            pair = next((i for i in range(len(p.factors) - 1)
                         if p.factors[i] != p.factors[i + 1]
                         and not (isinstance(p.factors[i], _COMMUTING) and isinstance(p.factors[i + 1], _COMMUTING))),
                        None)
            if pair is not None:
                f = list(p.factors)
                f[pair], f[pair + 1] = f[pair + 1], f[pair]
                out.append(("swapped factor order", _replace_sub(term, p, Prod(tuple(f)))))
                break
    else:
        po = next((x for x in subs if isinstance(x, ProdOver) and not isinstance(x.body, _COMMUTING)), None)
        if po is not None:
            out.append(("swapped factor order", _replace_sub(term, po, replace(po, descending=not po.descending))))
    rng = next((x for x in subs if isinstance(x, (SumOver, ProdOver))), None)
    if rng is not None:
        out.append(("shifted index", _replace_sub(term, rng, replace(rng, lo=sp.sympify(rng.lo) + 1))))
    else:
        dd = next((x for x in subs if isinstance(x, D) and x.f.t is not None), None)
        if dd is not None:
            shifted = D(NodeRef(dd.f.name, dd.f.t - 1 if isinstance(dd.f.t, int) else dd.f.t - 1), dd.x, dd.explicit)
            out.append(("shifted index", _replace_sub(term, dd, shifted)))
        else:
            constant = {id(y) for x in subs if isinstance(x, SigmaPrime) and x.act == "identity" for y in _walk(x.x)}
            v = next((x for x in subs if isinstance(x, Value) and x.ref.t is not None and id(x) not in constant), None)
            if v is not None:
                out.append(("shifted index", _replace_sub(term, v, Value(NodeRef(v.ref.name, v.ref.t - 1), "zero"))))
    return out


# ===========================================================================
# 7. The audit: every claim as printed -> holds / fails / not checkable / pending / error
# ===========================================================================
_HOW = {"exact": "exact", "labels": "exact", "arithmetic": "exact", "symbolic": "symbolic", "shape": "symbolic",
        "numeric": "numeric"}


@dataclass
class ClaimResult:
    """The verdict on one claim, the checks behind it, and the checked correction."""

    claim: Claim
    verdict: str
    how: "list[str]" = field(default_factory=list)
    meaning: str = ""
    checks: "list[Check]" = field(default_factory=list)
    counterexample: "Counterexample | None" = None
    special_case: str = ""
    reason: str = ""
    correction: "ClaimResult | None" = None
    seconds: float = 0.0
    sides: tuple = ()

    @property
    def unexpected(self) -> bool:
        """The verdict differs from what the catalog expects (or the correction does not hold)."""
        if self.claim.expected is not None and self.verdict != self.claim.expected:
            return True
        return self.correction is not None and self.correction.verdict != "holds"

    def as_dict(self, nested: bool = True) -> dict:
        c = self.claim
        return {
            "id": c.id, "kind": c.kind, "notation": c.notation,
            "source": {"file": c.source.file, "where": c.source.where, "quote": c.source.quote},
            "statement": c.statement, "meaning": self.meaning, "reading": c.reading,
            "verdict": self.verdict, "how": list(self.how), "special_case": self.special_case,
            "reason": self.reason, "expected": c.expected,
            "checks": [{"method": k.method, "passed": k.passed, "where": _jsonable(k.where), "detail": k.detail}
                       for k in self.checks],
            "counterexample": self.counterexample.as_dict() if self.counterexample else None,
            "correction": self.correction.as_dict(nested=False) if (nested and self.correction) else None,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class AuditReport:
    """All claims' results, in catalog order."""

    results: "list[ClaimResult]"
    config: AuditConfig = field(default_factory=AuditConfig)
    seconds: float = 0.0

    def by_verdict(self, verdict: str) -> "list[ClaimResult]":
        return [r for r in self.results if r.verdict == verdict]

    def __getitem__(self, claim_id: str) -> ClaimResult:
        for r in self.results:
            if r.claim.id == claim_id:
                return r
        raise UnknownName("claim id", claim_id, [r.claim.id for r in self.results])

    @property
    def ok(self) -> bool:
        """No claim fails or errs, and every correction holds."""
        return not any(r.verdict in ("fails", "error") or (r.correction and r.correction.verdict != "holds")
                       for r in self.results)

    @property
    def as_expected(self) -> bool:
        return not any(r.unexpected or r.verdict == "error" for r in self.results)

    def summary(self) -> dict:
        counts = {v: len(self.by_verdict(v)) for v in VERDICTS}
        return {"claims": len(self.results), **counts,
                "unexpected": [r.claim.id for r in self.results if r.unexpected],
                "seconds": round(self.seconds, 3)}


def check_claim(claim: Claim, run: "_Run | None" = None) -> ClaimResult:
    """Check one claim as printed (and its correction); never raises for a bad claim."""
    run = run or _Run(AuditConfig())
    t0 = time.perf_counter()
    res = _check(claim, run)
    if claim.correction is not None:
        res.correction = _check(claim.correction, run)
    res.seconds = time.perf_counter() - t0
    return res


def _check(claim: Claim, run: _Run) -> ClaimResult:
    t0 = time.perf_counter()
    where = f"claim {claim.id} ({claim.source})"
    if claim.kind == "prose":
        return ClaimResult(claim, "not_checkable", reason=claim.not_checkable)
    try:
        meaning = claim.build()
        if meaning is None:
            return ClaimResult(claim, "not_checkable", reason=claim.not_checkable or "no meaning in the engine's terms")
        described = meaning.describe(claim.notation)
        out = meaning.check(run, claim.notation)
    except _Pending as exc:
        return ClaimResult(claim, "pending", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except DeriveError as exc:
        return ClaimResult(claim, "error", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except (ArithmeticError, ValueError, TypeError, KeyError) as exc:  # a bug in the claim, reported, not raised
        return ClaimResult(claim, "error", reason=f"{where}: {type(exc).__name__}: {exc}",
                           seconds=time.perf_counter() - t0)
    return _verdict(claim, described, out, time.perf_counter() - t0)


def _verdict(claim: Claim, described: str, out: _Outcome, seconds: float) -> ClaimResult:
    checks = out.checks
    failed = [c for c in checks if not c.passed]
    numeric = [c for c in checks if c.method == "numeric"]
    how = sorted({_HOW.get(c.method, c.method) for c in checks if c.passed},
                 key=("exact", "symbolic", "numeric").index)
    reason = out.notes
    if not failed:
        verdict = "holds"
    elif numeric and all(c.passed for c in numeric) and all(c.method in ("exact", "symbolic") for c in failed):
        verdict, how = "holds", ["numeric"]
        reason = ("not an identity of the free algebra of path sums, but it holds for this cell at every size "
                  "and seed checked: " + failed[0].detail)
    else:
        verdict, how = "fails", []
    return ClaimResult(claim, verdict, how, described, checks, out.counterexample if verdict == "fails" else None,
                       out.special_case if verdict == "fails" else "", reason, seconds=seconds, sides=out.sides)


def audit(claims: "Iterable[Claim] | None" = None, *, pattern: "str | None" = None,
          config: "AuditConfig | None" = None) -> AuditReport:
    """Check every claim as printed; a claim that errs is reported and the audit goes on.

    Args:
        claims: the claims (default: the whole catalog, `load_claims`).
        pattern: keep claims whose id matches (substring, or a glob with * ? [).
        config: sizes and seeds (default `AuditConfig()`).
    """
    t0 = time.perf_counter()
    claims = load_claims() if claims is None else list(claims)
    claims = [c for c in claims if _matches(c.id, pattern)]
    run = _Run(config or AuditConfig())
    results = [check_claim(c, run) for c in claims]
    return AuditReport(results, run.config, time.perf_counter() - t0)


# -- output: terminal table, JSON, errata --------------------------------------------------------
_MARK = {"holds": "holds", "fails": "FAILS", "not_checkable": "n/a", "pending": "pending", "error": "ERROR"}


def format_table(report: AuditReport, *, width: int = 100) -> str:
    """The audit as a terminal table, then one paragraph per failing claim (counterexample, correction)."""
    rows = [("claim", "verdict", "how / why", "source")]
    for r in report.results:
        how = ", ".join(r.how) if r.verdict == "holds" else (r.special_case or _short(r.reason, 38))
        if r.verdict == "fails" and r.correction is not None:
            how = how or f"corrected: {r.correction.verdict}"
        rows.append((r.claim.id, _MARK[r.verdict] + ("*" if r.unexpected else ""), how or "",
                     f"{r.claim.source.file[:3]} {r.claim.source.where}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "-" * min(width, max(len(x) for x in lines)))
    for r in report.results:
        if r.verdict == "fails":
            lines += ["", f"{r.claim.id} ({r.claim.source}) FAILS as printed:", f"  {r.claim.statement}"]
            if r.claim.reading:
                lines.append(f"  reading: {r.claim.reading}")
            cx = r.counterexample
            if cx is not None:
                lines.append(f"  counterexample: {_fmt_where(cx.instance)}")
                lines.append(f"    {cx.detail}")
            elif r.checks:
                bad = next(c for c in r.checks if not c.passed)
                lines.append(f"  [{bad.method}] {bad.detail}")
            if r.special_case:
                lines.append(f"  note: {r.special_case}")
            if r.correction is not None:
                lines.append(f"  correction ({r.correction.verdict}"
                             f"{': ' + ', '.join(r.correction.how) if r.correction.how else ''}): "
                             f"{r.correction.claim.statement}")
        elif r.verdict == "error":
            lines += ["", f"{r.claim.id}: ERROR {r.reason}"]
    s = report.summary()
    lines += ["", f"{s['claims']} claims: {s['holds']} hold, {s['fails']} fail, {s['not_checkable']} not checkable, "
                  f"{s['pending']} pending, {s['error']} errors ({s['seconds']:.1f} s)"]
    if s["unexpected"]:
        lines.append("verdicts differing from the catalog's expectation (*): " + ", ".join(s["unexpected"]))
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = re.sub(r"^claim \S+ \([^)]*\): ", "", text or "")
    return text if len(text) <= n else text[: n - 1] + "…"


def to_json(report: AuditReport, *, indent: "int | None" = 2) -> str:
    """The audit as JSON (schema "derive.audit/1", see the module docstring); keys in a fixed order."""
    doc = {"schema": "derive.audit/1", "config": report.config.as_dict(), "summary": report.summary(),
           "claims": [r.as_dict() for r in report.results]}
    return json.dumps(doc, indent=indent, ensure_ascii=False)


def errata_entries(report: AuditReport) -> "list[dict]":
    """Structured data for an "Errata" appendix: one entry per equation that fails as printed.

    Each entry: ``id``, ``source`` (file, where, quote), ``notation``, ``statement`` (as
    printed), ``reading``, ``counterexample`` (as in the JSON), ``special_case``,
    ``correction`` (``statement``, ``verdict``, ``how``), and ``terms``: the engine
    terms (lhs, rhs) of the printed claim and of the correction, for a printer.
    """
    out = []
    for r in report.results:
        if r.verdict != "fails":
            continue
        c = r.correction
        out.append({
            "id": r.claim.id,
            "source": {"file": r.claim.source.file, "where": r.claim.source.where, "quote": r.claim.source.quote},
            "notation": r.claim.notation,
            "statement": r.claim.statement,
            "reading": r.claim.reading,
            "counterexample": r.counterexample.as_dict() if r.counterexample else None,
            "detail": next((k.detail for k in r.checks if not k.passed), ""),
            "special_case": r.special_case,
            "correction": None if c is None else {"statement": c.claim.statement, "verdict": c.verdict,
                                                  "how": list(c.how)},
            "terms": {"printed": r.sides, "corrected": c.sides if c is not None else ()},
        })
    return out


def errata_latex(report: AuditReport, notation: "str | None" = None) -> str:
    r"""The Errata appendix as a LaTeX fragment (a ``description`` list), typeset by `derive.latex`.

    ``notation`` prints every equation in one course's notation (default: each
    claim in its own).  Claims whose sides are not terms (numbers, shapes,
    clipping rules) are quoted as text.
    """
    try:
        from .latex import latex
        from .latex import objects as ob
    except ImportError:  # pragma: no cover - depends on the installation
        raise NotSupported("errata_latex needs derive.latex (the printer), which is not installed") from None
    items = []
    for e in errata_entries(report):
        nota = notation or e["notation"]
        printed = _latex_equation(e["terms"]["printed"], nota, latex, ob) or _tt(e["statement"])
        lines = [rf"\item[{_tex_text(e['id'])}] {_tex_text(e['source']['file'])}, {_tex_text(e['source']['where'])}. "
                 rf"As printed: {printed}"]
        if e["reading"]:
            lines.append(rf"Reading: {_tex_text(e['reading'])}.")
        cx = e["counterexample"]
        if cx is not None:
            lines.append(rf"Counterexample ({_tex_text(_fmt_where(cx['instance']))}): {_tex_text(cx['detail'])}.")
        elif e["detail"]:
            lines.append(rf"Check: {_tex_text(e['detail'])}.")
        if e["special_case"]:
            lines.append(_tex_text(e["special_case"]) + ".")
        if e["correction"] is not None:
            fixed = _latex_equation(e["terms"]["corrected"], nota, latex, ob) or _tt(e["correction"]["statement"])
            lines.append(rf"Correction ({_tex_text(e['correction']['verdict'])}, "
                         rf"{_tex_text(' and '.join(e['correction']['how']) or 'unchecked')}): {fixed}")
        items.append("\n".join(lines))
    return "\\begin{description}\n" + "\n\n".join(items) + "\n\\end{description}\n"


def _latex_equation(sides, notation, latex, ob) -> str:
    """(lhs, rhs) as an equation, (lhs, rhs, rel) as a relation; "" when the printer cannot print them."""
    if len(sides) not in (2, 3):
        return ""
    try:
        lhs, rhs = (_printable(s, ob) for s in sides[:2])
        rel = sides[2] if len(sides) == 3 else "="
        return r"\[ " + latex(ob.Relation(lhs, rel, rhs), notation=notation) + r" \]"
    except (DeriveError, AttributeError, TypeError, KeyError):
        return ""


def _printable(term, ob):
    """A catalog term as objects the printer knows (`derive.latex.objects`, algebra terms, NodeRefs)."""
    if isinstance(term, Value):
        return term.ref
    if isinstance(term, Diag):
        return ob.Diag(_printable(term.v, ob))
    if isinstance(term, (SigmaPrime, Sigma)):
        cls = ob.Prime if isinstance(term, SigmaPrime) else ob.Applied
        return cls(term.act or "logistic", _printable(term.x, ob))
    if isinstance(term, MatPow):
        return ob.Power(_printable(term.base, ob), term.exponent)
    if isinstance(term, Norm):
        return ob.Norm(_printable(term.x, ob))
    if isinstance(term, Const):
        return sp.sympify(term.value)
    if isinstance(term, Gamma):
        return sp.Symbol("gamma")
    if isinstance(term, Lam):
        return sp.Symbol("lambda")
    if isinstance(term, SpectralRadius):
        return ob.Applied("identity", _printable(term.x, ob))
    if isinstance(term, Prod):
        return Prod(tuple(_printable(f, ob) for f in term.factors))
    if isinstance(term, Sum):
        return Sum(tuple(_printable(t, ob) for t in term.terms))
    if isinstance(term, (Brace, SumOver, ProdOver)):
        return replace(term, body=_printable(term.body, ob))
    return term


_TEX_TEXT = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
             "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}"}
_TEX_MATH = {"τ": r"\tau", "σ": r"\sigma", "γ": r"\gamma", "λ": r"\lambda", "θ": r"\theta", "ρ": r"\rho",
             "δ": r"\delta", "∂": r"\partial", "∈": r"\in", "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "⊗": r"\otimes",
             "⊙": r"\odot", "∘": r"\circ", "Π": r"\Pi", "Σ": r"\Sigma", "⁺": r"^{+}", "→": r"\to", "±": r"\pm",
             "×": r"\times", "∴": r"\therefore", "ĝ": r"\hat{g}", "h̃": r"\tilde{h}", "…": r"\dots"}


def _tex_text(s: str) -> str:
    """Plain text for LaTeX: special characters escaped, the lectures' Unicode maths as math mode."""
    out = []
    for ch in str(s):
        if ch in _TEX_MATH:
            out.append(r"\ensuremath{" + _TEX_MATH[ch] + "}")
        else:
            out.append(_TEX_TEXT.get(ch, ch))
    return "".join(out)


def _tt(s: str) -> str:
    return r"\texttt{" + _tex_text(s) + "}"


# ===========================================================================
# 8. verify: every claim that should hold, every correction, every derivation of proofs/
# ===========================================================================
def _matches(ident: str, pattern: "str | None") -> bool:
    """-k PATTERN: substring, or a glob when it has * ? [; alternatives separated by commas."""
    if not pattern:
        return True
    for p in (x.strip() for x in pattern.split(",")):
        if p and (fnmatch.fnmatchcase(ident, p) if any(ch in p for ch in "*?[") else p in ident):
            return True
    return False


def select_ids(ids: "Iterable[str]", pattern: "str | None") -> "list[str]":
    """The ids matching ``pattern`` (see `_matches`), in order."""
    return [i for i in ids if _matches(i, pattern)]


def load_claims(pattern: "str | None" = None) -> "list[Claim]":
    """The catalog (`proofs.catalog.claims()`), optionally filtered by id."""
    from proofs.catalog import claims

    return [c for c in claims() if _matches(c.id, pattern)]


def collect_derivations(pattern: "str | None" = None) -> "list":
    """Every `Derivation` of every ``proofs.*`` module with ``derivations()`` (see `derive.content`)."""
    from .content import collect_derivations as collect

    return [d for d in collect() if _matches(d.id, pattern)]


def verify_all(pattern: "str | None" = None, *, claims: "list[Claim] | None" = None,
               derivations: "list | None" = None, config: "AuditConfig | None" = None,
               jobs: int = 1) -> "list[CheckResult]":
    """Run every derivation in proofs/, every catalog claim expected to hold and every correction.

    Returns `derive.verify.CheckResult` objects (``derivation`` is the
    derivation or claim id); a pending claim gives one result with method
    "skipped" (passed).  ``pattern`` selects ids as ``-k`` does.  ``jobs > 1``
    (with the default ``claims`` and ``derivations``) checks one proofs module
    or one lecture of the catalog per worker process; the results come back in
    the same order as with ``jobs=1``.
    """
    if jobs > 1 and claims is None and derivations is None:
        return _verify_parallel(pattern, config, jobs)
    results: list[CheckResult] = []
    for d in (collect_derivations(pattern) if derivations is None else derivations):
        results.extend(verify(d).results)
    run = _Run(config or AuditConfig())
    for claim in (load_claims() if claims is None else claims):
        todo = []
        if claim.expected == "holds" and _matches(claim.id, pattern):
            todo.append(claim)
        if claim.correction is not None and _matches(claim.correction.id, pattern):
            todo.append(claim.correction)
        for c in todo:
            results.extend(_as_check_results(_check(c, run)))
    return results


def _groups() -> "list[tuple[str, str]]":
    """Units of work: ("derivations", proofs module) and ("claims", catalog lecture module)."""
    from proofs.catalog import lecture_modules

    from .content import proof_modules

    return ([("derivations", m.__name__) for m in proof_modules()]
            + [("claims", m.__name__) for m in lecture_modules()])


def _verify_group(group: "tuple[str, str]", pattern, config) -> "list[CheckResult]":
    import importlib

    kind, name = group
    mod = importlib.import_module(name)
    if kind == "derivations":
        return verify_all(pattern, claims=[], derivations=[d for d in mod.derivations() if _matches(d.id, pattern)])
    return verify_all(pattern, claims=mod.claims(), derivations=[], config=config)


def _verify_parallel(pattern, config, jobs: int) -> "list[CheckResult]":
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    groups = _groups()
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        ctx = None
    if ctx is None or mp.current_process().daemon:  # a daemon (a pool worker) may not start processes
        return [r for g in groups for r in _verify_group(g, pattern, config)]
    with ProcessPoolExecutor(max_workers=min(jobs, len(groups)), mp_context=ctx) as pool:
        futures = [pool.submit(_verify_group, g, pattern, config) for g in groups]
        return [r for f in futures for r in f.result()]


def _as_check_results(r: ClaimResult) -> "list[CheckResult]":
    cid = r.claim.id
    if r.verdict in ("pending", "not_checkable"):
        return [CheckResult(cid, 0, "skipped", True, f"{r.verdict}: {r.reason}")]
    if r.verdict == "error":
        return [CheckResult(cid, 0, "error", False, r.reason)]
    out = [CheckResult(cid, 0, c.method, c.passed, c.detail, c.where_text(), c.seconds) for c in r.checks]
    if r.verdict == "fails" and all(c.passed for c in r.checks):  # pragma: no cover - defensive
        out.append(CheckResult(cid, 0, "verdict", False, "fails"))
    return out


def to_junit(results: "list[CheckResult]", *, name: str = "derive verify") -> str:
    """JUnit XML: one testcase per (derivation or claim, step); failures list every failing check."""
    import xml.etree.ElementTree as ET

    groups: dict = {}
    for r in results:
        groups.setdefault((r.derivation, r.step), []).append(r)
    fails = sum(1 for rs in groups.values() if any(not r.passed for r in rs))
    skips = sum(1 for rs in groups.values() if all(r.method == "skipped" for r in rs))
    total_time = sum(r.seconds for r in results)
    suites = ET.Element("testsuites", name=name, tests=str(len(groups)), failures=str(fails),
                        skipped=str(skips), time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="derive", tests=str(len(groups)), failures=str(fails),
                          skipped=str(skips), time=f"{total_time:.3f}")
    for (ident, step), rs in groups.items():
        case = ET.SubElement(suite, "testcase", classname=ident, name=f"step {step + 1}",
                             time=f"{sum(r.seconds for r in rs):.3f}")
        bad = [r for r in rs if not r.passed]
        if bad:
            el = ET.SubElement(case, "failure", message=f"[{bad[0].method}] {bad[0].where} {bad[0].detail}"[:500])
            el.text = "\n".join(str(r) for r in bad)
        elif all(r.method == "skipped" for r in rs):
            ET.SubElement(case, "skipped", message=rs[0].detail[:500])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def results_to_json(results: "list[CheckResult]", *, indent: "int | None" = 2) -> str:
    """verify results as JSON: {"schema": "derive.verify/1", "summary": {...}, "results": [...]}."""
    rows = [{"id": r.derivation, "step": r.step + 1, "method": r.method, "passed": r.passed,
             "where": r.where, "detail": r.detail, "seconds": round(r.seconds, 4)} for r in results]
    summary = {"checks": len(rows), "passed": sum(r.passed and r.method != "skipped" for r in results),
               "failed": sum(not r.passed for r in results), "skipped": sum(r.method == "skipped" for r in results)}
    return json.dumps({"schema": "derive.verify/1", "summary": summary, "results": rows}, indent=indent,
                      ensure_ascii=False)


def main_verify(pattern: "str | None" = None, fmt: str = "text", out=None, *, jobs: "int | None" = None) -> int:
    """``derive verify [-k PATTERN] [--format text|json|junit]``: 0 all hold, 1 any fails, 2 bad usage.

    ``jobs``: worker processes (default: the number of CPUs).  Bad usage raises
    a `DeriveError` naming the problem (the CLI turns it into exit code 2).
    """
    import os

    out = out or sys.stdout
    if fmt not in ("text", "json", "junit"):
        raise UnknownName("output format", fmt, ("text", "json", "junit"))
    t0 = time.perf_counter()
    results = verify_all(pattern, jobs=jobs or os.cpu_count() or 1)
    if not results:
        raise InvalidValue(f"no derivation or claim id matches -k {pattern!r}")
    if fmt == "json":
        out.write(results_to_json(results) + "\n")
    elif fmt == "junit":
        out.write(to_junit(results))
    else:
        for r in results:
            if not r.passed:
                out.write(f"{r}\n")
        report = Report([r for r in results if r.method != "skipped"])
        skipped = [r.derivation for r in results if r.method == "skipped"]
        out.write(f"{report.summary()}, {len(skipped)} skipped"
                  f"{' (' + ', '.join(skipped) + ')' if skipped else ''} in {time.perf_counter() - t0:.1f} s\n")
    return 0 if all(r.passed for r in results) else 1


def main_audit(pattern: "str | None" = None, fmt: str = "table", out=None, *, expected: bool = False) -> int:
    """``derive audit [-k PATTERN] [--format table|json]``.

    Exit code: 0 when every selected claim holds (or is not checkable / pending)
    and every correction holds, 1 when any claim fails or errs, 2 for bad usage
    (unknown format, a pattern matching no claim).  ``expected=True`` exits 0
    when every verdict is the one the catalog expects (for CI).
    """
    out = out or sys.stdout
    if fmt not in ("table", "json"):
        raise UnknownName("output format", fmt, ("table", "json"))
    claims = load_claims(pattern)
    if not claims:
        raise InvalidValue(f"no claim id matches -k {pattern!r}")
    report = audit(claims)
    out.write((to_json(report) if fmt == "json" else format_table(report)) + "\n")
    return 0 if (report.as_expected if expected else report.ok) else 1


# ===========================================================================
# 9. Sensitivity: mutate correct claims, every mutant must be caught
# ===========================================================================
MUTATION_KINDS = ("dropped term", "swapped factor order", "shifted index", "wrong bound constant",
                  "transposed dimension")


def mutation_report(claims: "list[Claim] | None" = None, *, config: AuditConfig = FAST) -> dict:
    """Deliberately wrong variants of every claim that holds; how many does the audit catch?

    Returns ``{"mutants": n, "killed": k, "kill_rate": k/n, "by_kind": {kind: [killed, total]},
    "survivors": [(claim id, kind, meaning)], "results": [(claim id, kind, verdict)]}``.
    A mutant is killed when its verdict is "fails" (an "error" counts as killed
    too: the engine refused it, e.g. a shape error, and says so).
    """
    claims = load_claims() if claims is None else claims
    run = _Run(config)
    by_kind = {k: [0, 0] for k in MUTATION_KINDS}
    results, survivors = [], []
    for claim in claims:
        base = [claim] if claim.expected == "holds" else []
        base += [claim.correction] if claim.correction is not None else []
        for c in base:
            try:
                meaning = c.build()
                mutants = meaning.mutants(c.notation) if meaning is not None else []
            except (DeriveError, ImportError):
                continue
            for kind, m in mutants:
                mc = Claim(f"{c.id}~{kind.replace(' ', '-')}", c.source, c.notation, m, statement=m.text(),
                           kind=c.kind)
                r = _check(mc, run)
                killed = r.verdict in ("fails", "error")
                by_kind.setdefault(kind, [0, 0])
                by_kind[kind][0] += killed
                by_kind[kind][1] += 1
                results.append((c.id, kind, r.verdict))
                if not killed:
                    survivors.append((c.id, kind, r.meaning or m.text()))
    n = sum(t for _, t in by_kind.values())
    k = sum(x for x, _ in by_kind.values())
    return {"mutants": n, "killed": k, "kill_rate": (k / n) if n else 1.0, "by_kind": by_kind,
            "survivors": survivors, "results": results}
