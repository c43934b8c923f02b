"""Cross-references in a claim's reading, as a reader of the notes needs them.

A reading is written for the audit too, so it names other claims by id
(``l105-power``), transcripts by seed file (``seeds/002``) and sometimes a test
file.  In a lecture's notes those become the claim's lecture and place
("Lecture 105, slide 36/41"), the transcript's lecture ("Lecture 14"), and
nothing at all for a test file.
"""

from __future__ import annotations

import re
from functools import lru_cache

from derive.content import claim_modules

from .plan import collect_lectures

__all__ = ["readable"]

_TEST_NOTE = re.compile(r"\s*\([^()]*\btests/\w+\.py\b[^()]*\)")
_TEST_FILE = re.compile(r"\btests/\w+\.py\b")
_SEED = re.compile(r"\bseeds/(\d{3})(?:_[0-9a-f]+\.txt)?")


@lru_cache(maxsize=1)
def _tables() -> "tuple[dict[str, str], dict[str, str], re.Pattern | None]":
    lectures = {lec.module: lec for lec in collect_lectures()}
    places, seeds = {}, {}
    for mod in claim_modules():
        lec = lectures.get(mod.__name__)
        if lec is None:
            continue
        source = getattr(mod, "SOURCE", "")
        if source[:3].isdigit():
            seeds[source[:3]] = lec.short
        for claim in mod.claims():
            for c in (claim, claim.correction):
                if c is not None:
                    places.setdefault(c.id, f"{lec.short}, {claim.source.where}")
    if not places:
        return places, seeds, None
    ids = sorted(places, key=len, reverse=True)
    return places, seeds, re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")


def readable(text: str) -> str:
    """``text`` with claim ids, seed files and test files turned into what a reader can look up."""
    if not text:
        return text
    places, seeds, ids = _tables()
    text = _TEST_NOTE.sub("", text)
    text = _TEST_FILE.sub("the test suite", text)
    text = _SEED.sub(lambda m: seeds.get(m.group(1), "another transcript"), text)
    if ids is not None:
        text = ids.sub(lambda m: places[m.group(1)], text)
    return text
