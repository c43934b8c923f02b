"""`derive verify` (every derivation, claim and correction) with the old and the new numeric machinery.

Each mode runs in its own process (the caches are per process), one worker,
so the ratio measures the work, not the parallelism:

- ``old``: local-Jacobian cache keyed by the cell object's id (misses: every
  derivation builds a new cell), a new unrolled graph per derivation and size,
  numbers from lambdified element-level SymPy Jacobians (`derive.prove.local`);
- ``new``: caches keyed by the cell's structure (`derive.numeric.evaluator.cell_fingerprint`)
  and sizes, one unrolled graph per (structure, T, sizes), numbers from the
  vector-level rules of `derive.model.ir.jacobian`.

Both must give the same number of checks and the same failures; the script
says so, and prints the wall times and their ratio side by side.  With
``--before REV`` a third row runs the ``new`` mode of ``git archive REV``
(e.g. the revision before a change) in the same run, so a change to the
whole pipeline (the exact check's linear-time canonical forms, issue 14
item 5a) is measured against its predecessor under the same load.

With ``--scaling`` it instead times the new mode with one worker and with one per
CPU side by side (issue 14 item 5: `derive verify` uses worker processes only
because this ratio says they pay).

Run:  python bench/bench_verify.py [-k PATTERN] [--repeat 1] [--jobs 1] [--before REV] [--scaling]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)  # this tree's derive and proofs, not an installed copy


def child(mode: str, pattern, jobs: int) -> None:
    from derive.numeric import evaluator as numeric

    numeric.CACHE["enabled"] = mode == "new"
    numeric.VECTOR_JACOBIANS["enabled"] = mode == "new"
    from derive.checks.catalog.run import verify_all

    t0 = time.perf_counter()
    results = verify_all(pattern, jobs=jobs)
    dt = time.perf_counter() - t0
    print(json.dumps({"seconds": dt, "checks": len(results),
                      "failed": sorted(f"{r.derivation}:{r.step}:{r.method}:{r.where}" for r in results if not r.passed)}))


def run(mode: str, pattern, jobs: int, tree: str = HERE) -> dict:
    script = os.path.join(tree, "bench", "bench_verify.py")
    cmd = [sys.executable, script, "--child", mode, "--jobs", str(jobs)]
    if pattern:
        cmd += ["-k", pattern]
    out = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", dest="pattern", default=None)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--child", choices=("old", "new"), default=None)
    ap.add_argument("--before", default=None, metavar="REV", help="also time the new mode of this git revision")
    ap.add_argument("--scaling", action="store_true", help="time 1 worker against one per CPU (new mode)")
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.pattern, args.jobs)
        return
    if args.scaling:
        cpus = os.cpu_count() or 1
        one = [run("new", args.pattern, 1) for _ in range(args.repeat)]
        many = [run("new", args.pattern, cpus) for _ in range(args.repeat)]
        a, b = (statistics.median(r["seconds"] for r in rs) for rs in (one, many))
        print(f"derive verify (new), median of {args.repeat}: 1 worker {a:.2f} s, {cpus} workers {b:.2f} s, "
              f"speed-up {a / b:.2f}x; checks {one[0]['checks']} and {many[0]['checks']}, "
              f"failures {len(one[0]['failed'])} and {len(many[0]['failed'])}")
        return
    rows = {}
    with tempfile.TemporaryDirectory() as before_tree:
        trees = {"old": HERE, "new": HERE}
        if args.before:
            archive = subprocess.run(["git", "archive", args.before], cwd=HERE, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", before_tree], input=archive, check=True)
            trees = {"before": before_tree, **trees}
        for mode, tree in trees.items():
            runs = [run("new" if mode == "before" else mode, args.pattern, args.jobs, tree) for _ in range(args.repeat)]
            rows[mode] = (statistics.median(r["seconds"] for r in runs), runs[0])
    old, new = rows["old"], rows["new"]
    print(f"derive verify, {args.jobs} worker(s), median of {args.repeat}"
          + (f", -k {args.pattern}" if args.pattern else ""))
    print(f"{'mode':<6}{'checks':>8}{'failed':>8}{'seconds':>10}")
    for mode, (sec, r) in rows.items():
        print(f"{mode:<6}{r['checks']:>8}{len(r['failed']):>8}{sec:>10.2f}")
    print(f"speed-up old/new: {old[0] / new[0]:.1f}x")
    if "before" in rows:
        before = rows["before"]
        print(f"before = {args.before} (new mode); speed-up before/new: {before[0] / new[0]:.2f}x; checks "
              f"{before[1]['checks']} -> {new[1]['checks']}, failures {len(before[1]['failed'])} -> {len(new[1]['failed'])}")
    same = old[1]["checks"] <= new[1]["checks"] and old[1]["failed"] == new[1]["failed"]
    print("same checks and failures" if old[1]["checks"] == new[1]["checks"] and same else
          f"DIFFERENT: old {old[1]['checks']} checks, new {new[1]['checks']}; failures old {old[1]['failed'][:3]} "
          f"new {new[1]['failed'][:3]}")


if __name__ == "__main__":
    main()
