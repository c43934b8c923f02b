"""Benchmark the lecture catalog (a script, not a test): ``python bench/bench_audit.py [--jobs N]``.

Prints, each in a fresh process so that no cache is shared between them:

1. ``derive verify``: wall time of `verify_all` over the catalog's claims that
   should hold and their corrections, over the derivations of proofs/, and
   both together (with ``--jobs`` worker processes, default the CPU count);
2. ``derive audit``: wall time of `audit` over the whole catalog, per-claim
   time (claim and correction) and the ten slowest claims;
3. the mutation report (kill rate, mutants by kind) and its wall time.

Cold caches are part of the measure: the first claim of each cell pays for
SymPy's lambdified local Jacobians, as a user's first run does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _verify(part: str, jobs: int):
    from derive.checks.catalog import verify_all

    t0 = time.perf_counter()
    if part == "claims":
        results = verify_all(derivations=[])
    elif part == "derivations":
        results = verify_all(claims=[])
    else:
        results = verify_all(jobs=jobs)
    return time.perf_counter() - t0, len(results), sum(not r.passed for r in results)


def _audit():
    from derive.checks.catalog import audit

    report = audit()
    rows = [(r.seconds, r.claim.id, r.verdict) for r in report.results]
    return report.seconds, rows, report.summary()


def _mutations():
    from derive.checks.catalog import mutation_report

    t0 = time.perf_counter()
    rep = mutation_report()
    return time.perf_counter() - t0, rep["mutants"], rep["killed"], rep["by_kind"]


WORKERS = {"verify": _verify, "audit": _audit, "mutations": _mutations}


def fresh(name: str, *args):
    """Run a worker in a new interpreter and return its result: cold caches every time."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", name, *map(str, args)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes for verify")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        name, *rest = args.worker
        fn_args = [rest[0], int(rest[1])] if name == "verify" else []
        print(json.dumps(WORKERS[name](*fn_args)))
        return

    print("== derive verify (fresh process each) ==")
    for part in ("claims", "derivations", "all"):
        secs, n, failed = fresh("verify", part, args.jobs)
        label = {"claims": "catalog claims (hold + corrections)", "derivations": "proofs/ derivations",
                 "all": f"everything, --jobs {args.jobs}"}[part]
        print(f"  {label:<40} {secs:6.2f} s   {n:5d} checks, {failed} failed")

    print("\n== derive audit (whole catalog, fresh process) ==")
    secs, rows, summary = fresh("audit")
    times = [r[0] for r in rows]
    print(f"  {summary['claims']} claims in {secs:.2f} s: {summary['holds']} hold, {summary['fails']} fail, "
          f"{summary['not_checkable']} not checkable, {summary['pending']} pending, {summary['error']} errors")
    print(f"  per claim: median {statistics.median(times) * 1e3:.1f} ms, mean {statistics.mean(times) * 1e3:.1f} ms, "
          f"max {max(times) * 1e3:.0f} ms")
    print("  slowest ten (claim + its correction; the first claim of a cell pays for its lambdified Jacobians):")
    for secs_, ident, verdict in sorted(rows, reverse=True)[:10]:
        print(f"    {secs_ * 1e3:8.1f} ms  {ident:<26} {verdict}")

    print("\n== mutation report (fresh process) ==")
    secs, n, killed, by_kind = fresh("mutations")
    print(f"  {killed}/{n} mutants killed ({killed / n:.1%}) in {secs:.2f} s: "
          + ", ".join(f"{k} {a}/{b}" for k, (a, b) in by_kind.items()))


if __name__ == "__main__":
    main()
