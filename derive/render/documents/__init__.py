"""Lecture-ready documents: one set of notes and one slide deck per lecture, and the book.

A lecture module of a content package's ``catalog`` says, besides its
``claims()``, how its lecture runs: ``lecture()`` returns a `Lecture` whose
sections list the lecture's statements (claim ids) and the derivations that
belong there, in the lecture's own order and with its own titles.
"""

from .plan import TOPICS, Lecture, Section, collect_lectures

__all__ = ["TOPICS", "Lecture", "Section", "collect_lectures"]
