r"""The LaTeX printer: one ``_print_<ClassName>`` per concept, dispatched by class.

SymPy's printer finds ``_print_<Name>`` by walking the class hierarchy, so the
derivative terms (`derive.algebra`), the vector expressions (`derive.model.ir`), the
slide concepts (`derive.render.latex.objects`) and ordinary SymPy expressions (time
indices, bounds such as ``(\gamma \lambda)^{t - k}``) print through one object.
Every notation choice comes from the `derive.notation.Notation` in the
``notation`` setting; ``time`` is the step a cell equation is written at.

Conventions (each one a decision, stated once here):

- explicit derivative ``\frac{\partial^{+} s_{4}}{\partial W}`` (CS7015 Module 14.3);
- a product is juxtaposition in the given order; a factor that is a sum is
  bracketed ``\left[ ... \right]`` as on the slide, an indexed sum or product
  that is not the last factor is bracketed too (it would otherwise swallow the
  factors after it);
- ``ProdOver``: the chain-rule order (descending, largest index leftmost) is a
  plain ``\prod_{j=k + 1}^{t}``, as all three lectures write it; the ascending
  order prints ``\mathop{\overrightarrow{\prod}}\limits_{j=k + 1}^{t}`` (the
  arrow points the way the index grows), so the two never print alike;
- cross-entropy ``-\log (y_{t})_{c_{t}}``: component c_t of the vector y_t,
  which reads the same in every notation (cs224n: ``-\log (\hat{y}^{(t)})_{w^{(t)}}``);
- time indices are printed by SymPy, with the terms of index arithmetic in
  slide order (positive, negative, constant): ``s_{t - 1}``, ``(\gamma \lambda)^{t - k}``.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter as _SympyLatexPrinter

from derive.model import activations, ir
from derive import terms as tm
from derive.model.activations import ActivationApplied, ActivationPrime
from derive.model.cell import Cell
from derive.errors import InvalidValue, NotSupported
from derive.model.graph import NodeRef
from derive.indices import as_index, parse_index
from derive.notation import get_notation

__all__ = ["LatexPrinter", "latex"]

_NORM_ORDERS = {1: "1", "inf": r"\infty", "fro": "F"}
_TEXT_FORBIDDEN = "\\{}_^&%#~"
_SINGLE_TOKEN = re.compile(r"\\[A-Za-z]+|[A-Za-z]|\d+")  # raw LaTeX that is one symbol: x, \gamma, 4


class LatexPrinter(_SympyLatexPrinter):
    r"""SymPy's LaTeX printer, taught the concepts of `derive`.

    Settings (besides SymPy's): ``notation`` (a profile name or `Notation`,
    default ``"cs7015"``) and ``time`` (the step of a cell equation: a name
    such as ``"t"``, an int, or a SymPy expression; default ``"t"``) and ``cell``
    (the cell whose engine names are printed, a name or a `Cell`; default
    ``"rnn"``; printing a `Cell` uses that cell).

    Example::

        >>> from derive.terms import D, node
        >>> print(LatexPrinter({"notation": "cs224n"}).doprint(D(node("s", 4), node("W"), explicit=True)))
        \frac{\partial^{+} h^{(4)}}{\partial W_{h}}
    """

    printmethod = "_latex"  # SymPy's convention: an object with _latex(printer) prints itself
    _default_settings = {**_SympyLatexPrinter._default_settings, "notation": "cs7015", "time": "t", "cell": "rnn"}

    def __init__(self, settings=None):
        super().__init__(settings)
        self.notation = get_notation(self._settings["notation"])
        cell = self._settings["cell"]
        self.cell = cell.family if isinstance(cell, Cell) else cell
        time = self._settings["time"]
        if isinstance(time, str):  # "t", "k", "t + 1": names are integer time indices (read by a grammar)
            time = parse_index(time)
        self.time = _index_expr(time)

    def _print(self, expr, **kwargs):
        # SymPy skips intermediate classes of a Function when dispatching, so the
        # activation functions (one generated class per activation) are caught here.
        if isinstance(expr, ActivationApplied):
            return self._apply(expr.activation.latex, expr.args[0], kwargs.get("exp"))
        if isinstance(expr, ActivationPrime):
            return self._apply(expr.activation.latex + "'", expr.args[0], kwargs.get("exp"))
        return super()._print(expr, **kwargs)

    def emptyPrinter(self, expr):
        raise NotSupported(
            f"no LaTeX rule for {type(expr).__name__} ({expr!r}); "
            f"add a _print_{type(expr).__name__} method to derive.render.latex.LatexPrinter"
        )

    def _print_str(self, s: str) -> str:
        return s  # raw LaTeX, e.g. r"\gamma \lambda" as the right side of a bound

    def _print_int(self, n: int) -> str:
        return str(n)  # SymPy prints an Integer through its Python int

    def _as_ordered_terms(self, expr, order=None):
        # Index arithmetic reads as on a slide: t - k + 1, not SymPy's -k + t + 1
        # (positive terms, then negative ones, then the constant; stable otherwise).
        terms = super()._as_ordered_terms(expr, order=order)
        symbols = expr.free_symbols
        if not symbols or not all(s.is_integer for s in symbols) or not expr.is_polynomial() \
                or sp.Poly(expr, *sorted(symbols, key=str)).total_degree() > 1:
            return terms
        return sorted(terms, key=lambda term: (term.is_number, term.could_extract_minus_sign()))

    # -- helpers -----------------------------------------------------------------
    def _symbol(self, name: str, time: "str | None" = None, indices: tuple = ()) -> str:
        return self.notation.symbol(name, time, indices, cell=self.cell)

    def _time(self, t) -> "str | None":
        return None if t is None else self._print(_index_expr(t))

    def _is_atom(self, x) -> bool:
        """Whether x reads as one symbol (no brackets needed around it)."""
        if isinstance(x, str):
            return _SINGLE_TOKEN.fullmatch(x) is not None
        if isinstance(x, tm.Value):
            return True
        if isinstance(x, (ir.Sym, NodeRef, tm.Entry, tm.Norm, tm.Diag, tm.Apply, tm.Prime, tm.SpectralRadius,
                          tm.Gamma, tm.Lam, tm.Identity, tm.Transpose, tm.Var)):
            return True
        if isinstance(x, (ir.Apply, ir.Softmax, ir.OneMinus)):
            return True
        if isinstance(x, tm.Const):  # 0.01 in 0.01^{47}, 0 in σ'(0); a fraction or a negative number is bracketed
            v = sp.Integer(x.value) if isinstance(x.value, int) else sp.Float(x.value) if isinstance(x.value, float) \
                else x.value
            return bool((v.is_Integer or v.is_Float) and v >= 0)
        return isinstance(x, sp.Basic) and (x.is_Atom or isinstance(x, (sp.Function, sp.Indexed)))

    def _call(self, head: str, x) -> str:
        """head(x): plain parentheses around an atom, growing ones otherwise."""
        body = self._print(x)
        if self._is_atom(x) and r"\left" not in body:  # growing brackets inside need growing ones outside
            return f"{head}({body})"
        return rf"{head}\left({body}\right)"

    def _apply(self, head: str, arg, exp=None) -> str:
        tex = self._call(head, arg)
        return f"{tex}^{{{exp}}}" if exp is not None else tex

    def _paren(self, x, kinds) -> str:
        body = self._print(x)
        return rf"\left({body}\right)" if isinstance(x, kinds) else body

    def _text(self, text: str) -> str:
        parts = text.split("$")
        if len(parts) % 2 == 0:
            raise InvalidValue(f"text {text!r} has an unmatched '$'")
        for words in parts[::2]:
            bad = [ch for ch in _TEXT_FORBIDDEN if ch in words]
            if bad:
                raise InvalidValue(
                    f"text {text!r} contains {bad[0]!r} outside $...$; write mathematics between dollars"
                )
        return rf"\text{{{text}}}"

    # -- derive.model.graph / derive.algebra ---------------------------------------------
    def _print_NodeRef(self, ref: NodeRef) -> str:
        return self._symbol(ref.name, self._time(ref.t))

    def _print_D(self, d: tm.D) -> str:
        op = self.notation.explicit_mark if d.explicit else r"\partial"
        return rf"\frac{{{op} {self._print(d.f)}}}{{\partial {self._print(d.x)}}}"

    def _print_Zero(self, expr) -> str:
        return "0"  # both derive.tm.Zero and SymPy's S.Zero

    def _factor(self, f, last: bool) -> str:
        """One factor of an ordered product, bracketed where juxtaposition would mislead."""
        if isinstance(f, tm.Sum):
            return rf"\left[ {self._print(f)} \right]"
        if isinstance(f, tm.Brace) and isinstance(f.body, tm.Sum):
            return rf"\underbrace{{\left[ {self._print(f.body)} \right]}}_{{{self._text(f.label)}}}"
        if isinstance(f, (tm.SumOver, tm.ProdOver)) and not last:
            return rf"\left[ {self._print(f)} \right]"
        if isinstance(f, (ir.Add, ir.Neg, ir.Hadamard)) or (isinstance(f, sp.Basic) and f.is_Add):
            return rf"\left({self._print(f)}\right)"
        return self._print(f)

    def _print_Prod(self, p: tm.Prod) -> str:
        if not p.factors:
            return "I"
        n = len(p.factors)
        return " ".join(self._factor(f, i == n - 1) for i, f in enumerate(p.factors))

    def _print_Sum(self, s, **kwargs) -> str:
        if not isinstance(s, tm.Sum):
            return super()._print_Sum(s, **kwargs)
        if not s.terms:
            return "0"
        out = ""
        for i, t in enumerate(s.terms):
            neg = _negated(t)  # 1 - s_t, as notes write tanh' = 1 - s_t^2
            if neg is None:
                out += (" + " if i else "") + self._print(t)
            else:
                out += (" - " if i else "-") + self._print(neg)
        return out

    def _print_Brace(self, b: tm.Brace) -> str:
        return rf"\underbrace{{{self._print(b.body)}}}_{{{self._text(b.label)}}}"

    def _body(self, body) -> str:
        """The body of an indexed sum or product is bracketed like a last factor."""
        return self._factor(body, last=True)

    def _limits(self, index, lo, hi) -> str:
        return f"_{{{self._print(index)}={self._print(_index_expr(lo))}}}^{{{self._print(_index_expr(hi))}}}"

    def _print_SumOver(self, s: tm.SumOver) -> str:
        return rf"\sum{self._limits(s.index, s.lo, s.hi)} {self._body(s.body)}"

    def _print_ProdOver(self, p: tm.ProdOver) -> str:
        op = self.notation.descending_product if p.descending else self.notation.ascending_product
        return f"{op}{self._limits(p.index, p.lo, p.hi)} {self._body(p.body)}"

    # -- derive.model.ir: the cell equations ----------------------------------------------
    def _print_Sym(self, s: ir.Sym) -> str:
        if s.role == "param":
            return self._symbol(s.name)
        return self._symbol(s.name, self._time(self.time - s.lag))

    def _print_MatMul(self, m, **kwargs) -> str:
        if not isinstance(m, ir.MatMul):
            return super()._print_MatMul(m, **kwargs)
        wrap = (ir.Add, ir.Neg, ir.Hadamard)
        return f"{self._paren(m.A, wrap)} {self._paren(m.B, wrap)}"

    def _print_Add(self, a, **kwargs) -> str:
        if not isinstance(a, ir.Add):
            return super()._print_Add(a, **kwargs)
        if isinstance(a.right, ir.Neg):
            return f"{self._print(a.left)} - {self._paren(a.right.x, (ir.Add, ir.Neg))}"
        return f"{self._print(a.left)} + {self._print(a.right)}"

    def _print_Neg(self, n: ir.Neg) -> str:
        return "-" + self._paren(n.x, (ir.Add, ir.Neg))

    def _print_Hadamard(self, h) -> str:  # ir.Hadamard in a cell equation, terms.Hadamard in a formula
        wrap = (ir.Add, ir.Neg, tm.Sum, tm.SumOver)
        return rf"{self._paren(h.left, wrap)} \odot {self._paren(h.right, wrap)}"

    def _print_OneMinus(self, o: ir.OneMinus) -> str:
        return f"(1 - {self._paren(o.x, (ir.Add, ir.Neg))})"

    def _print_Apply(self, a) -> str:  # ir.Apply in a cell equation, terms.Apply in a formula
        return self._call(self._act_latex(a.act), a.x)

    def _act_latex(self, act) -> str:
        """An activation's symbol; ``None`` (the cell's σ, unnamed) is σ."""
        if act is None:
            return r"\sigma"
        return (act if isinstance(act, activations.Activation) else activations.get(act)).latex

    def _print_Softmax(self, s: ir.Softmax) -> str:
        return self._call(r"\operatorname{softmax}", s.x)

    def _print_NLL(self, n: ir.NLL) -> str:
        time = self._time(self.time - (n.label.lag if isinstance(n.label, ir.Sym) else 0))
        index = self.notation.timed(self.notation.class_index, time)
        y = self._print(n.y)
        y = f"({y})" if isinstance(n.y, ir.Sym) else rf"\left({y}\right)"
        return rf"-\log {y}_{{{index}}}"

    def _print_Cell(self, cell: Cell) -> str:
        outer, self.cell = self.cell, cell.family
        try:
            self._check_distinct(cell)
            return self._print(tm.cell_equations(cell))
        finally:
            self.cell = outer

    def _check_distinct(self, cell: Cell) -> None:
        """Two names of one cell must not print alike (a profile made for another cell)."""
        seen: dict[str, str] = {}
        for name in cell.symbols:
            tex = self._symbol(name)
            if tex in seen:
                raise InvalidValue(
                    f"notation {self.notation.name!r} writes both {seen[tex]!r} and {name!r} of cell "
                    f"{cell.name!r} as {tex}; give the profile an entry cells[{cell.name!r}]"
                )
            seen[tex] = name

    # -- derive.terms: formulas ----------------------------------------------------------
    def _print_Value(self, v: tm.Value) -> str:
        return self._print(v.ref)

    def _print_Const(self, c: tm.Const) -> str:
        v = c.value
        return self._print(sp.Integer(v) if isinstance(v, int) else sp.Float(v) if isinstance(v, float) else v)

    def _print_Identity(self, i: tm.Identity) -> str:
        return "I"

    def _print_Diag(self, d: tm.Diag) -> str:
        return self._call(r"\operatorname{diag}", d.v)

    def _print_Prime(self, p: tm.Prime) -> str:
        if p.act == "identity":
            return "1"
        return self._call(self._act_latex(p.act) + "'", p.x)

    def _print_Transpose(self, t: tm.Transpose) -> str:
        body = self._print(t.x)
        if not self._is_atom(t.x) or isinstance(t.x, (tm.Transpose, tm.Norm)):
            body = rf"\left({body}\right)"
        elif "^" in body:  # h^{(t)} (CS224n): a second superscript needs a group, {h^{(t)}}^{\top}
            body = "{" + body + "}"
        return body + r"^{\top}"

    def _print_SpectralRadius(self, r: tm.SpectralRadius) -> str:
        return self._call(r"\rho", r.x)

    def _print_Gamma(self, g: tm.Gamma) -> str:
        return r"\gamma"

    def _print_Lam(self, lam: tm.Lam) -> str:
        return r"\lambda"

    def _print_LocalForm(self, f) -> str:
        return self._print(f.body)

    def _print_Elementwise(self, e: tm.Elementwise) -> str:
        return self._elementwise(e)

    def _print_DeltaOuter(self, d: tm.DeltaOuter) -> str:
        p, r = sp.Symbol("p"), sp.Symbol("r")
        parts = [x for x in (self._entrywise(d.v, p), self._entrywise(d.u, r)) if x]
        return r"\left[ \delta_{pq} \, " + r" \, ".join(parts) + r" \right]_{p,q,r}"

    def _entrywise(self, v, index) -> str:
        """Entry ``index`` of a vector formula: (σ'(a_k))_p prints σ'(a_{k, p})."""
        if isinstance(v, tm.Elementwise):
            return self._elementwise(v, index)
        if isinstance(v, (tm.Value, NodeRef)):
            return self._print(tm.Entry(v.ref if isinstance(v, tm.Value) else v, (index,)))
        if isinstance(v, tm.Prime) and v.act == "identity":
            return ""  # id' = 1
        if isinstance(v, tm.Apply) and v.act == "identity":
            return self._entrywise(v.x, index)
        if isinstance(v, (tm.Apply, tm.Prime)):
            head = self._act_latex(v.act) + ("'" if isinstance(v, tm.Prime) else "")
            return f"{head}({self._entrywise(v.x, index)})"
        if isinstance(v, tm.Hadamard):
            return f"{self._entrywise(v.left, index)} {self._entrywise(v.right, index)}"
        return rf"\left({self._print(v)}\right)_{{{self._print(index)}}}"

    def _print_Norm(self, n: tm.Norm) -> str:
        sub = "" if n.ord == 2 else f"_{{{_NORM_ORDERS[n.ord]}}}"
        return rf"\left\lVert {self._print(n.x)} \right\rVert{sub}"

    def _print_Power(self, p: tm.Power) -> str:
        base = self._print(p.base)
        if not self._is_atom(p.base):
            base = rf"\left({base}\right)"
        return f"{base}^{{{self._print(p.exponent)}}}"

    def _print_Entry(self, e: tm.Entry) -> str:
        idx = [self._print(_index_expr(i)) for i in e.indices]
        if e.of.t is None and all(len(i) == 1 for i in idx):
            idx = ["".join(idx)]  # W_{qr}, as the slide writes it
        return self._symbol(e.of.name, self._time(e.of.t), tuple(idx))

    def _print_Text(self, t: tm.Text) -> str:
        return self._text(t.text)

    def _print_Var(self, v: tm.Var) -> str:
        body = v.name if len(v.name) == 1 else rf"\mathit{{{v.name}}}"   # a word: threshold
        return rf"\hat{{{body}}}" if v.hat else body

    def _print_Frac(self, f: tm.Frac) -> str:
        return rf"\frac{{{self._print(f.num)}}}{{{self._print(f.den)}}}"

    def _print_Sup(self, s: tm.Sup) -> str:
        body = self._print(s.body)
        if not self._is_atom(s.body):
            body = rf"\left({body}\right)"
        return rf"\sup_{{{self._print(s.var)}}} {body}"

    def _print_RealSpace(self, r: tm.RealSpace) -> str:
        return r"\mathbb{R}^{" + r" \times ".join(str(d) for d in r.dims) + "}"

    def _print_Cases(self, c: tm.Cases) -> str:
        rows = []
        for value, cond in c.rows:
            if cond is None:
                when = r"\text{otherwise}"
            else:
                conds = cond if isinstance(cond, tuple) else (cond,)
                when = r"\text{if } " + r" \text{ or } ".join(self._print(x) for x in conds)
            rows.append(f"{self._print(value)} & {when}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"

    def _print_SetOf(self, s: tm.SetOf) -> str:
        return r"\{" + ", ".join(self._print(x) for x in s.items) + r"\}"

    def _print_PathCount(self, n: tm.PathCount) -> str:
        return rf"N\left({self._print(n.f)} \to {self._print(n.x)}\right)"

    def _print_Code(self, c: tm.Code) -> str:
        import latexify  # the pseudo-code of the function itself (latexify-py), never retyped

        style = latexify.Style.ALGORITHMIC if c.style == "algorithmic" else latexify.Style.FUNCTION
        return latexify.get_latex(c.fn, style=style, identifiers=dict(c.identifiers), use_math_symbols=True)

    def _print_AtStep(self, a) -> str:
        return self._print(a.body)

    def _print_GradientLayout(self, g: tm.GradientLayout) -> str:
        return self._print(g.body)

    def _print_ParamCount(self, c: tm.ParamCount) -> str:
        sub = "_{" + self._text(c.label) + "}" if c.label else ""
        return rf"\lvert \theta{sub} \rvert"

    def _print_DimFormula(self, f: tm.DimFormula) -> str:
        return sp.latex(f.expression())

    def _print_Within(self, w: tm.Within) -> str:
        outer, self.cell = self.cell, w.cell
        try:
            return self._print(w.body)
        finally:
            self.cell = outer

    def _print_Relation(self, r: tm.Relation) -> str:
        return f"{self._print(r.lhs)} {tm.relation(r.rel)} {self._print(r.rhs)}"

    def _print_Chain(self, c: tm.Chain) -> str:
        return self._print(c.first) + "".join(f" {tm.relation(rel)} {self._print(x)}" for rel, x in c.steps)

    def _print_Equation(self, e: tm.Equation, align: bool = False) -> str:
        lhs = self._print(e.lhs)
        lines = [f"{tm.relation(rel)} {self._print(x)}" for rel, x in e.rhs_lines]
        if len(lines) == 1 and not align:
            return f"{lhs} {lines[0]}"
        rows = [f"{lhs} &{lines[0]}"] + [f"&{line}" for line in lines[1:]]
        if align:
            return r" \\ ".join(rows)
        return r"\begin{aligned} " + r" \\ ".join(rows) + r" \end{aligned}"

    def _print_System(self, s: tm.System) -> str:
        rows = [self._print_Equation(e, align=True) for e in s.equations]
        return r"\begin{aligned} " + r" \\ ".join(rows) + r" \end{aligned}"

    # -- derive.prove.structure: local Jacobians in vector notation ----------------------------
    def _elementwise(self, form, index=None) -> str:
        """The element-wise vector of a LocalForm: placeholders become nodes, products of vectors ⊙."""
        subs = {}
        for ph, ref in form.vectors:
            target = tm.Entry(ref, (index,)) if index is not None else ref
            subs[ph] = _Rendered(self._print(target))
        expr = form.template.xreplace(subs)
        if isinstance(expr, sp.Mul) and index is None:
            vec = [a for a in expr.args if a.free_symbols]
            const = [a for a in expr.args if not a.free_symbols]
            body = r" \odot ".join(self._print(a) if not a.is_Add else rf"\left({self._print(a)}\right)"
                                    for a in vec)
            return (self._print(sp.Mul(*const)) + " " if const else "") + body
        return self._print(expr)

    # -- SymPy objects the engine produces -------------------------------------------
    def _print_KroneckerDelta(self, expr, exp=None) -> str:
        idx = [self._print(i) for i in expr.args]
        joined = "".join(idx) if all(len(i) == 1 for i in idx) else ", ".join(idx)
        tex = rf"\delta_{{{joined}}}"
        return f"\\left({tex}\\right)^{{{exp}}}" if exp is not None else tex


def latex(obj, notation="cs7015", *, time="t", cell="rnn", **settings) -> str:
    r"""LaTeX (math mode, no delimiters) for any `derive` object or SymPy expression.

    Args:
        obj: a derivative term, a vector expression, a `Cell`, a `NodeRef`, an
            object of `derive.render.latex.objects`, or a SymPy expression.
        notation: a registered profile name (``"cs7015"``, ``"appliednlp"``,
            ``"cs224n"``) or a `Notation`.
        time: the step cell equations are written at (``"t"``, ``3``, ...).
        cell: the cell whose engine names ``obj`` uses (a name or a `Cell`):
            the profiles map the same name differently per cell.
        **settings: SymPy printer settings.

    Example::

        >>> from derive.terms import D, node
        >>> print(latex(D(node("s", 4), node("W"))))
        \frac{\partial s_{4}}{\partial W}
        >>> print(latex(D(node("s", 4), node("W")), notation="appliednlp"))
        \frac{\partial h^{[4]}}{\partial U}

    Raises:
        derive.errors.UnknownName: an unregistered notation.
        derive.errors.NotSupported: an object with no printing rule.
    """
    return LatexPrinter({"notation": notation, "time": time, "cell": cell, **settings}).doprint(obj)


def _index_expr(v):
    """An index or time as a SymPy expression (text through the index grammar, never sympify)."""
    if isinstance(v, str):
        v = as_index(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return sp.Integer(v)
    return v


class _Rendered(sp.Symbol):
    """A SymPy symbol that prints as a given LaTeX string (a node in the current notation)."""

    def _latex(self, printer):
        return self.name


def _negated(t):
    """For a summand c·x with a negative number c, the term |c|·x (x alone when c = −1); else None."""
    if not (isinstance(t, tm.Prod) and len(t.factors) > 1 and isinstance(t.factors[0], tm.Const)):
        return None
    c = sp.nsimplify(t.factors[0].value)
    if not (c.is_number and c.is_negative):
        return None
    rest = t.factors[1:]
    if c == -1:
        return rest[0] if len(rest) == 1 and not isinstance(rest[0], (tm.Sum, tm.SumOver)) else tm.Prod(rest)
    return tm.Prod((tm.Const(-c),) + rest)
