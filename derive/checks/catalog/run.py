"""verify: every claim that should hold, every correction, every derivation of proofs/; the CLI commands."""

from __future__ import annotations

import sys
import time

from derive.errors import InvalidValue, UnknownName
from ..verify import CheckResult, Report, verify
from .audit import ClaimResult, _check, audit
from .checks import AuditConfig
from derive.checks.catalog.checks import Run
from .claims import Claim, _matches, load_claims
from .report import audit_junit, format_table, results_to_json, to_json, to_junit


def collect_derivations(pattern: "str | None" = None) -> "list":
    """Every `Derivation` of every ``proofs.*`` module with ``derivations()`` (see `derive.content`)."""
    from derive.content import collect_derivations as collect

    return [d for d in collect() if _matches(d.id, pattern)]


def verify_all(pattern: "str | None" = None, *, claims: "list[Claim] | None" = None,
               derivations: "list | None" = None, config: "AuditConfig | None" = None,
               jobs: int = 1) -> "list[CheckResult]":
    """Run every derivation in proofs/, every catalog claim expected to hold and every correction.

    Returns `derive.checks.verify.CheckResult` objects (``derivation`` is the
    derivation or claim id); a pending claim gives one result with method
    "skipped" (passed).  ``pattern`` selects ids as ``-k`` does.  ``jobs > 1``
    (with the default ``claims`` and ``derivations``) checks one proofs module
    or one lecture of the catalog per worker process; the results come back in
    the same order as with ``jobs=1``.
    """
    if jobs > 1 and claims is None and derivations is None:
        return _verify_parallel(pattern, config, jobs)
    results: list[CheckResult] = []
    for d in (collect_derivations(pattern) if derivations is None else derivations):
        results.extend(verify(d).results)
    run = Run(config or AuditConfig())
    for claim in (load_claims() if claims is None else claims):
        todo = []
        if claim.expected in ("holds", "holds_simplified") and _matches(claim.id, pattern):
            todo.extend(_what_holds(claim))
        if claim.correction is not None and _matches(claim.correction.id, pattern):
            todo.extend(_what_holds(claim.correction))
        for c in todo:
            results.extend(_as_check_results(_check(c, run)))
    return results


def _what_holds(claim: Claim) -> "list[Claim]":
    """The statements of a claim that must hold: itself, or for an announced simplification its special case."""
    if claim.judged == "holds_simplified":
        return [claim.simplified] if claim.simplified is not None else []
    return [claim]


def _groups() -> "list[tuple[str, str]]":
    """Units of work: ("derivations", proofs module) and ("claims", catalog lecture module)."""
    from derive.content import claim_modules, proof_modules

    return ([("derivations", m.__name__) for m in proof_modules()]
            + [("claims", m.__name__) for m in claim_modules()])


def _verify_group(group: "tuple[str, str]", pattern, config) -> "list[CheckResult]":
    import importlib

    kind, name = group
    mod = importlib.import_module(name)
    if kind == "derivations":
        return verify_all(pattern, claims=[], derivations=[d for d in mod.derivations() if _matches(d.id, pattern)])
    return verify_all(pattern, claims=mod.claims(), derivations=[], config=config)


def _verify_parallel(pattern, config, jobs: int) -> "list[CheckResult]":
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    groups = _groups()
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        ctx = None
    if ctx is None or mp.current_process().daemon:  # a daemon (a pool worker) may not start processes
        return [r for g in groups for r in _verify_group(g, pattern, config)]
    # Long groups first, so that the short ones fill the workers' last gaps: the catalog's groups hold the
    # counterexample searches.  The results come back in the order of `_groups`, whatever the order of work.
    order = sorted(range(len(groups)), key=lambda i: groups[i][0] != "claims")
    with ProcessPoolExecutor(max_workers=min(jobs, len(groups)), mp_context=ctx) as pool:
        futures = {i: pool.submit(_verify_group, groups[i], pattern, config) for i in order}
        return [r for i in range(len(groups)) for r in futures[i].result()]


def _as_check_results(r: ClaimResult) -> "list[CheckResult]":
    cid = r.claim.id
    if r.verdict in ("pending", "not_checkable"):
        return [CheckResult(cid, 0, "skipped", True, f"{r.verdict}: {r.reason}")]
    if r.verdict == "error":
        return [CheckResult(cid, 0, "error", False, r.reason)]
    out = [CheckResult(cid, 0, c.method, c.passed, c.detail, c.where_text(), c.seconds, c.reference, c.verdict)
           for c in r.checks]
    if r.verdict == "fails" and all(c.passed for c in r.checks):  # pragma: no cover - defensive
        out.append(CheckResult(cid, 0, "verdict", False, "fails"))
    return out


def main_verify(pattern: "str | None" = None, fmt: str = "text", out=None, *, jobs: "int | None" = None) -> int:
    """``derive verify [-k PATTERN] [--format text|json|junit]``: 0 all hold, 1 any fails, 2 bad usage.

    ``jobs``: worker processes (default: the number of CPUs).  Bad usage raises
    a `DeriveError` naming the problem (the CLI turns it into exit code 2).
    """
    import os

    out = out or sys.stdout
    if fmt not in ("text", "json", "junit"):
        raise UnknownName("output format", fmt, ("text", "json", "junit"))
    t0 = time.perf_counter()
    results = verify_all(pattern, jobs=jobs or os.cpu_count() or 1)
    if not results:
        raise InvalidValue(f"no derivation or claim id matches -k {pattern!r}")
    if fmt == "json":
        out.write(results_to_json(results) + "\n")
    elif fmt == "junit":
        out.write(to_junit(results))
    else:
        for r in results:
            if not r.passed:
                out.write(f"{r}\n")
        report = Report([r for r in results if r.method != "skipped"])
        skipped = [r.derivation for r in results if r.method == "skipped"]
        out.write(f"{report.summary()}, {len(skipped)} skipped"
                  f"{' (' + ', '.join(skipped) + ')' if skipped else ''} in {time.perf_counter() - t0:.1f} s\n")
    return 0 if all(r.passed for r in results) else 1


def main_audit(pattern: "str | None" = None, fmt: str = "table", out=None, *, expected: bool = False) -> int:
    """``derive audit [-k PATTERN] [--format table|json|junit]``.

    Exit code: 0 when every selected claim holds (or is not checkable / pending)
    and every correction holds, 1 when any claim fails or errs, 2 for bad usage
    (unknown format, a pattern matching no claim).  ``expected=True`` exits 0
    when every verdict is the one the catalog expects (for CI).
    """
    out = out or sys.stdout
    if fmt not in ("table", "json", "junit"):
        raise UnknownName("output format", fmt, ("table", "json", "junit"))
    claims = load_claims(pattern)
    if not claims:
        raise InvalidValue(f"no claim id matches -k {pattern!r}")
    report = audit(claims)
    if fmt == "junit":
        out.write(audit_junit(report))
    else:
        out.write((to_json(report) if fmt == "json" else format_table(report)) + "\n")
    return 0 if (report.as_expected if expected else report.ok) else 1
