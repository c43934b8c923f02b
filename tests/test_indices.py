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
