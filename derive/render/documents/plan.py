"""The plan of one lecture: its title, notation and sections, each a list of claims and derivations in order.

Written by a course author next to the lecture's claims (``lecture()`` in a
catalog module), for example CS7015 Lecture 14::

    Lecture("l14", "CS7015 Lecture 14: Backpropagation through time", course="CS7015 (IIT Madras)",
            notation="cs7015", sections=(
                Section("Module 14.3: Backpropagation through time", topic="bptt", where="slides 12-20",
                        items=("l14-14.3-*", "l14-expand-s*-W", ...)),
                ...))

An item is a claim id or a derivation id, or a glob matching several (``*``
and ``?``; derivation ids may carry the unrolling length, ``l14-expand-s4-W``).
Every item must match something and every claim of the lecture must be placed
exactly once: `Lecture.resolve` says which one is missing or doubled.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

from derive.content import claim_modules
from derive.errors import DeriveError, InvalidValue

__all__ = ["TOPICS", "Section", "Lecture", "collect_lectures"]

#: The book's parts, in teaching order: a section belongs to one.
TOPICS = {
    "rnn": "Recurrent networks and backpropagation through time",
    "vanishing": "Vanishing and exploding gradients",
    "remedies": "Remedies: truncation, clipping, gated and deeper architectures",
    "lstm": "Long short-term memory",
    "gru": "Gated recurrent units",
}

_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")


@dataclass(frozen=True)
class Section:
    """One part of a lecture, in the lecture's words.

    Attributes:
        title: the lecture's own heading ("Module 14.4: The problem of exploding and vanishing gradients").
        items: claim and derivation ids (or globs), in the order the lecture states them.
        topic: the book part it belongs to, a key of `TOPICS`.
        where: the lecture's own place: slides, equation numbers, a time ("eqs. (15)-(20)", "at 12:30").
        intro: one or two sentences of plain text that open the section (escaped, never TeX).
        figures: ids of figures shown at the section's end: a drawing of the graph
            (``rnn-unrolled``, ``lstm-dependencies``) or a plot of `derive.render.figures`.
    """

    title: str
    items: "tuple[str, ...]"
    topic: str = "rnn"
    where: str = ""
    intro: str = ""
    figures: "tuple[str, ...]" = ()

    def __post_init__(self):
        if not isinstance(self.title, str) or not self.title.strip():
            raise InvalidValue(f"a section needs a title, got {self.title!r}")
        if isinstance(self.items, str) or not all(isinstance(i, str) and i for i in self.items):
            raise InvalidValue(f"section {self.title!r}: items must be a tuple of ids, got {self.items!r}")
        object.__setattr__(self, "items", tuple(self.items))
        if isinstance(self.figures, str):
            raise InvalidValue(f"section {self.title!r}: figures must be a tuple of figure ids, got {self.figures!r}")
        object.__setattr__(self, "figures", tuple(self.figures))
        if self.topic not in TOPICS:
            raise InvalidValue(f"section {self.title!r}: topic must be one of {', '.join(TOPICS)}, "
                               f"got {self.topic!r}")


@dataclass(frozen=True)
class Lecture:
    """One lecture: what `derive build` makes ``notes.pdf`` and ``slides.pdf`` of, in ``build/<id>/``.

    Attributes:
        id: the folder name and ``--lecture`` value, a lowercase word ("l14", "cs224n").
        title: the lecture's own title.
        course: the course and institution, as the lecture names itself.
        notation: the course notation its documents print in (`derive.notation`).
        sections: in the lecture's order.
        order: the lecture's place in the book when topics tie (smaller first).
        claim_prefix: the ids of this lecture's claims start with it (default ``id + "-"``).
        short: how the book names it beside a section ("Lecture 59"; default: the title
            up to its first colon, or the course).
    """

    id: str
    title: str
    course: str
    notation: str
    sections: "tuple[Section, ...]"
    order: int = 0
    claim_prefix: str = ""
    abstract: str = ""
    short: str = ""
    module: str = field(default="", compare=False)

    def __post_init__(self):
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise InvalidValue(f"a lecture id is a lowercase word such as 'l14', got {self.id!r}")
        if not self.sections or not all(isinstance(s, Section) for s in self.sections):
            raise InvalidValue(f"lecture {self.id}: sections must be a non-empty tuple of Section")
        object.__setattr__(self, "sections", tuple(self.sections))
        if not self.claim_prefix:
            object.__setattr__(self, "claim_prefix", self.id + "-")
        if not self.short:
            head, colon, _ = self.title.partition(":")
            object.__setattr__(self, "short", head.strip() if colon else self.course.split(":")[0].strip())

    def resolve(self, claims, derivations) -> "list[tuple[Section, list]]":
        """Each section with its items resolved to `Claim` and `Derivation` objects, in order.

        ``claims`` are this lecture's claims (corrections are reached through them),
        ``derivations`` every derivation of the build.  Raises InvalidValue naming
        the item that matches nothing, or the claim of this lecture placed twice
        or nowhere.
        """
        by_id = {}
        for c in claims:
            by_id.setdefault(c.id, c)
        for d in derivations:
            by_id.setdefault(d.id, d)
        out, placed = [], {}
        for sec in self.sections:
            objs = []
            for item in sec.items:
                if any(ch in item for ch in "*?["):
                    hits = [k for k in by_id if fnmatch.fnmatchcase(k, item)]
                else:
                    hits = [item] if item in by_id else []
                if not hits:
                    raise InvalidValue(f"lecture {self.id}, section {sec.title!r}: {item!r} names no claim or "
                                       "derivation of this build")
                for k in hits:
                    if k in placed:
                        raise InvalidValue(f"lecture {self.id}: {k!r} is placed twice (sections "
                                           f"{placed[k]!r} and {sec.title!r})")
                    placed[k] = sec.title
                    objs.append(by_id[k])
            out.append((sec, objs))
        missing = [c.id for c in claims if c.id not in placed]
        if missing:
            raise InvalidValue(f"lecture {self.id}: claim(s) {', '.join(missing)} are in no section; "
                               "place each claim of the lecture in one section")
        return out


def collect_lectures(package: "str | None" = None) -> list:
    """The `derive.render.documents.Lecture` plans of the lecture modules that have ``lecture()``, in book order
    (each lecture's first topic in teaching order, then its ``order``); their claims are the module's."""
    out, seen = [], {}
    for mod in claim_modules(package):
        fn = getattr(mod, "lecture", None)
        if not callable(fn):
            continue
        lec = fn()
        if not isinstance(lec, Lecture):
            raise DeriveError(f"{mod.__name__}.lecture() returned {type(lec).__name__}, expected a Lecture")
        if lec.id in seen:
            raise DeriveError(f"two lectures share the id {lec.id!r} ({seen[lec.id]} and {mod.__name__})")
        seen[lec.id] = mod.__name__
        object.__setattr__(lec, "module", mod.__name__)
        out.append(lec)
    topics = list(TOPICS)
    return sorted(out, key=lambda lec: (min(topics.index(s.topic) for s in lec.sections), lec.order, lec.id))
