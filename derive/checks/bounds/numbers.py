"""The lecture's numbers exactly: 0.01^47 and 0.5^47 of Applied NLP Lecture 59, in float64 and mpmath."""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from derive.errors import InvalidValue, positive_int


_TINY = np.finfo(np.float64).tiny           # smallest normal float64, 2.2e-308


@dataclass(frozen=True)
class PowerReport:
    """base^exponent three ways: exact (SymPy Rational), float64, and mpmath (30 digits).

    Attributes:
        base: the base as an exact Rational (a decimal string or float is read as
            the decimal it prints as: 0.01 is 1/100, not the nearest binary float).
        exponent: a non-negative integer.
        exact: base**exponent as a Rational.
        value: the exact value to 17 significant digits (mpmath), a string.
        float_value: ``float(base) ** exponent`` in float64.
        rel_error: |float_value - exact| / exact (1.0 when float64 underflows to 0).
        status: "normal", "subnormal" (below 2.2e-308: precision lost),
            "underflow" (float64 gives 0) or "overflow" (float64 gives inf).
        lecture_value: the value as printed in the lecture, if any.
    """

    base: sp.Rational
    exponent: int
    exact: sp.Rational = field(repr=False)
    value: str
    float_value: float
    rel_error: float
    status: str
    lecture_value: "str | None" = None

    @property
    def underflows(self) -> bool:
        return self.status == "underflow"

    @property
    def log10(self) -> float:
        """log10 of the exact value (finite even when float64 underflows)."""
        with mpmath.workdps(30):
            return float(mpmath.log10(_mp(self.exact)))

    def agrees_with_lecture(self) -> "bool | None":
        """Whether the printed value equals the exact one to the digits printed (None if nothing printed)."""
        if self.lecture_value is None:
            return None
        printed = decimal.Decimal(self.lecture_value)
        digits = len(printed.as_tuple().digits)
        half_ulp = sp.Rational(1, 2) * sp.Rational(10) ** (printed.adjusted() - digits + 1)
        return bool(abs(sp.Rational(self.lecture_value) - self.exact) <= half_ulp)

    def latex(self) -> str:
        """``0.5^{47} = 7.1054274 \\times 10^{-15}`` (exact powers of ten print exactly)."""
        base = _decimal(self.base)
        p, q = self.exact.p, self.exact.q
        if p == 1 and _is_power_of_ten(q):
            rhs = f"10^{{-{len(str(q)) - 1}}}"
        elif q == 1 and _is_power_of_ten(p):
            rhs = f"10^{{{len(str(p)) - 1}}}"
        else:
            with mpmath.workdps(30):
                m, e = mpmath.nstr(_mp(self.exact), 8, min_fixed=0, max_fixed=0).split("e")
            rhs = f"{m} \\times 10^{{{int(e)}}}"
        return f"{base}^{{{self.exponent}}} = {rhs}"


def _mp(r: sp.Rational):
    return mpmath.mpf(r.p) / mpmath.mpf(r.q)


def _is_power_of_ten(k: int) -> bool:
    return str(k).startswith("1") and set(str(k)[1:]) <= {"0"}


def _decimal(r: sp.Rational) -> str:
    if r.q == 1:
        return str(r.p)
    text = str(sp.Float(r, 30)).rstrip("0")
    return text if sp.Rational(text) == r else f"{r.p}/{r.q}"


def _exact_base(base) -> sp.Rational:
    if isinstance(base, bool):
        raise InvalidValue(f"base must be a number, got {base!r}")
    if isinstance(base, sp.Rational):
        return base
    if isinstance(base, (int, np.integer)):
        return sp.Rational(int(base))
    if isinstance(base, (float, np.floating)):
        if not math.isfinite(base):
            raise InvalidValue(f"base must be finite, got {base!r}")
        return sp.Rational(repr(float(base)))
    if isinstance(base, str):
        try:
            return sp.Rational(base)
        except (TypeError, ValueError, sp.SympifyError):
            raise InvalidValue(f"base must be a decimal number such as '0.01', got {base!r}") from None
    raise InvalidValue(f"base must be an int, float, decimal string or Rational, got {base!r}")


MAX_POWER_BITS = 1 << 18  # 0.5^262144 or 0.01^~19000 exactly, in well under a second


def power_report(base, exponent: int, *, lecture_value: "str | None" = None) -> PowerReport:
    """base^exponent exactly, in float64 (with its relative error) and with mpmath.

    The Applied NLP lecture (``000_7be57cb19668d348.txt``) shows how a factor
    below 1 repeated 47 times (7th to 47th word) vanishes: 0.01^47 = 1.0e-94,
    0.5^47 = 7.1054274e-15.  float64 represents neither 0.01 nor 0.01^47
    exactly; ``rel_error`` says how far the float result is from the exact power.

    Example::

        >>> r = power_report("0.01", 47)
        >>> r.exact == sp.Rational(1, 10**94), r.status
        (True, 'normal')
    """
    b = _exact_base(base)
    k = positive_int("exponent", exponent, minimum=0)
    if b < 0:
        raise InvalidValue(f"base must be >= 0 (a gradient factor's magnitude), got {b}")
    bits = k * (b.p.bit_length() + b.q.bit_length()) if b not in (0, 1) else 0
    if bits > MAX_POWER_BITS:  # the exact rational would take this many bits (and quadratic gcds): refuse
        per = b.p.bit_length() + b.q.bit_length()
        raise InvalidValue(f"exponent must be at most {MAX_POWER_BITS // per} for base {b} (the exact power "
                           f"would take about {bits} bits, the limit is {MAX_POWER_BITS}), got {k}")
    exact = b ** k
    with np.errstate(over="ignore", under="ignore"):
        fl = float(np.float64(float(b)) ** np.float64(k))
    if math.isinf(fl):
        status, rel = "overflow", math.inf
    elif fl == 0.0 and exact != 0:
        status, rel = "underflow", 1.0
    else:
        status = "subnormal" if 0 < fl < _TINY else "normal"
        rel = 0.0 if exact == 0 else float(abs(sp.Rational(fl) - exact) / exact)
    with mpmath.workdps(30):
        value = mpmath.nstr(_mp(exact), 17, min_fixed=0, max_fixed=0) if exact != 0 else "0"
    return PowerReport(b, k, exact, value, fl, rel, status, lecture_value)


def lecture_numbers() -> "dict[str, PowerReport]":
    """The vanishing examples of ``000_7be57cb19668d348.txt`` and two more, exactly.

    - ``0.01^47``: printed as 1.0e-94; exactly 10^-94.
    - ``0.5^47``: printed as 7.1054274e-15; exactly 2^-47 = 7.1054273576010019e-15.
    - ``0.5^100``: 2^-100 ~= 7.89e-31 (a 100-step sequence with factor 1/2).
    - ``0.01^200``: 10^-400, below the smallest float64 (4.9e-324): float64
      gives 0, mpmath gives the value; flagged ``underflow``.
    """
    return {
        "0.01^47": power_report("0.01", 47, lecture_value="1.0e-94"),
        "0.5^47": power_report("0.5", 47, lecture_value="7.1054274e-15"),
        "0.5^100": power_report("0.5", 100),
        "0.01^200": power_report("0.01", 200),
    }
