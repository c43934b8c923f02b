"""Benchmark of the core engine (issue 2): graph, path-sum form, exact and numeric verification vs brute force.

Run:  python bench/bench_core.py [--quick]

Prints, for T in {4, 8, 16, 64, 256, 1000}: the time to unroll the RNN, to
produce the short-circuited path-sum form of ∂s_T/∂W, to verify it exactly
(canonical path sums, d-independent) and numerically (d = 8: the lambdified
SymPy Jacobians combined as the form says, against the engine's reverse
accumulation), and, beside them, brute-force SymPy: differentiating the fully
unrolled element-level s_T (d = 2) w.r.t. every entry of W, in a subprocess
with a 60 s limit, for the T where it finishes.  Ratios are measured in this run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from derive import Canon, D, Evaluator, Instance, node, short_circuit, unroll  # noqa: E402
from derive.cells import rnn  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def brute_force(T: int, queue) -> None:
    """Fully unrolled element-level s_T at d = n = 2, differentiated by SymPy w.r.t. every W_qr."""
    import sympy as sp

    from derive.prove.local import element_symbols

    cell = rnn()
    g = unroll(cell, T, {"n": 2, "d": 2, "k": 2})
    t0 = time.perf_counter()
    values = {}
    for ref, info in g.nodes.items():
        if info.kind in ("param", "input", "label", "init"):
            values[ref] = element_symbols(f"{ref.name}{ref.t or ''}", 0, info.shape)
    for ref, info in g.nodes.items():
        if info.kind == "node" and ref.name in ("a", "s"):
            env = {key: values[src] for key, src in info.inputs}
            values[ref] = info.expr.lower(env)
    sT = values[node("s", T)]
    Wsyms = list(values[node("W")])
    J = [sp.diff(e, w) for e in sT for w in Wsyms]
    queue.put((time.perf_counter() - t0, sum(sp.count_ops(e) for e in J)))


def brute_force_time(T: int, limit: float):
    q = mp.Queue()
    p = mp.Process(target=brute_force, args=(T, q))
    p.start()
    p.join(limit)
    if p.is_alive():
        p.terminate()
        p.join()
        return None
    return q.get()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T up to 64 and a 10 s brute-force limit")
    args = ap.parse_args()
    Ts = [4, 8, 16, 64] if args.quick else [4, 8, 16, 64, 256, 1000]
    limit = 10.0 if args.quick else 60.0
    W = node("W")
    print(f"{'T':>5} {'unroll':>8} {'form':>8} {'exact':>8} {'numeric':>8} {'brute':>9} {'brute/exact':>12}")
    brute_done = False
    cell = rnn()
    for T in Ts:
        g, t_graph = timed(lambda: unroll(cell, T, {"n": 8, "d": 8, "k": 8}))
        sT = node("s", T)
        form, t_form = timed(lambda: short_circuit(g, sT, W))

        def exact():
            C = Canon(g, g.view())
            assert C.of(form) == C.of(D(sT, W))
        _, t_exact = timed(exact)

        def numeric():
            ev = Evaluator(g, Instance.random(g, 0))
            got, want = ev.evaluate(form), ev.total(sT, W)
            err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
            assert err < 1e-9, err
        if T == Ts[0]:
            numeric()  # derive and lambdify the d = 8 local Jacobians once (cached), outside the timing
        _, t_num = timed(numeric)
        t_brute = None if brute_done else brute_force_time(T, limit)
        if t_brute is None:
            brute_done = True
        ratio = f"{t_brute / t_exact:12.0f}" if t_brute else f"{'> ' + str(int(limit)) + ' s':>12}"
        brute = f"{t_brute:9.2f}" if t_brute else f"{'-':>9}"
        print(f"{T:5d} {t_graph:8.3f} {t_form:8.3f} {t_exact:8.3f} {t_num:8.3f} {brute} {ratio}", flush=True)
    print("times in seconds; exact = canonical path sums (any d); numeric at d = 8; brute force at d = 2")


if __name__ == "__main__":
    main()
