"""The LaTeX printer and the notation profiles: golden strings written inline.

Every expected string is what a slide shows (CS7015 Lecture 14 = seeds/002,
Applied NLP Lecture 59 = seeds/000, CS224n notes = seeds/003).  The last test
compiles a sample of the outputs with pdflatex.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import sympy as sp

from derive.model import activations, ir
from derive.model.cell import Cell
from derive.algebra import Brace, D, Prod, ProdOver, Sum, SumOver, Zero, idx, node
from derive.cells import rnn
from derive.errors import DeriveError, InvalidValue, NotSupported, UnknownName
from derive.render.latex import (
    Applied, Chain, Diag, Entry, Equation, LatexPrinter, Norm, Notation, Power, Prime, Relation,
    System, Text, get_notation, latex, notations, register_notation,
)

t, k, j, T = idx("t"), idx("k"), idx("j"), idx("T")
s4, s3, s2, s1, W = node("s", 4), node("s", 3), node("s", 2), node("s", 1), node("W")
d = sp.Symbol("d", positive=True, integer=True)
u, h, h_tilde, r = (ir.Sym(n, (d,), "node") for n in ("u", "h", "h_tilde", "r"))
W_h = ir.Sym("W_h", (d, d), "param")
a_j = sp.Symbol("a_j")
sigma, tanh = activations.get("logistic"), activations.get("tanh")

# CS7015 Module 14.3: the first two lines of the recursive expansion of ds_4/dW.
SLIDE_LINE_1 = Brace(D(s4, W, explicit=True), "explicit") + Brace(D(s4, s3) * D(s3, W), "implicit")
SLIDE_LINE_2 = D(s4, W, explicit=True) + D(s4, s3) * (
    Brace(D(s3, W, explicit=True), "explicit") + Brace(D(s3, s2) * D(s2, W), "implicit"))
# The path sum and the product of Jacobians (Modules 14.3-14.4).
PATH_SUM = D(node("L", "t"), W) * SumOver(k, 1, t, D(node("s", "t"), node("s", "k")) * D(node("s", "k"), W, True))
JACOBIAN_PRODUCT = ProdOver(j, k + 1, t, D(node("s", "j"), node("s", "j - 1")))


# ---------------------------------------------------------------------------
# One row per printer method, CS7015 notation.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("obj, expected", [
    # derive.model.graph.NodeRef: time as SymPy prints it, index arithmetic in slide order
    (node("s", "t - 1"), r"s_{t - 1}"),
    (node("s", "k"), r"s_{k}"),
    (node("s", t - k + 1), r"s_{t - k + 1}"),
    (node("W"), r"W"),
    (node("L", 4), r"\mathscr{L}_{4}(\theta)"),
    (node("L"), r"\mathscr{L}(\theta)"),
    # derive.algebra
    (D(s4, W), r"\frac{\partial s_{4}}{\partial W}"),
    (D(s4, W, explicit=True), r"\frac{\partial^{+} s_{4}}{\partial W}"),
    (D(node("L", 4), s4), r"\frac{\partial \mathscr{L}_{4}(\theta)}{\partial s_{4}}"),
    (D(s4, s3) * D(s3, W), r"\frac{\partial s_{4}}{\partial s_{3}} \frac{\partial s_{3}}{\partial W}"),
    (D(s4, s3) * (D(s3, W, True) + D(s3, s2) * D(s2, W)),
     r"\frac{\partial s_{4}}{\partial s_{3}} \left[ \frac{\partial^{+} s_{3}}{\partial W} + "
     r"\frac{\partial s_{3}}{\partial s_{2}} \frac{\partial s_{2}}{\partial W} \right]"),
    (D(s4, W, True) + D(s4, s3) * D(s3, W),
     r"\frac{\partial^{+} s_{4}}{\partial W} + \frac{\partial s_{4}}{\partial s_{3}} \frac{\partial s_{3}}{\partial W}"),
    (Brace(D(s4, W, True), "explicit"), r"\underbrace{\frac{\partial^{+} s_{4}}{\partial W}}_{\text{explicit}}"),
    (Prod((D(s4, s3), Brace(D(s3, W, True) + D(s3, s2), "implicit"))),
     r"\frac{\partial s_{4}}{\partial s_{3}} \underbrace{\left[ \frac{\partial^{+} s_{3}}{\partial W} + "
     r"\frac{\partial s_{3}}{\partial s_{2}} \right]}_{\text{implicit}}"),
    (SumOver(k, 1, T, D(node("s", "k"), W, True)), r"\sum_{k=1}^{T} \frac{\partial^{+} s_{k}}{\partial W}"),
    (JACOBIAN_PRODUCT, r"\prod_{j=k + 1}^{t} \frac{\partial s_{j}}{\partial s_{j - 1}}"),
    (ProdOver(j, k + 1, t, D(node("s", "j"), node("s", "j - 1")), descending=False),
     r"\mathop{\overrightarrow{\prod}}\limits_{j=k + 1}^{t} \frac{\partial s_{j}}{\partial s_{j - 1}}"),
    (Prod((JACOBIAN_PRODUCT, W)),
     r"\left[ \prod_{j=k + 1}^{t} \frac{\partial s_{j}}{\partial s_{j - 1}} \right] W"),
    (SumOver(k, 1, t, D(s4, s3) + D(s3, s2)),
     r"\sum_{k=1}^{t} \left[ \frac{\partial s_{4}}{\partial s_{3}} + \frac{\partial s_{3}}{\partial s_{2}} \right]"),
    (Zero(), r"0"),
    (Sum(()), r"0"),
    # derive.model.ir: vector expressions at step t
    (W_h, r"W_{h}"),
    (h.prev, r"h_{t - 1}"),
    (W_h @ h.prev, r"W_{h} h_{t - 1}"),
    (W_h @ (r * h.prev), r"W_{h} \left(r_{t} \odot h_{t - 1}\right)"),
    ((1 - u) * h.prev + u * h_tilde, r"(1 - u_{t}) \odot h_{t - 1} + u_{t} \odot \tilde{h}_{t}"),
    (h - (u + r), r"h_{t} - \left(u_{t} + r_{t}\right)"),
    (-(h + u), r"-\left(h_{t} + u_{t}\right)"),
    (sigma(W_h @ h.prev), r"\sigma\left(W_{h} h_{t - 1}\right)"),
    (tanh(h), r"\tanh(h_{t})"),
    (ir.softmax(W_h @ h), r"\operatorname{softmax}\left(W_{h} h_{t}\right)"),
    (ir.nll(ir.softmax(W_h @ h), u), r"-\log \left(\operatorname{softmax}\left(W_{h} h_{t}\right)\right)_{c_{t}}"),
    # concepts the engine builds
    (Diag(Prime("logistic", node("a", "j"))), r"\operatorname{diag}(\sigma'(a_{j}))"),
    (Diag(sigma.derivative_function(a_j)), r"\operatorname{diag}(\sigma'(a_{j}))"),
    (sigma.function(a_j), r"\sigma(a_{j})"),
    (tanh.derivative_function(a_j), r"\tanh'(a_{j})"),
    (tanh.derivative_function(a_j) ** 2, r"\tanh'(a_{j})^{2}"),
    (Applied("tanh", node("a", "k")), r"\tanh(a_{k})"),
    (Prime("relu", W_h @ h), r"\operatorname{relu}'\left(W_{h} h_{t}\right)"),
    (Norm(W), r"\left\lVert W \right\rVert"),
    (Norm(W, "fro"), r"\left\lVert W \right\rVert_{F}"),
    (Norm(node("g"), "inf"), r"\left\lVert g \right\rVert_{\infty}"),
    (Power(Norm(W), t - k), r"\left\lVert W \right\rVert^{t - k}"),
    ((sp.Symbol("gamma") * sp.Symbol("lambda")) ** (t - k), r"\left(\gamma \lambda\right)^{t - k}"),
    (sp.KroneckerDelta(*sp.symbols("p q")), r"\delta_{pq}"),
    (Entry(node("s", "k"), ("p",)), r"s_{k, p}"),
    (Entry(node("s", "k - 1"), ("r",)), r"s_{k - 1, r}"),
    (Entry(node("W"), ("q", "r")), r"W_{qr}"),
    (D(Entry(node("s", "k"), ("p",)), Entry(node("W"), ("q", "r")), True),
     r"\frac{\partial^{+} s_{k, p}}{\partial W_{qr}}"),
    (Text(r"if $\sigma$ is logistic"), r"\text{if $\sigma$ is logistic}"),
    (Relation(Prime("logistic", node("a", "j")), "<=", sp.Rational(1, 4)), r"\sigma'(a_{j}) \leq \frac{1}{4}"),
    (Chain.of(Norm(D(node("s", "j"), node("s", "j - 1"))), "<=", Prod((Norm(Diag(Prime("tanh", node("a", "j")))), Norm(W))),
              "<=", r"\gamma \lambda"),
     r"\left\lVert \frac{\partial s_{j}}{\partial s_{j - 1}} \right\rVert \leq "
     r"\left\lVert \operatorname{diag}(\tanh'(a_{j})) \right\rVert \left\lVert W \right\rVert \leq \gamma \lambda"),
    (Equation(D(s4, W), (D(s4, W, True),)), r"\frac{\partial s_{4}}{\partial W} = \frac{\partial^{+} s_{4}}{\partial W}"),
    (Equation(D(s4, W), (D(s4, W, True), ("equiv", Zero()))),
     r"\begin{aligned} \frac{\partial s_{4}}{\partial W} &= \frac{\partial^{+} s_{4}}{\partial W} \\ &\equiv 0 \end{aligned}"),
    (System((Equation(node("s", "t"), (tanh(W_h @ h.prev),)),)),
     r"\begin{aligned} s_{t} &= \tanh\left(W_{h} h_{t - 1}\right) \end{aligned}"),
])
def test_printer_method(obj, expected):
    assert latex(obj) == expected


@pytest.mark.parametrize("name, expected", [
    ("W_f", r"W_{f}"),
    ("W_hh", r"W_{hh}"),
    ("b1", r"b_{1}"),
    ("sigma", r"\sigma"),
    ("gamma_t", r"\gamma_{t}"),
    ("out", r"\mathrm{out}"),
    ("s_tilde", r"\tilde{s}"),
    ("h_tilde", r"\tilde{h}"),
    ("c_hat", r"\hat{c}"),
])
def test_unmapped_names_print_as_themselves(name, expected):
    assert latex(node(name)) == expected


# ---------------------------------------------------------------------------
# The same derivation in each notation.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("notation, expected", [
    ("cs7015",
     r"\begin{aligned} \frac{\partial s_{4}}{\partial W} &= \underbrace{\frac{\partial^{+} s_{4}}{\partial W}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial s_{4}}{\partial s_{3}} \frac{\partial s_{3}}{\partial W}}_{\text{implicit}} \\ "
     r"&= \frac{\partial^{+} s_{4}}{\partial W} + \frac{\partial s_{4}}{\partial s_{3}} \left[ "
     r"\underbrace{\frac{\partial^{+} s_{3}}{\partial W}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial s_{3}}{\partial s_{2}} \frac{\partial s_{2}}{\partial W}}_{\text{implicit}} \right] \end{aligned}"),
    ("appliednlp",
     r"\begin{aligned} \frac{\partial h^{[4]}}{\partial U} &= \underbrace{\frac{\partial^{+} h^{[4]}}{\partial U}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial h^{[4]}}{\partial h^{[3]}} \frac{\partial h^{[3]}}{\partial U}}_{\text{implicit}} \\ "
     r"&= \frac{\partial^{+} h^{[4]}}{\partial U} + \frac{\partial h^{[4]}}{\partial h^{[3]}} \left[ "
     r"\underbrace{\frac{\partial^{+} h^{[3]}}{\partial U}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial h^{[3]}}{\partial h^{[2]}} \frac{\partial h^{[2]}}{\partial U}}_{\text{implicit}} \right] \end{aligned}"),
    ("cs224n",
     r"\begin{aligned} \frac{\partial h^{(4)}}{\partial W_{h}} &= \underbrace{\frac{\partial^{+} h^{(4)}}{\partial W_{h}}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial h^{(4)}}{\partial h^{(3)}} \frac{\partial h^{(3)}}{\partial W_{h}}}_{\text{implicit}} \\ "
     r"&= \frac{\partial^{+} h^{(4)}}{\partial W_{h}} + \frac{\partial h^{(4)}}{\partial h^{(3)}} \left[ "
     r"\underbrace{\frac{\partial^{+} h^{(3)}}{\partial W_{h}}}_{\text{explicit}} + "
     r"\underbrace{\frac{\partial h^{(3)}}{\partial h^{(2)}} \frac{\partial h^{(2)}}{\partial W_{h}}}_{\text{implicit}} \right] \end{aligned}"),
])
def test_slide_expansion_of_ds4_dW(notation, expected):
    assert latex(Equation(D(s4, W), (SLIDE_LINE_1, SLIDE_LINE_2)), notation) == expected


@pytest.mark.parametrize("notation, path_sum, product", [
    ("cs7015",
     r"\frac{\partial \mathscr{L}_{t}(\theta)}{\partial W} \sum_{k=1}^{t} \frac{\partial s_{t}}{\partial s_{k}} \frac{\partial^{+} s_{k}}{\partial W}",
     r"\prod_{j=k + 1}^{t} \frac{\partial s_{j}}{\partial s_{j - 1}}"),
    ("appliednlp",
     r"\frac{\partial E^{[t]}}{\partial U} \sum_{k=1}^{t} \frac{\partial h^{[t]}}{\partial h^{[k]}} \frac{\partial^{+} h^{[k]}}{\partial U}",
     r"\prod_{j=k + 1}^{t} \frac{\partial h^{[j]}}{\partial h^{[j - 1]}}"),
    ("cs224n",
     r"\frac{\partial J^{(t)}(\theta)}{\partial W_{h}} \sum_{k=1}^{t} \frac{\partial h^{(t)}}{\partial h^{(k)}} \frac{\partial^{+} h^{(k)}}{\partial W_{h}}",
     r"\prod_{j=k + 1}^{t} \frac{\partial h^{(j)}}{\partial h^{(j - 1)}}"),
])
def test_sum_and_product_forms(notation, path_sum, product):
    assert latex(PATH_SUM, notation) == path_sum
    assert latex(JACOBIAN_PRODUCT, notation) == product


@pytest.mark.parametrize("notation, expected", [
    ("cs7015",
     r"\begin{aligned} a_{t} &= W s_{t - 1} + U x_{t} + b \\ s_{t} &= \tanh(a_{t}) \\ "
     r"y_{t} &= \operatorname{softmax}\left(V s_{t} + c\right) \\ \mathscr{L}_{t}(\theta) &= -\log (y_{t})_{c_{t}} \end{aligned}"),
    ("appliednlp",
     r"\begin{aligned} a^{[t]} &= U h^{[t - 1]} + W x^{[t]} + b \\ h^{[t]} &= \tanh(a^{[t]}) \\ "
     r"\hat{y}^{[t]} &= \operatorname{softmax}\left(V h^{[t]} + c\right) \\ E^{[t]} &= -\log (\hat{y}^{[t]})_{c^{[t]}} \end{aligned}"),
    ("cs224n",
     r"\begin{aligned} a^{(t)} &= W_{h} h^{(t - 1)} + W_{x} x^{(t)} + b_{1} \\ h^{(t)} &= \tanh(a^{(t)}) \\ "
     r"\hat{y}^{(t)} &= \operatorname{softmax}\left(U h^{(t)} + b_{2}\right) \\ "
     r"J^{(t)}(\theta) &= -\log (\hat{y}^{(t)})_{w^{(t)}} \end{aligned}"),
])
def test_rnn_cell_equations(notation, expected):
    assert latex(rnn(), notation) == expected


@pytest.mark.parametrize("time, expected", [
    (3, r"a_{3} = W s_{2} + U x_{3} + b"),
    ("k", r"a_{k} = W s_{k - 1} + U x_{k} + b"),
    (t + 1, r"a_{t + 1} = W s_{t} + U x_{t + 1} + b"),
])
def test_cell_equation_at_a_given_step(time, expected):
    cell = rnn()
    assert latex(Equation(cell.symbols["a"], (cell.equations["a"],)), time=time) == expected


def _small_lstm(name: str = "lstm", family: str = "") -> Cell:
    """An LSTM-shaped cell (cell state s, output h), written with the public Cell API."""
    cell = Cell(name, dims=("n", "d"), family=family)
    n, dd = cell.dims
    W, U, b = cell.param("W", (dd, dd)), cell.param("U", (dd, n)), cell.param("b", (dd,))
    x = cell.input("x", (n,))
    s, h_ = cell.state("s", (dd,)), cell.state("h", (dd,))
    s_tilde = cell.define("s_tilde", tanh(W @ h_.prev + U @ x + b))
    cell.define("s", s.prev + s_tilde)
    cell.define("h", tanh(s))
    return cell


@pytest.mark.parametrize("notation, expected", [
    ("cs7015", r"\begin{aligned} \tilde{s}_{t} &= \tanh\left(W h_{t - 1} + U x_{t} + b\right) \\ "
               r"s_{t} &= s_{t - 1} + \tilde{s}_{t} \\ h_{t} &= \tanh(s_{t}) \end{aligned}"),
    ("cs224n", r"\begin{aligned} \tilde{c}^{(t)} &= \tanh\left(W_{c} h^{(t - 1)} + U_{c} x^{(t)} + b_{c}\right) \\ "
               r"c^{(t)} &= c^{(t - 1)} + \tilde{c}^{(t)} \\ h^{(t)} &= \tanh(c^{(t)}) \end{aligned}"),
])
def test_profiles_map_names_per_cell(notation, expected):
    assert latex(_small_lstm(), notation) == expected


def test_cell_setting_selects_the_per_cell_names():
    assert latex(D(node("h", 4), node("s", 3)), "cs224n", cell="lstm") == r"\frac{\partial h^{(4)}}{\partial c^{(3)}}"
    assert latex(D(node("h", 4), node("s", 3)), "cs224n", cell=_small_lstm()) == \
        r"\frac{\partial h^{(4)}}{\partial c^{(3)}}"


def test_two_names_printed_alike_are_refused():
    # An RNN-family cell with both s and h: the RNN entry s -> h would merge them.
    with pytest.raises(InvalidValue, match=r"both 's' and 'h' of cell 'rnn_two'"):
        latex(_small_lstm("rnn_two", family="rnn"), "cs224n")


def test_a_cell_inherits_no_symbols_by_its_name():
    """A cell named lstm_peephole is not silently printed with the LSTM's symbols: it says its family."""
    assert "c^{(t)}" not in latex(_small_lstm("lstm_peephole"), "cs224n")
    assert "c^{(t)}" in latex(_small_lstm("lstm_peephole", family="lstm"), "cs224n")


# ---------------------------------------------------------------------------
# Factor order of products.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("notation", ["cs7015", "appliednlp", "cs224n"])
def test_ascending_and_descending_products_print_differently(notation):
    body = D(node("s", "j"), node("s", "j - 1"))
    desc = latex(ProdOver(j, k + 1, t, body, descending=True), notation)
    asc = latex(ProdOver(j, k + 1, t, body, descending=False), notation)
    assert desc != asc
    assert desc.startswith(r"\prod_") and r"\overrightarrow{\prod}" in asc


def test_descending_product_expands_with_the_largest_index_leftmost():
    # What the plain \prod means: the chain-rule order ds_3/ds_2 ds_2/ds_1 ds_1/ds_0.
    expanded = JACOBIAN_PRODUCT.instantiate(t=3, k=0)
    assert latex(expanded) == (r"\frac{\partial s_{3}}{\partial s_{2}} \frac{\partial s_{2}}{\partial s_{1}} "
                               r"\frac{\partial s_{1}}{\partial s_{0}}")


# ---------------------------------------------------------------------------
# Notation profiles.
# ---------------------------------------------------------------------------
def test_builtin_profiles():
    assert {"cs7015", "appliednlp", "cs224n"} <= set(notations())
    assert notations() == sorted(notations())
    assert get_notation("cs224n").lookup("W", "rnn") == "W_{h}"
    assert get_notation("cs224n").lookup("s", "lstm") == "c"


def test_unknown_notation_names_the_known_ones():
    with pytest.raises(UnknownName) as err:
        latex(D(s4, W), notation="cs231n")
    assert err.value.kind == "notation" and err.value.name == "cs231n"
    assert "cs7015" in err.value.known and "cs7015" in str(err.value)


def test_register_a_user_notation():
    mine = Notation("test-bold", "bold vectors", symbols={"s": r"\mathbf{h}", "W": r"\mathbf{W}"},
                    time="paren", explicit_mark=r"\partial_{+}")
    register_notation(mine, replace=True)
    assert latex(D(s4, W, True), notation="test-bold") == r"\frac{\partial_{+} \mathbf{h}^{(4)}}{\partial \mathbf{W}}"
    assert latex(D(s4, W), notation=mine) == r"\frac{\partial \mathbf{h}^{(4)}}{\partial \mathbf{W}}"
    with pytest.raises(DeriveError, match="already registered"):
        register_notation(mine)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"time": "subscript"}, UnknownName, "time style"),
    ({"symbols": {"s": "h_{"}}, InvalidValue, "balanced braces"),
    ({"symbols": {"s-t": "h"}}, InvalidValue, "identifiers"),
    ({"explicit_mark": ""}, InvalidValue, "explicit_mark"),
    ({"cells": {"rnn": {"s": "h_{"}}}, InvalidValue, r"cells\['rnn'\]"),
    ({"cells": {"my cell": {}}}, InvalidValue, "cell name"),
    ({"ascending_product": r"\prod"}, InvalidValue, "factor order"),
])
def test_notation_is_validated(kwargs, error, message):
    with pytest.raises(error, match=message):
        Notation("bad", "a broken profile", **kwargs)


def test_superscript_time_on_a_primed_symbol_is_grouped():
    primed = Notation("test-primed", "y' as in Applied NLP eq. (12)", symbols={"y": "y'"}, time="bracket")
    assert latex(node("y", 5), primed) == r"{y'}^{[5]}"


# ---------------------------------------------------------------------------
# Determinism, clean output, errors, Jupyter.
# ---------------------------------------------------------------------------
def _sample_outputs() -> "list[str]":
    out = []
    for notation in ("cs7015", "appliednlp", "cs224n"):
        out += [latex(Equation(D(s4, W), (SLIDE_LINE_1, SLIDE_LINE_2)), notation), latex(PATH_SUM, notation),
                latex(JACOBIAN_PRODUCT, notation), latex(rnn(), notation), latex(rnn("logistic"), notation, time=4)]
    out += [latex(Diag(Prime("logistic", node("a", "j")))), latex((1 - u) * h.prev + u * h_tilde),
            latex(Chain.of(Norm(D(node("s", "t"), node("s", "k"))), "<=", Power(r"\gamma \lambda", t - k))),
            latex(ProdOver(j, k + 1, t, D(node("s", "j"), node("s", "j - 1")), descending=False)),
            latex(Prod((JACOBIAN_PRODUCT, Norm(W, "fro")))),
            latex(Equation(D(Entry(node("s", "k"), ("p",)), Entry(node("W"), ("q", "r")), True),
                           (Prod((Prime("tanh", Entry(node("a", "k"), ("p",))), Entry(node("s", "k - 1"), ("r",)),
                                  sp.KroneckerDelta(*sp.symbols("p q")))),))),
            latex(Relation(Prime("logistic", node("a", "j")), "<=", Text(r"$\frac{1}{4}$ if $\sigma$ is logistic"))),
            latex(Brace(D(node("L", "t"), W), r"$\in \mathbb{R}^{d \times d}$"))]
    return out


def test_output_has_no_escaped_underscores_or_internal_names():
    for tex in _sample_outputs():
        for bad in (r"\_", "DiagMatrix", r"\mapsto", "_{\\circ}", "NodeRef", "Sym("):
            assert bad not in tex, (bad, tex)


def test_output_is_byte_identical_across_processes():
    script = textwrap.dedent("""
        import sys; sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
        import test_latex
        print("\\n".join(test_latex._sample_outputs()))
    """).format(root=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                tests=os.path.dirname(os.path.abspath(__file__)))
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert runs[0] == runs[1] == "\n".join(_sample_outputs()) + "\n"


def test_brace_label_with_tex_specials_is_refused():
    with pytest.raises(InvalidValue, match="outside"):
        latex(Brace(D(s4, W), "s_4 explicit"))
    assert latex(Brace(D(s4, W), r"$\in \mathbb{R}^{d}$")) == \
        r"\underbrace{\frac{\partial s_{4}}{\partial W}}_{\text{$\in \mathbb{R}^{d}$}}"


def test_object_without_a_rule_is_not_supported():
    with pytest.raises(NotSupported, match="_print_object"):
        latex(object())


def test_printer_settings():
    printer = LatexPrinter({"notation": "cs224n", "time": "k"})
    assert printer.doprint(node("s", "k")) == r"h^{(k)}"
    assert printer.notation is get_notation("cs224n")


def test_repr_latex_for_jupyter():
    assert D(s4, W)._repr_latex_() == r"$\displaystyle \frac{\partial s_{4}}{\partial W}$"
    assert Norm(W)._repr_latex_() == r"$\displaystyle \left\lVert W \right\rVert$"


# ---------------------------------------------------------------------------
# Everything above compiles.
# ---------------------------------------------------------------------------
PREAMBLE = r"""\documentclass{article}
\usepackage{amsmath,amssymb}
\usepackage{mathrsfs}
\begin{document}
"""


def test_outputs_compile_with_pdflatex(tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended)")
    body = "\n".join(r"\[ " + tex + r" \]" for tex in _sample_outputs())
    (tmp_path / "doc.tex").write_text(PREAMBLE + body + "\n\\end{document}\n")
    run = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]


@pytest.mark.parametrize("module", ["derive.notation", "derive.render.latex", "derive.render.latex.printer", "derive.render.latex.objects"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_every_character_of_the_lectures_claims_has_a_tex_spelling():
    """No statement, quote or reading of a claim prints a character as ``?`` (∇ once did, in CS224n's SGD step)."""
    import dataclasses

    from derive.content import collect_claims
    from derive.render.latex.text import escape, prose

    def strings(o, depth=0):
        if isinstance(o, str):
            yield o
        elif depth < 4 and dataclasses.is_dataclass(o) and not isinstance(o, type):
            for f in dataclasses.fields(o):
                yield from strings(getattr(o, f.name), depth + 1)
        elif depth < 4 and isinstance(o, (list, tuple)):
            for x in o:
                yield from strings(x, depth + 1)

    missing = {}
    for claim in collect_claims():
        for s in strings(claim):
            for ch in set(s) - {"?"}:
                if "?" in escape(ch) or "?" in prose(ch):
                    missing.setdefault(ch, claim.id)
    assert missing == {}
    assert "?" in escape("\u2603")  # a character with no spelling is still refused, not dropped
    assert prose("α ∇_θ J(θ), ∂L/∂W") == (r"\ensuremath{\alpha} $\nabla _{\theta }$ J(\ensuremath{\theta}), "
                                          r"$\frac{\partial L}{\partial W}$")


def test_prose_reads_ascii_relations_and_a_power_of_a_bracket():
    from derive.render.latex.text import prose

    assert prose("|W_h|^{i-j} <= 1") == r"|$W_{h}$|$^{i-j}$ \ensuremath{\leq} 1"
    assert prose("(γ||W||)^t >= c != 0") == r"(\ensuremath{\gamma}||W||)$^{t}$ \ensuremath{\geq} c \ensuremath{\neq} 0"
    assert prose("x^2 in test_reference_rnn.py") == r"$x^{2}$ in test\_reference\_rnn.py"
