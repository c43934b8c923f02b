r"""Output: the audit as a terminal table, JSON and errata (data, LaTeX); verify results as JUnit and JSON.

JSON schema of ``to_json(report)`` (``"schema": "derive.audit/2"``)::

    {"schema": "derive.audit/2",
     "config": {"sizes": [{"n": 2, "d": 1, "k": 3}, ...], "seeds": [0, 1]},
     "summary": {"claims": int, "holds": int, "holds_simplified": int, "fails": int, "transcription": int,
                 "not_checkable": int, "pending": int, "error": int, "unexpected": [claim ids], "seconds": float},
     "claims": [{
        "id": str, "kind": "equation" | "definition" | "prose", "notation": str,
        "source": {"file": str, "where": str, "quote": str},
        "statement": str,                 # the claim as printed, in the lecture's symbols
        "meaning": str,                   # what the engine checked, in its own names
        "reading": str,                   # how a garbled transcription was read ("" if not)
        "verdict": "holds" | "holds_simplified" | "fails" | "transcription" | "not_checkable" | "pending" | "error",
        "decided_by": "exact" | "symbolic" | "numeric" | null,   # the kind of check that decided the verdict:
                                          # a failed exact or symbolic check decides "fails" whatever the numbers
                                          # say; numbers decide only where no exact or symbolic check applies
        "how": ["exact" | "symbolic" | "numeric"],   # the kinds of checks that passed
        "special_case": str,              # e.g. "holds for d = 1 only (1 x 1 Jacobians commute)"
        "reason": str,                    # why not checkable / pending / error; notes
        "expected": "holds" | "holds_simplified" | "fails" | "transcription" | null,
        "evidence": str,                  # the citation: the same slide in another seed, spoken words (time) ...
        "judged": "transcription" | "holds_simplified" | null,
        "transcript": str,                # a transcription slip's garbled text, as transcribed ("" if not)
        "checks": [{"method": str, "passed": bool, "verdict": "passed" | "failed" | "not_applicable" | "skipped",
                    "reference": str, "where": {...}, "detail": str}],   # reference: what it was compared with
        "counterexample": null | {"instance": {"activation", "sizes", "seed", "T", "binding", "recipe"},
                                  "lhs": number | nested list, "rhs": number | nested list,
                                  "entry": [int, ...] | null, "discrepancy": float | null, "detail": str},
        "correction": null | {the same object for the corrected claim (a reconstruction for a transcription),
                              without its own correction},
        "simplified": null | {the same object for the announced special case of a holds_simplified claim},
        "seconds": float}]}

Fields are never removed within a schema version; new fields may be added.  Schema 1 had the verdicts
holds / fails / not_checkable / pending / error and no evidence, judged, transcript, simplified.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import sympy as sp

from derive import terms as tm
from derive.errors import DeriveError, NotSupported
from ..verify import CheckResult
from .audit import AuditReport
from derive.checks.results import format_where


_MARK = {"holds": "holds", "holds_simplified": "holds (simplified)", "fails": "FAILS",
         "transcription": "TRANSCRIPTION", "not_checkable": "n/a", "pending": "pending", "error": "ERROR"}
# Verdicts whose printed statement fails: explained in a paragraph of the table, entries of the errata.
ERRATA = ("fails", "transcription")


def format_table(report: AuditReport, *, width: int = 100) -> str:
    """The audit as a terminal table, then one paragraph per failing claim (counterexample, correction)."""
    rows = [("claim", "verdict", "decided by", "how / why", "source")]
    for r in report.results:
        how = ", ".join(r.how) if r.verdict == "holds" else (r.special_case or _short(r.reason, 38))
        if r.verdict in ERRATA and r.correction is not None:
            how = how or (f"{'reconstructed' if r.verdict == 'transcription' else 'corrected'}: "
                          f"{r.correction.verdict}")
        rows.append((r.claim.id, _MARK[r.verdict] + ("*" if r.unexpected else ""), r.decided_by or "-", how or "",
                     f"{r.claim.source.file[:3]} {r.claim.source.where}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "-" * min(width, max(len(x) for x in lines)))
    for r in report.results:
        if r.verdict in ERRATA or r.verdict == "holds_simplified":
            head = {"fails": "FAILS as printed", "transcription": "is a TRANSCRIPTION slip, as transcribed",
                    "holds_simplified": "holds with the simplification its lecture announces; as printed"}[r.verdict]
            lines += ["", f"{r.claim.id} ({r.claim.source}) {head}:", f"  {r.claim.statement}"]
            if r.claim.transcript:
                lines.append(f"  transcript: {r.claim.transcript}")
            if r.claim.reading:
                lines.append(f"  reading: {r.claim.reading}")
            if r.claim.evidence:
                lines.append(f"  evidence: {r.claim.evidence}")
            if r.decided_by:
                lines.append(f"  decided by the {r.decided_by} check" + (
                    " (a failed exact or symbolic check is a failure whatever the numbers say)"
                    if r.decided_by in ("exact", "symbolic") else ""))
            cx = r.counterexample
            if cx is not None:
                lines.append(f"  counterexample: {format_where(cx.instance)}")
                lines.append(f"    {cx.detail}")
            elif any(not c.passed for c in r.checks):
                bad = next(c for c in r.checks if not c.passed)
                lines.append(f"  [{bad.method}] {bad.detail}")
            if r.special_case:
                lines.append(f"  note: {r.special_case}")
            if r.simplified is not None:
                lines.append(f"  special case ({r.simplified.verdict}"
                             f"{': ' + ', '.join(r.simplified.how) if r.simplified.how else ''}): "
                             f"{r.simplified.claim.statement}")
            if r.correction is not None:
                word = "reconstruction" if r.verdict == "transcription" else "correction"
                lines.append(f"  {word} ({r.correction.verdict}"
                             f"{': ' + ', '.join(r.correction.how) if r.correction.how else ''}): "
                             f"{r.correction.claim.statement}")
        elif r.verdict == "error":
            lines += ["", f"{r.claim.id}: ERROR {r.reason}"]
    s = report.summary()
    lines += ["", summary_line(s)]
    if s["unexpected"]:
        lines.append("verdicts differing from the catalog's expectation (*): " + ", ".join(s["unexpected"]))
    return "\n".join(lines)


def summary_line(s: dict) -> str:
    """``98 claims: 70 hold, 2 hold as simplified, 11 fail, 6 transcription slips, ...`` from `AuditReport.summary`."""
    return (f"{s['claims']} claims: {s['holds']} hold, {s['holds_simplified']} hold as simplified, "
            f"{s['fails']} fail, {s['transcription']} transcription slips, {s['not_checkable']} not checkable, "
            f"{s['pending']} pending, {s['error']} errors ({s['seconds']:.1f} s)")


def _short(text: str, n: int) -> str:
    text = re.sub(r"^claim \S+ \([^)]*\): ", "", text or "")
    return text if len(text) <= n else text[: n - 1] + "…"


def to_json(report: AuditReport, *, indent: "int | None" = 2) -> str:
    """The audit as JSON (schema "derive.audit/2", see the module docstring); keys in a fixed order."""
    doc = {"schema": "derive.audit/2", "config": report.config.as_dict(), "summary": report.summary(),
           "claims": [r.as_dict() for r in report.results]}
    return json.dumps(doc, indent=indent, ensure_ascii=False)


def errata_entries(report: AuditReport, kinds: tuple = ERRATA) -> "list[dict]":
    """Structured data for an "Errata" appendix: one entry per equation that fails as printed.

    ``kinds``: the verdicts listed (default: ``fails``, the lecture's mathematics is wrong, and
    ``transcription``, the transcript garbles the slide).  Each entry: ``id``, ``verdict``, ``source``
    (file, where, quote), ``notation``, ``statement`` (as printed, or as transcribed), ``transcript``
    (a transcription's garbled text), ``reading``, ``evidence``, ``counterexample`` (as in the JSON),
    ``special_case``, ``correction`` (``statement``, ``verdict``, ``how``: the reconstruction of a
    transcription), and ``terms``: the engine terms (lhs, rhs) of the printed claim and of the
    correction, for a printer.
    """
    out = []
    for r in report.results:
        if r.verdict not in kinds:
            continue
        c = r.correction
        out.append({
            "id": r.claim.id,
            "verdict": r.verdict,
            "transcript": r.claim.transcript,
            "evidence": r.claim.evidence,
            "source": {"file": r.claim.source.file, "where": r.claim.source.where, "quote": r.claim.source.quote},
            "notation": r.claim.notation,
            "statement": r.claim.statement,
            "reading": r.claim.reading,
            "counterexample": r.counterexample.as_dict() if r.counterexample else None,
            "detail": next((k.detail for k in r.checks if not k.passed), ""),
            "special_case": r.special_case,
            "correction": None if c is None else {"statement": c.claim.statement, "verdict": c.verdict,
                                                  "how": list(c.how)},
            "terms": {"printed": r.sides, "corrected": c.sides if c is not None else ()},
        })
    return out


def to_junit(results: "list[CheckResult]", *, name: str = "derive verify") -> str:
    """JUnit XML: one testcase per (derivation or claim, step); failures list every failing check."""
    import xml.etree.ElementTree as ET

    groups: dict = {}
    for r in results:
        groups.setdefault((r.derivation, r.step), []).append(r)
    fails = sum(1 for rs in groups.values() if any(not r.passed for r in rs))
    skips = sum(1 for rs in groups.values() if all(r.method == "skipped" for r in rs))
    total_time = sum(r.seconds for r in results)
    suites = ET.Element("testsuites", name=name, tests=str(len(groups)), failures=str(fails),
                        skipped=str(skips), time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="derive", tests=str(len(groups)), failures=str(fails),
                          skipped=str(skips), time=f"{total_time:.3f}")
    for (ident, step), rs in groups.items():
        case = ET.SubElement(suite, "testcase", classname=ident, name=f"step {step + 1}",
                             time=f"{sum(r.seconds for r in rs):.3f}")
        bad = [r for r in rs if not r.passed]
        if bad:
            el = ET.SubElement(case, "failure", message=f"[{bad[0].method}] {bad[0].where} {bad[0].detail}"[:500])
            el.text = "\n".join(str(r) for r in bad)
        elif all(r.method == "skipped" for r in rs):
            ET.SubElement(case, "skipped", message=rs[0].detail[:500])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def audit_junit(report: AuditReport, *, name: str = "derive audit") -> str:
    """The audit as JUnit XML: one testcase per claim, its verdict kind and evidence as properties.

    A claim that fails as printed (``fails``), errs, or whose verdict differs from the catalog's
    expectation is a failure; ``transcription`` and ``holds_simplified`` pass (their reconstruction or
    special case holds) and say so; ``not_checkable`` and ``pending`` are skipped.
    """
    import xml.etree.ElementTree as ET

    bad = [r for r in report.results if r.verdict in ("fails", "error") or r.unexpected]
    skipped = [r for r in report.results if r.verdict in ("not_checkable", "pending") and not r.unexpected]
    suites = ET.Element("testsuites", name=name, tests=str(len(report.results)), failures=str(len(bad)),
                        skipped=str(len(skipped)), time=f"{report.seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name="derive.audit", tests=str(len(report.results)),
                          failures=str(len(bad)), skipped=str(len(skipped)), time=f"{report.seconds:.3f}")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname=r.claim.source.file, name=r.claim.id,
                             time=f"{r.seconds:.3f}")
        props = ET.SubElement(case, "properties")
        for key, value in (("verdict", r.verdict), ("expected", r.claim.expected or ""),
                           ("evidence", r.claim.evidence), ("source", str(r.claim.source))):
            ET.SubElement(props, "property", name=key, value=value)
        if r in bad:
            detail = r.reason or next((k.detail for k in r.checks if not k.passed), "")
            el = ET.SubElement(case, "failure", message=f"{r.verdict}"
                               f"{' (expected ' + r.claim.expected + ')' if r.unexpected and r.claim.expected else ''}"
                               f": {r.claim.statement}"[:500])
            el.text = detail
        elif r in skipped:
            ET.SubElement(case, "skipped", message=f"{r.verdict}: {r.reason}"[:500])
        else:
            ET.SubElement(case, "system-out").text = f"{r.verdict}: {r.special_case or ', '.join(r.how)}"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def results_to_json(results: "list[CheckResult]", *, indent: "int | None" = 2) -> str:
    """verify results as JSON: {"schema": "derive.verify/1", "summary": {...}, "results": [...]}."""
    rows = [{"id": r.derivation, "step": r.step + 1, "method": r.method, "passed": r.passed,
             "verdict": r.verdict, "reference": r.reference,
             "where": r.where_text(), "detail": r.detail, "seconds": round(r.seconds, 4)} for r in results]
    summary = {"checks": len(rows), "passed": sum(r.passed and r.method != "skipped" for r in results),
               "failed": sum(not r.passed for r in results), "skipped": sum(r.method == "skipped" for r in results)}
    return json.dumps({"schema": "derive.verify/1", "summary": summary, "results": rows}, indent=indent,
                      ensure_ascii=False)
