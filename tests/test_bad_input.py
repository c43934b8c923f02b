"""Bad input to the public API (issue 13): text never executes, complex/nan/inf and bad shapes are refused
with the project's own errors, identity cases are the identity, exponents are bounded."""

from __future__ import annotations


import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive.checks.bounds import power_report
from derive.model.cell import Cell
from derive.cells import rnn
from derive.numeric.clipping import angle_between, clip_norm, clip_value
from derive.errors import CellError, DeriveError, InvalidValue
from derive.prove.expand import path_sum, recursive_expansion, short_circuit
from derive.model.graph import unroll
from derive.numeric.reference import gru, lstm
from derive.numeric.reference import rnn as ref_rnn
from derive.numeric.reference.gradcheck import check_gradients
from derive.checks.verify import verify

MODULES = {"rnn": ref_rnn, "lstm": lstm, "gru": gru}


# ------------------------------------------------------------------------------------ shapes: no sympify

@pytest.mark.parametrize("dim,message", [
    (0, "is not a positive integer"), (-3, "is not a positive integer"), ("0", "is not a positive integer"),
    ("-3", "is not a positive integer"), (1.5, "is a float"), (True, "is a bool"), ("q", "uses 'q'"),
    ("d/2", "cannot be read"), (sp.Rational(1, 2) * sp.Symbol("d", positive=True, integer=True),
                                "integer coefficients"),
])
def test_bad_dimensions_are_refused_when_declared(dim, message):
    cell = Cell("c")
    with pytest.raises(CellError, match=message) as exc:
        cell.param("W", (dim,))
    assert "expected a positive integer or an expression in the cell's dimensions n, d, k" in str(exc.value)


def test_a_dimension_given_as_text_never_executes(tmp_path):
    marker = tmp_path / "PWNED"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    cell = Cell("c")
    for text in (payload, f"d + {payload}", "(lambda: 1)()", "d.__class__"):
        with pytest.raises(CellError, match="cannot be read"):
            cell.param("W", (text,))
    assert not marker.exists()


def test_dimensions_as_text_use_the_cells_symbols():
    cell = Cell("c")
    n, d, k = cell.dims
    assert cell.param("W", ("2*d", "d + 1")).shape == (2 * d, d + 1)
    assert cell.param("U", (d, 3)).shape == (d, 3) and cell.param("b", (np.int64(4),)).shape == (4,)


def test_dimension_names_must_be_identifiers():
    with pytest.raises(CellError, match="a dimension name must be an identifier"):
        Cell("c", dims=("n", "d+1"))


# ---------------------------------------------------------------------------- the NumPy references

def _inputs(name):
    mod = MODULES[name]
    params = mod.init_params(n=3, d=4, k=5, seed=0)
    X = np.random.default_rng(1).normal(size=(3, 2, 3))
    return mod, params, X, np.zeros((3, 2), dtype=int)


@pytest.mark.parametrize("name", MODULES)
def test_complex_parameters_are_refused(name):
    mod, params, X, labels = _inputs(name)
    key = next(iter(params))
    with pytest.raises(InvalidValue, match=rf"params\['{key}'\] has complex values"):
        mod.bptt(dict(params, **{key: params[key] + 1j}), X, labels)
    with pytest.raises(InvalidValue, match="X has complex values"):
        mod.bptt(params, X + 0j, labels)


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_parameters_and_states_are_refused(name, bad):
    mod, params, X, labels = _inputs(name)
    key = list(params)[1]
    broken = params[key].copy()
    broken.flat[-1] = bad
    with pytest.raises(InvalidValue, match=rf"params\['{key}'\] contains non-finite values"):
        mod.bptt(dict(params, **{key: broken}), X, labels)
    s0 = np.zeros((2, 4))
    s0[1, 2] = bad
    state = "s0" if name in ("rnn", "lstm") else "h0"
    with pytest.raises(InvalidValue, match=rf"{state} contains non-finite values \(nan or inf\), first at \[1, 2\]"):
        mod.bptt(params, X, labels, **{state: s0})
    Xb = X.copy()
    Xb[0, 0, 0] = bad
    with pytest.raises(InvalidValue, match="X contains non-finite values"):
        mod.bptt(params, Xb, labels)


def test_a_valid_call_still_gives_the_gradient():
    mod, params, X, labels = _inputs("rnn")
    res = mod.bptt(params, X, labels)
    report = check_gradients(lambda p: mod.forward(p, X, labels).loss, params, res.grads)
    assert report.ok


def test_gradcheck_refuses_complex_params():
    mod, params, X, labels = _inputs("rnn")
    with pytest.raises(InvalidValue, match=r"params\['W'\] has complex values"):
        check_gradients(lambda p: 0.0, dict(params, W=params["W"] * 1j), params)


_bad_arrays = st.one_of(
    st.just("W"), st.just(None), st.just(object()), st.just([[1.0], [1.0, 2.0]]),
    st.complex_numbers(allow_nan=False, allow_infinity=False, min_magnitude=1e-3).map(lambda z: np.full((4, 4), z)),
    st.sampled_from([np.nan, np.inf, -np.inf]).map(lambda v: np.full((4, 4), v)),
    st.lists(st.text(max_size=3), min_size=1, max_size=4),
    st.integers(0, 3).map(lambda nd: np.zeros((2,) * nd)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(MODULES)), which=st.integers(0, 20), bad=_bad_arrays)
def test_random_bad_arrays_give_only_derive_errors(name, which, bad):
    mod, params, X, labels = _inputs(name)
    keys = list(params)
    target = which % (len(keys) + 1)
    try:
        if target == len(keys):
            mod.bptt(params, bad, labels)
        else:
            mod.bptt(dict(params, **{keys[target]: bad}), X, labels)
    except DeriveError:
        return
    pytest.fail(f"{name}.bptt accepted {bad!r} for {'X' if target == len(keys) else keys[target]}")


# -------------------------------------------------------------------------------------------- clipping

def test_clip_norm_refuses_complex_input():
    with pytest.raises(InvalidValue, match="gradient g has complex values"):
        clip_norm([1j, 2.0], 1.0)
    with pytest.raises(InvalidValue, match=r"gradient g\['b'\] has complex values"):
        clip_value({"W": np.eye(2), "b": np.array([1 + 2j, 0])}, 1.0)
    with pytest.raises(InvalidValue, match="complex values"):
        angle_between([1j, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(clip_norm([3.0, 4.0], 1.0), [0.6, 0.8])


@settings(max_examples=60, deadline=None)
@given(bad=st.one_of(_bad_arrays, st.complex_numbers(min_magnitude=1e-3).map(lambda z: [z, 1.0])),
       threshold=st.one_of(st.floats(), st.just("1"), st.just(None), st.just(True), st.integers(-3, 3)))
def test_random_bad_clipping_inputs_give_only_derive_errors(bad, threshold):
    for fn in (clip_norm, clip_value):
        try:
            out = fn(bad, threshold)
        except DeriveError:
            continue
        arr = np.asarray(out)  # accepted: then it was real, finite and the threshold a positive number
        assert arr.dtype == np.float64 and np.all(np.isfinite(arr)) and threshold > 0


# -------------------------------------------------------------------------------------- identity cases

def test_the_derivative_of_a_node_by_itself_is_the_identity():
    g = unroll(rnn(), 4)
    d = recursive_expansion(g, "s_4", "s_4")
    assert len(d.steps) == 1 and "identity" in d.steps[0].why
    report = verify(d)
    assert report.ok and {r.method for r in report.results} >= {"exact", "numeric-fd"}, report.summary()
    s4 = g.node("s_4")
    for term in (short_circuit(g, "s_4", "s_4"), path_sum(g, "s_4", "s_4")):
        assert term == d.steps[0].rhs
    # the identity is checked, not assumed: ∂s_4/∂s_3 in its place fails both ways
    from dataclasses import replace

    from derive.algebra import D
    wrong = replace(d, steps=[replace(d.steps[0], rhs=D(s4, g.node("s_3")))])
    assert {r.method for r in verify(wrong).results if not r.passed} >= {"exact", "numeric-fd"}


# ----------------------------------------------------------------------------------------- exponents

def test_power_report_refuses_an_unbounded_exponent_quickly():
    with pytest.raises(InvalidValue, match=r"exponent must be at most \d+ for base 1/2 .* got 1000000000"):
        power_report(0.5, 10**9)
    with pytest.raises(InvalidValue, match="exponent must be at most"):
        power_report("0.999999937", 10**5)
    assert power_report("0.5", 47).status == "normal" and power_report(1, 10**9).exact == 1


# ------------------------------------------------------------------------- generators and demonstrations

_BAD_SCALARS = [None, "3", 1.5j, np.nan, np.inf, True, np.array([[1]]), -3]


def test_generators_and_demos_refuse_bad_scalars_with_derive_errors():
    from derive.numeric.reference import demos

    calls = []
    for mod in MODULES.values():
        for kw in ("n", "seed", "scale"):
            calls.append((f"{mod.__name__}.init_params({kw})", lambda mod=mod, kw=kw, b=None:
                          mod.init_params(**{"n": 2, "d": 2, "k": 2, kw: b})))
    for kw in ("T", "d", "gamma_lambda", "input_scale", "seed"):
        calls.append((f"rnn_jacobian_norms({kw})", lambda kw=kw, b=None: demos.rnn_jacobian_norms(**{"T": 3, "d": 2,
                                                                                                     kw: b})))
    for kw in ("T", "d", "forget_bias", "weight_scale", "seed"):
        calls.append((f"lstm_forget_path({kw})", lambda kw=kw, b=None: demos.lstm_forget_path(**{"T": 3, "d": 2,
                                                                                                 kw: b})))
    for label, call in calls:
        for bad in _BAD_SCALARS:
            if isinstance(bad, int) and not isinstance(bad, bool) and "forget_bias" in label:
                continue  # a negative forget bias is a valid choice
            with pytest.raises(DeriveError):
                call(b=bad)
                pytest.fail(f"{label} accepted {bad!r}")
    with pytest.raises(InvalidValue, match=r"n must be at most 4096 for generated parameters, got 1000000000000"):
        ref_rnn.init_params(n=10**12, d=2, k=2)
    with pytest.raises(InvalidValue, match=r"T \* d \* d must be at most"):
        demos.rnn_jacobian_norms(T=10**6, d=64)
    with pytest.raises(InvalidValue, match="truncate must be an integer"):
        ref_rnn.bptt(*_inputs("rnn")[1:], truncate=np.array([[1]]))
    with pytest.raises(CellError, match="dims must be a tuple"):
        Cell("c", dims=3)
