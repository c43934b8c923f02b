"""The lecture plans (``lecture()`` of each catalog module): every claim and every derivation placed once."""

from __future__ import annotations

import fnmatch

import pytest

from derive.content import claim_modules, collect_claims, collect_derivations
from derive.render.documents import collect_lectures
from derive.render.documents import TOPICS, Lecture, Section
from derive.errors import InvalidValue

LECTURES = {"l14", "l59", "l105", "cs224n", "l111"}
NOTATIONS = {"l14": "cs7015", "l105": "cs7015", "l111": "cs7015", "l59": "appliednlp", "cs224n": "cs224n"}


@pytest.fixture(scope="module")
def derivations():
    return collect_derivations(T=4)


@pytest.fixture(scope="module")
def plans():
    """(lecture, its module's claims) for every lecture module."""
    out = []
    for mod in claim_modules("derive.proofs"):
        assert callable(getattr(mod, "lecture", None)), f"{mod.__name__} has no lecture()"
        out.append((mod.lecture(), mod.claims()))
    return out


def test_five_lectures_in_their_notation(plans):
    assert {lec.id for lec, _ in plans} == LECTURES
    for lec, _ in plans:
        assert lec.notation == NOTATIONS[lec.id], lec.id
        assert lec.title and lec.course and all(s.where for s in lec.sections), lec.id
    assert [lec.id for lec in collect_lectures("derive.proofs")][0] == "l14"   # the book opens with BPTT


def test_every_lecture_resolves_with_each_claim_once(plans, derivations):
    all_claims = collect_claims()
    for lec, claims in plans:
        mine = [c for c in all_claims if c.id.startswith(lec.claim_prefix)]
        assert [c.id for c in mine] == [c.id for c in claims], lec.id
        resolved = lec.resolve(claims, derivations)
        placed = [o.id for _, objs in resolved for o in objs if o in claims]
        assert sorted(placed) == sorted(c.id for c in claims), lec.id


def test_every_derivation_is_placed_in_exactly_one_lecture(plans, derivations):
    ids = {d.id for d in derivations}
    count = dict.fromkeys(ids, 0)
    for lec, claims in plans:
        for _, objs in lec.resolve(claims, derivations):
            for o in objs:
                if o.id in ids and o not in claims:
                    count[o.id] += 1
    assert [i for i, n in count.items() if n == 0] == [], "derivations in no lecture"
    assert [i for i, n in count.items() if n > 1] == [], "derivations in two lectures"


def test_no_derivation_is_shadowed_by_a_claim_id(derivations):
    claim_ids = {c.id for c in collect_claims()}
    assert sorted(d.id for d in derivations if d.id in claim_ids) == []


def test_sections_follow_the_book_topics(plans):
    for lec, _ in plans:
        assert all(s.topic in TOPICS for s in lec.sections)
    topics = {lec.id: [s.topic for s in lec.sections] for lec, _ in plans}
    assert topics["l59"][0] == "rnn" and topics["l59"][-1] == "remedies"
    assert "gru" in topics["cs224n"] and "lstm" in topics["l111"]


def _l59(sections):
    return Lecture("l59", "Lecture 59", course="Applied NLP", notation="appliednlp", sections=sections)


def test_a_misspelt_item_is_refused_by_name(plans, derivations):
    lec, claims = next(p for p in plans if p[0].id == "l59")
    first = lec.sections[0]
    bad = _l59((Section(first.title, first.items + ("l59-eq1S",)),) + lec.sections[1:])
    with pytest.raises(InvalidValue, match=r"'l59-eq1S' names no claim or derivation"):
        bad.resolve(claims, derivations)
    glob = _l59(lec.sections + (Section("Extra", ("l59-nothing-*",)),))
    with pytest.raises(InvalidValue, match=r"'l59-nothing-\*'"):
        glob.resolve(claims, derivations)


def test_a_doubled_or_missing_claim_is_refused_by_name(plans, derivations):
    lec, claims = next(p for p in plans if p[0].id == "l59")
    doubled = _l59(lec.sections + (Section("Again", ("l59-eq17",)),))
    with pytest.raises(InvalidValue, match=r"'l59-eq17' is placed twice"):
        doubled.resolve(claims, derivations)
    dropped = tuple(Section(s.title, tuple(i for i in s.items if i != "l59-eq19"), s.topic, s.where)
                    for s in lec.sections)
    with pytest.raises(InvalidValue, match=r"claim\(s\) l59-eq19 are in no section"):
        _l59(dropped).resolve(claims, derivations)


def test_globs_in_plans_match_only_derivations_of_their_lecture(plans, derivations):
    """A glob item never swallows a claim by accident: claims are named one by one."""
    claim_ids = [c.id for c in collect_claims()]
    for lec, _ in plans:
        for s in lec.sections:
            for item in s.items:
                if any(ch in item for ch in "*?["):
                    assert not fnmatch.filter(claim_ids, item), (lec.id, item)
                    assert fnmatch.filter([d.id for d in derivations], item), (lec.id, item)


def test_intros_and_abstracts_are_plain_text(plans):
    """Plain sentences (the renderer escapes them), never TeX: no \\, $, _, ^, braces."""
    for lec, _ in plans:
        for text in [lec.abstract] + [s.intro for s in lec.sections] + [s.title for s in lec.sections]:
            assert not set(text) & set("\\$_^{}&%#"), (lec.id, text)
        assert lec.abstract, lec.id


def test_every_placed_derivation_prints_in_its_lecture_notation(plans, derivations):
    from derive.prove.expand import Derivation
    from derive.render.latex import latex

    for lec, claims in plans:
        for _, objs in lec.resolve(claims, derivations):
            for d in (o for o in objs if isinstance(o, Derivation)):
                for term in [d.lhs] + [s.rhs for s in d.steps]:
                    assert latex(term, notation=lec.notation, cell=d.cell), (lec.id, d.id)
