"""The audit's Errata appendix as a LaTeX fragment: each failing claim printed, its reading, evidence,
counterexample and verified correction, every equation typeset by the printer in the claim's notation."""

from __future__ import annotations

from derive import terms as tm
from derive.checks.catalog.audit import AuditReport
from derive.checks.results import format_where
from derive.checks.catalog.report import errata_entries
from derive.errors import DeriveError
from derive.render.latex import latex
from derive.render.latex.text import escape
from derive.render.documents.refs import readable

__all__ = ["errata_latex"]


def errata_latex(report: AuditReport, notation: "str | None" = None) -> str:
    r"""The Errata appendix as a LaTeX fragment (a ``description`` list), typeset by `derive.render.latex`.

    ``notation`` prints every equation in one course's notation (default: each
    claim in its own).  Claims whose sides are not terms (numbers, shapes,
    clipping rules) are quoted as text.
    """
    items = []
    for e in errata_entries(report):
        nota = notation or e["notation"]
        printed = _latex_equation(e["terms"]["printed"], nota, latex, tm) or _tt(e["statement"])
        as_ = "As transcribed" if e["verdict"] == "transcription" else "As printed"
        lines = [rf"\item[{escape(e['id'])}] {escape(e['source']['file'])}, {escape(e['source']['where'])}. "
                 rf"{as_}: {printed}"]
        if e["reading"]:
            lines.append(rf"Reading: {escape(readable(e['reading']))}.")
        if e["evidence"]:
            lines.append(rf"Evidence: {escape(readable(e['evidence']))}.")
        cx = e["counterexample"]
        if cx is not None:
            lines.append(rf"Counterexample ({escape(format_where(cx['instance']))}): {escape(cx['detail'])}.")
        elif e["detail"]:
            lines.append(rf"Check: {escape(e['detail'])}.")
        if e["special_case"]:
            lines.append(escape(e["special_case"]) + ".")
        if e["correction"] is not None:
            fixed = _latex_equation(e["terms"]["corrected"], nota, latex, tm) or _tt(e["correction"]["statement"])
            word = "Reconstruction" if e["verdict"] == "transcription" else "Correction"
            lines.append(rf"{word} ({escape(e['correction']['verdict'])}, "
                         rf"{escape(' and '.join(e['correction']['how']) or 'unchecked')}): {fixed}")
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




def _tt(s: str) -> str:
    return r"\texttt{" + escape(s) + "}"
