"""Gradient clipping: norm clipping (Pascanu et al., Algorithm 1, shared/seeds/003_9ba40663132a09fb.txt)
and value clipping (Applied NLP Lecture 59, shared/seeds/000_7be57cb19668d348.txt)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from derive.numeric.clipping import (
    angle_between, clip_norm, clip_norm_slide, clip_value, clip_value_slide, clipping_example_2d, global_norm,
)
from derive.errors import InvalidValue

# Entries below 1e-100 are flushed to 0 so that the test's own np.linalg.norm does not underflow.
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).map(
    lambda v: 0.0 if abs(v) < 1e-100 else v)
grads = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6), elements=finite)
positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)
ROUNDING = 1e-12   # the norm of threshold * g / ||g|| is threshold up to a few ulps


@settings(max_examples=200, deadline=None)
@given(grads, positive)
def test_norm_clipping_never_exceeds_the_threshold(g, threshold):
    assert np.linalg.norm(clip_norm(g, threshold)) <= threshold * (1 + ROUNDING)


@settings(max_examples=200, deadline=None)
@given(grads, positive)
def test_norm_clipping_preserves_the_direction(g, threshold):
    out = clip_norm(g, threshold)
    if not g.any():
        assert not out.any()
        return
    cosine = float(g.ravel() @ out.ravel()) / (np.linalg.norm(g) * np.linalg.norm(out))
    assert cosine == pytest.approx(1.0, abs=1e-12)
    if np.linalg.norm(g) < threshold:           # below the threshold nothing happens (Algorithm 1's if)
        np.testing.assert_array_equal(out, g)


@settings(max_examples=200, deadline=None)
@given(grads, positive)
def test_value_clipping_bounds_every_entry_and_both_are_idempotent(g, theta):
    by_value = clip_value(g, theta)
    assert np.all(np.abs(by_value) <= theta)
    np.testing.assert_array_equal(clip_value(by_value, theta), by_value)
    by_norm = clip_norm(g, theta)
    np.testing.assert_allclose(clip_norm(by_norm, theta), by_norm, rtol=ROUNDING, atol=0)


@settings(max_examples=100, deadline=None)
@given(grads, positive)
def test_slide_versions_agree_with_the_checked_ones(g, threshold):
    np.testing.assert_allclose(clip_norm_slide(g, threshold), clip_norm(g, threshold), rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(clip_value_slide(g, threshold), clip_value(g, threshold))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["W", "U", "b", "V", "c"]), grads, min_size=1), positive)
def test_dicts_are_clipped_by_the_global_norm(g, threshold):
    out = clip_norm(g, threshold)
    flat = np.concatenate([v.ravel() for v in g.values()])
    flat_out = np.concatenate([out[k].ravel() for k in g])
    np.testing.assert_allclose(flat_out, clip_norm(flat, threshold), rtol=1e-12, atol=1e-300)
    assert global_norm(out) <= threshold * (1 + ROUNDING)
    assert set(out) == set(g) and all(out[k].shape == np.shape(g[k]) for k in g)
    by_value = clip_value(g, threshold)
    assert all(np.all(np.abs(v) <= threshold) for v in by_value.values())


def test_zero_stays_zero():
    for shape in [(3,), (2, 2)]:
        z = np.zeros(shape)
        np.testing.assert_array_equal(clip_norm(z, 1.0), z)
        np.testing.assert_array_equal(clip_value(z, 1.0), z)
    assert clip_norm({"W": np.zeros((2, 2))}, 0.5)["W"].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_inputs_are_not_modified():
    g = np.array([3.0, 4.0])
    clip_norm(g, 1.0)
    clip_value(g, 1.0)
    assert g.tolist() == [3.0, 4.0]


def test_value_clipping_can_change_the_direction():
    ex = clipping_example_2d((3.0, 0.5), 1.0)
    np.testing.assert_allclose(ex.by_value, [1.0, 0.5])
    np.testing.assert_allclose(ex.by_norm, np.array([3.0, 0.5]) / math.hypot(3.0, 0.5))
    assert ex.angle_norm == pytest.approx(0.0, abs=1e-6)
    # angle = atan(0.5/1) - atan(0.5/3)
    assert ex.angle_value == pytest.approx(math.degrees(math.atan(0.5) - math.atan(0.5 / 3)), rel=1e-12)
    assert ex.angle_value == pytest.approx(17.1027, abs=1e-4)


def test_algorithm_1_boundary_case():
    # ||g|| >= threshold (not >): at equality g is rescaled by threshold/||g|| = 1
    g = np.array([3.0, 4.0])
    np.testing.assert_array_equal(clip_norm(g, 5.0), g)
    np.testing.assert_allclose(clip_norm(g, 2.5), [1.5, 2.0])


def test_global_norm_does_not_overflow():
    assert global_norm(np.array([1e300, 1e300])) == pytest.approx(math.sqrt(2) * 1e300)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1", None])
def test_bad_thresholds_name_the_value(bad):
    with pytest.raises(InvalidValue, match="threshold must be a finite number > 0, got " + repr(bad).replace("(", r"\(")):
        clip_norm(np.ones(2), bad)
    with pytest.raises(InvalidValue, match="theta must be a finite number > 0"):
        clip_value(np.ones(2), bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradients_are_refused(bad):
    with pytest.raises(InvalidValue, match=r"gradient g\['W'\] is not finite: entry \[1, 0\]"):
        clip_norm({"b": np.zeros(2), "W": np.array([[1.0, 2.0], [bad, 0.0]])}, 1.0)
    with pytest.raises(InvalidValue, match=r"gradient g is not finite: entry \[2\]"):
        clip_value(np.array([0.0, 1.0, bad]), 1.0)
    with pytest.raises(InvalidValue, match="must be an array of numbers"):
        clip_norm(np.array(["a"], dtype=object), 1.0)


def test_angle_of_zero_vector_is_refused():
    with pytest.raises(InvalidValue, match="zero vector"):
        angle_between([0, 0], [1, 0])


def test_slide_versions_render_with_latexify():
    latexify = pytest.importorskip("latexify")
    norm_tex = str(latexify.algorithmic(clip_norm_slide, use_math_symbols=True))
    assert r"\If{" in norm_tex and r"\Return" in norm_tex and r"\ge \mathrm{threshold}" in norm_tex
    value_tex = str(latexify.algorithmic(clip_value_slide, use_math_symbols=True))
    assert r"\theta" in value_tex
