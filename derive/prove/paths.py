"""Exact path counts in an unrolled graph: a per-step dynamic programme, a transfer matrix, a closed form.

Lecture 111 (``shared/seeds/004_ac394c33ecf151bd.txt``): "how many paths are
there to reach h_k itself ... that is going to be combinatorial because there
are four outgoing edges from here ... let us not count the number of paths".
Here we count them, exactly (Python big integers), in any view of any cell.

A path runs through the *variables* of a view (`derive.model.graph.View`), one
explicit edge at a time: in the full view every gate and state is a node; in
the lecture's view of states (s, h, L) the gates are folded into the edges.
Parameters, inputs and initial states are variables in every view.

Three ways to the same numbers, tested against each other and against
`derive.prove.expand.enumerate_paths`:

- `graph_path_counts`: dynamic programming over the unrolled graph's view
  (simple; the unrolling itself costs about 0.35 ms per LSTM step);
- `path_counts`: the same recursion run over the *cell*: the view's explicit
  parents are read once off a small probe graph as (name, lag) patterns, so
  T = 10 000 needs no unrolled graph (``bench/bench_paths.py``);
- `transfer`: counting from L_t downwards, the counts at the recurrent
  variables of step k are a fixed matrix times those of step k+1,
  N_k = M N_{k+1} (1 <= k <= t-2).  `Transfer.closed_form` diagonalises M with
  SymPy: N(L_t -> s_k) = Σ_i a_i λ_i^{t-k-1}, with the linear recurrence of
  M's characteristic polynomial.  For the LSTM's full view M = [[4, 1], [3, 1]]
  on (s, h) (λ² - 5λ + 1); in the view of states M = [[2, 1], [1, 1]], whose
  counts are Fibonacci numbers: N(L_t -> s_k) = F_{2(t-k)+2}.

Example::

    >>> from derive.cells.lstm import lstm
    >>> counts = path_counts(lstm(), 4, "L_4", keep=lstm().nodes)
    >>> counts["s_1"], counts["h_1"], counts["W_f"]
    (115, 91, 145)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Mapping

import sympy as sp

try:
    from sympy.matrices.exceptions import MatrixError
except ImportError:  # SymPy < 1.13
    from sympy.matrices.common import MatrixError

from derive.model.cell import Cell
from derive.errors import InvalidValue, NotSupported, UnknownName, positive_int
from derive.model.graph import MAX_T, Graph, NodeRef, unroll

__all__ = ["StepNetwork", "PathCounts", "path_counts", "graph_path_counts", "count", "Transfer", "transfer",
           "ClosedForm"]


# ---------------------------------------------------------------------------
# The view of one step, read off a small probe graph
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StepNetwork:
    """The explicit parents of every node kind of a view, as (name, lag) patterns.

    Attributes:
        cell, keep: the cell and the kept node names (in the cell's order).
        t0: from step t0 on, the parents of (v, t) are ``pattern[v]`` shifted to t;
            below t0 they are read off the probe (``boundary``), where lags
            reach the initial states.
        pattern: name -> ((parent name, lag), ...) for the kept names and the losses;
            lag None for parameters.
        boundary: (name, t) for t < t0 -> the same, with absolute times.
    """

    cell: Cell
    keep: "tuple[str, ...]"
    t0: int
    pattern: "dict[str, tuple[tuple[str, int | None], ...]]"
    boundary: "dict[tuple[str, int], tuple[tuple[str, int | None], ...]]"

    @classmethod
    def of(cls, cell: Cell, keep=None) -> "StepNetwork":
        """Read the view's parent patterns off an unrolling of t0 + 1 steps.

        A folded chain that crosses steps without meeting a kept node would make
        the parents of s_t reach back to step 1 whatever t is (e.g. the LSTM with h
        folded); no pattern exists then and `NotSupported` says so.  A chain of
        folded nodes without a repeated kind spans at most (#kinds x max lag)
        steps, so t0 = #kinds x max lag + 1 is late enough to see any such chain.
        """
        cell.check()
        probe_keep = tuple(keep) if keep is not None else tuple(cell.recurrent + cell.losses)
        t0 = len(cell.nodes) * cell.max_lag + 1
        probe = unroll(cell, t0 + 1)
        view = probe.view(list(probe_keep))
        keep_ = tuple(n for n in cell.nodes if n in probe_keep)

        def rel(ref: NodeRef, t: int) -> "tuple[str, int | None]":
            return (ref.name, None if ref.t is None else t - ref.t)

        boundary, pattern = {}, {}
        for t in range(1, t0 + 2):
            for name in [n for n in cell.nodes if n in keep_ or n in cell.losses]:
                parents = view.parents(NodeRef(name, t))
                pats = tuple(rel(p, t) for p in parents)
                if t < t0:
                    boundary[(name, t)] = tuple((p.name, p.t) for p in parents)
                    continue
                reaches_init = any(probe.nodes[p].kind == "init" for p in parents)
                if reaches_init or (t == t0 + 1 and pats != pattern[name]):
                    raise NotSupported(
                        f"in the view {keep_} the explicit parents of {name}_t reach back to step 1 for every t "
                        f"(a recurrent node is folded); count on the unrolled graph with graph_path_counts")
                pattern.setdefault(name, pats)
        return cls(cell, keep_, t0, pattern, boundary)

    def parents(self, name: str, t: int) -> "tuple[tuple[str, int | None], ...]":
        """Explicit parents of (name, t) as (name, absolute time or None)."""
        if t < self.t0:
            return self.boundary[(name, t)]
        return tuple((p, None if lag is None else t - lag) for p, lag in self.pattern[name])

    @cached_property
    def users(self) -> "dict[str, tuple[str, ...]]":
        """Parameter -> the kept node names that read it explicitly (its users in the view)."""
        out: dict[str, list[str]] = {p: [] for p in self.cell.params}
        for name in self.keep:
            for p, lag in self.pattern[name]:
                if lag is None and p in out and name not in out[p]:
                    out[p].append(name)
        return {p: tuple(v) for p, v in out.items()}


# ---------------------------------------------------------------------------
# Counting: one dynamic programme, from f down to every variable below it
# ---------------------------------------------------------------------------
class PathCounts(Mapping):
    """Number of paths from ``f`` to each variable below it: ``counts["s_3"]``, ``counts[NodeRef("W")]``.

    A mapping NodeRef -> int; variables with no path from f count 0 and are not
    iterated.  Backed by a dict, or by `path_counts`'s table of node counts, from
    which a leaf's count (Σ over its readers) is summed when first asked for.
    """

    def __init__(self, f: NodeRef, T: int, keep: "tuple[str, ...]", counts: "dict[NodeRef, int] | None" = None,
                 table: "_Table | None" = None):
        self.f, self.T, self.keep = f, T, keep
        self._counts = counts
        self._table = table

    def __getitem__(self, key) -> int:
        ref = _parse(key)
        if self._counts is not None:
            return self._counts.get(ref, 0)
        return self._table.get(ref)

    def _all(self) -> "dict[NodeRef, int]":
        if self._counts is None:
            self._counts = self._table.materialise()
        return self._counts

    def __iter__(self) -> Iterator[NodeRef]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self):
        return f"PathCounts(from {self.f}, T={self.T}, view {self.keep})"


_SPEC = re.compile(r"([A-Za-z]\w*?)_?\{?(-?\d+)\}?")


def _parse(spec) -> NodeRef:
    if isinstance(spec, NodeRef):
        return spec
    if isinstance(spec, str):
        m = _SPEC.fullmatch(spec)
        return NodeRef(m.group(1), int(m.group(2))) if m else NodeRef(spec)
    raise UnknownName("node", spec, ["a NodeRef or a name such as 's_3', 'W_f', 'L'"])


def _check_ref(cell: Cell, T: int, ref: NodeRef, keep: "tuple[str, ...]") -> NodeRef:
    timed = set(cell.nodes) | {s.name for s in cell.of_role("input") + cell.of_role("label")}
    if ref.t is None and (ref.name in cell.params or ref.name in cell.losses):
        return ref
    if ref.t is not None and ref.name in timed:
        lo = 1 - cell.max_lag if ref.name in cell.recurrent else 1
        if isinstance(ref.t, int) and lo <= ref.t <= T:
            if ref.name in cell.nodes and ref.t >= 1 and ref.name not in keep:
                raise InvalidValue(f"{ref} is folded into the edges of the view {keep}: it is not a variable")
            return ref
        raise InvalidValue(f"{ref} is outside the unrolled steps {lo}..{T}")
    raise UnknownName("node", str(ref), list(cell.params) + list(cell.losses) + [f"{n}_t" for n in sorted(timed)])


@dataclass
class _Table:
    """Node counts rows[t + lag][slot] from `path_counts`, and the counts pushed directly to leaves."""

    net: StepNetwork
    rows: list
    top: int
    extra: "dict[NodeRef, int]"

    def __post_init__(self):
        cell = self.net.cell
        self.lag = cell.max_lag
        self.nodes = list(cell.nodes)
        self.slot = {n: i for i, n in enumerate(self.nodes)}
        self.leaves = {s.name for s in cell.of_role("input") + cell.of_role("label")}
        self._params: dict[str, int] = {}

    def node(self, name: str, t: int) -> int:
        if t > self.top or t < 1 - self.lag or (t >= 1 and name not in self.net.keep):
            return 0
        return self.rows[t + self.lag][self.slot[name]]

    def get(self, ref: NodeRef) -> int:
        base = self.extra.get(ref, 0)
        if ref.t is not None and ref.name in self.slot:
            return self.node(ref.name, ref.t)
        if ref.t is not None and ref.name in self.leaves:      # an input read at step t by interior nodes
            for v in self.net.keep:
                for p, lg in self.net.pattern[v]:
                    if p == ref.name and lg is not None and ref.t + lg >= self.net.t0:
                        base += self.node(v, ref.t + lg)
            return base
        if ref.t is None and ref.name in self.net.cell.params:
            if ref.name not in self._params:                   # Σ over its readers, over the interior steps
                total = 0
                for v in self.net.users.get(ref.name, ()):
                    s = self.slot[v]
                    total += sum(self.rows[t + self.lag][s] for t in range(self.net.t0, self.top + 1))
                self._params[ref.name] = total
            return base + self._params[ref.name]
        return base

    def materialise(self) -> "dict[NodeRef, int]":
        refs = [NodeRef(p) for p in self.net.cell.params] + list(self.extra)
        for t in range(self.top, -self.lag, -1):
            for name in self.nodes:
                refs.append(NodeRef(name, t))
            for name in self.leaves:
                refs.append(NodeRef(name, t))
        out = {}
        for ref in refs:
            c = self.get(ref)
            if c and ref not in out:
                out[ref] = c
        return out


def path_counts(cell: Cell, T: int, f, keep=None, *, network: "StepNetwork | None" = None) -> PathCounts:
    """Paths from f to every variable of the view of ``cell`` unrolled over T steps (T up to 100 000).

    ``f`` is a node (``"L_4"``, ``"h_2"``) or the total loss ``"L"``; ``keep``
    names the view's variables (default: the recurrent states and the losses;
    ``cell.nodes`` for the full view).  The recursion is the path sum itself:
    N(f) = 1 and N(p) = Σ N(v) over the variables v that read p explicitly,
    taken from the latest step down.  Only node counts are propagated: a leaf
    (parameter, input, label) is read by nodes alone, so its count is the sum
    over its readers, formed when asked for.  Cost: O(T x node edges per step)
    big-integer additions, and no unrolled graph.
    """
    T = positive_int("T", T, maximum=MAX_T)
    net = network if network is not None else StepNetwork.of(cell, keep)
    f = _check_ref(cell, T, _parse(f), net.keep)
    lag = cell.max_lag
    nodes = list(cell.nodes)
    slot = {n: i for i, n in enumerate(nodes)}
    rows = [[0] * len(nodes) for _ in range(T + 1 + lag)]   # rows[t + lag][slot]: count at (name, t)
    extra: dict[NodeRef, int] = {f: 1}                       # f itself, and leaves read at boundary steps
    if f.t is None and f.name in cell.losses:                # the total L = Σ_t L_t
        for t in range(1, T + 1):
            for p, pt in ((f.name, t),) if f.name in net.keep else net.parents(f.name, t):
                _add(rows, extra, slot, lag, p, pt, 1)
        top = T
    elif f.t is not None and f.name in slot:
        rows[f.t + lag][slot[f.name]] = 1
        top = f.t
    else:
        top = 0                                              # f is a leaf: no paths below it

    # Steps from the top down; within a step, later nodes first, so every child has pushed before its parent.
    kept = [slot[n] for n in reversed(net.keep)]
    interior = {slot[n]: [(slot[p], lg) for p, lg in net.pattern[n] if lg is not None and p in slot]
                for n in net.keep}
    for t in range(top, 0, -1):
        row = rows[t + lag]
        for v in kept:
            c = row[v]
            if not c:
                continue
            if t >= net.t0:
                for ps, lg in interior[v]:
                    rows[t - lg + lag][ps] += c
            else:
                for p, pt in net.parents(nodes[v], t):
                    _add(rows, extra, slot, lag, p, pt, c)
    return PathCounts(f, T, net.keep, table=_Table(net, rows, top, extra))


def _add(rows, extra, slot, lag, p, pt, c):
    """Add c paths to the parent (p, pt): a node's row, or a leaf's direct count (boundary steps)."""
    if pt is not None and p in slot:
        rows[pt + lag][slot[p]] += c
    else:
        ref = NodeRef(p, pt)
        extra[ref] = extra.get(ref, 0) + c


def graph_path_counts(graph: Graph, f, keep=None) -> PathCounts:
    """The same counts by dynamic programming over the unrolled graph's view (any view, O(edges))."""
    view = graph.view(list(keep) if keep is not None else None)
    f = graph.node(f)
    if not view.is_variable(f):
        raise InvalidValue(f"{f} is folded into the edges of the view {view.keep}: it is not a variable")
    counts = {f: 1}
    order = [v for v in reversed(graph.order) if view.is_variable(v)]
    for v in order[order.index(f):]:
        c = counts.get(v)
        if c:
            for p in view.parents(v):
                counts[p] = counts.get(p, 0) + c
    keep_ = tuple(n for n in graph.cell.nodes if n in view.keep)
    return PathCounts(f, graph.T, keep_, counts)


def count(graph: Graph, f, x, keep=None) -> int:
    """Number of paths from f down to x in the view of ``graph`` (``path_counts`` when the view has a
    per-step pattern, else `graph_path_counts`)."""
    f, x = graph.node(f), graph.node(x)
    try:
        net = StepNetwork.of(graph.cell, keep)
    except NotSupported:
        return graph_path_counts(graph, f, keep)[x]
    return path_counts(graph.cell, graph.T, f, network=net)[x]


# ---------------------------------------------------------------------------
# The transfer matrix and the closed form
# ---------------------------------------------------------------------------
N_SYM = sp.Symbol("n", integer=True, positive=True)   # n = t - k, the distance below L_t
T_SYM = sp.Symbol("t", integer=True, positive=True)


@dataclass(frozen=True)
class ClosedForm:
    """N(L_t -> v_{t-n}) = Σ_i a_{v,i} λ_i^{n-1} for n >= 1; counts to parameters as functions of t.

    Attributes:
        eigenvalues: λ_i, the eigenvalues of the transfer matrix M (with multiplicity).
        charpoly: det(lam I - M), in the symbol ``lam``.
        recurrence: c with N(n + m) = Σ_{i<m} c_i N(n + i) for n >= 1 (Cayley-Hamilton;
            it holds for every node kind v, since N_v(n) = w_v M^(n-1) N(1)).
        coefficients: kept name -> (a_{v,1}, ..., a_{v,m}), exact.
        nodes: kept name -> the SymPy expression in ``n`` (valid for n >= 1).
        at_top: kept name -> N(L_t -> v_t) (n = 0).
        params: parameter -> SymPy expression in ``t``: the number of paths from L_t to it,
            Σ over its readers u of N(L_t -> u_t) + Σ_{n=1}^{t-1} N(L_t -> u_{t-n}).
    """

    eigenvalues: "tuple[sp.Expr, ...]"
    charpoly: sp.Expr
    recurrence: "tuple[int, ...]"
    coefficients: "dict[str, tuple[sp.Expr, ...]]"
    nodes: "dict[str, sp.Expr]"
    at_top: "dict[str, int]"
    params: "dict[str, sp.Expr]"

    def node_count(self, name: str, n: int) -> int:
        """The closed form evaluated exactly at n = t - k >= 0."""
        if n == 0:
            return self.at_top[name]
        return _as_int(self.nodes[name].subs(N_SYM, n))

    def param_count(self, param: str, t: int) -> int:
        """The closed form of N(L_t -> param), evaluated exactly."""
        return _as_int(self.params[param].subs(T_SYM, t))


def _as_int(e: sp.Expr) -> int:
    v = sp.nsimplify(sp.expand(sp.radsimp(sp.expand(e))))
    if not v.is_Integer:
        v = sp.simplify(v)
    if not v.is_Integer:
        raise NotSupported(f"the closed form did not reduce to an integer: {v}")
    return int(v)


@dataclass(frozen=True)
class Transfer:
    """N_k = M N_{k+1} on the counts N_k = (N(L_t -> v_k))_v at the recurrent variables (1 <= k <= t-2).

    Attributes:
        states: the kept names read at the next step (s, h for the LSTM): M's rows and columns.
        matrix: M, a SymPy integer matrix.
        within: kept name -> row vector w_v with N_k[v] = w_v N_k[states] for k < t.
        top: N(L_t -> v_t) for every kept name (the loss's own step).
        below: N(L_t -> v_{t-1}) at the states; M applies from here down.
        network: the `StepNetwork` it was read from.
    """

    states: "tuple[str, ...]"
    matrix: sp.Matrix
    within: "dict[str, sp.Matrix]"
    top: "dict[str, int]"
    below: sp.Matrix
    network: StepNetwork

    def counts(self, n: int) -> "dict[str, int]":
        """N(L_t -> v_{t-n}) for every kept name v, by powers of M (n >= 0)."""
        if n == 0:
            return dict(self.top)
        N = self.matrix ** (n - 1) * self.below
        return {v: int((self.within[v] * N)[0]) for v in self.network.keep}

    def count(self, t: int, x) -> int:
        """N(L_t -> x) for x a kept node ``(name, k)``, 1 <= k <= t, or a parameter: O(log t) integer matrix products.

        A parameter θ's count is Σ_k N(L_t -> u_k) over its readers u; the sum rides
        along as one extra coordinate: X(n+1) = [[M, 0], [r M, 1]] X(n), r = Σ_u w_u.
        """
        ref = _parse(x)
        m = len(self.states)
        M = [[int(self.matrix[i, j]) for j in range(m)] for i in range(m)]
        N1 = [int(v) for v in self.below]
        if ref.t is not None:
            n = t - ref.t
            if ref.name not in self.network.keep or not (0 <= n < t):
                raise InvalidValue(f"{ref} is not a kept node at a step 1..{t} of the view {self.network.keep}")
            if n == 0:
                return self.top[ref.name]
            N = _matvec(_matpow(M, n - 1), N1)
            return sum(int(w) * v for w, v in zip(self.within[ref.name], N))
        users = self.network.users.get(ref.name)
        if users is None:
            raise UnknownName("parameter", ref.name, list(self.network.users))
        head = sum(self.top[u] for u in users)
        if t == 1:
            return head
        r = [sum(int(self.within[u][j]) for u in users) for j in range(m)]
        rM = [sum(r[i] * M[i][j] for i in range(m)) for j in range(m)]
        A = [row + [0] for row in M] + [rM + [1]]
        X = _matvec(_matpow(A, t - 2), N1 + [sum(a * b for a, b in zip(r, N1))])
        return head + X[m]

    def closed_form(self) -> ClosedForm:
        """Diagonalise M = P diag(λ) P^-1, so N(n) = P diag(λ^(n-1)) P^-1 N(1); sum the series for parameters."""
        M, n, t = self.matrix, N_SYM, T_SYM
        try:
            P, D = M.diagonalize()
        except MatrixError as exc:
            raise NotSupported(f"the transfer matrix {M.tolist()} is not diagonalisable; use Transfer.counts") from exc
        lams = [sp.radsimp(D[i, i]) for i in range(D.rows)]
        w = P.inv() * self.below
        coeffs = {v: tuple(sp.radsimp(sp.expand((self.within[v] * P[:, i])[0] * w[i])) for i in range(len(lams)))
                  for v in self.network.keep}
        nodes = {v: sp.Add(*[a * lam ** (n - 1) for a, lam in zip(coeffs[v], lams)]) for v in self.network.keep}
        params = {}
        for p, users in self.network.users.items():
            expr = sp.Integer(sum(self.top[u] for u in users))
            for i, lam in enumerate(lams):                    # Σ_{n=1}^{t-1} a λ^(n-1)
                a = sum((coeffs[u][i] for u in users), sp.Integer(0))
                if lam == 1:
                    expr += a * (t - 1)
                elif a != 0:
                    expr += sp.radsimp(a / (lam - 1)) * (lam ** (t - 1) - 1)
            params[p] = expr
        lam_ = sp.Symbol("lam")
        cp = M.charpoly(lam_)
        rec = tuple(int(-c) for c in reversed(cp.all_coeffs()[1:]))
        return ClosedForm(tuple(lams), cp.as_expr(), rec, coeffs, nodes, dict(self.top), params)


def transfer(cell: Cell, keep=None) -> Transfer:
    """The per-step transfer matrix of path counts from L_t, read off the cell's view.

    Within a step k < t the counts satisfy N_k = A N_k + B N_{k+1} (A: children in
    the same step, B: children one step later); solving the non-recurrent rows
    for the recurrent ones gives N_k[R] = M N_{k+1}[R].  Requires one loss and a
    view whose edges reach back one step at most.
    """
    if len(cell.losses) != 1:
        raise NotSupported(f"cell {cell.name!r} has {len(cell.losses)} losses; the transfer matrix needs one")
    net = StepNetwork.of(cell, keep)
    keep_ = net.keep
    if cell.losses[0] not in keep_:
        raise NotSupported("the loss L_t is folded in this view; keep it to count paths from L_t")
    if any(lag not in (0, 1, None) for v in keep_ for _, lag in net.pattern[v]):
        raise NotSupported(f"the view {keep_} has edges across more than one step; only lag 1 has a 1-step transfer")
    idx = {v: i for i, v in enumerate(keep_)}
    m = len(keep_)
    A, B = sp.zeros(m, m), sp.zeros(m, m)
    for c in keep_:
        for p, lag in net.pattern[c]:
            if p in idx and lag == 0:
                A[idx[p], idx[c]] = 1     # N_k[p] gets N_k[c]
            elif p in idx and lag == 1:
                B[idx[p], idx[c]] = 1     # N_k[p] gets N_{k+1}[c]
    states = tuple(v for v in keep_ if any(B[idx[v], j] for j in range(m)))
    if not states:
        raise NotSupported(f"no node of the view {keep_} is read at the next step")
    R = [idx[v] for v in states]
    nR = [idx[v] for v in keep_ if v not in states]
    # Non-recurrent rows, k < t: N[nR] = A[nR, nR] N[nR] + A[nR, R] N[R]  =>  N[nR] = H N[R].
    H = (sp.eye(len(nR)) - A.extract(nR, nR)).inv() * A.extract(nR, R) if nR else sp.zeros(0, len(R))
    Q = sp.zeros(m, len(R))                                  # N = Q N[R]
    for j, r in enumerate(R):
        Q[r, j] = 1
    for i, r in enumerate(nR):
        Q[r, :] = H[i, :]
    # Recurrent rows: N_k[R] = A[R, :] Q N_k[R] + B[R, :] Q N_{k+1}[R].
    M = (sp.eye(len(R)) - A.extract(R, list(range(m))) * Q).inv() * B.extract(R, list(range(m))) * Q
    within = {v: Q[idx[v], :] for v in keep_}
    # The loss's own step from the exact counts of a 2-step unrolling (L_2 -> step 2 and step 1).
    probe = path_counts(cell, 2, NodeRef(cell.losses[0], 2), network=net)
    top = {v: probe[NodeRef(v, 2)] for v in keep_}
    below = sp.Matrix([probe[NodeRef(v, 1)] for v in states])
    return Transfer(states, M, within, top, below, net)


def _matmul(A: "list[list[int]]", B: "list[list[int]]") -> "list[list[int]]":
    return [[sum(a * b for a, b in zip(row, col)) for col in zip(*B)] for row in A]


def _matvec(A: "list[list[int]]", v: "list[int]") -> "list[int]":
    return [sum(a * b for a, b in zip(row, v)) for row in A]


def _matpow(A: "list[list[int]]", e: int) -> "list[list[int]]":
    """A^e by repeated squaring (e >= 0), exact integers."""
    out = [[int(i == j) for j in range(len(A))] for i in range(len(A))]
    while e:
        if e & 1:
            out = _matmul(out, A)
        A = _matmul(A, A)
        e >>= 1
    return out
