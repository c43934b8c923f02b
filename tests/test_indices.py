"""The index grammar reads subscripts and dimensions without evaluating text."""

import os

import pytest
import sympy as sp

from derive.indices import IndexSyntaxError, as_index, parse_index

t, k, T = (sp.Symbol(n, integer=True) for n in "tkT")


@pytest.mark.parametrize("text, want", [
    ("t", t), ("k+1", k + 1), ("t - k", t - k), ("2t", 2 * t), ("2*t-1", 2 * t - 1),
    ("-(k+1)", -k - 1), ("{t-1}", t - 1), ("T", T), ("3", 3), ("2 \\cdot k", 2 * k),
])
def test_reads_index_expressions(text, want):
    assert sp.simplify(parse_index(text) - want) == 0


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch pwned')", "t**2", "k/2", "t+", "(t", "", "t k)", "1.5", "lambda: 0",
])
def test_rejects_everything_else_and_runs_nothing(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(IndexSyntaxError) as err:
        parse_index(text)
    assert repr(text)[1:-1][:8] in str(err.value) or text == ""
    assert not os.path.exists("pwned")


def test_as_index_normalises():
    assert as_index("4") == 4 and isinstance(as_index(sp.Integer(4)), int)
    assert as_index(None) is None and as_index("t-1") == t - 1
    for bad in (True, 1.5, sp.Float(2.0), object()):
        with pytest.raises(IndexSyntaxError):
            as_index(bad)


def test_the_claim_parser_reads_indices_by_the_grammar_and_runs_nothing(tmp_path, monkeypatch):
    """The issue's example: an index that is Python code is refused, and no file appears."""
    from derive.checks.catalog.parse import parse
    from derive.cells import rnn
    from derive.errors import DeriveError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeriveError, match="index expression"):
        parse("prod_{j=__import__('os').system('touch pwned')+1}^{t} ds_j/ds_{j-1}", "cs7015", rnn())
    assert not os.path.exists("pwned")
    assert parse("prod_{j=k+1}^{t} ds_j/ds_{j-1}", "cs7015", rnn()).lo == sp.Symbol("k", integer=True) + 1


def test_a_claims_printed_number_is_read_as_a_decimal_not_evaluated(tmp_path, monkeypatch):
    from derive.checks.catalog.meanings import _dimension, _number
    from derive.errors import DeriveError

    monkeypatch.chdir(tmp_path)
    assert _number("7.1054274e-15") == sp.Float("7.1054274e-15", 30) and _number(sp.Rational(1, 4)) == sp.Rational(1, 4)
    for bad in ("__import__('os').system('touch pwned')", "2**40", object()):
        with pytest.raises(DeriveError):
            _number(bad)
    assert _dimension("n*d", {"n": 3, "d": 2}) == 6 and _dimension(4, {}) == 4
    with pytest.raises(IndexSyntaxError):
        _dimension("__import__('os')", {})
    assert not os.path.exists("pwned")
