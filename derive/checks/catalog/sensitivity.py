"""Sensitivity: mutate correct claims, every mutant must be caught."""

from __future__ import annotations

from derive.errors import DeriveError
from .audit import _check
from .checks import FAST, AuditConfig
from derive.checks.catalog.checks import Run
from .claims import Claim, load_claims


MUTATION_KINDS = ("dropped term", "swapped factor order", "shifted index", "wrong bound constant",
                  "transposed dimension")


def mutation_report(claims: "list[Claim] | None" = None, *, config: AuditConfig = FAST) -> dict:
    """Deliberately wrong variants of every claim that holds; how many does the audit catch?

    Returns ``{"mutants": n, "killed": k, "kill_rate": k/n, "by_kind": {kind: [killed, total]},
    "survivors": [(claim id, kind, meaning)], "results": [(claim id, kind, verdict)]}``.
    A mutant is killed when its verdict is "fails" (an "error" counts as killed
    too: the engine refused it, e.g. a shape error, and says so).
    """
    claims = load_claims() if claims is None else claims
    run = Run(config)
    by_kind = {k: [0, 0] for k in MUTATION_KINDS}
    results, survivors = [], []
    for claim in claims:
        base = [claim] if claim.expected == "holds" else []
        base += [claim.correction] if claim.correction is not None else []
        for c in base:
            try:
                meaning = c.build()
                mutants = meaning.mutants(c.notation) if meaning is not None else []
            except (DeriveError, ImportError):
                continue
            for kind, m in mutants:
                mc = Claim(f"{c.id}~{kind.replace(' ', '-')}", c.source, c.notation, m, statement=m.text(),
                           kind=c.kind)
                r = _check(mc, run)
                killed = r.verdict in ("fails", "error")
                by_kind.setdefault(kind, [0, 0])
                by_kind[kind][0] += killed
                by_kind[kind][1] += 1
                results.append((c.id, kind, r.verdict))
                if not killed:
                    survivors.append((c.id, kind, r.meaning or m.text()))
    n = sum(t for _, t in by_kind.values())
    k = sum(x for x, _ in by_kind.values())
    return {"mutants": n, "killed": k, "kill_rate": (k / n) if n else 1.0, "by_kind": by_kind,
            "survivors": survivors, "results": results}
