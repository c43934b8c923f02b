"""The LSTM of CS7015 Lecture 111 (../shared/seeds/004_ac394c33ecf151bd.txt): three gates and three states.

"There are three gates and three states and the dependency graph is obvious
from these equations" (Lecture 111): per step t, gates o_t, i_t, f_t, the
candidate s~_t (``s_tilde``), the cell state s_t and the output state h_t.
"""

from __future__ import annotations

from derive.model import activations
from derive.model.cell import Cell
from derive.model.ir import nll, softmax

__all__ = ["lstm", "PARAMS"]

#: Parameter names, as in `derive.numeric.reference.lstm.PARAM_SHAPES` (o, i, f gates, candidate, output layer).
PARAMS = ("W_o", "U_o", "b_o", "W_i", "U_i", "b_i", "W_f", "U_f", "b_f", "W", "U", "b", "V", "c")


def lstm(gate: str = "logistic", cell: str = "tanh", out: str = "tanh", *, preactivations: bool = False) -> Cell:
    """The LSTM step of Lecture 111, with an output layer and loss so that it trains::

        o_t  = σ(W_o h_{t-1} + U_o x_t + b_o)        output gate
        i_t  = σ(W_i h_{t-1} + U_i x_t + b_i)        input gate
        f_t  = σ(W_f h_{t-1} + U_f x_t + b_f)        forget gate
        s~_t = tanh(W h_{t-1} + U x_t + b)           candidate state  (node ``s_tilde``)
        s_t  = f_t ⊙ s_{t-1} + i_t ⊙ s~_t            cell state
        h_t  = o_t ⊙ tanh(s_t)                       output state
        y_t  = softmax(V h_t + c),   L_t = -log y_{t, c_t}

    Args:
        gate, cell, out: activation names (`derive.model.activations`) for σ, the
            candidate's tanh and the tanh in h_t.
        preactivations: also name the affine maps as nodes ``a_o, a_i, a_f, a``
            (o_t = σ(a_o,t) ...).  Off by default, so the full view is the slide's
            six nodes per step; on, the local Jacobian ∂⁺o_t/∂h_{t-1} can be
            stated as diag(σ'(a_o,t)) W_o (`derive.prove.structure` recognises a
            diagonal only when its entries are functions of *nodes*).

    Shapes: x in R^n, s, h in R^d, y in R^k; W_* (d, d), U_* (d, n), b_* (d,),
    V (k, d), c (k,).  The recurrent state is the pair (s_t, h_t), so the
    unrolled graph has initial states s_0 and h_0.  ``cell.reference`` is the
    NumPy BPTT of `derive.numeric.reference.lstm` on a batch of one sequence.

    Example::

        >>> from derive import unroll
        >>> g = unroll(lstm(), T=3)
        >>> [r.name for r in g.full_view().parents(g["s", 2])]
        ['f', 's', 'i', 's_tilde']
    """
    sg, sc, so = (activations.get(name) for name in (gate, cell, out))
    c_ = Cell("lstm", dims=("n", "d", "k"),
              description=f"LSTM (gates {sg.name}, candidate {sc.name}, output {so.name}), CS7015 Lecture 111")
    n, d, k = c_.dims
    W_o, U_o, b_o = c_.param("W_o", (d, d)), c_.param("U_o", (d, n)), c_.param("b_o", (d,))
    W_i, U_i, b_i = c_.param("W_i", (d, d)), c_.param("U_i", (d, n)), c_.param("b_i", (d,))
    W_f, U_f, b_f = c_.param("W_f", (d, d)), c_.param("U_f", (d, n)), c_.param("b_f", (d,))
    W, U, b = c_.param("W", (d, d)), c_.param("U", (d, n)), c_.param("b", (d,))
    V, c = c_.param("V", (k, d)), c_.param("c", (k,))
    x, e = c_.input("x", (n,)), c_.label("e", k)
    s, h = c_.state("s", (d,)), c_.state("h", (d,))

    def affine(name, Wm, Um, bv):
        pre = Wm @ h.prev + Um @ x + bv
        return c_.define(name, pre) if preactivations else pre

    o = c_.define("o", sg(affine("a_o", W_o, U_o, b_o)))
    i = c_.define("i", sg(affine("a_i", W_i, U_i, b_i)))
    f = c_.define("f", sg(affine("a_f", W_f, U_f, b_f)))
    s_tilde = c_.define("s_tilde", sc(affine("a", W, U, b)))
    c_.define("s", f * s.prev + i * s_tilde)
    c_.define("h", o * so(s))
    y = c_.define("y", softmax(V @ h + c))
    c_.loss("L", nll(y, e))
    c_.reference = _reference(sg.name, sc.name, so.name)
    return c_


def _reference(gate: str, cell: str, out: str):
    """An independent gradient: `derive.numeric.reference.lstm.bptt` on a batch of one sequence."""

    def gradients(graph, instance):
        import numpy as np

        from derive.model.graph import NodeRef
        from derive.numeric.reference import lstm as ref

        v, T = instance.values, graph.T
        params = {p: v[NodeRef(p)] for p in PARAMS}
        X = np.stack([v[NodeRef("x", t)] for t in range(1, T + 1)])[:, None, :]
        labels = np.array([[int(np.argmax(v[NodeRef("e", t)]))] for t in range(1, T + 1)])
        res = ref.bptt(params, X, labels, s0=v[NodeRef("s", 0)][None, :], h0=v[NodeRef("h", 0)][None, :],
                       gate=gate, cell=cell, out=out)
        grads = {NodeRef(p): g for p, g in res.grads.items()}
        grads[NodeRef("s", 0)] = res.grad_s0[0]
        grads[NodeRef("h", 0)] = res.grad_h0[0]
        return grads

    return gradients
