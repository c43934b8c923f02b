"""Gradient clipping: by norm (Pascanu et al., Algorithm 1) and by value.

Both remedies for exploding gradients appear in the lectures:

- norm clipping, CS224n notes (``shared/seeds/003_9ba40663132a09fb.txt``,
  "Algorithm 1 Pseudo-code for norm clipping")::

      g <- dE/dtheta
      if ||g|| >= threshold then  g <- (threshold / ||g||) g

  "take a step in the same direction, but a smaller step";
- value clipping, Applied NLP Lecture 59 (``000_7be57cb19668d348.txt``, slide
  "GRADIENT CLIPPING": "if g < -1 or g > 1 then g = +-1"), each entry clipped
  to [-theta, theta]; it can change the direction.

``clip_norm`` and ``clip_value`` accept one array or a dict of arrays (one per
parameter).  For a dict, norm clipping uses the *global* norm over all
parameters, sqrt(sum_p ||g_p||^2), and rescales every parameter by the same
factor, as Algorithm 1 does with theta = all parameters (and as
``torch.nn.utils.clip_grad_norm_`` does); clipping each parameter separately
would change the direction of the full gradient.

``clip_norm_slide`` and ``clip_value_slide`` are the same maths for a single
vector, written plainly (one if, numpy calls, no validation) so that
latexify-py renders them as the slide's pseudo-code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from derive.errors import InvalidValue

__all__ = [
    "clip_norm", "clip_value", "global_norm", "clip_norm_slide", "clip_value_slide",
    "angle_between", "ClippingExample", "clipping_example_2d",
]


# ---------------------------------------------------------------------------
# Slide versions: one vector, no checks (rendered by latexify as pseudo-code)
# ---------------------------------------------------------------------------
def clip_norm_slide(g, threshold):
    """Algorithm 1 of the CS224n notes (Pascanu et al. 2013) for one vector g."""
    norm = np.linalg.norm(g)
    if norm >= threshold:
        return threshold * g / norm
    return g


def clip_value_slide(g, theta):
    """Each entry of g clipped to [-theta, theta] (Applied NLP Lecture 59)."""
    return np.clip(g, -theta, theta)


# ---------------------------------------------------------------------------
# Checked versions: arrays or dicts of arrays
# ---------------------------------------------------------------------------
def clip_norm(g, threshold: float):
    """Rescale g to norm ``threshold`` if ||g|| >= threshold (Pascanu et al., Algorithm 1).

    Args:
        g: an array, or a dict ``{name: array}`` (clipped by the global norm
            over all entries of all arrays, every array scaled by one factor).
        threshold: a finite number > 0.

    Returns:
        A new float64 array (or dict of arrays) with norm min(||g||, threshold),
        up to one rounding (the norm may exceed ``threshold`` by a few ulps), and
        the direction of g.  Zero stays zero.

    Raises:
        InvalidValue: threshold not a finite positive number; g holds nan or inf.

    Example::

        >>> clip_norm(np.array([3.0, 4.0]), 1.0)
        array([0.6, 0.8])
    """
    threshold = _positive("threshold", threshold)
    arrays = _arrays(g)
    norm = _global_norm(arrays)
    scale = threshold / norm if norm >= threshold else 1.0
    return _rebuild(g, {name: a * scale for name, a in arrays.items()})


def clip_value(g, theta: float):
    """Clip every entry of g to [-theta, theta] (Applied NLP Lecture 59, value clipping).

    Args:
        g: an array or a dict ``{name: array}`` (every entry of every array).
        theta: a finite number > 0.

    Returns:
        A new float64 array (or dict).  Unlike `clip_norm` this can change the
        direction of g (see `clipping_example_2d`).

    Raises:
        InvalidValue: theta not a finite positive number; g holds nan or inf.
    """
    theta = _positive("theta", theta)
    arrays = _arrays(g)
    return _rebuild(g, {name: np.clip(a, -theta, theta) for name, a in arrays.items()})


def global_norm(g) -> float:
    """sqrt(sum of squares of every entry): the norm Algorithm 1 clips, for an array or a dict."""
    return _global_norm(_arrays(g))


def _global_norm(arrays: "dict[str, np.ndarray]") -> float:
    # Scaled by the largest entry, so that entries near 1e200 do not overflow when squared.
    biggest = max((float(np.max(np.abs(a))) for a in arrays.values() if a.size), default=0.0)
    if biggest == 0.0:
        return 0.0
    return biggest * math.sqrt(sum(float(np.sum((a / biggest) ** 2)) for a in arrays.values()))


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidValue(f"{name} must be a finite number > 0, got {value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise InvalidValue(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _arrays(g) -> "dict[str, np.ndarray]":
    """g as {name: float64 array}; a single array is named 'g'.  Rejects nan/inf, naming where."""
    items = g.items() if isinstance(g, Mapping) else (("g", g),)
    out = {}
    for name, value in items:
        try:
            raw = np.asarray(value)
            if raw.dtype.kind == "c":  # float64 would keep the real part: clip_norm([1j, 2], 1) gave [0, 1]
                raise InvalidValue(f"gradient {_label(g, name)} has complex values (dtype {raw.dtype}); "
                                   "expected real numbers")
            if raw.dtype.kind not in "biuf":
                raise TypeError(raw.dtype)
            arr = np.array(raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidValue):
                raise
            raise InvalidValue(f"gradient {_label(g, name)} must be an array of numbers, got {value!r}") from None
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
            raise InvalidValue(
                f"gradient {_label(g, name)} is not finite: entry {list(where)} is {float(arr[where])}; "
                "clipping cannot repair nan/inf (restart from a checkpoint, as the CS224n notes advise)"
            )
        out[name] = arr
    return out


def _label(g, name) -> str:
    return f"g[{name!r}]" if isinstance(g, Mapping) else "g"


def _rebuild(g, arrays: "dict[str, np.ndarray]"):
    return dict(arrays) if isinstance(g, Mapping) else arrays["g"]


# ---------------------------------------------------------------------------
# The 2-D picture: norm clipping keeps the direction, value clipping does not
# ---------------------------------------------------------------------------
def angle_between(u, v) -> float:
    """Angle between two non-zero vectors in degrees (0 = same direction)."""
    u, v = _arrays({"u": u})["u"].ravel(), _arrays({"v": v})["v"].ravel()
    if u.shape != v.shape:
        raise InvalidValue(f"the angle needs two vectors of one size, got {u.size} and {v.size} entries")
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise InvalidValue("the angle is undefined for a zero vector")
    return math.degrees(math.acos(float(np.clip(u @ v / (nu * nv), -1.0, 1.0))))


@dataclass(frozen=True)
class ClippingExample:
    """One 2-D gradient clipped both ways, with the angle each makes with the original."""

    g: np.ndarray
    threshold: float
    by_norm: np.ndarray
    by_value: np.ndarray
    angle_norm: float
    angle_value: float


def clipping_example_2d(g=(3.0, 0.5), threshold: float = 1.0) -> ClippingExample:
    """g = (3, 0.5) with threshold = theta = 1: norm clipping keeps the angle (0 degrees);
    value clipping gives (1, 0.5), turned by about 17.1 degrees towards the clipped axis."""
    g = _arrays(g)["g"]
    by_norm, by_value = clip_norm(g, threshold), clip_value(g, threshold)
    return ClippingExample(g, float(threshold), by_norm, by_value, angle_between(g, by_norm), angle_between(g, by_value))
