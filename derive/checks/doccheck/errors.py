"""The error of a construct a document uses that `derive check` does not understand."""

from __future__ import annotations

from derive.errors import DeriveError

__all__ = ["NotUnderstood"]


class NotUnderstood(DeriveError):
    """A construct the reader does not understand; the message names it and where it is."""

    def __init__(self, reason: str, position: "int | None" = None):
        self.reason, self.position = reason, position
        super().__init__(reason if position is None else f"{reason} (at character {position})")
