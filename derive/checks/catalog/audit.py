"""The audit: every claim as printed -> holds / holds_simplified / fails / transcription / not checkable /
pending / error.

A claim's checks give holds or fails; its judgement (`Claim.judged`) then tells a failure apart:

- ``transcription``: the printed text fails, the reconstruction (``correction``) holds: the transcript
  garbled the slide (the evidence is in ``Claim.evidence``);
- ``holds_simplified``: the printed text fails as stated, and the special case the lecturer announced
  (``Claim.simplified``, or without one the d = 1 special case of the check) holds.

A judgement the checks do not bear out is not applied: the verdict stays what the checks say.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

from derive.errors import DeriveError, UnknownName
from .checks import AuditConfig, Check, Counterexample, _jsonable, _Outcome, _Run
from .claims import VERDICTS, Claim, _matches, load_claims

# A correction or an announced special case is good when it holds (a reconstruction may itself be a
# statement that holds with the simplification its lecture announced).
GOOD = ("holds", "holds_simplified")
from .evaluate import _Pending


_HOW = {"exact": "exact", "labels": "exact", "arithmetic": "exact", "symbolic": "symbolic", "shape": "symbolic",
        "numeric": "numeric"}


@dataclass
class ClaimResult:
    """The verdict on one claim, the checks behind it, and the checked correction."""

    claim: Claim
    verdict: str
    how: "list[str]" = field(default_factory=list)
    meaning: str = ""
    checks: "list[Check]" = field(default_factory=list)
    counterexample: "Counterexample | None" = None
    special_case: str = ""
    reason: str = ""
    correction: "ClaimResult | None" = None
    seconds: float = 0.0
    sides: tuple = ()
    simplified: "ClaimResult | None" = None

    @property
    def kind(self) -> str:
        """The kind of verdict: one of `VERDICTS` (holds, holds_simplified, fails, transcription, ...)."""
        if self.verdict not in VERDICTS:  # pragma: no cover - every verdict is set from VERDICTS
            raise UnknownName("verdict", self.verdict, VERDICTS)
        return self.verdict

    @property
    def evidence(self) -> str:
        return self.claim.evidence

    @property
    def unexpected(self) -> bool:
        """The verdict differs from what the catalog expects (or the correction does not hold)."""
        if self.claim.expected is not None and self.verdict != self.claim.expected:
            return True
        return self.correction is not None and self.correction.verdict not in GOOD

    def as_dict(self, nested: bool = True) -> dict:
        c = self.claim
        return {
            "id": c.id, "kind": c.kind, "notation": c.notation,
            "source": {"file": c.source.file, "where": c.source.where, "quote": c.source.quote},
            "statement": c.statement, "meaning": self.meaning, "reading": c.reading,
            "verdict": self.verdict, "how": list(self.how), "special_case": self.special_case,
            "reason": self.reason, "expected": c.expected,
            "evidence": c.evidence, "judged": c.judged, "transcript": c.transcript,
            "checks": [{"method": k.method, "passed": k.passed, "where": _jsonable(k.where), "detail": k.detail}
                       for k in self.checks],
            "counterexample": self.counterexample.as_dict() if self.counterexample else None,
            "correction": self.correction.as_dict(nested=False) if (nested and self.correction) else None,
            "simplified": self.simplified.as_dict(nested=False) if (nested and self.simplified) else None,
            "seconds": round(self.seconds, 4),
        }


@dataclass
class AuditReport:
    """All claims' results, in catalog order."""

    results: "list[ClaimResult]"
    config: AuditConfig = field(default_factory=AuditConfig)
    seconds: float = 0.0

    def by_verdict(self, verdict: str) -> "list[ClaimResult]":
        return [r for r in self.results if r.verdict == verdict]

    def __getitem__(self, claim_id: str) -> ClaimResult:
        for r in self.results:
            if r.claim.id == claim_id:
                return r
        raise UnknownName("claim id", claim_id, [r.claim.id for r in self.results])

    @property
    def ok(self) -> bool:
        """No claim fails or errs, and every correction holds."""
        return not any(r.verdict in ("fails", "error") or (r.correction and r.correction.verdict not in GOOD)
                       for r in self.results)

    @property
    def as_expected(self) -> bool:
        return not any(r.unexpected or r.verdict == "error" for r in self.results)

    def summary(self) -> dict:
        """Counts per verdict kind (every kind of `VERDICTS`, zeros included), the unexpected ids, the time."""
        counts = {v: len(self.by_verdict(v)) for v in VERDICTS}
        return {"claims": len(self.results), **counts,
                "unexpected": [r.claim.id for r in self.results if r.unexpected],
                "seconds": round(self.seconds, 3)}


def check_claim(claim: Claim, run: "_Run | None" = None) -> ClaimResult:
    """Check one claim as printed (and its correction); never raises for a bad claim."""
    run = run or _Run(AuditConfig())
    t0 = time.perf_counter()
    res = _check(claim, run)
    if claim.correction is not None:
        res.correction = check_claim(claim.correction, run)
        try:
            claim.check_correction()  # statements built lazily are compared once both are known
        except DeriveError as exc:
            res = ClaimResult(claim, "error", reason=f"claim {claim.id} ({claim.source}): {exc}",
                              correction=res.correction)
    if claim.simplified is not None:
        res.simplified = check_claim(claim.simplified, run)
    _judge(res)
    res.seconds = time.perf_counter() - t0
    return res


def _judge(res: ClaimResult) -> None:
    """Apply the claim's judgement (transcription, announced simplification) when the checks bear it out."""
    claim = res.claim
    if res.verdict != "fails" or claim.judged is None:
        return
    if claim.judged == "transcription":
        if res.correction is not None and res.correction.verdict in GOOD:
            res.verdict = "transcription"
        return
    special = res.simplified
    if special is not None:
        if special.verdict == "holds":
            res.verdict = "holds_simplified"
            res.special_case = f"holds with the announced simplification: {special.claim.statement}"
    elif res.special_case:
        res.verdict = "holds_simplified"


def _check(claim: Claim, run: _Run) -> ClaimResult:
    t0 = time.perf_counter()
    where = f"claim {claim.id} ({claim.source})"
    if claim.kind == "prose":
        return ClaimResult(claim, "not_checkable", reason=claim.not_checkable)
    try:
        meaning = claim.build()
        if meaning is None:
            return ClaimResult(claim, "not_checkable", reason=claim.not_checkable or "no meaning in the engine's terms")
        described = meaning.describe(claim.notation)
        out = meaning.check(run, claim.notation)
    except _Pending as exc:
        return ClaimResult(claim, "pending", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except DeriveError as exc:
        return ClaimResult(claim, "error", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except (ArithmeticError, ValueError, TypeError, KeyError) as exc:  # a bug in the claim, reported, not raised
        return ClaimResult(claim, "error", reason=f"{where}: {type(exc).__name__}: {exc}",
                           seconds=time.perf_counter() - t0)
    return _verdict(claim, described, out, time.perf_counter() - t0)


def _verdict(claim: Claim, described: str, out: _Outcome, seconds: float) -> ClaimResult:
    checks = out.checks
    failed = [c for c in checks if not c.passed]
    numeric = [c for c in checks if c.method == "numeric"]
    how = sorted({_HOW.get(c.method, c.method) for c in checks if c.passed},
                 key=("exact", "symbolic", "numeric").index)
    reason = out.notes
    if not failed:
        verdict = "holds"
    elif numeric and all(c.passed for c in numeric) and all(c.method in ("exact", "symbolic") for c in failed):
        verdict, how = "holds", ["numeric"]
        reason = ("not an identity of the free algebra of path sums, but it holds for this cell at every size "
                  "and seed checked: " + failed[0].detail)
    else:
        verdict, how = "fails", []
    return ClaimResult(claim, verdict, how, described, checks, out.counterexample if verdict == "fails" else None,
                       out.special_case if verdict == "fails" else "", reason, seconds=seconds, sides=out.sides)


def audit(claims: "Iterable[Claim] | None" = None, *, pattern: "str | None" = None,
          config: "AuditConfig | None" = None) -> AuditReport:
    """Check every claim as printed; a claim that errs is reported and the audit goes on.

    Args:
        claims: the claims (default: the whole catalog, `load_claims`).
        pattern: keep claims whose id matches (substring, or a glob with * ? [).
        config: sizes and seeds (default `AuditConfig()`).
    """
    t0 = time.perf_counter()
    claims = load_claims() if claims is None else list(claims)
    claims = [c for c in claims if _matches(c.id, pattern)]
    run = _Run(config or AuditConfig())
    results = [check_claim(c, run) for c in claims]
    return AuditReport(results, run.config, time.perf_counter() - t0)
