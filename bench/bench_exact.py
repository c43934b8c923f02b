"""The exact check's cost in T (issue 14, item 5a): this tree against an older revision, side by side, one run.

Run:  python bench/bench_exact.py [--old REV] [--limit SECONDS] [--quick]

Two claims, each measured in a fresh process (no cache survives), CPU seconds:

- ``bptt_form``: ∂L_t/∂W = ∂L_t/∂s_t Σ_{k=1}^{t} ∂s_t/∂s_k ∂⁺s_k/∂W for the RNN at t = T,
  `verify(..., numeric=False)` (unrolling, canonical path sums, comparison);
- ``recursive_expansion``: `recursive_expansion(unroll(rnn(), T), s_T, W)` built and
  every line verified exactly (T + 3 lines, each claimed equal to ∂s_T/∂W).

The old algorithm is the same script run on ``git archive REV`` (default: the
revision before the linear-time work) with a time limit; "refused" means the
old code would not build the expansion (its 256-term limit); after the old
code's first timeout its larger T are not run.  Each row gives
the ratio old/new and, per doubling of T, the growth of the new time (2 for
O(T), 4 for O(T²)).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = "e2a9952"   # the revision before issue 14 item 5a

MEASURE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from derive import D, Derivation, Step, bptt_form, idx, node, recursive_expansion, unroll, verify
from derive.cells import rnn
what, T = sys.argv[2], int(sys.argv[3])
t0 = time.process_time()
try:
    if what == "bptt_form":
        d = Derivation("b", "b", "", rnn(), D(node("L", idx("t")), node("W")), [Step(bptt_form(rnn(), "W"))],
                       bindings=[{"t": T, "T": T}])
    else:
        d = recursive_expansion(unroll(rnn(), T), f"s_{T}", "W")
    r = verify(d, numeric=False)
    out = {"seconds": time.process_time() - t0, "ok": r.ok, "checks": len(r.results)}
except Exception as exc:  # the old code refuses large expansions
    out = {"refused": f"{type(exc).__name__}: {str(exc)[:60]}"}
print(json.dumps(out))
"""


def measure(tree: str, what: str, T: int, limit: float) -> dict:
    try:
        out = subprocess.run([sys.executable, "-c", MEASURE, tree, what, str(T)], capture_output=True, text=True,
                             timeout=limit, cwd=tree)
    except subprocess.TimeoutExpired:
        return {"timeout": limit}
    if out.returncode != 0:
        return {"refused": (out.stderr.strip().splitlines() or ["?"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def cell(r: dict) -> str:
    if "seconds" in r:
        return f"{r['seconds']:9.3f}" + ("" if r["ok"] else " FAIL")
    if "timeout" in r:
        return f"{'> ' + str(int(r['timeout'])) + ' s':>9}"
    if "skipped" in r:
        return f"{'(not run)':>9}"
    return f"{'refused':>9}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default=OLD, help="git revision of the old algorithm")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per old measurement")
    ap.add_argument("--quick", action="store_true", help="smaller T")
    args = ap.parse_args(argv)
    plans = {"bptt_form": [250, 500, 1000, 2000, 4000], "recursive_expansion": [64, 128, 256, 512, 1000]}
    if args.quick:
        plans = {"bptt_form": [250, 500, 1000], "recursive_expansion": [32, 64, 128]}
    with tempfile.TemporaryDirectory() as old_tree:
        archive = subprocess.run(["git", "archive", args.old], cwd=HERE, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old_tree], input=archive, check=True)
        print(f"exact check, CPU seconds, each in a fresh process; old = {args.old}, new = this tree")
        for what, Ts in plans.items():
            print(f"\n{what}")
            print(f"{'T':>6} {'old':>9} {'new':>9} {'old/new':>8} {'new x per doubling':>19}")
            prev, old_out = None, False
            for T in Ts:
                new = measure(HERE, what, T, 600.0)
                old = {"skipped": True} if old_out else measure(old_tree, what, T, args.limit)
                old_out = old_out or "seconds" not in old
                ratio = f"{old['seconds'] / new['seconds']:8.1f}" if "seconds" in old and "seconds" in new else f"{'-':>8}"
                growth = "" if prev is None or "seconds" not in new else \
                    f"{(new['seconds'] / prev) ** (1 / math.log2(T / prev_T)):19.2f}"
                print(f"{T:6d} {cell(old)} {cell(new)} {ratio} {growth}", flush=True)
                if "seconds" in new:
                    prev, prev_T = new["seconds"], T


if __name__ == "__main__":
    main()
