"""The GRU of the CS224n notes (../shared/seeds/003_9ba40663132a09fb.txt, "Gated Recurrent Units")."""

from __future__ import annotations

from derive.model import activations
from derive.model.cell import Cell
from ..errors import UnknownName
from derive.model.ir import nll, softmax

__all__ = ["gru", "VARIANTS", "params"]

VARIANTS = ("cs224n", "pytorch")


def params(variant: str = "cs224n") -> "tuple[str, ...]":
    """Parameter names of a variant, as in `derive.numeric.reference.gru.param_shapes` ("pytorch" adds b_hn)."""
    if variant not in VARIANTS:
        raise UnknownName("GRU variant", variant, VARIANTS)
    gates = ("W_u", "U_u", "b_u", "W_r", "U_r", "b_r", "W_h", "U_h", "b_h")
    return gates + (("b_hn",) if variant == "pytorch" else ()) + ("V", "c")


def gru(variant: str = "cs224n", gate: str = "logistic", cell: str = "tanh", *,
        preactivations: bool = False) -> Cell:
    """The GRU step of the CS224n notes, with an output layer and loss::

        u_t  = σ(W_u h_{t-1} + U_u x_t + b_u)                 update gate
        r_t  = σ(W_r h_{t-1} + U_r x_t + b_r)                 reset gate
        h~_t = tanh(W_h (r_t ⊙ h_{t-1}) + U_h x_t + b_h)      new content  (node ``h_tilde``)
        h_t  = (1 - u_t) ⊙ h_{t-1} + u_t ⊙ h~_t
        y_t  = softmax(V h_t + c),   L_t = -log y_{t, c_t}

    ``variant="cs224n"`` (default) is the *reset-before-matmul* form of the
    notes and of Cho et al. (2014): the reset gate multiplies h_{t-1} before W_h.
    PyTorch's ``torch.nn.GRU`` differs: it resets *after* the product and has an
    extra bias, h~_t = tanh(U_h x_t + b_h + r_t ⊙ (W_h h_{t-1} + b_hn)); that is
    ``variant="pytorch"`` (PyTorch's update gate z is our 1 - u).

    Args:
        variant: "cs224n" or "pytorch".
        gate, cell: activation names for σ and the candidate's tanh.
        preactivations: also name the affine maps as nodes ``a_u, a_r, a_h``
            (u_t = σ(a_u,t) ...), so that diag(σ'(a_u,t)) W_u can be recognised;
            off by default (the full view is u, r, h_tilde, h per step).

    Shapes: x in R^n, h in R^d, y in R^k; W_* (d, d), U_* (d, n), b_* and b_hn
    (d,), V (k, d), c (k,).  ``cell.reference`` is `derive.numeric.reference.gru.bptt`
    on a batch of one sequence.

    Example::

        >>> from derive import unroll
        >>> g = unroll(gru(), T=2)
        >>> [str(r) for r in g.full_view().parents(g["h", 2])]
        ['u_2', 'h_1', 'h_tilde_2']
    """
    if variant not in VARIANTS:
        raise UnknownName("GRU variant", variant, VARIANTS)
    sg, sc = activations.get(gate), activations.get(cell)
    c_ = Cell(f"gru_{variant}", dims=("n", "d", "k"), family="gru",
              description=f"GRU ({variant}, gates {sg.name}, candidate {sc.name}), CS224n notes")
    n, d, k = c_.dims
    W_u, U_u, b_u = c_.param("W_u", (d, d)), c_.param("U_u", (d, n)), c_.param("b_u", (d,))
    W_r, U_r, b_r = c_.param("W_r", (d, d)), c_.param("U_r", (d, n)), c_.param("b_r", (d,))
    W_h, U_h, b_h = c_.param("W_h", (d, d)), c_.param("U_h", (d, n)), c_.param("b_h", (d,))
    b_hn = c_.param("b_hn", (d,)) if variant == "pytorch" else None
    V, c = c_.param("V", (k, d)), c_.param("c", (k,))
    x, e = c_.input("x", (n,)), c_.label("e", k)
    h = c_.state("h", (d,))

    def named(name, pre):
        return c_.define(name, pre) if preactivations else pre

    u = c_.define("u", sg(named("a_u", W_u @ h.prev + U_u @ x + b_u)))
    r = c_.define("r", sg(named("a_r", W_r @ h.prev + U_r @ x + b_r)))
    if variant == "cs224n":
        cand = W_h @ (r * h.prev) + U_h @ x + b_h           # reset before the product (CS224n)
    else:
        cand = U_h @ x + b_h + r * (W_h @ h.prev + b_hn)     # reset after the product (PyTorch)
    h_tilde = c_.define("h_tilde", sc(named("a_h", cand)))
    c_.define("h", (1 - u) * h.prev + u * h_tilde)
    y = c_.define("y", softmax(V @ h + c))
    c_.loss("L", nll(y, e))
    c_.reference = _reference(variant, sg.name, sc.name)
    return c_


def _reference(variant: str, gate: str, cell: str):
    """An independent gradient: `derive.numeric.reference.gru.bptt` on a batch of one sequence."""

    def gradients(graph, instance):
        import numpy as np

        from derive.model.graph import NodeRef
        from derive.numeric.reference import gru as ref

        v, T = instance.values, graph.T
        p = {name: v[NodeRef(name)] for name in params(variant)}
        X = np.stack([v[NodeRef("x", t)] for t in range(1, T + 1)])[:, None, :]
        labels = np.array([[int(np.argmax(v[NodeRef("e", t)]))] for t in range(1, T + 1)])
        res = ref.bptt(p, X, labels, h0=v[NodeRef("h", 0)][None, :], gate=gate, cell=cell, variant=variant)
        grads = {NodeRef(name): g for name, g in res.grads.items()}
        grads[NodeRef("h", 0)] = res.grad_h0[0]
        return grads

    return gradients
