"""Benchmark the bound checks and the figures (a script, not a test): ``python bench/bench_bounds.py``.

Prints:

1. gamma proofs (SymPy, first call, uncached) for every registered activation;
2. the Module 14.4 bound chain on 10 000 seeded instances (d = 4, T = 16), per
   activation: time to draw the instances and time to check all seven claims
   (target: well under 5 s), with the tightness summary;
3. the time to build every figure (PDF + PNG) into a temporary directory, per
   figure and in total.

Medians of ``--repeats`` runs (default 3) for the timed parts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from derive import activations  # noqa: E402
from derive import bounds  # noqa: E402
from derive.render.figures import FIGURES, build_figures  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--instances", type=int, default=10_000)
    args = parser.parse_args(argv)

    print("1. gamma = sup sigma' by symbolic maximisation")
    for name in activations.names():
        res, dt = timed(lambda: bounds.gamma(name))
        print(f"   {name:<10} gamma = {str(res.value):<6} at {str(res.argmax):<22} {dt * 1e3:7.1f} ms")

    print(f"\n2. bound chain on {args.instances} instances (d = 4, T = 16); target < 5 s")
    for name in ("tanh", "logistic"):
        make, check = [], []
        for r in range(args.repeats):
            inst, dt = timed(lambda: bounds.make_instances(name, args.instances, seed=r))
            make.append(dt)
            report, dt = timed(lambda: bounds.check_bound_chain(inst))
            check.append(dt)
        total = statistics.median(make) + statistics.median(check)
        print(f"   {name}: draw {statistics.median(make):.2f} s + check {statistics.median(check):.2f} s "
              f"= {total:.2f} s  ({'ok' if total < 5 else 'OVER TARGET'})")
        print("   " + report.summary().replace("\n", "\n   "))

    print("\n3. figures (PDF + PNG)")
    with tempfile.TemporaryDirectory() as tmp:
        totals = []
        for r in range(args.repeats):
            per = {}
            for spec in FIGURES:
                _, per[spec.id] = timed(lambda: build_figures(tmp, ids=[spec.id]))
            totals.append(sum(per.values()))
            if r == 0:
                for fig_id, dt in per.items():
                    print(f"   {fig_id:<22} {dt:.2f} s")
        print(f"   all figures: median {statistics.median(totals):.2f} s over {args.repeats} runs")


if __name__ == "__main__":
    main()
