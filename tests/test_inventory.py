"""The statement inventory (proofs/catalog/inventory.toml): every mathematical statement of the five transcripts,
with the catalog claim that checks it or the reason it is not checkable (issue 12).

The inventory fails here when a statement loses its claim (an id missing from the catalog), when one claim id
serves unrelated statements (entries outside one ``group``), when a quoted text is not on its line of its seed
file, or when a statement has neither a claim nor a reason; and every claim of the catalog is inventoried.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from derive.content import collect_claims, collect_derivations

ROOT = Path(__file__).resolve().parents[1]
INVENTORY = ROOT / "proofs" / "catalog" / "inventory.toml"
SEEDS = ROOT / "tests" / "seeds"  # the transcripts, copied from ../shared/seeds (tests/seeds/README.md)
SHARED = ROOT.parent / "shared" / "seeds"


def _flat(text: str) -> str:
    return " ".join(text.split())


def problems(inventory: dict, claim_ids: "set[str]", derivation_ids: "set[str]", seeds: Path) -> "list[str]":
    """Everything wrong with an inventory, one line each (empty when it is sound)."""
    out: "list[str]" = []
    files = inventory.get("seeds", {})
    lines: dict = {}
    groups: "dict[str, set]" = {}
    for n, e in enumerate(inventory.get("statement", []), 1):
        where = f"statement {n} ({e.get('seed')}:{e.get('line')})"
        name = files.get(e.get("seed"))
        if name is None:
            out.append(f"{where}: unknown seed {e.get('seed')!r}")
            continue
        if name not in lines:
            lines[name] = (seeds / name).read_text(encoding="utf-8").splitlines()
        line = e.get("line", 0)
        if not 1 <= line <= len(lines[name]):
            out.append(f"{where}: no line {line} in {name}")
        elif _flat(e.get("quote", "")) not in _flat(lines[name][line - 1]) or not e.get("quote", "").strip():
            out.append(f"{where}: the quote {e.get('quote')!r} is not on that line of {name}")
        claims, derivs, reason = e.get("claims", []), e.get("derivations", []), e.get("not_checkable", "")
        if not claims and not derivs and not reason.strip():
            out.append(f"{where}: neither a claim nor a reason it is not checkable")
        if (claims or derivs) and reason:
            out.append(f"{where}: both checked and not checkable")
        for c in claims:
            if c not in claim_ids:
                out.append(f"{where}: claim {c!r} is not in the catalog")
            groups.setdefault(c, set()).add(e.get("group") or f"(alone: {where})")
        for d in derivs:
            if d not in derivation_ids:
                out.append(f"{where}: derivation {d!r} is not in proofs/")
    for c, gs in groups.items():
        if len(gs) > 1:
            out.append(f"claim {c!r} is listed for unrelated statements (groups {', '.join(sorted(gs))})")
    return out


@pytest.fixture(scope="module")
def inventory():
    return tomllib.loads(INVENTORY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ids():
    claims = collect_claims()
    top = {c.id for c in claims}
    every = top | {c.correction.id for c in claims if c.correction} | {c.simplified.id for c in claims if c.simplified}
    return top, every, {d.id for d in collect_derivations(T=4)}


def test_the_inventory_is_sound(inventory, ids):
    _, every, derivs = ids
    assert problems(inventory, every, derivs, SEEDS) == []
    assert {e["seed"] for e in inventory["statement"]} == {"000", "001", "002", "003", "004"}


def test_every_claim_of_the_catalog_is_inventoried(inventory, ids):
    top, _, _ = ids
    listed = {c for e in inventory["statement"] for c in e.get("claims", [])}
    assert sorted(top - listed) == []


def test_not_checkable_is_kept_for_what_is_empirical_or_advice(inventory, ids):
    """A claim marked not checkable in the catalog is one whose statement the inventory also marks so, and the
    catalog keeps only a few such claims (issue 12: most of the earlier ones are checkable and checked)."""
    prose = [c for c in collect_claims() if c.kind == "prose"]
    assert {c.id for c in prose} == {"l59-clip-speed", "cs224n-bidirectional-advice"}
    assert all(c.not_checkable for c in prose)
    reasons = [e["not_checkable"] for e in inventory["statement"] if "not_checkable" in e]
    assert len(reasons) >= 20 and all(len(r) > 5 for r in reasons)


def _mutant(inventory, change):
    inv = copy.deepcopy(inventory)
    change(inv["statement"])
    return inv


def test_a_statement_that_loses_its_claim_is_reported(inventory, ids):
    _, every, derivs = ids
    assert any("'l59-eq17' is not in the catalog" in p
               for p in problems(inventory, every - {"l59-eq17"}, derivs, SEEDS))
    renamed = _mutant(inventory, lambda st: next(e for e in st if "l59-eq19" in e.get("claims", []))
                      ["claims"].__setitem__(0, "l59-eq19x"))
    assert any("'l59-eq19x' is not in the catalog" in p for p in problems(renamed, every, derivs, SEEDS))


def test_a_claim_listed_for_unrelated_statements_is_reported(inventory, ids):
    _, every, derivs = ids

    def reuse(st):
        e = next(e for e in st if e.get("claims") == ["l59-u-power-spoken"])
        e["claims"] = ["l105-power"]                         # l105-power belongs to the group "power"
    found = problems(_mutant(inventory, reuse), every, derivs, SEEDS)
    assert any("'l105-power' is listed for unrelated statements" in p for p in found)


def test_a_quote_not_in_its_seed_is_reported(inventory, ids):
    _, every, derivs = ids

    def garble(st):
        st[0]["quote"] = st[0]["quote"] + " and then some"
    found = problems(_mutant(inventory, garble), every, derivs, SEEDS)
    assert any("statement 1 " in p and "is not on that line" in p for p in found)

    def move(st):
        st[0]["line"] = st[0]["line"] + 1
    assert any("is not on that line" in p for p in problems(_mutant(inventory, move), every, derivs, SEEDS))


def test_a_statement_with_neither_claim_nor_reason_is_reported(inventory, ids):
    _, every, derivs = ids

    def strip(st):
        e = next(e for e in st if "not_checkable" in e)
        del e["not_checkable"]
    assert any("neither a claim nor a reason" in p for p in problems(_mutant(inventory, strip), every, derivs, SEEDS))


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_the_copied_transcripts_are_the_lectures_own():
    ours = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert ours == sorted(p.name for p in SHARED.glob("*.txt")) and len(ours) == 5
    for name in ours:
        assert (SEEDS / name).read_bytes() == (SHARED / name).read_bytes(), name
