"""Beyond the lectures: what a complete treatment of BPTT needs and the five lectures leave out (issue 12, item 6).

The lectures derive ∂L_t/∂θ as a sum over paths (CS7015 Lecture 14, Module 14.3,
../shared/seeds/002_eb405f471485c68d.txt) but never write down what students
implement: the reverse-mode recursion for δ_t := ∂L/∂s_t, the parameter
gradients as sums of outer products, the input gradients, the softmax–cross-
entropy gradient ŷ_t − y_t, the parameter counts, and the stacked and
bidirectional RNNs the CS224n notes mention (../shared/seeds/003_9ba40663132a09fb.txt,
"stacked RNNs", "bidirectional RNNs").  Each is a `Derivation` built with the
public API and checked by ``derive verify`` like the lectures' own: exactly
(path sums in the free algebra; local formulas against SymPy's Jacobians) and
numerically (central finite differences; the NumPy BPTT of `derive.numeric.reference`
for the total loss).

Layouts: the engine's derivatives are Jacobians (numerator layout), so ∂L/∂s_t
is a row; δ_t is the column (∂L/∂s_t)ᵀ students store.
"""

from __future__ import annotations

from functools import lru_cache

from derive import D, Derivation, ProdOver, Step, SumOver, Zero, activations, idx, node, total_loss_form, unroll
from derive.model.cell import Cell
from derive.cells import gru, lstm, rnn
from derive.cells.gru import params as gru_params
from derive.cells.lstm import PARAMS as LSTM_PARAMS
from derive.model.ir import nll, softmax
from derive.terms import (Const, Diag, DimFormula, GradientLayout, Identity, ParamCount, Prime, Prod, Sum,
                          Transpose, Value)

SOURCE = "Beyond the lectures"

t, j, i, T = idx("t"), idx("j"), idx("i"), idx("T")
L = node("L")
RECURSION_T = 5


def s(step):
    return node("s", step)


def sigma_prime(step, activation: str = "tanh"):
    """diag(σ'(a_t)): the Jacobian of the activation (Lecture 14, Module 14.4)."""
    return Diag(Prime(Value(node("a", step)), activation))


# ---------------------------------------------------------------------------
# (a) the reverse-mode recursion for δ_t = ∂L/∂s_t
# ---------------------------------------------------------------------------
def delta_recursion(cell, T_: int = RECURSION_T) -> "list[Derivation]":
    """δ_T = ∂L_T/∂s_T; δ_t = ∂L_t/∂s_t + δ_{t+1} ∂s_{t+1}/∂s_t (t < T), equal to the path sum
    Σ_{j=t}^{T} ∂L_j/∂s_j Π_{i=t+1}^{j} ∂s_i/∂s_{i-1} of Module 14.3 (Jacobian layout: rows)."""
    recursion = Derivation(
        "beyond-delta-recursion", "The reverse-mode recursion", f"{SOURCE}: reverse-mode BPTT", cell, D(L, s(t)),
        [Step(D(node("L", t), s(t)) + D(L, s(t + 1)) * D(s(t + 1), s(t)),
              "the total loss reads s_t through its own loss and through the next state"),
         Step(SumOver(j, t, T, D(node("L", j), s(j)) * D(s(j), s(t))),
              "unrolled: one term per later loss (the BPTT path sum)"),
         Step(SumOver(j, t, T, D(node("L", j), s(j)) * ProdOver(i, t + 1, j, D(s(i), s(i - 1)), identity=s(j))),
              "each term a product of one-step Jacobians along the only path")],
        bindings=[{"t": a, "T": T_} for a in range(1, T_)] + [{"t": 1, "T": 2}])
    last = Derivation(
        "beyond-delta-last", "The recursion starts at the last state", f"{SOURCE}: reverse-mode BPTT", cell,
        D(L, s(T)), [Step(D(node("L", T), s(T)), "no later state: only the last loss reads s_T")],
        bindings=[{"T": 1}, {"T": 3}, {"T": T_}])
    return [recursion, last]


# ---------------------------------------------------------------------------
# (b) the parameter gradients as students implement them: sums of outer products
# ---------------------------------------------------------------------------
def delta(step, loss=L):
    """δ_t = (∂L/∂s_t)ᵀ, the column an implementation stores (gradient layout)."""
    return Transpose(D(loss, s(step)))


def outer(step, u, activation: str = "tanh"):
    """diag(σ'(a_t)) δ_t uᵀ as stored (a matrix shaped like the parameter);
    without u, the column diag(σ'(a_t)) δ_t."""
    factors = (sigma_prime(step, activation), delta(step)) + ((Transpose(Value(u)),) if u is not None else ())
    return GradientLayout(Prod(factors))


#: What each parameter's outer product multiplies δ_t by: ∂L/∂W pairs δ_t with s_{t-1}, ∂L/∂U with x_t.
READS = {"W": lambda a: s(a - 1), "U": lambda a: node("x", a), "b": lambda a: None}


def outer_product_gradients(cell, activation: str = "tanh") -> "list[Derivation]":
    """∂L/∂W = Σ_t diag(σ'(a_t)) δ_t s_{t-1}ᵀ, ∂L/∂U = Σ_t diag(σ'(a_t)) δ_t x_tᵀ,
    ∂L/∂b = Σ_t diag(σ'(a_t)) δ_t;
    and with the logits named, ∂L/∂V = Σ_t (∂L_t/∂o_t)ᵀ s_tᵀ, ∂L/∂c = Σ_t (∂L_t/∂o_t)ᵀ, where
    ∂L_t/∂o_t = (ŷ_t − y_t)ᵀ (``beyond-softmax-ce``).  Each is the short-circuited path sum of
    Module 14.3 written in the gradient layout, and is checked against the NumPy BPTT."""
    out = []
    binds = [{"T": 1}, {"T": 3}, {"T": RECURSION_T}]
    for theta, read in READS.items():
        u = read(t)
        shape = "a matrix shaped like " + theta if u is not None else "a column"
        out.append(Derivation(
            f"beyond-grad-{theta}", f"The gradient with respect to {theta} as an implementation accumulates it",
            f"{SOURCE}: parameter gradients", cell, D(L, node(theta)),
            [Step(SumOver(t, 1, T, D(L, s(t)) * D(s(t), node(theta), True)),
                  f"short-circuit: {theta} is read by every state"),
             Step(SumOver(t, 1, T, outer(t, u, activation)),
                  f"the local Jacobian of Module 14.5 applied to δ_t: {shape}")],
            bindings=binds))
    c_ = rnn_logits(activation)
    o = lambda a: node("o", a)  # noqa: E731
    out.append(Derivation(
        "beyond-grad-V", "The gradient with respect to V as an implementation accumulates it",
        f"{SOURCE}: parameter gradients", c_, D(L, node("V")),
        [Step(SumOver(t, 1, T, D(node("L", t), o(t)) * D(o(t), node("V"), True)), "V is read by every logit"),
         Step(SumOver(t, 1, T, GradientLayout(Prod((Transpose(D(node("L", t), o(t))), Transpose(Value(s(t))))))),
              "(ŷ_t − y_t) s_tᵀ: a matrix shaped like V")],
        keep=LOGITS_VIEW, bindings=binds))
    out.append(Derivation(
        "beyond-grad-c", "The gradient with respect to c as an implementation accumulates it",
        f"{SOURCE}: parameter gradients", c_, D(L, node("c")),
        [Step(SumOver(t, 1, T, GradientLayout(Transpose(D(node("L", t), o(t))))), "the sum of ŷ_t − y_t: a column")],
        keep=LOGITS_VIEW, bindings=binds))
    return out


# ---------------------------------------------------------------------------
# (c) input gradients ∂L/∂x_t
# ---------------------------------------------------------------------------
def input_gradient(cell, activation: str = "tanh") -> Derivation:
    """∂L/∂x_t = δ_tᵀ diag(σ'(a_t)) U: x_t is read by s_t alone (through a_t = W s_{t-1} + U x_t + b)."""
    x = node("x", t)
    return Derivation(
        "beyond-input-gradient", "The gradient with respect to an input", f"{SOURCE}: input gradients", cell,
        D(L, x),
        [Step(D(L, s(t)) * D(s(t), x, True), "the input of step t is read by the state of step t only"),
         Step(D(L, s(t)) * Prod((sigma_prime(t, activation), Value(node("U")))),
              "the local Jacobian: diag(σ'(a_t)) U"),
         Step((D(node("L", t), s(t)) + D(L, s(t + 1)) * D(s(t + 1), s(t))) * D(s(t), x, True),
              "δ_t by the recursion"),
         Step(GradientLayout(Prod((Transpose(Value(node("U"))), sigma_prime(t, activation), delta(t)))),
              "as stored: Uᵀ diag(σ'(a_t)) δ_t, a column like x_t")],
        bindings=[{"t": a, "T": 3} for a in (1, 2)])


# ---------------------------------------------------------------------------
# (d) the softmax–cross-entropy gradient ŷ_t − y_t
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def rnn_logits(activation: str = "tanh") -> Cell:
    """Lecture 14's RNN with the logits o_t = V s_t + c named, so that ∂L_t/∂o_t can be stated.

    Module 14.2: y_i = O(V s_i + c) with O the softmax; Module 14.3: L_t = -log y_{t,c}.
    Same parameters, shapes and NumPy reference as `derive.cells.rnn`.
    """
    base = rnn(activation)
    sig = activations.get(activation)
    c_ = Cell("rnn_logits", dims=("n", "d", "k"), family="rnn",
              description=f"vanilla RNN ({sig.name}) with named logits o_t")
    n, d, k = c_.dims
    W, U, b = c_.param("W", (d, d)), c_.param("U", (d, n)), c_.param("b", (d,))
    V, c = c_.param("V", (k, d)), c_.param("c", (k,))
    x, e = c_.input("x", (n,)), c_.label("e", k)
    s_ = c_.state("s", (d,))
    a = c_.define("a", W @ s_.prev + U @ x + b)
    c_.define("s", sig(a))
    o = c_.define("o", V @ s_ + c)
    y = c_.define("y", softmax(o))
    c_.loss("L", nll(y, e))
    c_.reference = base.reference
    return c_


def softmax_error(step):
    """(ŷ_t − y_t)ᵀ in the engine's names (y the softmax output, e the one-hot label): a row, as ∂L_t/∂o_t."""
    return Transpose(Sum((Value(node("y", step)), Prod((Const(-1), Value(node("e", step)))))))


LOGITS_VIEW = ("s", "o", "L")


def softmax_cross_entropy(activation: str = "tanh") -> "list[Derivation]":
    """∂L_t/∂o_t = (ŷ_t − y_t)ᵀ: exact for every one-hot label (it needs 1ᵀy_t = 1), and its use,
    ∂L_t/∂s_t = (ŷ_t − y_t)ᵀ V and ∂L/∂c = Σ_t (ŷ_t − y_t)ᵀ."""
    c_ = rnn_logits(activation)
    o = lambda a: node("o", a)  # noqa: E731
    return [
        Derivation(
            "beyond-softmax-ce", "The softmax–cross-entropy gradient", f"{SOURCE}: the output layer", c_,
            D(node("L", t), o(t)),
            [Step(softmax_error(t), "−log ŷ_{t,c} of ŷ_t = softmax(o_t): ŷ_t minus the one-hot label")],
            keep=LOGITS_VIEW, bindings=[{"t": 1, "T": 1}, {"t": 2, "T": 2}]),
        Derivation(
            "beyond-softmax-ds", "The loss of a step reaches its state through the logits", f"{SOURCE}: the output layer",
            c_, D(node("L", t), s(t)),
            [Step(D(node("L", t), o(t)) * D(o(t), s(t), True), "the state is read by the logits alone"),
             Step(D(node("L", t), o(t)) * Value(node("V")), "∂⁺o_t/∂s_t = V, with ∂L_t/∂o_t = (ŷ_t − y_t)ᵀ")],
            keep=LOGITS_VIEW, bindings=[{"t": 1, "T": 1}, {"t": 2, "T": 3}]),
        Derivation(
            "beyond-softmax-dc", "The output bias", f"{SOURCE}: the output layer", c_, D(L, node("c")),
            [Step(SumOver(t, 1, T, D(node("L", t), o(t)) * D(o(t), node("c"), True)), "c is read by every logit"),
             Step(SumOver(t, 1, T, D(node("L", t), o(t)) * Identity(o(t))), "∂⁺o_t/∂c = I: the sum of ŷ_t − y_t")],
            keep=LOGITS_VIEW, bindings=[{"T": 1}, {"T": 3}]),
    ]


# ---------------------------------------------------------------------------
# (e) parameter counts as formulas in d, n, k, against the cells' declared shapes
# ---------------------------------------------------------------------------
OUTPUT = ("V", "c")


def parameter_counts() -> "list[Derivation]":
    """|θ| of the RNN, LSTM and GRU (x in R^n, states in R^d, k classes): one (W, U, b) block is
    d·d + d·n + d = d(d + n + 1); the RNN has one, the LSTM four (o, i, f and the candidate: the CS7015
    Lecture 111 equations), the CS224n GRU three (u, r and the new content); the output layer adds
    k·d + k = k(d + 1).  PyTorch's GRU adds the bias b_hn (d more).  "LSTMs have more parameters than
    GRUs": 4d(d + n + 1) against 3d(d + n + 1)."""
    def count(id_, title, cell, label, formula, names=(), why="the parameters' shapes, summed"):
        return Derivation(id_, title, f"{SOURCE}: parameter counts", cell, ParamCount(tuple(names), label),
                          [Step(DimFormula(formula), why)], bindings=[{"T": 1}])

    rnn_rec = ("W", "U", "b")
    lstm_rec = tuple(p for p in LSTM_PARAMS if p not in OUTPUT)
    gru_rec = tuple(p for p in gru_params("cs224n") if p not in OUTPUT)
    return [
        count("beyond-count-rnn", "Parameters of the RNN", rnn("tanh"), "RNN", "d*(d + n + 1) + k*(d + 1)"),
        count("beyond-count-rnn-recurrent", "The recurrent part of the RNN", rnn("tanh"), "RNN, recurrent",
              "d*(d + n + 1)", rnn_rec, "W, U and b"),
        count("beyond-count-lstm", "Parameters of the LSTM", lstm(), "LSTM", "4*d*(d + n + 1) + k*(d + 1)"),
        count("beyond-count-lstm-recurrent", "The recurrent part of the LSTM: four blocks", lstm(), "LSTM, recurrent",
              "4*d*(d + n + 1)", lstm_rec, "three gates and the candidate state, each a (W, U, b) block"),
        count("beyond-count-gru", "Parameters of the GRU", gru("cs224n"), "GRU", "3*d*(d + n + 1) + k*(d + 1)"),
        count("beyond-count-gru-recurrent", "The recurrent part of the GRU: three blocks", gru("cs224n"), "GRU, recurrent",
              "3*d*(d + n + 1)", gru_rec, "two gates and the new content, each a (W, U, b) block"),
        count("beyond-count-gru-pytorch", "Parameters of PyTorch's GRU", gru("pytorch"), "GRU, PyTorch",
              "3*d*(d + n + 1) + d + k*(d + 1)", why="the CS224n GRU and the bias b_hn inside the reset"),
        count("beyond-count-stacked", "Parameters of the two-layer RNN", stacked_rnn(), "2-layer RNN",
              "d*(d + n + 1) + d*(2*d + 1) + k*(d + 1)", why="the second layer reads a d-vector, not x"),
    ]


# ---------------------------------------------------------------------------
# (f) a two-layer (stacked) RNN as a Cell
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def stacked_rnn(activation: str = "tanh") -> Cell:
    """A two-layer RNN (CS224n notes, "stacked RNNs": the states of one layer are the inputs of the next)::

        h_t = σ(W_1 h_{t-1} + U_1 x_t + b_1)        first layer
        s_t = σ(W_2 s_{t-1} + U_2 h_t + b_2)        second layer
        y_t = softmax(V s_t + c),  L_t = -log y_{t, c_t}

    Shapes: x in R^n, h and s in R^d, y in R^k.  Written with the public `Cell` API.
    """
    sig = activations.get(activation)
    c_ = Cell("rnn_stacked", dims=("n", "d", "k"), description=f"two-layer RNN ({sig.name})")
    n, d, k = c_.dims
    W1, U1, b1 = c_.param("W_1", (d, d)), c_.param("U_1", (d, n)), c_.param("b_1", (d,))
    W2, U2, b2 = c_.param("W_2", (d, d)), c_.param("U_2", (d, d)), c_.param("b_2", (d,))
    V, c = c_.param("V", (k, d)), c_.param("c", (k,))
    x, e = c_.input("x", (n,)), c_.label("e", k)
    h, s_ = c_.state("h", (d,)), c_.state("s", (d,))
    c_.define("h", sig(W1 @ h.prev + U1 @ x + b1))
    c_.define("s", sig(W2 @ s_.prev + U2 @ h + b2))
    y = c_.define("y", softmax(V @ s_ + c))
    c_.loss("L", nll(y, e))
    c_.reference = _stacked_reference if sig.name == "tanh" else None
    return c_


def _values(graph, instance, params):
    import numpy as np

    v, T_ = instance.values, graph.T
    P = {p: np.asarray(v[node(p)], dtype=float) for p in params}
    X = [np.ravel(v[node("x", a)]) for a in range(1, T_ + 1)]
    E = [np.ravel(v[node("e", a)]) for a in range(1, T_ + 1)]
    return v, T_, P, X, E


def _softmax(o):
    import numpy as np

    z = np.exp(o - o.max())
    return z / z.sum()


def _stacked_reference(graph, instance):
    """An independent gradient of the two-layer RNN (tanh): a NumPy forward pass, then the reverse-mode
    recursion of ``beyond-delta-recursion`` in each layer, accumulating the outer products of ``beyond-grad-*``."""
    import numpy as np

    v, T_, P, X, E = _values(graph, instance, STACKED_PARAMS)
    h, s_ = {0: np.ravel(v[node("h", 0)])}, {0: np.ravel(v[node("s", 0)])}
    y = {}
    for a in range(1, T_ + 1):
        h[a] = np.tanh(P["W_1"] @ h[a - 1] + P["U_1"] @ X[a - 1] + P["b_1"])
        s_[a] = np.tanh(P["W_2"] @ s_[a - 1] + P["U_2"] @ h[a] + P["b_2"])
        y[a] = _softmax(P["V"] @ s_[a] + P["c"])
    G = {p: np.zeros_like(P[p]) for p in STACKED_PARAMS}
    carry_s, carry_h = np.zeros_like(s_[0]), np.zeros_like(h[0])   # W_2ᵀ da2_{t+1}, W_1ᵀ da1_{t+1}
    for a in range(T_, 0, -1):
        do = y[a] - E[a - 1]                                           # ŷ_t − y_t
        G["V"] += np.outer(do, s_[a])
        G["c"] += do
        da2 = (1 - s_[a] ** 2) * (P["V"].T @ do + carry_s)
        G["W_2"] += np.outer(da2, s_[a - 1])
        G["U_2"] += np.outer(da2, h[a])
        G["b_2"] += da2
        da1 = (1 - h[a] ** 2) * (P["U_2"].T @ da2 + carry_h)
        G["W_1"] += np.outer(da1, h[a - 1])
        G["U_1"] += np.outer(da1, X[a - 1])
        G["b_1"] += da1
        carry_s, carry_h = P["W_2"].T @ da2, P["W_1"].T @ da1
    out = {node(p): g for p, g in G.items()}
    out[node("h", 0)], out[node("s", 0)] = carry_h, carry_s
    return out


STACKED_PARAMS = ("W_1", "U_1", "b_1", "W_2", "U_2", "b_2", "V", "c")


def stacked_derivations() -> "list[Derivation]":
    """BPTT in the stacked RNN: the upper state's one-step Jacobian, the two ways the loss reaches h_t,
    the path sum for the first layer's weights, and the total loss for every parameter."""
    c_ = stacked_rnn()
    h = lambda a: node("h", a)  # noqa: E731
    out = [
        Derivation(
            "beyond-stacked-dL-dh", "The two ways out of a first-layer state", f"{SOURCE}: stacked RNN", c_,
            D(L, h(t)),
            [Step(D(L, s(t)) * D(s(t), h(t), True) + D(L, h(t + 1)) * D(h(t + 1), h(t), True),
                  "h_t is read by the upper state of its step and by the next first-layer state")],
            bindings=[{"t": a, "T": 3} for a in (1, 2)]),
        Derivation(
            "beyond-stacked-dL-dh-last", "The last first-layer state", f"{SOURCE}: stacked RNN", c_, D(L, h(T)),
            [Step(D(L, s(T)) * D(s(T), h(T), True), "no later first-layer state")],
            bindings=[{"T": 1}, {"T": 3}]),
        Derivation(
            "beyond-stacked-dL-dh0", "The first layer's initial state", f"{SOURCE}: stacked RNN", c_,
            D(L, h(0)), [Step(D(L, h(1)) * D(h(1), h(0), True), "h_0 is read by h_1 alone")],
            bindings=[{"T": 1}, {"T": 3}]),
        Derivation(
            "beyond-stacked-bptt-W_1", "BPTT for the first layer's recurrent weights", f"{SOURCE}: stacked RNN", c_,
            D(L, node("W_1")),
            [Step(SumOver(j, 1, T, D(L, h(j)) * D(h(j), node("W_1"), True)),
                  "short-circuit: W_1 is read by the first-layer states alone")],
            bindings=[{"T": 1}, {"T": 3}]),
    ]
    for theta in STACKED_PARAMS:
        out.append(Derivation(
            f"beyond-stacked-total-{theta}", "The total loss over all time steps (stacked RNN)",
            f"{SOURCE}: stacked RNN", c_, D(L, node(theta)),
            [Step(total_loss_form(c_, theta), "the total loss is the sum of the per-step losses")],
            bindings=[{"T": 1}, {"T": 3}]))
    return out


# ---------------------------------------------------------------------------
# (f) a bidirectional RNN as a Cell: the backward state reads the next step (``g.next``)
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def bidirectional_rnn(activation: str = "tanh") -> Cell:
    """A bidirectional RNN (CS224n notes, "Bidirectional RNN"): a forward and a backward state, both read
    by the output of their step::

        f_t = σ(a_f,t),  a_f,t = W_f f_{t-1} + U_f x_t + b_f     forward, from f_0
        g_t = σ(a_g,t),  a_g,t = W_g g_{t+1} + U_g x_t + b_g     backward, from g_{T+1}
        y_t = softmax(V_f f_t + V_g g_t + c),  L_t = -log y_{t, c_t}

    ``g.next`` (a lead, the one engine addition it needs: `derive.model.ir.Sym.next`) makes g_{T+1} a leaf
    of the unrolled graph, as f_0 is.  Shapes: x in R^n, f and g in R^d, y in R^k.
    """
    sig = activations.get(activation)
    c_ = Cell("rnn_bidirectional", dims=("n", "d", "k"), description=f"bidirectional RNN ({sig.name})")
    n, d, k = c_.dims
    Wf, Uf, bf = c_.param("W_f", (d, d)), c_.param("U_f", (d, n)), c_.param("b_f", (d,))
    Wg, Ug, bg = c_.param("W_g", (d, d)), c_.param("U_g", (d, n)), c_.param("b_g", (d,))
    Vf, Vg, c = c_.param("V_f", (k, d)), c_.param("V_g", (k, d)), c_.param("c", (k,))
    x, e = c_.input("x", (n,)), c_.label("e", k)
    f, g = c_.state("f", (d,)), c_.state("g", (d,))
    c_.define("f", sig(c_.define("a_f", Wf @ f.prev + Uf @ x + bf)))
    c_.define("g", sig(c_.define("a_g", Wg @ g.next + Ug @ x + bg)))
    y = c_.define("y", softmax(Vf @ f + Vg @ g + c))
    c_.loss("L", nll(y, e))
    c_.reference = _bidirectional_reference if sig.name == "tanh" else None
    return c_


def _bidirectional_reference(graph, instance):
    """An independent gradient of the bidirectional RNN (tanh): the forward state's recursion runs from T down
    to 1, the backward state's from 1 up to T (``beyond-bidir-dL-dg``)."""
    import numpy as np

    v, T_, P, X, E = _values(graph, instance, BIDIRECTIONAL_PARAMS)
    f, g = {0: np.ravel(v[node("f", 0)])}, {T_ + 1: np.ravel(v[node("g", T_ + 1)])}
    for a in range(1, T_ + 1):
        f[a] = np.tanh(P["W_f"] @ f[a - 1] + P["U_f"] @ X[a - 1] + P["b_f"])
    for a in range(T_, 0, -1):
        g[a] = np.tanh(P["W_g"] @ g[a + 1] + P["U_g"] @ X[a - 1] + P["b_g"])
    do = {a: _softmax(P["V_f"] @ f[a] + P["V_g"] @ g[a] + P["c"]) - E[a - 1] for a in range(1, T_ + 1)}
    G = {p: np.zeros_like(P[p]) for p in BIDIRECTIONAL_PARAMS}
    for a in range(1, T_ + 1):
        G["V_f"] += np.outer(do[a], f[a])
        G["V_g"] += np.outer(do[a], g[a])
        G["c"] += do[a]
    carry = np.zeros_like(f[0])
    for a in range(T_, 0, -1):                                        # forward state: from T down
        da = (1 - f[a] ** 2) * (P["V_f"].T @ do[a] + carry)
        G["W_f"] += np.outer(da, f[a - 1])
        G["U_f"] += np.outer(da, X[a - 1])
        G["b_f"] += da
        carry = P["W_f"].T @ da
    out = {node("f", 0): carry}
    carry = np.zeros_like(g[T_ + 1])
    for a in range(1, T_ + 1):                                        # backward state: from 1 up
        da = (1 - g[a] ** 2) * (P["V_g"].T @ do[a] + carry)
        G["W_g"] += np.outer(da, g[a + 1])
        G["U_g"] += np.outer(da, X[a - 1])
        G["b_g"] += da
        carry = P["W_g"].T @ da
    out[node("g", T_ + 1)] = carry
    out.update({node(p): gr for p, gr in G.items()})
    return out


BIDIRECTIONAL_PARAMS = ("W_f", "U_f", "b_f", "W_g", "U_g", "b_g", "V_f", "V_g", "c")


def bidirectional_derivations(T_: int = 4) -> "list[Derivation]":
    """BPTT in both directions: the forward state's recursion runs from T down, the backward state's from 1 up;
    ∂L/∂W_g as outer products with g_{t+1}; a backward state reads no earlier input (so no language model)."""
    c_ = bidirectional_rnn()
    f, g, x = (lambda a: node("f", a)), (lambda a: node("g", a)), (lambda a: node("x", a))  # noqa: E731
    up = [{"t": a, "T": T_} for a in range(2, T_ + 1)]
    down = [{"t": a, "T": T_} for a in range(1, T_)]
    out = [
        Derivation(
            "beyond-bidir-dL-dg", "The backward state's recursion runs forward in time", f"{SOURCE}: bidirectional RNN",
            c_, D(L, g(t)),
            [Step(D(node("L", t), g(t)) + D(L, g(t - 1)) * D(g(t - 1), g(t)),
                  "g_t is read by its own output and by the backward state of the step before")],
            bindings=up),
        Derivation(
            "beyond-bidir-dL-dg-first", "It starts at the first step", f"{SOURCE}: bidirectional RNN", c_,
            D(L, g(1)), [Step(D(node("L", 1), g(1)), "no earlier backward state")], bindings=[{"T": 1}, {"T": T_}]),
        Derivation(
            "beyond-bidir-dL-df", "The forward state's recursion, as in the RNN", f"{SOURCE}: bidirectional RNN",
            c_, D(L, f(t)),
            [Step(D(node("L", t), f(t)) + D(L, f(t + 1)) * D(f(t + 1), f(t)), "as for the RNN's state")],
            bindings=down),
        Derivation(
            "beyond-bidir-grad-W_g", "The backward recurrent weights as an implementation accumulates them",
            f"{SOURCE}: bidirectional RNN", c_, D(L, node("W_g")),
            [Step(SumOver(t, 1, T, D(L, g(t)) * D(g(t), node("W_g"), True)), "W_g is read by every backward state"),
             Step(SumOver(t, 1, T, GradientLayout(Prod((Diag(Prime(Value(node("a_g", t)), "tanh")),
                                                         Transpose(D(L, g(t))), Transpose(Value(g(t + 1))))))),
                  "diag(σ'(a_g,t)) δ^g_t g_{t+1}ᵀ: the next backward state, not the previous one")],
            bindings=[{"T": 1}, {"T": 3}]),
        Derivation(
            "beyond-bidir-dL-dg-end", "Where the backward state starts: g_{T+1}", f"{SOURCE}: bidirectional RNN", c_,
            D(L, g(T + 1)), [Step(D(L, g(T)) * D(g(T), g(T + 1), True), "g_{T+1} is read by g_T alone")],
            bindings=[{"T": 1}, {"T": 3}]),
        Derivation(
            "beyond-bidir-no-past", "A backward state reads no earlier input", f"{SOURCE}: bidirectional RNN "
            "('You cannot use bidirectional RNNs for language modelling')", c_, D(g(t), x(t - 1)),
            [Step(Zero(), "no path from x_{t-1} to g_t: the backward chain runs from the end of the sequence")],
            bindings=[{"t": a, "T": T_} for a in range(2, T_ + 1)]),
        Derivation(
            "beyond-bidir-future", "A backward state reads every later input", f"{SOURCE}: bidirectional RNN", c_,
            D(g(t), x(t + 1)),
            [Step(D(g(t), g(t + 1)) * D(g(t + 1), x(t + 1), True), "through the next backward state")],
            bindings=down),
    ]
    for theta in BIDIRECTIONAL_PARAMS:
        out.append(Derivation(
            f"beyond-bidir-total-{theta}", "The total loss over all time steps (bidirectional RNN)",
            f"{SOURCE}: bidirectional RNN", c_, D(L, node(theta)),
            [Step(SumOver(j, 1, T, _readers_term(c_, theta, j)), "short-circuit over the states that read it")],
            bindings=[{"T": 1}, {"T": 3}]))
    return out


def _readers_term(cell, theta: str, k):
    """Σ_u ∂L/∂u_k ∂⁺u_k/∂θ over the node kinds u of the view that read θ explicitly (f, g, or L_k)."""
    g = unroll(cell, 2)
    view = g.view()
    users = [name for name in view.keep if node(theta) in view.parents(node(name, 1))]
    terms = [D(L, node(u, k)) * D(node(u, k), node(theta), True) for u in users]
    return terms[0] if len(terms) == 1 else Sum(tuple(terms))


def derivations() -> "list[Derivation]":
    """Every derivation beyond the lectures, in the order of issue 12, item 6."""
    cell = rnn("tanh")
    out = delta_recursion(cell)
    out.append(input_gradient(cell))
    out.extend(softmax_cross_entropy())
    out.extend(outer_product_gradients(cell))
    out.extend(parameter_counts())
    out.extend(stacked_derivations())
    out.extend(bidirectional_derivations())
    return out
