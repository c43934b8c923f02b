"""Claims: one statement of one lecture and what it means; the catalog, and choosing claims by id."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from derive.errors import InvalidValue, UnknownName
from .meanings import Meaning
from .parse import NOTATIONS


KINDS = ("equation", "definition", "prose")
VERDICTS = ("holds", "holds_simplified", "fails", "transcription", "not_checkable", "pending", "error")
# What a claim may be judged, beside what its checks say: a transcription slip (the printed text
# fails, the reconstruction in ``correction`` holds) or a simplification the lecturer announced
# (the printed text fails, the announced special case holds).
JUDGED = ("transcription", "holds_simplified")
EXPECTED = ("holds", "holds_simplified", "fails", "transcription")
# Verdicts that need a citation in ``Claim.evidence``.
NEEDS_EVIDENCE = ("fails", "transcription", "holds_simplified")


def _same_text(a: str, b: str) -> bool:
    """Two statements print the same (whitespace aside)."""
    return " ".join(a.split()) == " ".join(b.split())


@dataclass(frozen=True)
class Source:
    """Where a claim is printed: the seed file, the equation number or slide, a short verbatim quote."""

    file: str
    where: str
    quote: str = ""

    def __str__(self) -> str:
        return f"{self.file}, {self.where}"


@dataclass
class Claim:
    """One statement of one lecture, and what it means in the engine's terms.

    Attributes:
        id: a stable identifier, ``l59-eq17`` (lecture, then equation or slide).
        source: file, equation number or slide, verbatim quote.
        notation: the course whose symbols ``statement`` and the meaning's strings use.
        meaning: an `Identity`, `Bound`, ... (None for prose); a zero-argument
            callable returning one is built lazily, so an error in it is
            reported against this claim without stopping the audit.
        statement: the claim as printed (defaults to the meaning's own text).
        kind: "equation", "definition" or "prose" (not checkable: say why in ``not_checkable``).
        reading: how a garbled transcription was read, and that it was.
        expected: what we believe ("holds" / "fails"), used by the tests only.
        correction: for a failing claim, the corrected statement (itself a claim that must hold); for a
            transcription slip, the reconstruction of what the slide says (checked, must hold).  A
            correction never prints the same as the statement (`InvalidValue`).
        not_checkable: for prose, why the engine cannot check it.
        evidence: the citation behind the verdict: the same slide in another seed file, the
            lecturer's spoken words with their time, a broken bracket.  Required for ``judged``
            claims; the lecture catalog gives it for every claim that fails (tests/test_catalog.py).
        judged: ``"transcription"`` (the transcript garbles the slide: ``statement`` is the garbled
            text as read, ``correction`` the reconstruction) or ``"holds_simplified"`` (the lecturer
            announced a simplification: the printed equation fails as stated, the special case in
            ``simplified`` holds, or, without one, the d = 1 special case of the check).
        transcript: for a transcription, the garbled text exactly as transcribed.
        simplified: for ``judged="holds_simplified"``, the announced special case (a claim that must hold).
        display: what the documents typeset for this claim when its meaning has no
            equation of terms (a number, a shape, a clipping rule): a `derive.terms`
            term (a Relation, a Chain ...), printed in the claim's notation.
    """

    id: str
    source: Source
    notation: str
    meaning: "Meaning | Callable[[], Meaning] | None" = None
    statement: str = ""
    kind: str = "equation"
    reading: str = ""
    expected: "str | None" = None
    correction: "Claim | None" = None
    not_checkable: str = ""
    display: "object | None" = None
    evidence: str = ""
    judged: "str | None" = None
    transcript: str = ""
    simplified: "Claim | None" = None

    def __post_init__(self):
        if not isinstance(self.id, str) or not re.fullmatch(r"[a-z0-9][\w.:/+~-]*", self.id):
            raise InvalidValue(f"a claim id is a lowercase word such as 'l59-eq17', got {self.id!r}")
        if self.kind not in KINDS:
            raise UnknownName("claim kind", self.kind, KINDS)
        if self.notation not in NOTATIONS:
            raise UnknownName("notation", self.notation, list(NOTATIONS))
        if self.expected not in (None, *EXPECTED):
            raise InvalidValue(f"claim {self.id}: expected must be one of {', '.join(EXPECTED)} or None, "
                               f"got {self.expected!r}")
        if self.judged not in (None, *JUDGED):
            raise UnknownName("judgement", self.judged, JUDGED)
        if self.kind == "prose" and not self.not_checkable:
            raise InvalidValue(f"claim {self.id}: a prose claim must say why it is not checkable")
        if not self.statement and isinstance(self.meaning, Meaning):
            self.statement = self.meaning.text()
        if self.judged and not self.evidence.strip():
            raise InvalidValue(f"claim {self.id}: a claim judged {self.judged!r} must cite its evidence "
                               f"(evidence=...)")
        if self.judged == "transcription" and self.correction is None:
            raise InvalidValue(f"claim {self.id}: a transcription slip needs its reconstruction (correction=...)")
        if self.judged == "transcription" and not self.transcript.strip():
            raise InvalidValue(f"claim {self.id}: a transcription slip must quote the garbled text (transcript=...)")
        if self.judged != "holds_simplified" and self.simplified is not None:
            raise InvalidValue(f"claim {self.id}: simplified=... is the special case of a claim judged "
                               f"'holds_simplified', got judged={self.judged!r}")
        if self.expected in ("transcription", "holds_simplified") and self.judged != self.expected:
            raise InvalidValue(f"claim {self.id}: expected {self.expected!r} needs judged={self.expected!r}")
        self.check_correction()

    def check_correction(self) -> None:
        """Raise `InvalidValue` when the correction prints the same as the statement (it corrects nothing)."""
        c = self.correction
        if c is not None and self.statement and c.statement and _same_text(self.statement, c.statement):
            raise InvalidValue(f"claim {self.id}: its correction {c.id} prints the same statement "
                               f"{self.statement!r}; a correction must be a different statement, or the claim "
                               f"is not a failure")

    def build(self) -> "Meaning | None":
        """The meaning, built now if it was given as a callable."""
        m = self.meaning
        if m is not None and not isinstance(m, Meaning):
            m = m()
            if not isinstance(m, Meaning):
                raise InvalidValue(f"claim {self.id}: its meaning builder returned {type(m).__name__}, not a Meaning")
            if not self.statement:
                self.statement = m.text()
                self.check_correction()
        return m


def _matches(ident: str, pattern: "str | None") -> bool:
    """-k PATTERN: substring, or a glob when it has * ? [; alternatives separated by commas."""
    if not pattern:
        return True
    for p in (x.strip() for x in pattern.split(",")):
        if p and (fnmatch.fnmatchcase(ident, p) if any(ch in p for ch in "*?[") else p in ident):
            return True
    return False


def select_ids(ids: "Iterable[str]", pattern: "str | None") -> "list[str]":
    """The ids matching ``pattern`` (see `_matches`), in order."""
    return [i for i in ids if _matches(i, pattern)]


def load_claims(pattern: "str | None" = None) -> "list[Claim]":
    """The catalog (every content package's lecture claims, `derive.content`), optionally filtered by id."""
    from derive.content import collect_claims

    return [c for c in collect_claims() if _matches(c.id, pattern)]
