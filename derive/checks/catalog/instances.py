"""Instances of a graph: random, and adversarial ones for bounds (σ' pinned at its maximum, non-normal, saturated)."""

from __future__ import annotations

import numpy as np

from derive.model import activations
from derive.model.cell import Cell
from derive.errors import UnknownName
from derive.model.graph import Graph, NodeRef
from derive.numeric.evaluator import Instance
from .evaluate import _gamma


RECIPES = ("random", "large", "pinned", "nonnormal", "saturated", "no_input")


def _instance(g: Graph, recipe: str, seed: int, target: float) -> "Instance | None":
    """A seeded instance of the graph; None when the recipe does not apply to this graph.

    - ``random``: N(0, 0.25) parameters and inputs (`Instance.random`);
    - ``large``: N(0, 2.25), pre-activations spread over the saturated range too;
    - ``pinned``: W = (target/γ) Q with Q orthogonal, inputs zero and b, s_0 chosen so that
      every a_j is the argmax x* of σ': diag(σ'(a_j)) = γ I and γ||W|| = target, the
      case where the bound of Module 14.4 is attained;
    - ``nonnormal``: as pinned with W = (target/γ) I + 4 N (N strictly upper triangular):
      spectral radius target/γ but a large norm (d >= 2 only);
    - ``saturated``: W = (target/γ) I with b = 20: σ' ~ 0 however large W is;
    - ``no_input``: as random with every input x_t = 0, so the input term U x_t vanishes: the special
      case of a slide that leaves U x_t out on purpose (Lecture 105, slide 35/41: "you will have a
      U x_j here, but that does not matter").
    """
    if recipe not in RECIPES:
        raise UnknownName("instance recipe", recipe, RECIPES)
    if recipe in ("random", "large"):
        return Instance.random(g, seed, scale=0.5 if recipe == "random" else 1.5)
    if recipe == "no_input":
        base = Instance.random(g, seed)
        values = dict(base.values)
        for ref, info in g.nodes.items():
            if info.kind == "input":
                values[ref] = np.zeros(info.shape)
        return Instance(values, seed)
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
    from derive.model.ir import Apply

    expr = cell.equations.get("s")
    return expr.act if isinstance(expr, Apply) else None
