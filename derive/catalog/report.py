r"""Output: the audit as a terminal table, JSON and errata (data, LaTeX); verify results as JUnit and JSON.

JSON schema of ``to_json(report)`` (``"schema": "derive.audit/1"``)::

    {"schema": "derive.audit/1",
     "config": {"sizes": [{"n": 2, "d": 1, "k": 3}, ...], "seeds": [0, 1]},
     "summary": {"claims": int, "holds": int, "fails": int, "not_checkable": int,
                 "pending": int, "error": int, "unexpected": [claim ids], "seconds": float},
     "claims": [{
        "id": str, "kind": "equation" | "definition" | "prose", "notation": str,
        "source": {"file": str, "where": str, "quote": str},
        "statement": str,                 # the claim as printed, in the lecture's symbols
        "meaning": str,                   # what the engine checked, in its own names
        "reading": str,                   # how a garbled transcription was read ("" if not)
        "verdict": "holds" | "fails" | "not_checkable" | "pending" | "error",
        "how": ["exact" | "symbolic" | "numeric"],   # the kinds of checks that passed
        "special_case": str,              # e.g. "holds for d = 1 only (1 x 1 Jacobians commute)"
        "reason": str,                    # why not checkable / pending / error; notes
        "expected": "holds" | "fails" | null,
        "checks": [{"method": str, "passed": bool, "where": {...}, "detail": str}],
        "counterexample": null | {"instance": {"activation", "sizes", "seed", "T", "binding", "recipe"},
                                  "lhs": number | nested list, "rhs": number | nested list,
                                  "entry": [int, ...] | null, "discrepancy": float | null, "detail": str},
        "correction": null | {the same object for the corrected claim, without its own correction},
        "seconds": float}]}

Fields are never removed within a schema version; new fields may be added.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import sympy as sp

from .. import terms as tm
from ..latex import text
from ..errors import DeriveError, NotSupported
from ..verify import CheckResult
from .audit import AuditReport
from .checks import _fmt_where


_MARK = {"holds": "holds", "fails": "FAILS", "not_checkable": "n/a", "pending": "pending", "error": "ERROR"}


def format_table(report: AuditReport, *, width: int = 100) -> str:
    """The audit as a terminal table, then one paragraph per failing claim (counterexample, correction)."""
    rows = [("claim", "verdict", "how / why", "source")]
    for r in report.results:
        how = ", ".join(r.how) if r.verdict == "holds" else (r.special_case or _short(r.reason, 38))
        if r.verdict == "fails" and r.correction is not None:
            how = how or f"corrected: {r.correction.verdict}"
        rows.append((r.claim.id, _MARK[r.verdict] + ("*" if r.unexpected else ""), how or "",
                     f"{r.claim.source.file[:3]} {r.claim.source.where}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "-" * min(width, max(len(x) for x in lines)))
    for r in report.results:
        if r.verdict == "fails":
            lines += ["", f"{r.claim.id} ({r.claim.source}) FAILS as printed:", f"  {r.claim.statement}"]
            if r.claim.reading:
                lines.append(f"  reading: {r.claim.reading}")
            cx = r.counterexample
            if cx is not None:
                lines.append(f"  counterexample: {_fmt_where(cx.instance)}")
                lines.append(f"    {cx.detail}")
            elif r.checks:
                bad = next(c for c in r.checks if not c.passed)
                lines.append(f"  [{bad.method}] {bad.detail}")
            if r.special_case:
                lines.append(f"  note: {r.special_case}")
            if r.correction is not None:
                lines.append(f"  correction ({r.correction.verdict}"
                             f"{': ' + ', '.join(r.correction.how) if r.correction.how else ''}): "
                             f"{r.correction.claim.statement}")
        elif r.verdict == "error":
            lines += ["", f"{r.claim.id}: ERROR {r.reason}"]
    s = report.summary()
    lines += ["", f"{s['claims']} claims: {s['holds']} hold, {s['fails']} fail, {s['not_checkable']} not checkable, "
                  f"{s['pending']} pending, {s['error']} errors ({s['seconds']:.1f} s)"]
    if s["unexpected"]:
        lines.append("verdicts differing from the catalog's expectation (*): " + ", ".join(s["unexpected"]))
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = re.sub(r"^claim \S+ \([^)]*\): ", "", text or "")
    return text if len(text) <= n else text[: n - 1] + "…"


def to_json(report: AuditReport, *, indent: "int | None" = 2) -> str:
    """The audit as JSON (schema "derive.audit/1", see the module docstring); keys in a fixed order."""
    doc = {"schema": "derive.audit/1", "config": report.config.as_dict(), "summary": report.summary(),
           "claims": [r.as_dict() for r in report.results]}
    return json.dumps(doc, indent=indent, ensure_ascii=False)


def errata_entries(report: AuditReport) -> "list[dict]":
    """Structured data for an "Errata" appendix: one entry per equation that fails as printed.

    Each entry: ``id``, ``source`` (file, where, quote), ``notation``, ``statement`` (as
    printed), ``reading``, ``counterexample`` (as in the JSON), ``special_case``,
    ``correction`` (``statement``, ``verdict``, ``how``), and ``terms``: the engine
    terms (lhs, rhs) of the printed claim and of the correction, for a printer.
    """
    out = []
    for r in report.results:
        if r.verdict != "fails":
            continue
        c = r.correction
        out.append({
            "id": r.claim.id,
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


def errata_latex(report: AuditReport, notation: "str | None" = None) -> str:
    r"""The Errata appendix as a LaTeX fragment (a ``description`` list), typeset by `derive.latex`.

    ``notation`` prints every equation in one course's notation (default: each
    claim in its own).  Claims whose sides are not terms (numbers, shapes,
    clipping rules) are quoted as text.
    """
    try:
        from ..latex import latex
    except ImportError:  # pragma: no cover - depends on the installation
        raise NotSupported("errata_latex needs derive.latex (the printer), which is not installed") from None
    items = []
    for e in errata_entries(report):
        nota = notation or e["notation"]
        printed = _latex_equation(e["terms"]["printed"], nota, latex, tm) or _tt(e["statement"])
        lines = [rf"\item[{_tex_text(e['id'])}] {_tex_text(e['source']['file'])}, {_tex_text(e['source']['where'])}. "
                 rf"As printed: {printed}"]
        if e["reading"]:
            lines.append(rf"Reading: {_tex_text(e['reading'])}.")
        cx = e["counterexample"]
        if cx is not None:
            lines.append(rf"Counterexample ({_tex_text(_fmt_where(cx['instance']))}): {_tex_text(cx['detail'])}.")
        elif e["detail"]:
            lines.append(rf"Check: {_tex_text(e['detail'])}.")
        if e["special_case"]:
            lines.append(_tex_text(e["special_case"]) + ".")
        if e["correction"] is not None:
            fixed = _latex_equation(e["terms"]["corrected"], nota, latex, tm) or _tt(e["correction"]["statement"])
            lines.append(rf"Correction ({_tex_text(e['correction']['verdict'])}, "
                         rf"{_tex_text(' and '.join(e['correction']['how']) or 'unchecked')}): {fixed}")
        items.append("\n".join(lines))
    return "\\begin{description}\n" + "\n\n".join(items) + "\n\\end{description}\n"


def _latex_equation(sides, notation, latex, terms) -> str:
    """(lhs, rhs) as an equation, (lhs, rhs, rel) as a relation; "" when the printer cannot print them."""
    if len(sides) not in (2, 3):
        return ""
    try:
        rel = sides[2] if len(sides) == 3 else "="
        return r"\[ " + latex(terms.Relation(sides[0], rel, sides[1]), notation=notation) + r" \]"
    except DeriveError:
        return ""


_tex_text = text.escape


def _tt(s: str) -> str:
    return r"\texttt{" + _tex_text(s) + "}"


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


def results_to_json(results: "list[CheckResult]", *, indent: "int | None" = 2) -> str:
    """verify results as JSON: {"schema": "derive.verify/1", "summary": {...}, "results": [...]}."""
    rows = [{"id": r.derivation, "step": r.step + 1, "method": r.method, "passed": r.passed,
             "where": r.where, "detail": r.detail, "seconds": round(r.seconds, 4)} for r in results]
    summary = {"checks": len(rows), "passed": sum(r.passed and r.method != "skipped" for r in results),
               "failed": sum(not r.passed for r in results), "skipped": sum(r.method == "skipped" for r in results)}
    return json.dumps({"schema": "derive.verify/1", "summary": summary, "results": rows}, indent=indent,
                      ensure_ascii=False)
