"""Exact path counts in the LSTM's dependency graph for T in {10, 100, 1000, 10000}.

Counts the paths from L_T to s_1, h_1 and W_f in the slide's full view (three
gates and three states per step) three ways, and checks they agree:

- ``dp``: `derive.prove.paths.path_counts`, the dynamic programme over the cell's
  per-step pattern (every variable's count at once; no unrolled graph);
- ``power``: `derive.prove.paths.Transfer.count`, powers of the 2 x 2 transfer matrix
  [[4, 1], [3, 1]] by repeated squaring (one count at a time);
- ``graph``: unroll the graph, then `derive.prove.canon.count_paths` (atomic paths,
  which in the full view are the view's paths), up to ``--graph-max-T``.

Run:  python bench/bench_paths.py [--graph-max-T 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from derive import count_paths, unroll
from derive.cells.lstm import lstm
from derive.prove.paths import StepNetwork, path_counts, transfer

FULL = ("o", "i", "f", "s_tilde", "s", "h", "y", "L")
TARGETS = ("s_1", "h_1", "W_f")


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graph-max-T", type=int, default=1000, help="largest T for the unrolled-graph count")
    ap.add_argument("--repeat", type=int, default=3, help="timings are medians over this many runs")
    args = ap.parse_args(argv)

    cell = lstm()
    net = StepNetwork.of(cell, FULL)
    tr = transfer(cell, FULL)
    print(f"LSTM, full view {FULL}; transfer matrix on (s, h): {tr.matrix.tolist()}")
    print(f"{'T':>6} {'dp (s)':>9} {'power (s)':>10} {'graph (s)':>10}  bits of N(L_T -> s_1), N(-> h_1), N(-> W_f)")
    for T in (10, 100, 1000, 10_000):
        def dp():
            counts = path_counts(cell, T, f"L_{T}", network=net)
            return [counts[x] for x in TARGETS]

        t_dp, by_dp = timed(dp, args.repeat)
        t_pow, by_pow = timed(lambda: [tr.count(T, x) for x in TARGETS], args.repeat)
        assert by_dp == by_pow, f"T={T}: dp and transfer-matrix powers disagree"
        graph = "-"
        if T <= args.graph_max_T:
            def on_graph():
                g = unroll(cell, T)
                return [count_paths(g, g[f"L_{T}"], g.node(x)) for x in TARGETS]

            t_graph, by_graph = timed(on_graph, 1)
            assert by_graph == by_dp, f"T={T}: the unrolled graph's count disagrees"
            graph = f"{t_graph:10.4f}"
        bits = ", ".join(str(n.bit_length()) for n in by_dp)
        print(f"{T:>6} {t_dp:9.4f} {t_pow:10.5f} {graph:>10}  {bits}")


if __name__ == "__main__":
    main()
