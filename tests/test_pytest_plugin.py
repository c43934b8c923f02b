"""The pytest plugin: a course repository's derivations are collected and checked by plain pytest."""

from __future__ import annotations

import importlib.metadata

pytest_plugins = ["pytester"]


def _loaded() -> "list[str]":
    """``-p derive.checks.pytest_plugin`` unless the ``pytest11`` entry point already loads it."""
    eps = importlib.metadata.entry_points(group="pytest11")
    loaded = any(ep.value == "derive.checks.pytest_plugin" for ep in eps)
    return [] if loaded else ["-p", "derive.checks.pytest_plugin"]


def _plugin_args() -> "list[str]":
    """The plugin loaded and opted in (``--derive``)."""
    return _loaded() + ["--derive"]


GOOD = '''
from derive import D, Derivation, Step, idx, node, product_form, recursive_expansion, unroll
from derive.cells import rnn

def derivations():
    cell = rnn()
    t, k = idx("t"), idx("k")
    return [
        recursive_expansion(unroll(cell, 3), "s_3", "W", id="expand-s3-W"),
        Derivation("product", "ds_t/ds_k", "course notes, eq. (2)", cell, D(node("s", t), node("s", k)),
                   [Step(product_form("s"), "chain rule")], bindings=[{"t": 3, "k": 1, "T": 3}]),
    ]
'''

WRONG = '''
from derive import D, Derivation, ProdOver, Step, idx, node
from derive.cells import rnn

def derivations():
    t, k, j = idx("t"), idx("k"), idx("j")
    wrong = ProdOver(j, k + 1, t, D(node("s", j), node("s", j - 1)), descending=False)   # ascending: wrong order
    return [Derivation("ascending", "ds_t/ds_k, factors in the wrong order", "course notes, eq. (3)", rnn(),
                       D(node("s", t), node("s", k)), [Step(wrong, "chain rule?")],
                       bindings=[{"t": 3, "k": 0, "T": 3}])]
'''

CLAIMS = '''
from derive.checks.catalog import Claim, Identity, Source
from derive.cells import rnn

def claims():
    src = Source("week3.pdf", "eq. (7)", "ds_t/ds_0 = prod ...")
    return [
        Claim("eq7", src, "cs7015", Identity("ds_3/ds_0", "prod_{j=1}^{2} ds_j/ds_{j-1}", rnn, [{"T": 3}]),
              expected="fails", correction=Claim("eq7-fixed", src, "cs7015",
              Identity("ds_3/ds_0", "prod_{j=1}^{3} ds_j/ds_{j-1}", rnn, [{"T": 3}]))),
        Claim("eq8", src, "cs7015", Identity("ds_3/ds_1", "ds_3/ds_2 ds_2/ds_1", rnn, [{"T": 3}])),
        Claim("eq9", src, "cs7015", Identity("ds_3/ds_1", "ds_2/ds_1 ds_3/ds_2", rnn, [{"T": 3}])),
    ]
'''


def test_collects_one_item_per_derivation(pytester):
    pytester.makepyfile(derivations_rnn=GOOD, week2_derivations=GOOD.replace('id="expand-s3-W"', 'id="w2"'),
                        helpers="x = 1")
    result = pytester.runpytest("-v", *_plugin_args())
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*derivations_rnn.py::expand-s3-W PASSED*", "*derivations_rnn.py::product PASSED*",
                                 "*week2_derivations.py::w2 PASSED*"])


def test_failure_names_step_and_both_values(pytester):
    pytester.makepyfile(derivations_wrong=WRONG)
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*derivation ascending (ds_t/ds_k, factors in the wrong order, course notes, eq. (3)): *failed*",
        "*step 1 [[]exact] (t=3, k=0, T=3): path * has coefficient 0 on the left and 1 on the right*",
        "*step 1 [[]numeric-fd] (t=3, k=0, T=3, n=*, d=2, *seed 0): entry (*): the step = *, finite differences = *",
    ])


def test_ini_option_selects_files(pytester):
    pytester.makeini("[pytest]\nderive_files = course_*.py\n")
    pytester.makepyfile(course_week1=GOOD, derivations_ignored=WRONG)
    result = pytester.runpytest("-v", *_plugin_args())
    result.assert_outcomes(passed=2)


def test_claims_are_items_too(pytester):
    pytester.makepyfile(derivations_claims=CLAIMS)
    result = pytester.runpytest("-v", *_plugin_args())
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*::eq7 PASSED*", "*::eq8 PASSED*", "*::eq9 FAILED*",
                                 "*claim eq9 (week3.pdf, eq. (7)): expected holds, got fails*",
                                 "*counterexample: *'d': 2*", "*left *, right *"])


def test_bad_course_file_is_a_collection_error(pytester):
    pytester.makepyfile(derivations_bad='from derive.errors import UnknownName\n'
                                        'raise UnknownName("parameter", "Q", ["W", "U"])\n'
                                        'def derivations():\n    return []\n')
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*derivations_bad.py: unknown parameter 'Q'*"])


IMPORTS_ARE_SIDE_EFFECTS = '''
from pathlib import Path
Path(__file__).with_name("IMPORTED").write_text("the plugin imported me")

def derivations():
    return []
'''


def test_nothing_is_imported_unless_the_project_opts_in(pytester):
    """The plugin is loaded in every pytest run on the machine: a project that has not opted in is untouched."""
    pytester.makepyfile(derivations_rnn=IMPORTS_ARE_SIDE_EFFECTS, test_plain="def test_x():\n    pass\n")
    result = pytester.runpytest("-v", *_loaded())
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "IMPORTED").exists()
    pytester.makeini("[pytest]\nderive_collect = true\n")
    result = pytester.runpytest("-v", *_loaded())
    result.assert_outcomes(passed=1)
    assert (pytester.path / "IMPORTED").exists()


def test_a_matching_file_without_derivations_or_claims_is_not_imported(pytester):
    pytester.makepyfile(week1_derivations=IMPORTS_ARE_SIDE_EFFECTS.replace("def derivations", "def helper"))
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes()
    assert not (pytester.path / "IMPORTED").exists()
