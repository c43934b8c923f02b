"""The vanilla RNN of CS7015 Lecture 14 (../shared/seeds/002_eb405f471485c68d.txt)."""

from __future__ import annotations

from derive.model import activations
from derive.model.cell import Cell
from derive.model.ir import nll, softmax


def rnn(activation: str = "tanh") -> Cell:
    """a_t = W s_{t-1} + U x_t + b,  s_t = sigma(a_t),  y_t = softmax(V s_t + c),  L_t = -log y_{t,c_t}.

    Module 14.2 gives s_i = sigma(U x_i + W s_{i-1} + b), y_i = O(V s_i + c);
    Module 14.3 the loss L_t(theta) = -log(y_{tc}).  Shapes: x in R^n, s in R^d,
    y in R^k, W in R^{d x d}, U in R^{d x n}, V in R^{k x d} (the slide prints
    U in R^{n x d} and V in R^{d x k}, transposed against its own equations).
    """
    sigma = activations.get(activation)
    cell = Cell("rnn", dims=("n", "d", "k"), description=f"vanilla RNN ({sigma.name}), CS7015 Lecture 14")
    n, d, k = cell.dims
    W, U, b = cell.param("W", (d, d)), cell.param("U", (d, n)), cell.param("b", (d,))
    V, c = cell.param("V", (k, d)), cell.param("c", (k,))
    x, e = cell.input("x", (n,)), cell.label("e", k)
    s = cell.state("s", (d,))
    a = cell.define("a", W @ s.prev + U @ x + b)
    cell.define("s", sigma(a))
    y = cell.define("y", softmax(V @ s + c))
    cell.loss("L", nll(y, e))
    cell.reference = _reference(sigma.name)
    return cell


def _reference(activation: str):
    """An independent gradient: the hand-vectorised NumPy BPTT on a batch of one sequence."""

    def gradients(graph, instance):
        import numpy as np

        from derive.model.graph import NodeRef
        from derive.numeric.reference import rnn as ref

        v, T = instance.values, graph.T
        params = {p: v[NodeRef(p)] for p in ("W", "U", "b", "V", "c")}
        X = np.stack([v[NodeRef("x", t)] for t in range(1, T + 1)])[:, None, :]
        labels = np.array([[int(np.argmax(v[NodeRef("e", t)]))] for t in range(1, T + 1)])
        res = ref.bptt(params, X, labels, s0=v[NodeRef("s", 0)][None, :], activation=activation)
        out = {NodeRef(p): g for p, g in res.grads.items()}
        out[NodeRef("s", 0)] = res.grad_s0[0]
        return out

    return gradients
