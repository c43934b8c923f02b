"""Instances on which every path contributes: the numeric checks' defence against vanishing gradients.

On a random instance the contribution of the path k -> t to ∂s_t/∂θ shrinks
like (γλ)^{t-k} (CS7015 Lecture 14, Module 14.4: ‖∂s_t/∂s_k‖ ≤ (γλ)^{t-k}),
so a step that drops the k = 1 path agrees with the truth to 1e-12 and no
tolerance can see it.  An *alive-path* instance is built so that the one-step
state Jacobian ∂(states_t)/∂(states_{t-1}) has spectral norm close to 1 at
every step, whatever the cell:

- every matrix parameter is a (semi-)orthogonal matrix; the ones that multiply
  an earlier state (found from the cell's equations: a `MatMul` whose right
  operand reads a node at lag >= 1, never from parameter names) get a common
  gain c;
- every activation's pre-activation is centred where σ' is largest (σ' = γ:
  0 for the logistic and tanh), by shifting the bias vector that is a summand
  of it (again found from the equations), so gates sit near 1/2, away from 0
  and 1, and states are not saturated;
- c is chosen by bisection (in log c) so that the geometric mean over the
  steps of ‖∂states_t/∂states_{t-1}‖₂ is ``target`` (1 by default), measured
  with the engine's Jacobians on a short unroll of the same cell and sizes
  (the parameters do not depend on T; inputs are drawn for every step).

`alive` returns an `AliveInstance` that records the gain and the measured
norm, so a report can say how alive the instance really was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import ir
from .errors import InvalidValue
from .graph import Graph, NodeRef, unroll

__all__ = ["AliveInstance", "alive", "recurrent_matrices", "pinned_biases", "one_step_norm"]

_PROBE_T = 6
MAX_GAIN = 6.0  # above it the states saturate (a GRU at n = 2 reaches norm 1 only at gain ~16, with tanh saturated)
_CACHE: dict = {}


@dataclass
class AliveInstance:
    """An instance (values for every leaf) with the gain used and the measured one-step norm."""

    values: "dict[NodeRef, np.ndarray]"
    seed: "int | None" = None
    gain: float = 1.0
    norm: float = float("nan")
    recipe: str = "alive"

    def describe(self) -> str:
        return f"alive seed {self.seed}, ‖∂s_t/∂s_(t-1)‖ ≈ {self.norm:.2f}"


def _walk(e: ir.Expr):
    yield e
    for c in e.children:
        yield from _walk(c)


def recurrent_matrices(cell) -> "list[str]":
    """Matrix parameters that multiply an earlier state (W in W s_{t-1}), read from the equations."""
    out = []
    for expr in cell.equations.values():
        for e in _walk(expr):
            if isinstance(e, ir.MatMul) and isinstance(e.A, ir.Sym) and e.A.role == "param" \
                    and any(leaf.lag >= 1 for leaf in e.B.leaves()) and e.A.name not in out:
                out.append(e.A.name)
    return out


def _summands(e: ir.Expr):
    if isinstance(e, ir.Add):
        yield from _summands(e.left)
        yield from _summands(e.right)
    else:
        yield e


def pinned_biases(cell) -> "list[tuple[str, str, ir.Expr, object]]":
    """(node, bias parameter, pre-activation expression, activation) for every activation with a bias summand."""
    out, used = [], set()
    for name, expr in cell.equations.items():
        for e in _walk(expr):
            if not isinstance(e, ir.Apply):
                continue
            pre = e.x
            if isinstance(pre, ir.Sym) and pre.role == "node" and pre.lag == 0:
                owner, pre = pre.name, cell.equations[pre.name]
            else:
                owner = name
            for term in _summands(pre):
                if isinstance(term, ir.Sym) and term.role == "param" and len(term.shape) == 1 \
                        and term.name not in used:
                    used.add(term.name)
                    out.append((owner, term.name, pre, e.act))
                    break
    return out


def _pin(act) -> float:
    """Where σ' is largest (the middle of the flat top when it is reached on an interval)."""
    grid = np.linspace(-4.0, 4.0, 801)
    with np.errstate(all="ignore"):
        d = np.asarray(act.numpy_prime(grid), dtype=np.float64) * np.ones_like(grid)
    if not np.all(np.isfinite(d)):
        raise InvalidValue(f"activation {act.name!r}: σ' is not finite on [-4, 4]; cannot pin its pre-activations")
    top = grid[d >= d.max() - 1e-12]
    return float(top[len(top) // 2])


def _orthogonal(rng, shape) -> np.ndarray:
    m, n = shape
    q, r = np.linalg.qr(rng.standard_normal((max(m, n), min(m, n))))
    q = q * np.sign(np.diag(r))
    return q if m >= n else q.T


def _base(graph: Graph, seed: int, gain: float, rec: "set[str]", bias: dict) -> "dict[NodeRef, np.ndarray]":
    rng = np.random.default_rng(seed)
    values = {}
    for ref, info in graph.nodes.items():
        if info.kind in ("node", "total"):
            continue
        shape = tuple(info.shape)
        if info.kind == "label":
            onehot = np.zeros(shape)
            onehot[rng.integers(shape[0])] = 1.0
            values[ref] = onehot
        elif info.kind == "init":
            values[ref] = 0.5 * rng.standard_normal(shape)
        elif info.kind == "param" and len(shape) == 2:
            values[ref] = (gain if ref.name in rec else 1.0) * _orthogonal(rng, shape)
        elif info.kind == "param":
            values[ref] = bias.get(ref.name, 0.5 * rng.standard_normal(shape))
        else:
            values[ref] = 0.5 * rng.standard_normal(shape)
    return values


def _params(graph: Graph, values) -> dict:
    return {r.name: v for r, v in values.items() if graph.nodes[r].kind == "param"}


def _center(graph: Graph, values: dict, pins) -> dict:
    """Biases shifted so that each pinned pre-activation has mean (over steps) at σ''s peak."""
    from .numeric import Evaluator, Instance

    ev = Evaluator(graph, Instance(dict(values)))
    bias = {}
    for owner, b, pre, act in pins:
        pres = []
        for t in range(1, graph.T + 1):
            info = graph.nodes[NodeRef(owner, t)]
            env = {k: ev.values[src] for k, src in info.inputs}
            pres.append(np.ravel(pre.evaluate(env)))
        bias[b] = values[NodeRef(b)] - np.mean(pres, axis=0) + _pin(act)
    return bias


def one_step_norm(ev) -> float:
    """Geometric mean over t >= 2 of ‖∂(states_t)/∂(states_{t-1})‖₂ (all recurrent states stacked)."""
    g = ev.graph
    states = g.cell.recurrent
    logs = []
    for t in range(2, g.T + 1):
        rows = [np.hstack([ev.total(NodeRef(a, t), NodeRef(b, t - 1)) for b in states]) for a in states]
        n = float(np.linalg.norm(np.vstack(rows), 2))
        logs.append(np.log(max(n, 1e-300)))
    return float(np.exp(np.mean(logs))) if logs else float("nan")


def _calibrate(cell, dims: dict, seed: int, target: float):
    from .numeric import Evaluator, Instance, cell_fingerprint

    key = (cell_fingerprint(cell), tuple(sorted((str(k), int(v)) for k, v in dims.items())), seed, target)
    if key in _CACHE:
        return _CACHE[key]
    probe = unroll(cell, _PROBE_T, {str(k): v for k, v in dims.items()})
    rec, pins = set(recurrent_matrices(cell)), pinned_biases(cell)

    def build(gain):
        values = _base(probe, seed, gain, rec, {})
        for _ in range(2):
            values = _base(probe, seed, gain, rec, _center(probe, values, pins))
        ev = Evaluator(probe, Instance(values))
        return values, one_step_norm(ev)

    values, norm = build(1.0)
    gain = 1.0
    if rec:
        # ‖∂s_t/∂s_{t-1}‖ rises with the gain and falls again once the states saturate:
        # scan log-spaced gains, then bisect on the first crossing of the target.
        gains = np.exp(np.linspace(np.log(0.05), np.log(MAX_GAIN), 17))
        scan = [(float(c),) + build(float(c)) for c in gains]
        fin = [(c, v, n) for c, v, n in scan if np.isfinite(n)]
        if not fin:
            raise InvalidValue(f"cell {cell.name!r}: no finite one-step Jacobian norm for any gain in [0.05, {MAX_GAIN}]")
        cross = next((i for i in range(1, len(scan)) if np.isfinite(scan[i - 1][2]) and np.isfinite(scan[i][2])
                      and scan[i - 1][2] <= target <= scan[i][2]), None)
        if cross is None:
            gain, values, norm = min(fin, key=lambda r: abs(np.log(max(r[2], 1e-300) / target)))
        else:
            lo, hi = np.log(scan[cross - 1][0]), np.log(scan[cross][0])
            best = min((scan[cross - 1], scan[cross]), key=lambda r: abs(np.log(max(r[2], 1e-300) / target)))
            for _ in range(8):
                mid = 0.5 * (lo + hi)
                v, n = build(float(np.exp(mid)))
                if abs(np.log(max(n, 1e-300) / target)) < abs(np.log(max(best[2], 1e-300) / target)):
                    best = (float(np.exp(mid)), v, n)
                if n > target:
                    hi = mid
                else:
                    lo = mid
            gain, values, norm = best
    out = (gain, _params(probe, values), norm)
    _CACHE[key] = out
    return out


def alive(graph: Graph, seed: int = 0, target: float = 1.0) -> AliveInstance:
    """An alive-path instance of ``graph`` (concrete sizes needed): see the module docstring."""
    if not graph.dims and graph.cell.dims:
        raise InvalidValue("an alive-path instance needs concrete sizes, e.g. dims={'d': 2}")
    gain, params, norm = _calibrate(graph.cell, {str(k): v for k, v in graph.dims.items()}, seed, target)
    rec = set(recurrent_matrices(graph.cell))
    values = _base(graph, seed, gain, rec, {})
    for ref in values:
        if graph.nodes[ref].kind == "param":
            values[ref] = np.array(params[ref.name], dtype=np.float64)
    return AliveInstance(values, seed, gain, norm)
