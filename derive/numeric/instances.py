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
- c is chosen by the secant method in log c (where that fails, a scan of
  gains, then regula falsi on the first crossing of the target, or a
  golden-section search when the states saturate before it is reached) so
  that the geometric mean over the steps of
  ‖∂states_t/∂states_{t-1}‖₂ is ``target`` (1 by default, to 0.1%), measured
  with the engine's Jacobians on a short unroll of the same cell and sizes
  (the parameters do not depend on T; inputs are drawn for every step).

`alive` returns an `AliveInstance` that records the gain and the measured
norm, so a report can say how alive the instance really was.

`adversarial` builds the instances a *bound* must survive, for any cell and
again by the cell's structure (never by parameter names): pinned (σ' = γ, the
recurrent matrices γ‖R‖ = target), non-normal (a scaled identity plus a strong
upper-triangular coupling), nilpotent (R = c u vᵀ with vᵀu = 0, so R² = 0 while
the Jacobian products, with σ' varying between units, are not 0), saturated
(pre-activations far out on the flat tails, σ' ≈ 0), and, for gated cells,
every gate near 1 or near 0.  `search` looks for a counterexample to a
ratio lhs/rhs ≤ 1: random restarts over those recipes and seeds, each followed
by a local maximisation of the ratio (a seeded random-direction hill climb on
the recurrent matrices and the inputs); it reports how hard it looked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from derive.model import ir
from derive.errors import InvalidValue
from derive.model.graph import Graph, NodeRef, unroll

__all__ = ["AliveInstance", "alive", "recurrent_matrices", "pinned_biases", "one_step_norm", "gates",
           "ADVERSARIAL", "adversarial", "Search", "search", "search_bound"]

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
                    and any(leaf.lag != 0 for leaf in e.B.leaves()) and e.A.name not in out:
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
    from derive.numeric.evaluator import Evaluator, Instance

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
        rows = [np.hstack(ev.totals(NodeRef(a, t), [NodeRef(b, t - 1) for b in states])) for a in states]
        n = float(np.linalg.norm(np.vstack(rows), 2))
        logs.append(np.log(max(n, 1e-300)))
    return float(np.exp(np.mean(logs))) if logs else float("nan")


def _calibrate(cell, dims: dict, seed: int, target: float):
    from derive.numeric.evaluator import Evaluator, Instance, cell_fingerprint

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
    found = _secant(build, target, norm, values) if rec else None
    if found is not None:
        gain, values, norm = found
    elif rec:
        # ‖∂s_t/∂s_{t-1}‖ rises with the gain and falls again once the states saturate:
        # scan log-spaced gains, then close in on the first crossing of the target.
        gains = np.exp(np.linspace(np.log(0.05), np.log(MAX_GAIN), 9))
        scan = [(float(c),) + build(float(c)) for c in gains]
        if not any(np.isfinite(n) for _, _, n in scan):
            raise InvalidValue(f"cell {cell.name!r}: no finite one-step Jacobian norm for any gain in [0.05, {MAX_GAIN}]")
        cross = next((i for i in range(1, len(scan)) if np.isfinite(scan[i - 1][2]) and np.isfinite(scan[i][2])
                      and scan[i - 1][2] <= target <= scan[i][2]), None)
        if cross is None:
            # the target is out of reach (the states saturate first): the gain closest to it, refined
            i = min(range(len(scan)), key=lambda j: abs(_log_miss(scan[j][2], target)))
            gain, values, norm = _golden(build, target, scan, i)
        else:
            gain, values, norm = _regula_falsi(build, target, scan[cross - 1], scan[cross])
    out = (gain, _params(probe, values), norm)
    _CACHE[key] = out
    return out


SECANT_TOL = 1e-3   # |log(norm / target)|: the measured norm within 0.1% of the target


def _log_miss(norm: float, target: float) -> float:
    """log(norm / target): 0 on target, signed; infinite for a norm that is not a finite number."""
    return float(np.log(max(norm, 1e-300) / target)) if np.isfinite(norm) else np.inf


def _golden(build, target: float, scan, i: int, steps: int = 5):
    """Refine scan[i] (gain, values, norm), the scanned gain closest to ``target``, by golden-section
    search in log gain between its neighbours on the distance |log(norm / target)|."""
    best = [scan[i]]

    def at(u):
        v, n = build(float(np.exp(u)))
        if abs(_log_miss(n, target)) < abs(_log_miss(best[0][2], target)):
            best[0] = (float(np.exp(u)), v, n)
        return abs(_log_miss(n, target))

    lo, hi = np.log(scan[max(i - 1, 0)][0]), np.log(scan[min(i + 1, len(scan) - 1)][0])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = at(a), at(b)
    for _ in range(steps):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = at(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = at(b)
    return best[0]


def _regula_falsi(build, target: float, below, above, steps: int = 8):
    """The gain between two scanned points (gain, values, norm) with norms below and above ``target``
    whose norm is ``target`` to `SECANT_TOL`: regula falsi (Illinois) in log gain."""
    (lo, flo), (hi, fhi) = ((np.log(p[0]), _log_miss(p[2], target)) for p in (below, above))
    best = min((below, above), key=lambda p: abs(_log_miss(p[2], target)))
    side = 0
    for _ in range(steps):
        if abs(_log_miss(best[2], target)) < SECANT_TOL or fhi == flo:
            break
        mid = hi - fhi * (hi - lo) / (fhi - flo)
        v, n = build(float(np.exp(mid)))
        fm = _log_miss(n, target)
        if abs(fm) < abs(_log_miss(best[2], target)):
            best = (float(np.exp(mid)), v, n)
        if fm > 0:
            hi, fhi = mid, fm
            flo, side = (flo / 2, side) if side == 1 else (flo, 1)
        else:
            lo, flo = mid, fm
            fhi, side = (fhi / 2, side) if side == -1 else (fhi, -1)
    return best


def _secant(build, target: float, norm1: float, values1):
    """The gain whose one-step norm is ``target``, by the secant method in log gain from gain 1
    (the norm is about proportional to the gain until the states saturate): usually four or five
    builds.  None when it does not settle within 8 steps or leaves [0.05, MAX_GAIN] (saturation,
    a non-monotone norm); the caller then scans."""
    if not (np.isfinite(norm1) and norm1 > 0):
        return None
    lo, hi = np.log(0.05), np.log(MAX_GAIN)
    pts = [(0.0, np.log(norm1 / target), values1, norm1)]
    u = float(np.clip(-pts[0][1], lo, hi))           # norm ∝ gain: the first guess
    for _ in range(8):
        v, n = build(float(np.exp(u)))
        if not (np.isfinite(n) and n > 0):
            return None
        pts.append((u, np.log(n / target), v, n))
        if abs(pts[-1][1]) < SECANT_TOL:
            return float(np.exp(u)), v, n
        (u0, f0, *_), (u1, f1, *_) = pts[-2], pts[-1]
        if f1 == f0:
            return None
        u = u1 - f1 * (u1 - u0) / (f1 - f0)
        if not lo <= u <= hi:
            return None
    return None


def alive(graph: Graph, seed: int = 0, target: float = 1.0) -> AliveInstance:
    """An alive-path instance of ``graph`` (concrete sizes needed): see the module docstring."""
    if not graph.dims and graph.cell.dims:
        raise InvalidValue("an alive-path instance needs concrete sizes, e.g. dims={'d': 2}")
    made = graph.__dict__.setdefault("_alive", {})   # deterministic in (graph, seed, target): built once
    if (seed, target) not in made:
        gain, params, norm = _calibrate(graph.cell, {str(k): v for k, v in graph.dims.items()}, seed, target)
        rec = set(recurrent_matrices(graph.cell))
        values = _base(graph, seed, gain, rec, {})
        for ref in values:
            if graph.nodes[ref].kind == "param":
                values[ref] = np.array(params[ref.name], dtype=np.float64)
        made[(seed, target)] = (values, gain, norm)
    values, gain, norm = made[(seed, target)]
    return AliveInstance({ref: v.copy() for ref, v in values.items()}, seed, gain, norm)


# ---------------------------------------------------------------------------
# Adversarial instances for bounds, and a counterexample search (issue 14, item 6b).
# ---------------------------------------------------------------------------
PATIENCE = 12        # failed steps in a row (the step size has reached its floor of 1e-3) that end a climb
ADVERSARIAL = ("pinned", "nonnormal", "nilpotent", "saturated", "gates_open", "gates_closed")
GATE_BIAS = 5.0      # σ(±5) = 0.993 / 0.007: a gate near 1 or near 0
SATURATION = 6.0     # pre-activations this far from σ''s peak: σ' ≈ 0 on the logistic and tanh


def gates(cell) -> "list[str]":
    """Nodes that are gates, read from the equations: a logistic output that multiplies
    something element-wise in another equation (f_t ⊙ s_{t−1}, u_t ⊙ h~_t, o_t ⊙ tanh(s_t))."""
    logistic = [name for name, e in cell.equations.items() if isinstance(e, ir.Apply) and e.act.name == "logistic"]
    out = []
    for name in logistic:
        for other, expr in cell.equations.items():
            if other != name and any(isinstance(e, (ir.Hadamard, ir.OneMinus)) and
                                     any(isinstance(c, ir.Sym) and c.name == name for c in _walk(e))
                                     for e in _walk(expr)):
                out.append(name)
                break
    return out


def _recurrent_matrix(recipe: str, rng, shape, scale: float) -> np.ndarray:
    m, n = shape
    if recipe == "nonnormal" and m == n and m >= 2:
        return scale * (np.eye(m) + 4.0 * np.triu(np.ones((m, m)), 1))
    if recipe == "nilpotent" and m == n and m >= 2:
        u = np.zeros(m)
        v = np.zeros(m)
        u[0], u[1], v[0], v[1] = 1.0, -1.0, 1.0, 1.0   # u v^T = [[1, 1], [-1, -1]], v^T u = 0: R^2 = 0
        return scale * np.outer(u, v)
    return scale * _orthogonal(rng, shape)


def adversarial(graph: Graph, recipe: str, seed: int = 0, target: float = 1.0) -> "AliveInstance | None":
    """An instance of ``graph`` built by ``recipe`` (one of `ADVERSARIAL`); None when it does not apply
    (a nilpotent matrix needs d >= 2, a gate recipe needs gates, a non-finite γ has no pin)."""
    from derive.model.supremum import gamma as _gamma_of

    if recipe not in ADVERSARIAL:
        raise InvalidValue(f"adversarial recipe {recipe!r}: expected one of {', '.join(ADVERSARIAL)}")
    if not graph.dims and graph.cell.dims:
        raise InvalidValue("an adversarial instance needs concrete sizes, e.g. dims={'d': 2}")
    cell = graph.cell
    rec, pins, gated = set(recurrent_matrices(cell)), pinned_biases(cell), set(gates(cell))
    if recipe in ("gates_open", "gates_closed") and not gated:
        return None
    square = [r for r in graph.nodes if r.name in rec and len(graph.nodes[r].shape) == 2
              and graph.nodes[r].shape[0] == graph.nodes[r].shape[1]]
    if recipe in ("nonnormal", "nilpotent") and not any(graph.nodes[r].shape[0] >= 2 for r in square):
        return None
    acts = {act.name for _, _, _, act in pins}
    try:
        gam = max(float(_gamma_of(a).value) for a in acts) if acts else 1.0
    except Exception as exc:  # noqa: BLE001 - an activation whose γ cannot be found: no adversarial instance
        raise InvalidValue(f"cell {cell.name!r}: γ of its activations cannot be found ({exc})") from None
    if not np.isfinite(gam) or gam <= 0:
        return None
    rng = np.random.default_rng(seed + 7919)
    values = _base(graph, seed, 1.0, set(), {})
    for ref, info in graph.nodes.items():
        if info.kind == "param" and ref.name in rec and len(info.shape) == 2:
            values[ref] = _recurrent_matrix(recipe, rng, tuple(info.shape), target / gam)
    values.update({NodeRef(b): v for b, v in _center(graph, values, pins).items()})
    for owner, b, pre, act in pins:
        ref = NodeRef(b)
        if recipe == "saturated":
            values[ref] = values[ref] + SATURATION
        elif recipe in ("gates_open", "gates_closed") and owner in gated:
            values[ref] = values[ref] + (GATE_BIAS if recipe == "gates_open" else -GATE_BIAS)
    return AliveInstance(values, seed, target / gam, float("nan"), recipe)


@dataclass
class Search:
    """The outcome of a counterexample search for ratio ≤ 1: the largest ratio found and where."""

    ratio: float
    instance: "AliveInstance | None"
    recipe: str
    restarts: int
    evaluations: int

    @property
    def found(self) -> bool:
        return self.ratio > 1.0 + 1e-9

    def describe(self) -> str:
        how = (f"after a counterexample search ({self.restarts} restarts over random and adversarial instances, "
               f"{self.evaluations} evaluations with local maximisation of the ratio)")
        if self.found:
            return f"counterexample {how}: ratio {self.ratio:.6g} > 1 on the {self.recipe} instance seed " \
                   f"{self.instance.seed if self.instance else '?'}"
        return f"largest ratio {self.ratio:.6g} <= 1 {how}"


def search(graph: Graph, sides, *, seeds=(0, 1, 2), recipes=("random",) + ADVERSARIAL, targets=(0.5, 1.0, 1.5),
           steps: int = 40, view=None) -> Search:
    """Maximise lhs / rhs, ``sides(evaluator) -> (lhs, rhs)`` of a bound lhs ≤ rhs, over instances of ``graph``.

    rhs = 0 < lhs is an infinite ratio (‖W_h²‖ = 0 for a nilpotent W_h while
    ‖∂h_3/∂h_1‖ > 0, issue 14); a non-finite side is skipped.

    Restarts: every recipe × seed × target (``random``: `Instance.random`);
    the best few starts are then climbed: up to ``steps`` seeded random perturbations
    of the recurrent matrices and inputs, kept when the ratio grows, the step
    size doubled on success and halved on failure; a climb ends early after
    `PATIENCE` failures in a row (the step has shrunk to its floor without
    finding anything better: a local maximum at the resolution probed).  A non-finite ratio is
    skipped (not a counterexample).  Deterministic for fixed arguments.
    """
    from derive.numeric.evaluator import Evaluator, Instance

    def value(values) -> float:
        try:
            with np.errstate(all="ignore"):
                lhs, rhs = (float(v) for v in sides(Evaluator(graph, Instance(values), view)))
        except (ArithmeticError, ValueError):
            return float("-inf")
        if not (np.isfinite(lhs) and np.isfinite(rhs)):
            return float("-inf")  # an overflow is not a counterexample
        if rhs <= 0.0:
            return float("inf") if lhs > 1e-12 else (1.0 if lhs >= rhs else 0.0)
        return lhs / rhs

    starts, evaluations = [], 0
    for recipe in recipes:
        for seed in seeds:
            for target in (targets if recipe != "random" else (None,)):
                inst = Instance.random(graph, seed) if recipe == "random" else adversarial(graph, recipe, seed, target)
                if inst is None:
                    continue
                r = value(inst.values)
                evaluations += 1
                starts.append((r, recipe, seed, dict(inst.values)))
    if not starts:
        return Search(float("-inf"), None, "none", 0, 0)
    starts.sort(key=lambda x: -x[0])
    rec = set(recurrent_matrices(graph.cell))
    movable = [r for r, i in graph.nodes.items() if (i.kind == "param" and r.name in rec) or i.kind == "input"]
    best = starts[0]
    for r0, recipe, seed, values in starts[:3]:
        rng = np.random.default_rng(seed + 104729)
        cur, step, misses = r0, 0.1, 0
        for _ in range(steps):
            if misses >= PATIENCE:   # the step is at its floor and nothing nearby is better: a local maximum
                break
            trial = dict(values)
            for ref in movable:
                v = values[ref]
                trial[ref] = v + step * (np.abs(v).mean() + 0.1) * rng.standard_normal(np.shape(v))
            r = value(trial)
            evaluations += 1
            if r > cur:
                values, cur, step, misses = trial, r, min(step * 2.0, 1.0), 0
            else:
                step, misses = max(step * 0.5, 1e-3), misses + 1
        if cur > best[0]:
            best = (cur, recipe, seed, values)
    r, recipe, seed, values = best
    return Search(r, AliveInstance(values, seed, float("nan"), float("nan"), recipe), recipe, len(starts), evaluations)


def search_bound(graph: Graph, pairs, numbers, keep=None, **kwargs) -> "tuple[Search, float, float]":
    """`search` for a bound stated at several bindings: ``pairs`` the (lhs, rhs) terms of each binding,
    ``numbers(evaluator)`` their evaluator (`derive.checks.catalog.evaluate.ClaimNumbers`); the worst binding counts.
    Returns the search and both sides at the worst instance found."""
    view = graph.view(list(keep)) if keep else None

    def sides(ev):
        nums = numbers(ev)
        worst = None
        for lt, rt in pairs:
            lv, rv = float(nums.value(lt)), float(nums.value(rt))
            r = lv / rv if rv > 0 else (float("inf") if lv > 1e-12 else 0.0)
            if worst is None or r > worst[0]:
                worst = (r, lv, rv)
        return worst[1], worst[2]

    found = search(graph, sides, view=view, **kwargs)
    lv = rv = float("nan")
    if found.instance is not None:
        from derive.numeric.evaluator import Evaluator, Instance

        with np.errstate(all="ignore"):
            lv, rv = sides(Evaluator(graph, Instance(found.instance.values), view))
    return found, lv, rv
