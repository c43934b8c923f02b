"""Meanings that are numbers: `Exact` (a number printed on a slide, in exact arithmetic) and `Computed`
(a property computed by a small function on seeded inputs)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.errors import DeriveError
from derive.checks.catalog.checks import Meaning, Outcome, Run, check, guarded, jsonable, rounded
from derive.checks.results import Counterexample, compare

__all__ = ["Exact", "Computed", "printed_number"]

PRINTED = "the number as printed, at its printed digits"


@dataclass
class Exact(Meaning):
    """A number printed on a slide, in exact arithmetic (and optionally as float64 computes it).

    ``rhs`` as a string keeps the printed precision: "7.1054274e-15" holds for
    0.5^47 = 7.10542735760100...e-15 because it rounds to those 8 digits.
    """

    lhs: Any                 # SymPy number, or a callable returning one
    rhs: Any                 # printed decimal string, or a SymPy number
    lhs_text: str = ""
    float64: "Callable[[], float] | None" = None

    def text(self) -> str:
        return f"{self.lhs_text or self.lhs} = {self.rhs}"

    def check(self, run: Run, notation: str) -> Outcome:
        t0 = time.perf_counter()
        exact = printed_number(self.lhs() if callable(self.lhs) else self.lhs)
        ok, detail = _matches_printed(exact, self.rhs)
        checks = [check("arithmetic", ok, {}, f"exactly {_exact_text(exact)}: {detail}", time.perf_counter() - t0,
                        reference=PRINTED)]
        cx = None if ok else Counterexample({}, _exact_text(exact), str(self.rhs), None,
                                            jsonable(float(abs(sp.N(exact - printed_number(self.rhs), 17)))), detail)
        if self.float64 is not None:
            v = float(self.float64())
            ok64, d64 = _matches_printed(sp.Float(v, 17), self.rhs)
            checks.append(check("numeric", ok64, {"arithmetic": "float64"}, f"float64 gives {v!r}: {d64}",
                                reference=PRINTED))
        return Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        value = printed_number(self.rhs)
        return [("wrong bound constant", replace(self, rhs=value * sp.Rational(101, 100)))]


def printed_number(v) -> sp.Expr:
    """A claim's number: a SymPy number or a Python int/float as is, a printed decimal string read as a
    decimal (never evaluated as an expression)."""
    if isinstance(v, str):
        from decimal import Decimal, InvalidOperation

        try:
            Decimal(v.replace(" ", ""))
        except InvalidOperation:
            raise DeriveError(f"cannot read the printed number {v!r}: expected a decimal such as 7.1e-15") from None
        return sp.Float(v.replace(" ", ""), 30)
    if isinstance(v, bool) or not isinstance(v, (int, float, sp.Basic)):
        raise DeriveError(f"a claim's number must be a number, got {v!r}")
    out = sp.Integer(v) if isinstance(v, int) else sp.Float(v) if isinstance(v, float) else v
    if not out.is_number:
        raise DeriveError(f"a claim's number must be a number, got {v!r}")
    return out


def _matches_printed(exact, printed) -> "tuple[bool, str]":
    if isinstance(printed, str):
        from decimal import Decimal, InvalidOperation

        try:
            dec = Decimal(printed.replace(" ", ""))
        except InvalidOperation:
            raise DeriveError(f"cannot read the printed number {printed!r}") from None
        digits = len(dec.as_tuple().digits)
        got = Decimal(str(sp.N(exact, digits + 10)))
        fmt = f".{max(digits - 1, 0)}e"
        ok = format(got, fmt) == format(dec, fmt)
        return ok, f"rounds to {format(got, fmt)} at the printed {digits} significant digits, printed {printed}"
    ok = sp.simplify(printed_number(exact) - printed_number(printed)) == 0
    return ok, f"{sp.nsimplify(exact)} {'=' if ok else '≠'} {printed} (as printed)"


@dataclass
class Computed(Meaning):
    """A property computed by a small function on seeded random inputs.

    ``fn(rng)`` returns ``(lhs, rhs, inputs)``; the claim holds when lhs = rhs
    (to ``rtol``) on every trial.  Used for what the derivative algebra does
    not cover: perplexity and cross-entropy, clipping rules, the GRU's gates.
    """

    fn: Callable
    description: str
    trials: int = 10
    rtol: float = 1e-9

    def text(self) -> str:
        return self.description

    def check(self, run: Run, notation: str) -> Outcome:
        checks, cx = [], None
        for seed in range(self.trials):
            t0 = time.perf_counter()
            got, failed = guarded(lambda: self.fn(np.random.default_rng(seed)), "numeric", {"seed": seed})
            if failed is not None:
                checks.append(failed)
                continue
            lv, rv, inputs = got
            a, b = np.asarray(lv, dtype=np.float64), np.asarray(rv, dtype=np.float64)
            scale = max(1.0, float(np.max(np.abs(a), initial=0.0))) if np.all(np.isfinite(a)) else None
            cmp = compare(a, b, rtol=self.rtol, what="left", against="right", scale=scale)
            where = {"seed": seed, **{k: jsonable(rounded(v)) if isinstance(v, (float, np.ndarray)) else v
                                      for k, v in inputs.items()}}
            detail = f"left {jsonable(rounded(a))}, right {jsonable(rounded(b))}"
            checks.append(check("numeric", cmp.passed, where, detail if cmp.passed or cmp.entry is None else
                                f"{detail}: {cmp.detail}", time.perf_counter() - t0, reference="the other side"))
            if not cmp.passed and cx is None:
                cx = Counterexample(where, rounded(a), rounded(b), cmp.entry, cmp.error, detail, cmp.relative)
        return Outcome(checks, cx)

    def mutants(self, notation: str) -> "list[tuple[str, Meaning]]":
        def wrong(rng, fn=self.fn):
            lv, rv, inputs = fn(rng)
            return lv, np.asarray(rv, dtype=np.float64) * 1.01 + 0.01, inputs

        return [("wrong bound constant", replace(self, fn=wrong))]


def _exact_text(x) -> str:
    """An exact number as a reader writes it: 4 and 1/4 as themselves, anything else to 17 digits."""
    if isinstance(x, sp.Float):
        x = sp.nsimplify(x)
    if isinstance(x, sp.Rational) and x.q < 10 ** 6:
        return str(x)
    return str(sp.N(x, 17))
