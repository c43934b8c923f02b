"""CS7015 Deep Learning, Lecture 14 slides, Modules 14.1-14.5 (seeds/002_eb405f471485c68d.txt).

The RNN s_i = σ(U x_i + W s_{i-1} + b), y_i = O(V s_i + c) (Module 14.2), its
dimensions (14.3), the total loss and the recursive expansion of ∂s_4/∂W in
the ordered network (14.3), ∂s_t/∂s_k and the bound chain (14.4), and the
d x d x d tensor ∂⁺s_k/∂W element by element (14.5).  Notation CS7015 = the
engine's names; the cell is `derive.cells.rnn`, and `rnn_shaped` is the same
cell with the parameter shapes a slide prints.
"""

from __future__ import annotations

from derive import activations
from derive.algebra import Brace, D, Prod, Sum, idx, node
from derive.checks.catalog import Bound, Claim, Computed, DeltaOuter, Identity, JacobianShape, Shapes, SigmaPrime, Value
from derive.model.cell import Cell
from derive.cells import rnn
from derive.model.ir import nll, softmax

from .displays import display
from derive.proofs.catalog.reasoning import feedforward, rnn_dependencies, tensor_entries
from . import source

SOURCE = "002_eb405f471485c68d.txt"
NOTATION = "cs7015"
src = source(SOURCE)

BOTH = ("tanh", "logistic")
STEP = [{"j": j, "T": 4} for j in (1, 2, 4)]
PAIRS = [{"t": t, "k": k, "T": 5} for t, k in ((1, 0), (3, 1), (5, 0), (5, 2), (4, 4))]
CORRECT_SHAPES = {"U": ("d", "n"), "V": ("k", "d"), "W": ("d", "d")}


def rnn_shaped(shapes: dict) -> Cell:
    """Module 14.2's RNN with the parameter shapes given as dimension names, e.g. {"U": ("n", "d")}.

    s_i = σ(U x_i + W s_{i-1} + b), y_i = softmax(V s_i + c); x ∈ R^n, s ∈ R^d,
    y ∈ R^k.  A shape that does not fit the equations raises `ShapeError`.
    """
    shapes = {**CORRECT_SHAPES, **shapes}
    cell = Cell("rnn", dims=("n", "d", "k"), description="Module 14.2 RNN with printed shapes")
    dims = {d.name: d for d in cell.dims}
    W, U = cell.param("W", tuple(dims[x] for x in shapes["W"])), cell.param("U", tuple(dims[x] for x in shapes["U"]))
    V = cell.param("V", tuple(dims[x] for x in shapes["V"]))
    b, c = cell.param("b", (dims["d"],)), cell.param("c", (dims["k"],))
    x, e = cell.input("x", (dims["n"],)), cell.label("e", dims["k"])
    s = cell.state("s", (dims["d"],))
    a = cell.define("a", U @ x + W @ s.prev + b)
    cell.define("s", activations.get("tanh")(a))
    y = cell.define("y", softmax(V @ s + c))
    cell.loss("L", nll(y, e))
    return cell


def _expansion_lines():
    """Module 14.3's expansion of ∂s_4/∂W, line by line, with the slide's underbrace labels."""
    s, W = (lambda i: node("s", i)), node("W")
    ds = lambda i, j: D(s(i), s(j))                       # noqa: E731
    dW = lambda i, plus=False: D(s(i), W, plus)           # noqa: E731
    ex = lambda t: Brace(t, "explicit")                   # noqa: E731
    im = lambda t: Brace(t, "implicit")                   # noqa: E731
    line1 = Sum((ex(dW(4, True)), im(Prod((ds(4, 3), dW(3))))))
    line2 = Sum((dW(4, True), Prod((ds(4, 3), Sum((ex(dW(3, True)), im(Prod((ds(3, 2), dW(2))))))))))
    bracket = Sum((ex(dW(2, True)), ex(Prod((ds(2, 1), dW(1))))))      # the slide labels both "explicit"
    line3 = Sum((dW(4, True), Prod((ds(4, 3), ex(dW(3, True)))), Prod((im(Prod((ds(4, 3), ds(3, 2)))), bracket))))
    relabelled = Sum((dW(4, True), Prod((ds(4, 3), ex(dW(3, True)))),
                      Prod((im(Prod((ds(4, 3), ds(3, 2)))),
                            Sum((ex(dW(2, True)), im(Prod((ds(2, 1), dW(1))))))))))
    return line1, line2, line3, relabelled


def claims() -> "list[Claim]":
    out = []
    out.append(Claim(
        "l14-14.2-feedforward", src("Module 14.2", "s_i = σ(Ux_i + b), y_i = O(Vs_i + c)"), NOTATION,
        Computed(feedforward, "the network without recurrence: the engine's RNN with W = 0 computes s_i = σ(U x_i + b) "
                              "and y_i = softmax(V s_i + c), and ∂s_i/∂x_j = 0 for j != i", trials=2),
        kind="definition", expected="holds", display=display("l14-14.2-feedforward"),
        reading="'O' is the output function, softmax (Module 14.3); checked as the RNN of the next slide with "
                "W = 0: each output depends on its own input only ('each input to the network was independent "
                "of the previous or future inputs')"))
    out.append(Claim(
        "l14-14.2-rnn", src("Module 14.2", "s_i = σ(Ux_i + Ws_{i-1} + b)"), NOTATION,
        Identity("s_i", "sigma(U x_i + W s_{i-1} + b)", rnn, [{"i": 1, "T": 2}, {"i": 2, "T": 2}], activations=BOTH),
        kind="definition", expected="holds"))

    out.append(Claim(
        "l14-14.3-dims-W", src("Module 14.3", "W ∈ R^{d×d}"), NOTATION,
        Shapes(rnn_shaped, {"W": ("d", "d")}), kind="definition", expected="holds",
        display=display("l14-14.3-dims-W")))
    out.append(Claim(
        "l14-14.3-dims-U", src("Module 14.3", "x_i ∈ R^n ... s_i ∈ R^d ... U ∈ R^{n×d}"), NOTATION,
        Shapes(rnn_shaped, {"U": ("n", "d")}), kind="definition", expected="fails",
        reading="transposed with respect to the slide's own s_i = σ(U x_i + ...) with x ∈ R^n, s ∈ R^d "
                "(it would fit the row-vector convention x_i^T U)",
        evidence="the same slide prints x_i ∈ R^n and s_i ∈ R^d, and Module 14.2 prints s_i = σ(Ux_i + Ws_{i-1} "
                 "+ b): U x_i needs U ∈ R^{d×n}; the row-vector convention is used nowhere in the lecture",
        correction=Claim("l14-14.3-dims-U:corrected", src("Module 14.3"), NOTATION,
                         Shapes(rnn_shaped, {"U": ("d", "n")}), kind="definition", expected="holds",
                         display=display("l14-14.3-dims-U:corrected")),
                         display=display("l14-14.3-dims-U")))
    out.append(Claim(
        "l14-14.3-dims-V", src("Module 14.3", "y_i ∈ R^k ... V ∈ R^{d×k}"), NOTATION,
        Shapes(rnn_shaped, {"V": ("d", "k")}), kind="definition", expected="fails",
        reading="transposed with respect to y_i = O(V s_i + c) with s ∈ R^d, y ∈ R^k",
        evidence="the same slide prints s_i ∈ R^d and y_i ∈ R^k, and Module 14.2 prints y_i = O(Vs_i + c): V s_i "
                 "needs V ∈ R^{k×d}",
        correction=Claim("l14-14.3-dims-V:corrected", src("Module 14.3"), NOTATION,
                         Shapes(rnn_shaped, {"V": ("k", "d")}), kind="definition", expected="holds",
                         display=display("l14-14.3-dims-V:corrected")),
                         display=display("l14-14.3-dims-V")))

    out.append(Claim(
        "l14-14.3-total-loss", src("Module 14.3", "L(θ) = Σ_{t=1}^{T} L_t(θ)"), NOTATION,
        Identity("L(theta)", "sum_{t=1}^{T} L_t(theta)", rnn, [{"T": 1}, {"T": 3}]), kind="definition",
        expected="holds"))
    out.append(Claim(
        "l14-14.3-dLdV", src("Module 14.3", "∂L(θ)/∂V ≡ Σ_{t=1}^{T} ∂L_t(θ)/∂V"), NOTATION,
        Identity("dL(theta)/dV", "sum_{t=1}^{T} dL_t(theta)/dV", rnn, [{"T": 1}, {"T": 3}]), expected="holds"))
    out.append(Claim(
        "l14-14.3-dLdW", src("Module 14.3", "∂L(θ)/∂W = Σ_{t=1}^{T} ∂L_t(θ)/∂W"), NOTATION,
        Identity("dL(theta)/dW", "sum_{t=1}^{T} dL_t(theta)/dW", rnn, [{"T": 1}, {"T": 3}]), expected="holds"))
    out.append(Claim(
        "l14-14.3-s4", src("Module 14.3", "Recall that s_4 = σ(Ws_3 + b)"), NOTATION,
        Identity("s_4", "sigma(W s_3 + b)", rnn, [{"T": 4}]), kind="definition", expected="holds_simplified",
        judged="holds_simplified",
        reading="U x_4 is left out on purpose: it plays no part in the paths from s_4 to W.  As an equation for "
                "s_4 it holds where the input term vanishes (x_4 = 0, the special case checked)",
        evidence="the slide before announces the dependencies it keeps: 's_4 in turn depends on s_3 and W; s_3 "
                 "in turn depends on s_2 and W ...', and the lecturer of the same slides says of the same "
                 "omission (seeds/001, 01:33): 'you will have a U x_j here, right but that does not matter "
                 "because you are taking a derivative with respect to s_j so, that is a constant'",
        simplified=Claim("l14-14.3-s4:simplified", src("Module 14.3, with the input term dropped as announced"),
                         NOTATION, Identity("s_4", "sigma(W s_3 + b)", rnn, [{"T": 4}], recipe="no_input"),
                         statement="s_4 = σ(W s_3 + b) when U x_4 = 0 (every x_t = 0)", kind="definition",
                         expected="holds"),
        correction=Claim("l14-14.3-s4:corrected", src("Module 14.3"), NOTATION,
                         Identity("s_4", "sigma(W s_3 + U x_4 + b)", rnn, [{"T": 4}]), kind="definition",
                         expected="holds")))
    out.append(Claim(
        "l14-14.3-dL4dW", src("Module 14.3", "∂L_4(θ)/∂W ≡ ∂L_4(θ)/∂s_4 ∂s_4/∂W"), NOTATION,
        Identity("dL_4(theta)/dW", "dL_4(theta)/ds_4 ds_4/dW", rnn, [{"T": 4}]), expected="holds"))

    line1, line2, line3, relabelled = _expansion_lines()
    out.append(Claim(
        "l14-expand-1", src("Module 14.3", "∂s_4/∂W = ∂⁺s_4/∂W (explicit) + ∂s_4/∂s_3 ∂s_3/∂W (implicit)"), NOTATION,
        Identity("ds_4/dW", line1, rnn, [{"T": 4}], labels=True), expected="holds"))
    out.append(Claim(
        "l14-expand-2", src("Module 14.3", "= ∂⁺s_4/∂W + ∂s_4/∂s_3 [∂⁺s_3/∂W + ∂s_3/∂s_2 ∂s_2/∂W]"), NOTATION,
        Identity("ds_4/dW", line2, rnn, [{"T": 4}], labels=True), expected="holds"))
    out.append(Claim(
        "l14-expand-3", src("Module 14.3", "= ∂⁺s_4/∂W + ∂s_4/∂s_3 ∂⁺s_3/∂W + ∂s_4/∂s_3 ∂s_3/∂s_2 "
                                          "[∂⁺s_2/∂W + ∂s_2/∂s_1 ∂s_1/∂W]"), NOTATION,
        Identity("ds_4/dW", line3, rnn, [{"T": 4}]), expected="holds"))
    out.append(Claim(
        "l14-expand-3-labels", src("Module 14.3", "[∂⁺s_2/∂W (explicit) + ∂s_2/∂s_1 ∂s_1/∂W (explicit)]"), NOTATION,
        Identity("ds_4/dW", line3, rnn, [{"T": 4}], labels=True), expected="transcription", judged="transcription",
        transcript="[∂⁺s_2/∂W (explicit) + ∂s_2/∂s_1 ∂s_1/∂W (explicit)]",
        reading="the underbrace labels as transcribed: ∂s_2/∂s_1 ∂s_1/∂W is labelled 'explicit' but it is the "
                "implicit term",
        evidence="the slide labels the same pattern 'implicit' twice just above (∂s_4/∂s_3 ∂s_3/∂W in line 1, "
                 "∂s_3/∂s_2 ∂s_2/∂W in line 2), and the transcription of the very next line scrambles its labels "
                 "(∂⁺s_1/∂W under 'implicit', products of ∂s under 'explicit', a ']' without '['): the "
                 "transcript's underbrace labels on this slide are not the slide's",
        correction=Claim("l14-expand-3-labels:corrected", src("Module 14.3"), NOTATION,
                         Identity("ds_4/dW", relabelled, rnn, [{"T": 4}], labels=True), expected="holds")))
    out.append(Claim(
        "l14-expand-4", src("Module 14.3", "= ∂⁺s_4/∂W + ∂s_4/∂s_3 ∂⁺s_3/∂W + ∂s_4/∂s_3 ∂s_3/∂s_2 ∂⁺s_1/∂W + "
                                          "∂s_4/∂s_3 ∂s_3/∂W + ∂s_4/∂s_3 ∂s_3/∂s_2 ∂⁺s_2/∂W + ∂s_4/∂s_3 ∂s_3/∂W ]"),
        NOTATION,
        Identity("ds_4/dW", "d+s_4/dW + ds_4/ds_3 d+s_3/dW + ds_4/ds_3 ds_3/ds_2 d+s_1/dW + ds_4/ds_3 ds_3/dW "
                 "+ ds_4/ds_3 ds_3/ds_2 d+s_2/dW + ds_4/ds_3 ds_3/dW", rnn, [{"T": 4}]),
        expected="transcription", judged="transcription",
        transcript="= ∂⁺s_4/∂W + ∂s_4/∂s_3 ∂⁺s_3/∂W + ∂s_4/∂s_3 ∂s_3/∂s_2 ∂⁺s_1/∂W + ∂s_4/∂s_3 ∂s_3/∂W + "
                   "∂s_4/∂s_3 ∂s_3/∂s_2 ∂⁺s_2/∂W + ∂s_4/∂s_3 ∂s_3/∂W ]",
        reading="the transcription of this line is garbled; read term by term as transcribed.  The "
                "reconstruction is the line the expansion of the line above produces",
        evidence="the transcribed line is broken: six terms where the expansion has four, a closing ']' with no "
                 "'[', ∂s_4/∂s_3 ∂s_3/∂W twice, and ∂⁺s_1/∂W after ∂s_4/∂s_3 ∂s_3/∂s_2 with ∂s_2/∂s_1 missing; "
                 "the next line of the slide ('For simplicity we will short-circuit some of the paths') lists "
                 "the same four terms ∂⁺s_4, ∂⁺s_3, ∂⁺s_2, ∂⁺s_1 in this order",
        correction=Claim(
            "l14-expand-4:corrected", src("Module 14.3"), NOTATION,
            Identity("ds_4/dW", "d+s_4/dW + ds_4/ds_3 d+s_3/dW + ds_4/ds_3 ds_3/ds_2 d+s_2/dW "
                     "+ ds_4/ds_3 ds_3/ds_2 ds_2/ds_1 d+s_1/dW", rnn, [{"T": 4}]), expected="holds")))
    out.append(Claim(
        "l14-short-circuit", src("Module 14.3", "∂s_4/∂W ≡ ∂s_4/∂s_4 ∂⁺s_4/∂W + ∂s_4/∂s_3 ∂⁺s_3/∂W + "
                                               "∂s_4/∂s_2 ∂⁺s_2/∂W + ∂s_4/∂s_1 ∂⁺s_1/∂W"), NOTATION,
        Identity("ds_4/dW", "ds_4/ds_4 d+s_4/dW + ds_4/ds_3 d+s_3/dW + ds_4/ds_2 d+s_2/dW + ds_4/ds_1 d+s_1/dW",
                 rnn, [{"T": 4}]), expected="holds"))
    out.append(Claim(
        "l14-short-circuit-sum", src("Module 14.3", "≡ Σ_{k=1}^4 ∂s_4/∂s_k ∂⁺s_k/∂W"), NOTATION,
        Identity("ds_4/dW", "sum_{k=1}^{4} ds_4/ds_k d+s_k/dW", rnn, [{"T": 4}]), expected="holds"))
    out.append(Claim(
        "l14-bptt", src("Module 14.3", "∴ ∂L_t(θ)/∂W ≡ ∂L_t(θ)/∂s_t Σ_{k=1}^t ∂s_t/∂s_k ∂⁺s_k/∂W"), NOTATION,
        Identity("dL_t(theta)/dW", "dL_t(theta)/ds_t sum_{k=1}^{t} ds_t/ds_k d+s_k/dW", rnn,
                 [{"t": t, "T": 5} for t in (1, 3, 5)]), expected="holds"))

    out.append(Claim(
        "l14-14.4-product", src("Module 14.4", "∂s_t/∂s_k = ∂s_t/∂s_{t-1} ... ∂s_{k+1}/∂s_k = Π_{j=k}^{t-1} "
                                              "∂s_{j+1}/∂s_j"), NOTATION,
        Identity("ds_t/ds_k", "prod_{j=k}^{t-1} ds_{j+1}/ds_j", rnn, PAIRS), expected="holds",
        reading="Π read in the order of the product it abbreviates (largest j leftmost); the ascending "
                "reading is l105-product-ascending"))
    out.append(Claim(
        "l14-14.4-aj", src("Module 14.4", "|a_j| = Ws_j + b"), NOTATION,
        Identity("a_j", "W s_j + b", rnn, [{"j": j, "T": 3} for j in (1, 3)]), kind="definition",
        expected="transcription", judged="transcription", transcript="|a_j| = Ws_j + b",
        reading="'|a_j|' is a transcription artefact for a_j; read with s_j as transcribed",
        evidence="the same slide in seeds/001 (slide 35/41) prints a_j = W s_{j-1} + b, and the line below it "
                 "here is garbled the same way ('|a_j| = σ(a_j)' for s_j = σ(a_j)); the derivative on the slide, "
                 "∂a_j/∂s_{j-1} = W, needs s_{j-1}",
        correction=Claim(
            "l14-14.4-aj:corrected", src("Module 14.4, as the same slide in seeds/001 (35/41) prints it"), NOTATION,
            Identity("a_j", "W s_{j-1} + b", rnn, [{"j": j, "T": 3} for j in (1, 3)]), kind="definition",
            expected="holds_simplified", judged="holds_simplified",
            reading="as l105-aj: the input term is left out on purpose (constant in s_{j-1})",
            evidence="spoken over the same slide (seeds/001, 01:33): 'you will have a U x_j here, right but that "
                     "does not matter because you are taking a derivative with respect to s_j so, that is a "
                     "constant'",
            simplified=Claim("l14-14.4-aj:simplified", src("Module 14.4, input term dropped as announced"),
                             NOTATION, Identity("a_j", "W s_{j-1} + b", rnn, [{"j": j, "T": 3} for j in (1, 3)],
                                                recipe="no_input"),
                             statement="a_j = W s_{j-1} + b when U x_j = 0 (every x_j = 0)", kind="definition",
                             expected="holds"))))
    out.append(Claim(
        "l14-14.4-sj", src("Module 14.4", "|a_j| = σ(a_j)"), NOTATION,
        Identity("s_j", "sigma(a_j)", rnn, [{"j": 2, "T": 2}], activations=BOTH), kind="definition",
        expected="holds", reading="the garbled '|a_j| = σ(a_j)' read as s_j = σ(a_j), as in Lecture 105"))
    out.append(Claim(
        "l14-14.4-ds-ds", src("Module 14.4", "∂s_j/∂s_{j-1} ≡ ∂s_j/∂a_j ∂a_j/∂s_{j-1} = diag(σ'(a_j))W"), NOTATION,
        Identity("ds_j/ds_{j-1}", "diag(sigma'(a_j)) W", rnn, [{"j": 1, "T": 2}, {"j": 2, "T": 2}], activations=BOTH),
        expected="holds"))
    out.append(Claim(
        "l14-14.4-strict", src("Module 14.4", "||∂s_j/∂s_{j-1}|| ≤ γ||W|| < γλ"), NOTATION,
        Bound("||ds_j/ds_{j-1}||", "<", "gamma lambda", rnn, STEP, recipes=("random", "pinned")),
        expected="transcription", judged="transcription", transcript="≤ γ||W|| < γλ",
        reading="λ bounds ||W|| ('we do not have very large weights'); the tightest choice is λ = ||W||.  Where "
                "a_j sits at the argmax of σ' and W is a scaled orthogonal matrix the two sides are equal, so "
                "'<' as transcribed is false",
        evidence="the same slide in seeds/001 (36/41) prints '≤ γλ' in this line; the lecturer over it (04:40): "
                 "'I can say that it is less than equal to some γ into λ'",
        correction=Claim("l14-14.4-strict:corrected", src("Module 14.4, as in Lecture 105"), NOTATION,
                         Bound("||ds_j/ds_{j-1}||", "<=", "gamma lambda", rnn, STEP, recipes=("random", "pinned")),
                         expected="holds")))

    for name, term, shape in (("dLdW", "dL_t(theta)/dW", ("d", "d")), ("dLds", "dL_t(theta)/ds_t", (1, "d")),
                              ("dsds", "ds_t/ds_k", ("d", "d")), ("dsdW", "d+s_k/dW", ("d", "d", "d"))):
        out.append(Claim(
            f"l14-14.5-shape-{name}", src("Module 14.5", f"{term} ∈ R^{{{' × '.join(map(str, shape))}}}"), NOTATION,
            JacobianShape(term, shape, rnn, {"t": 3, "k": 2, "T": 3}), kind="definition", expected="holds",
            reading="the engine unfolds a derivative w.r.t. a matrix row by row: d x d^2 for the d x d x d tensor",
            display=display(f"l14-14.5-shape-{name}")))
    k = idx("k")
    tensor = DeltaOuter(SigmaPrime(Value(node("a", k))), Value(node("s", k - 1)))
    out.append(Claim(
        "l14-14.5-tensor", src("Module 14.5", "∂s_kp/∂W_qr = σ'(a_kp)s_{k-1,r} if p = q and i = r; = 0 otherwise"),
        NOTATION,
        Identity("d+s_k/dW", tensor, rnn, [{"k": 1, "T": 2}, {"k": 2, "T": 2}], activations=BOTH),
        statement="∂⁺s_{kp}/∂W_{qr} = δ_pq σ'(a_{kp}) s_{k-1,r}", expected="holds",
        reading="'and i = r' is a transcription slip (there is no i); the (p, q, r) entry is σ'(a_kp) s_{k-1,r} "
                "when p = q"))
    ones = SigmaPrime(Value(node("a", k)), "identity")           # the vector of ones, entry p of ∂a_kp/∂W_pr
    out.append(Claim(
        "l14-14.5-da-dW", src("Module 14.5", "∂a_kp/∂W_qr = a_{k-1,i} if p = q and i = r; = 0 otherwise"), NOTATION,
        Identity("d+a_k/dW", DeltaOuter(ones, Value(node("a", k - 1), "zero")), rnn,
                 [{"k": 2, "T": 2}, {"k": 3, "T": 3}], keep=("a", "s", "L")),
        statement="∂a_{kp}/∂W_{qr} = δ_pq a_{k-1,r}", expected="transcription", judged="transcription",
        transcript="= a_{k-1,i} if p = q and i = r; = 0 otherwise",
        reading="as transcribed the entry is a_{k-1,i} with i = r: the pre-activation a where a_k = W s_{k-1} + b "
                "gives the state s",
        evidence="the transcribed matrix equation is garbled (a_{kq} in the vector of s_{k-1}, an i that is never "
                 "defined), and the same slide goes on '∂s_kp/∂W_qr = σ'(a_kp) ∂a_kp/∂W_qr = σ'(a_kp) s_{k-1,r} "
                 "if p = q' and '= σ'(a_kp) s_{k-1,i}': the factor it uses is s_{k-1,r}",
        correction=Claim("l14-14.5-da-dW:corrected", src("Module 14.5"), NOTATION,
                         Identity("d+a_k/dW", DeltaOuter(ones, Value(node("s", k - 1))), rnn,
                                  [{"k": 1, "T": 2}, {"k": 2, "T": 2}], keep=("a", "s", "L")),
                         statement="∂a_{kp}/∂W_{qr} = δ_pq s_{k-1,r}", expected="holds")))
    out.extend(_reasoning_claims())
    return out


def _reasoning_claims() -> "list[Claim]":
    """Module 14.2-14.5 prose and the last line of the tensor slide, checked (issue 12, item 4)."""
    from derive.proofs.catalog.l105_cs7015 import bounded_derivative_claim, small_step_claim

    k = idx("k")
    tensor = DeltaOuter(SigmaPrime(Value(node("a", k))), Value(node("s", k - 1)))
    return [
        Claim("l14-14.2-dependencies", src("Modules 14.2-14.3", "y_i = f(x_i, s_{i-1}, W, U, V, b, c) ... The "
                                                               "parameters are W, U, V, c, b which are shared across "
                                                               "timesteps ... s_1 in turn depends on s_0 and W where "
                                                               "s_0 is a constant starting state"), NOTATION,
              Computed(rnn_dependencies, "in the engine's unrolled RNN: L_4 depends on s_4, s_t on s_{t-1} and W, "
                                         "s_0 is a constant; y_i = f(x_i, s_{i-1}, W, U, V, b, c); the parameters "
                                         "W, U, V, b, c are one node each, shared by every step", trials=1),
              kind="definition", expected="holds", display=display("l14-14.2-dependencies"),
              reading="'depends on' read as: is an ancestor of, in the unrolled graph (within one step); U, x and "
                      "b are left out of 's_4 depends on s_3 and W' as the slide's s_4 = σ(W s_3 + b) leaves U x "
                      "out (l14-14.3-s4)"),
        small_step_claim("l14-14.4-small-step-vanish",
                         src("Module 14.4", "if it is small (large) ∂s_t/∂s_k and hence ∂L_t/∂W will vanish "
                                            "(explode)"),
                         "if ∂s_j/∂s_{j-1} is small, ∂s_t/∂s_k and hence ∂L_t/∂W will vanish"),
        bounded_derivative_claim("l14-14.4-bounded-derivative",
                                 src("Module 14.4", "σ(a_j) is a bounded function (sigmoid, tanh) σ'(a_j) is bounded")),
        Claim("l14-14.5-no-delta", src("Module 14.5", "∂s_kp/∂W_qr = σ'(a_kp)s_{k-1,i}"), NOTATION,
              Computed(tensor_entries(False), "every entry (p, q, r) of ∂⁺s_k/∂W is σ'(a_kp) s_{k-1,r} (no condition "
                                              "on p and q)", trials=2),
              statement="∂s_{kp}/∂W_{qr} = σ'(a_{kp}) s_{k-1,i}", expected="transcription", display=display("l14-14.5-no-delta"), judged="transcription",
              transcript="∂s_kp/∂W_qr = σ'(a_kp)s_{k-1,i}",
              reading="as transcribed the (p, q, r) entry is σ'(a_kp) s_{k-1,i} for every q (i read as r): false "
                      "for q != p, where s_kp does not depend on W_qr (a_kp = Σ_r W_pr s_{k-1,r}) and the entry is 0",
              evidence="the same slide states the condition twice just above ('∂s_kp/∂W_qr = σ'(a_kp)s_{k-1,r} if "
                       "p = q and i = r; = 0 otherwise'), and its last line drops it together with the index r "
                       "(s_{k-1,i}, an i the slide never defines): the build-up of one slide, transcribed line by "
                       "line, not a new statement",
              correction=Claim(
                  "l14-14.5-no-delta:corrected", src("Module 14.5, with the slide's own condition p = q"), NOTATION,
                  Computed(tensor_entries(True), "the (p, q, r) entry of ∂⁺s_k/∂W is σ'(a_kp) s_{k-1,r} if p = q "
                                                 "and 0 otherwise", trials=2),
                  statement="∂⁺s_{kp}/∂W_{qr} = σ'(a_{kp}) s_{k-1,r} if p = q, and 0 otherwise", expected="holds",
                  display=Identity_display(tensor))),
    ]


def Identity_display(tensor):
    """∂⁺s_k/∂W = δ_pq σ'(a_kp) s_{k-1,r}, the tensor printed as l14-14.5-tensor prints it."""
    from derive.terms import Relation

    k = idx("k")
    return Relation(D(node("s", k), node("W"), True), "=", tensor)


def lecture():
    """The plan of Lecture 14's notes and slides: Modules 14.2-14.5, with the engine's derivations in place."""
    from derive.render.documents import Lecture, Section

    return Lecture(
        "l14", "Lecture 14: Recurrent Neural Networks and Backpropagation Through Time", notation=NOTATION,
        course="CS7015 Deep Learning, IIT Madras", order=0,
        abstract="The recurrent network, its parameters' shapes, and backpropagation through time derived in an "
                 "ordered network: explicit and implicit derivatives, expanded one level at a time and "
                 "short-circuited into a sum over the steps.",
        sections=(
            Section("Module 14.2: Recurrent Neural Networks", topic="rnn", where="Module 14.2",
                    items=("l14-14.2-feedforward", "l14-14.2-rnn", "l14-14.2-dependencies")),
            Section("Module 14.3: Backpropagation through time", topic="rnn",
                    where="Module 14.3: the dimensions and the total loss",
                    items=("l14-14.3-dims-W", "l14-14.3-dims-U", "l14-14.3-dims-V", "l14-14.3-total-loss",
                           "l14-14.3-dLdV", "l14-14.3-dLdW", "l14-total-*")),
            Section("Module 14.3: The ordered network", topic="rnn",
                    where="Module 14.3: explicit and implicit derivatives",
                    intro="In an ordered network the total derivative is the explicit part plus the implicit part "
                          "through every earlier state.",
                    items=("l14-14.3-dL4dW", "l14-14.3-s4", "l14-expand-1", "l14-expand-2", "l14-expand-3",
                           "l14-expand-3-labels", "l14-expand-4", "l14-expand-s*-W", "l14-expand-s*-U",
                           "l14-expand-s*-b"),
                    figures=("rnn-unrolled",)),
            Section("Module 14.3: Short-circuiting the paths", topic="rnn",
                    where="Module 14.3: the path sum and BPTT",
                    intro="Regrouping the expansion by the last step of each path gives one term per state.",
                    items=("l14-short-circuit", "l14-short-circuit-sum", "l14-paths-L*-W", "l14-bptt",
                           "l14-bptt-W", "l14-bptt-U", "l14-bptt-b", "l14-bptt-V", "l14-bptt-c")),
            Section("Module 14.4: The problem of Exploding and Vanishing Gradients", topic="vanishing",
                    where="Module 14.4",
                    items=("l14-14.4-product", "l14-product", "l14-ds-da", "l14-14.4-aj", "l14-14.4-sj",
                           "l14-14.4-ds-ds", "l14-ds-ds", "l14-14.4-small-step-vanish", "l14-14.4-bounded-derivative",
                           "l14-14.4-strict"),
                    figures=("rnn-jacobian-norms",)),
            Section("Module 14.5: Some Gory Details", topic="rnn", where="Module 14.5",
                    items=("l14-14.5-shape-dLdW", "l14-14.5-shape-dLds", "l14-14.5-shape-dsds",
                           "l14-14.5-shape-dsdW", "l14-14.5-tensor", "l14-tensor", "l14-14.5-da-dW",
                           "l14-14.5-no-delta")),
            # Issue 12, item 6: what a complete treatment needs beyond the lecture (proofs/beyond_lectures.py).
            Section("Beyond the lecture: reverse mode, as students implement it", topic="rnn",
                    where="beyond Module 14.5",
                    intro="The lecture sums over paths; an implementation runs the reverse-mode recursion and "
                          "accumulates outer products. Both are derived here and checked against the path sum.",
                    items=("beyond-delta-*", "beyond-softmax-*", "beyond-grad-*", "beyond-input-*")),
        ))
