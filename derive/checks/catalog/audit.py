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
from typing import Iterable

from derive.errors import DeriveError, UnknownName
from .checks import AuditConfig
from .claims import VERDICTS, Claim, _matches, load_claims
from derive.checks.catalog.checks import Outcome, Run, failed_check
from derive.checks.results import CheckResult, Counterexample, Report

# A correction or an announced special case is good when it holds (a reconstruction may itself be a
# statement that holds with the simplification its lecture announced).
GOOD = ("holds", "holds_simplified")
from .evaluate import _Pending


# The kind of evidence each method gives.  Exact and symbolic checks prove or refute the statement;
# numeric ones only test it on instances (issue 14, item 6a).
_HOW = {"exact": "exact", "labels": "exact", "arithmetic": "exact", "symbolic": "symbolic", "shape": "symbolic",
        "numeric": "numeric"}
_PROOF = ("exact", "symbolic")


class ClaimResult(CheckResult):
    """The verdict on one claim: a `derive.checks.verify.CheckResult` whose subject is the claim.

    ``verdict`` is one of `VERDICTS` (holds, fails, transcription ...), ``method`` (also ``decided_by``)
    the kind of check that decided it ("exact", "symbolic" or "numeric"; "" when none did), ``checks``
    the checks behind it, ``detail`` (also ``reason``) why it is not checkable, pending or an error,
    or notes; the claim's own parts: ``meaning`` (what the engine checked), ``how`` (the kinds of
    checks that passed), ``special_case``, the checked ``correction`` and announced ``simplified`` case.
    """

    def __init__(self, claim: Claim, verdict: str, how: "list[str] | None" = None, meaning: str = "",
                 checks: "list[CheckResult] | None" = None, counterexample: "Counterexample | None" = None,
                 special_case: str = "", reason: str = "", correction: "ClaimResult | None" = None,
                 seconds: float = 0.0, sides: tuple = (), simplified: "ClaimResult | None" = None,
                 decided_by: str = ""):
        # Stored under the argument names, so ``ClaimResult(**r.__dict__)`` copies a result.
        self.claim, self.verdict, self.how, self.meaning = claim, verdict, list(how or []), meaning
        self.checks = list(checks or [])
        self.counterexample, self.special_case, self.reason = counterexample, special_case, reason
        self.correction, self.seconds, self.sides, self.simplified = correction, seconds, sides, simplified
        self.decided_by = decided_by
        for c in self.checks:
            c.derivation = claim.id

    @property
    def derivation(self) -> str:
        return self.claim.id

    @derivation.setter
    def derivation(self, value) -> None:  # the subject is the claim's id
        pass

    @property
    def passed(self) -> bool:
        """The claim's verdict is no failure and its correction holds (not checkable and pending pass)."""
        return not (self.verdict in ("fails", "error") or (self.correction and self.correction.verdict not in GOOD))

    @property
    def method(self) -> str:
        """The kind of check that decided the verdict (``decided_by``)."""
        return self.decided_by

    @method.setter
    def method(self, value: str) -> None:
        self.decided_by = value

    @property
    def detail(self) -> str:
        """Why the claim is not checkable, pending or an error, or notes (``reason``)."""
        return self.reason

    @detail.setter
    def detail(self, value: str) -> None:
        self.reason = value

    def __repr__(self) -> str:
        return f"ClaimResult({self.claim.id!r}, {self.verdict!r}, decided_by={self.decided_by!r})"

    def __eq__(self, other) -> bool:
        return self is other

    __hash__ = object.__hash__

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
            "verdict": self.verdict, "decided_by": self.decided_by or None, "how": list(self.how),
            "special_case": self.special_case,
            "reason": self.reason, "expected": c.expected,
            "evidence": c.evidence, "judged": c.judged, "transcript": c.transcript,
            "checks": [k.as_dict() for k in self.checks],
            "counterexample": self.counterexample.as_dict() if self.counterexample else None,
            "correction": self.correction.as_dict(nested=False) if (nested and self.correction) else None,
            "simplified": self.simplified.as_dict(nested=False) if (nested and self.simplified) else None,
            "seconds": round(self.seconds, 4),
        }


class AuditReport(Report):
    """All claims' results, in catalog order: a `derive.checks.verify.Report` of `ClaimResult` objects.

    ``report[claim_id]`` is one claim's result, ``by_verdict("fails")`` the failing ones; ``summary()``
    counts the verdicts.
    """

    subject_name = "claim id"

    def __init__(self, results: "list[ClaimResult]", config: "AuditConfig | None" = None, seconds: float = 0.0):
        super().__init__(list(results), seconds)
        self.config = config or AuditConfig()

    @property
    def ok(self) -> bool:
        """No claim fails or errs, and every correction holds."""
        return all(r.passed for r in self.results)

    @property
    def as_expected(self) -> bool:
        return not any(r.unexpected or r.verdict == "error" for r in self.results)

    def summary(self) -> dict:
        """Counts per verdict kind (every kind of `VERDICTS`, zeros included), the unexpected ids, the time."""
        counts = {v: len(self.by_verdict(v)) for v in VERDICTS}
        return {"claims": len(self.results), **counts,
                "unexpected": [r.claim.id for r in self.results if r.unexpected],
                "seconds": round(self.seconds, 3)}


def check_claim(claim: Claim, run: "Run | None" = None) -> ClaimResult:
    """Check one claim as printed (and its correction); never raises for a bad claim."""
    run = run or Run(AuditConfig())
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


def _check(claim: Claim, run: Run) -> ClaimResult:
    t0 = time.perf_counter()
    where = f"claim {claim.id} ({claim.source})"
    if claim.kind == "prose":
        return ClaimResult(claim, "not_checkable", reason=claim.not_checkable)
    try:
        meaning = claim.build()
        if meaning is None:
            return ClaimResult(claim, "not_checkable", reason=claim.not_checkable or "no meaning in the engine's terms")
        described = meaning.describe(claim.notation)
    except _Pending as exc:
        return ClaimResult(claim, "pending", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except DeriveError as exc:
        return ClaimResult(claim, "error", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a bug in the claim's meaning, reported, never raised
        return ClaimResult(claim, "error", reason=f"{where}: {type(exc).__name__}: {exc}",
                           seconds=time.perf_counter() - t0)
    try:
        out = meaning.check(run, claim.notation)
    except _Pending as exc:
        return ClaimResult(claim, "pending", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except DeriveError as exc:  # the claim names what its cell or notation does not have
        return ClaimResult(claim, "error", reason=f"{where}: {exc}", seconds=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - any failure inside a check is a failed check, never a crash
        out = Outcome([failed_check("exception", exc)])
    return _verdict(claim, described, out, time.perf_counter() - t0)


def _kind(check: CheckResult) -> str:
    return _HOW.get(check.method, check.method)


def _verdict(claim: Claim, described: str, out: Outcome, seconds: float) -> ClaimResult:
    """The verdict of a claim's checks, and the kind of check that decided it (issue 14, item 6a).

    A failed exact or symbolic check is a failure whatever the numbers say: the
    numbers decide only where no exact or symbolic check applies (a check that
    is not applicable, or skipped, is no evidence either way).  Any other failed
    check is a failure too; a claim with no evidence at all is not checkable.
    """
    checks = out.checks
    judged = [c for c in checks if c.evidence]
    failed = [c for c in judged if not c.passed]
    proofs = [c for c in judged if _kind(c) in _PROOF]
    order = ("exact", "symbolic", "numeric")
    how = sorted({_kind(c) for c in judged if c.passed}, key=lambda k: (order.index(k) if k in order else 3, k))
    if not judged:
        reasons = "; ".join(c.detail for c in checks) or "no check applies"
        return ClaimResult(claim, "not_checkable", [], described, checks, reason=reasons, seconds=seconds,
                           sides=out.sides)
    if failed:
        decisive = next((c for c in failed if _kind(c) in _PROOF), failed[0])
        return ClaimResult(claim, "fails", [], described, checks, out.counterexample, out.special_case, out.notes,
                           seconds=seconds, sides=out.sides, decided_by=_kind(decisive))
    decided = min((_kind(c) for c in proofs), key=order.index) if proofs else "numeric"
    return ClaimResult(claim, "holds", how, described, checks, None, "", out.notes, seconds=seconds,
                       sides=out.sides, decided_by=decided)


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
    run = Run(config or AuditConfig())
    results = [check_claim(c, run) for c in claims]
    return AuditReport(results, run.config, time.perf_counter() - t0)
