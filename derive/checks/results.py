"""The checking vocabulary: one compare, one counterexample, one check result, one report.

Derivations (`derive.verify`), lecture claims (`derive.catalog`) and document
checks (`derive.doccheck`) all speak it:

- `compare` -- two values, the error of the worst entry relative to the size
  of the terms being compared (issue 14, item 2);
- `Counterexample` -- a small seeded instance on which a statement fails, with
  both sides' values;
- `CheckResult` -- one check (or, as `derive.catalog.ClaimResult`, the verdict
  on one claim): its method, what it was compared with (``reference``), its
  outcome (``verdict``: passed, failed, not applicable, skipped);
- `Report` -- a list of results and what they add up to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from derive.errors import UnknownName
from derive.model.graph import NodeRef

__all__ = ["compare", "Comparison", "Counterexample", "CheckResult", "Report", "OUTCOMES", "jsonable",
           "rounded", "format_where"]

#: The outcome of one check.  "not_applicable": the method cannot judge this statement (an exact check of
#: a formula outside the free algebra); it is no evidence either way, and unlike "failed" it is no failure.
OUTCOMES = ("passed", "failed", "not_applicable", "skipped")


class Comparison(tuple):
    """The outcome of `compare`: unpacks as ``(passed, detail)``, and keeps the worst entry, its absolute
    error, the scale it was measured against and the error relative to that scale."""

    def __new__(cls, passed: bool, detail: str, entry: "tuple | None" = None, error: "float | None" = None,
                scale: "float | None" = None, relative: "float | None" = None):
        self = super().__new__(cls, (bool(passed), detail))
        self.entry, self.error, self.scale, self.relative = entry, error, scale, relative
        return self

    @property
    def passed(self) -> bool:
        return self[0]

    @property
    def detail(self) -> str:
        return self[1]


def compare(got, want, *, rtol: float, what: str, against: str, scale: "float | None" = None,
            atol: float = 0.0) -> Comparison:
    """max|got - want| <= rtol * scale + atol; names the worst entry and its error relative to the scale.

    ``scale`` is the size of the terms being compared (the largest |term| of
    the step's expansion, see `derive.verify.term_scale`); without it,
    max(1, max|want|).  ``atol`` is the noise floor of the reference (finite
    differences).  ``None`` on either side is an exact zero.
    """
    if got is None and want is None:
        return Comparison(True, "both exactly zero", None, 0.0, scale, 0.0)
    got = np.zeros_like(want) if got is None else np.asarray(got, dtype=float)
    want = np.zeros_like(got) if want is None else np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return Comparison(False, f"{what} has shape {got.shape} but {against} has shape {want.shape}")
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
        bad = what if not np.all(np.isfinite(got)) else against
        return Comparison(False, f"non-finite values in {bad} (overflow or a division by zero on this instance)")
    if got.size == 0:
        return Comparison(True, "empty", None, 0.0, scale, 0.0)
    err = np.abs(got - want)
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(want))))
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    rel = float(err[i]) / scale if scale > 0 else (0.0 if err[i] == 0 else float("inf"))
    entry = tuple(int(v) for v in i)
    msg = (f"entry {entry}: {what} = {got[i]:.12g}, {against} = {want[i]:.12g} "
           f"(error {rel:.2e} relative to the terms' size {scale:.3g})")
    return Comparison(bool(err[i] <= rtol * scale + atol), msg, entry, float(err[i]), float(scale), rel)


@dataclass(eq=False)  # its values are arrays: two counterexamples are the same only if they are one object
class Counterexample:
    """A small, seeded instance on which a statement fails, with both sides' values.

    ``instance`` names it (binding, sizes, seed, activation, recipe ...);
    ``entry`` is the worst entry and ``discrepancy`` its absolute error;
    ``relative`` that error relative to the terms' size (None when unknown).
    """

    instance: dict
    lhs: Any
    rhs: Any
    entry: "tuple | None" = None
    discrepancy: "float | None" = None
    detail: str = ""
    relative: "float | None" = None

    def as_dict(self) -> dict:
        return {"instance": jsonable(self.instance), "lhs": jsonable(self.lhs), "rhs": jsonable(self.rhs),
                "entry": list(self.entry) if self.entry is not None else None,
                "discrepancy": jsonable(self.discrepancy), "detail": self.detail}


@dataclass
class CheckResult:
    """One check: of a step of a derivation (``derivation``, ``step``) or of a lecture claim (its id).

    ``method``: "exact", "symbolic", "label", "numeric-fd", "numeric-reference", "numeric", "arithmetic",
    "shape", "labels", "skipped" ...; ``reference``: what the value was compared with (finite
    differences, the NumPy BPTT, canonical path sums, SymPy's local Jacobian ...); ``verdict``: one of
    `OUTCOMES` (by default "passed" or "failed" from ``passed``, "skipped" for a skipped check).
    ``where`` is the instance: text for a derivation's check, a dict (binding, sizes, seed ...) for a claim's.
    """

    derivation: str = ""
    step: int = 0       # 0-based index into derivation.steps
    method: str = ""
    passed: bool = True
    detail: str = ""
    where: "str | dict" = ""
    seconds: float = 0.0
    reference: str = ""
    verdict: str = ""
    counterexample: "Counterexample | None" = None

    def __post_init__(self):
        if not self.verdict:
            self.verdict = "skipped" if self.method == "skipped" else ("passed" if self.passed else "failed")
        elif self.verdict not in OUTCOMES:
            raise UnknownName("check outcome", self.verdict, OUTCOMES)
        if self.verdict in ("not_applicable", "skipped"):
            self.passed = True  # no evidence either way, and no failure

    @property
    def subject(self) -> str:
        """The id of what was checked: a derivation or a claim."""
        return self.derivation

    @property
    def evidence(self) -> bool:
        """The check ran and judged (passed or failed); a skipped or not applicable one is no evidence."""
        return self.verdict in ("passed", "failed")

    def where_text(self) -> str:
        if isinstance(self.where, dict):
            return ", ".join(f"{k}={format_where(v)}" for k, v in self.where.items())
        return str(self.where)

    def as_dict(self) -> dict:
        return {"method": self.method, "passed": self.passed, "verdict": self.verdict, "reference": self.reference,
                "where": jsonable(self.where), "detail": self.detail}

    def __str__(self):
        mark = "ok  " if self.passed else "FAIL"
        return f"{mark} {self.derivation} step {self.step + 1} [{self.method}] {self.where_text()} {self.detail}".rstrip()


@dataclass
class Report:
    """Results of checks: of one or more derivations, or (`derive.catalog.AuditReport`) of lecture claims."""

    results: "list[CheckResult]" = field(default_factory=list)
    seconds: float = 0.0
    subject_name = "id"   # what a subject is called in an error (a class attribute, not a field)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def failures(self) -> "list[CheckResult]":
        return [r for r in self.results if not r.passed]

    def by_verdict(self, verdict: str) -> "list[CheckResult]":
        return [r for r in self.results if r.verdict == verdict]

    def __getitem__(self, subject: str) -> CheckResult:
        """The (first) result of one subject: a claim id, or a derivation id."""
        for r in self.results:
            if r.subject == subject:
                return r
        raise UnknownName(self.subject_name, subject, list(dict.fromkeys(r.subject for r in self.results)))

    def verdict(self, derivation: str, step: int) -> str:
        """"symbolic and numeric", "symbolic", "numeric" or "FAILED" for one step."""
        rs = [r for r in self.results if r.derivation == derivation and r.step == step]
        if not rs:
            return "unchecked"
        if not all(r.passed for r in rs):
            return "FAILED"
        kinds = {"symbolic" if r.method in ("exact", "symbolic", "label") else "numeric" for r in rs}
        return " and ".join(sorted(kinds, reverse=True))

    def extend(self, other: "Report") -> None:
        self.results.extend(other.results)

    def summary(self) -> str:
        n, f = len(self.results), len(self.failures())
        return f"{n - f} passed, {f} failed"


def jsonable(x):
    """A value as JSON writes it: arrays as nested lists, non-finite floats as text, SymPy as text."""
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, NodeRef):
        return str(x)
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, sp.Basic):
        return str(x)
    return x


def rounded(x):
    """A number or an array to 12 significant digits (a counterexample's values, as shown)."""
    if isinstance(x, (int, float, np.floating)) or np.ndim(x) == 0:
        return float(f"{float(x):.12g}")
    return np.vectorize(lambda v: float(f"{v:.12g}"))(np.asarray(x, dtype=np.float64))


def format_where(v) -> str:
    """An instance as a reader writes it: ``binding t=2, T=3; sizes n=2, d=1; seed 1; activation tanh``."""
    if isinstance(v, dict) and not any(isinstance(x, dict) for x in v.values()):
        return ", ".join(f"{k}={_fmt_value(x)}" for k, x in v.items())
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            if isinstance(x, dict):
                parts.append(f"{k} " + ", ".join(f"{a}={_fmt_value(b)}" for a, b in x.items()))
            else:
                parts.append(f"{k} {_fmt_value(x)}")
        return "; ".join(parts)
    return str(v)


def _fmt_value(x) -> str:
    if isinstance(x, (list, tuple)) and not isinstance(x, NodeRef):
        return "(" + ", ".join(_fmt_value(y) for y in x) + ")"
    if isinstance(x, dict):
        return ", ".join(f"{a}={_fmt_value(b)}" for a, b in x.items())
    return str(x)
