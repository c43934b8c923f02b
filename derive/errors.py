"""Every exception `derive` raises on purpose lives here.

Two families, as in latexify-py: `DeriveError` for input a user can fix (an
unknown name, a shape mismatch, a value out of range) and `NotSupported` for
things the engine does not do (yet).  Messages always name the offending value
and what was expected, so the command line can print them without a traceback.
"""

from __future__ import annotations


class DeriveError(Exception):
    """Base class: bad input that the user can fix."""


class UnknownName(DeriveError, KeyError):
    """A node, parameter, activation, notation or derivation id that does not exist."""

    def __init__(self, kind: str, name: object, known: "list[str] | tuple[str, ...]" = ()):
        self.kind, self.name, self.known = kind, name, tuple(known)
        msg = f"unknown {kind} {name!r}"
        if known:
            msg += "; expected one of: " + ", ".join(map(str, known))
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class ShapeError(DeriveError, ValueError):
    """Two operands whose shapes do not fit; the message names both shapes."""


class CellError(DeriveError, ValueError):
    """A cell definition that cannot be unrolled (undefined symbol, cycle, missing equation)."""


class InvalidValue(DeriveError, ValueError):
    """A scalar argument out of range (T, tau, a threshold, a seed, ...)."""


class NotSupported(DeriveError, NotImplementedError):
    """Something the engine does not do; the message says what and why."""


def positive_int(name: str, value: object, *, minimum: int = 1, maximum: "int | None" = None) -> int:
    """Validate an integer argument such as T or tau, naming it in the error."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "__index__") and not isinstance(value, float)
    ):
        raise InvalidValue(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        value = int(value.__index__())  # type: ignore[union-attr]
    except (TypeError, ValueError, AttributeError):  # e.g. a NumPy array that is not one integer
        raise InvalidValue(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise InvalidValue(f"{name} must be an integer {allowed}, got {value}")
    return value
