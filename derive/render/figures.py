"""The figures of the vanishing/exploding-gradient chapter, from measured data.

Each figure is a `FigureSpec`: an id (the file stem), a caption for the article
(LaTeX), and a function that draws it on a fresh matplotlib `Figure`.  The data
come from `derive.checks.bounds`, `derive.numeric.clipping` and `derive.numeric.reference.demos`, all
with fixed seeds; `build_figures` writes every figure as PDF and PNG.

Output is byte-stable: figures are drawn without pyplot (no global backend or
state), under matplotlib's default style (a user's matplotlibrc changes
nothing), and the PDF carries no creation date.

    >>> from derive.render.figures import build_figures
    >>> paths = build_figures("out/figures")        # [..._norms.pdf, ..._norms.png, ...]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from derive.errors import NotSupported, UnknownName

__all__ = ["FigureSpec", "FIGURES", "build_figures", "render", "captions"]

log = logging.getLogger(__name__)

_RC = {
    "figure.figsize": (5.0, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "svg.hashsalt": "derive",
    "pdf.compression": 6,
}
_METADATA = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": "derive (matplotlib)", "Creator": "derive.render.figures"},
    "png": {"Software": "derive.render.figures"},
}


@dataclass(frozen=True)
class FigureSpec:
    """One figure: ``id`` (file stem), ``caption`` (LaTeX, for the article), ``draw(fig)``."""

    id: str
    caption: str
    draw: Callable


# ---------------------------------------------------------------------------
# (a) the RNN's ||ds_t/ds_k|| against the bound (gamma lambda)^(t-k)
# ---------------------------------------------------------------------------
RNN_GAMMA_LAMBDAS = (0.5, 0.9, 1.0, 1.5)


def draw_rnn_bound(fig, gamma_lambdas=RNN_GAMMA_LAMBDAS, *, T: int = 40, n: int = 64, seed: int = 0) -> None:
    """Median and 10-90% band of ||ds_t/ds_k|| over n tanh RNNs per gamma lambda, bound dashed.

    W = lambda Q (Q orthogonal), small drive (unsaturated): the case where the
    bound of Module 14.4 is closest to tight.
    """
    from derive.checks.bounds import check_bound_chain, make_instances

    ax = fig.add_subplot()
    gaps = np.arange(1, T + 1)
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red")
    for i, gl in enumerate(gamma_lambdas):
        inst = make_instances("tanh", n, d=8, T=T, seed=seed + i, gamma_lambdas=(gl,), drive_scales=(0.1,),
                              kinds=("orthogonal",))
        power = check_bound_chain(inst)["power"]
        c = colors[i % len(colors)]
        lo, med, hi = np.percentile(power.lhs, [10, 50, 90], axis=0)
        ax.fill_between(gaps, lo, hi, color=c, alpha=0.2, linewidth=0)
        ax.plot(gaps, med, color=c, label=rf"$\gamma\lambda = {gl:g}$")
        ax.plot(gaps, power.rhs[0], color=c, linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel(r"$t - k$")
    ax.set_ylabel(r"$\|\partial s_t / \partial s_k\|_2$")
    ax.plot([], [], color="gray", linestyle="--", linewidth=1, label=r"bound $(\gamma\lambda)^{t-k}$")
    ax.set_title("vanilla RNN (tanh): measured norms and the bound")
    ax.legend(loc="lower left")


# ---------------------------------------------------------------------------
# (b) the LSTM's cell-state path with forget gates near 1 and near 0.5
# ---------------------------------------------------------------------------
LSTM_FORGET_BIASES = (10.0, 3.0, 0.0)


def draw_lstm_forget(fig, forget_biases=LSTM_FORGET_BIASES, *, T: int = 100) -> None:
    """||ds_T/ds_{T-l}|| of an LSTM (every path) and of its forget path alone, f = sigma(forget_bias).

    Data from `derive.numeric.reference.demos.lstm_forget_path` (Lecture 111), with the
    RNN at gamma lambda = 0.9 for comparison.
    """
    try:
        from derive.numeric.reference import demos
        forget_path, rnn_norms = demos.lstm_forget_path, demos.rnn_jacobian_norms
    except (ImportError, AttributeError) as exc:
        raise NotSupported(f"the LSTM figure needs derive.numeric.reference.demos.lstm_forget_path ({exc})") from None
    ax = fig.add_subplot()
    colors = ("tab:blue", "tab:purple", "tab:orange")
    for i, bias in enumerate(forget_biases):
        demo = forget_path(T=T, forget_bias=bias)
        c = colors[i % len(colors)]
        lags = demo.lags[1:]
        ax.plot(lags, demo.full_norms[1:], color=c, label=rf"LSTM, $f = {demo.forget:.5g}$")
        ax.plot(lags, demo.forget_path_norms[1:], color=c, linestyle=":", linewidth=1.2)
    rnn = rnn_norms(T=T, gamma_lambda=0.9)
    ax.plot(rnn.lags[1:], rnn.norms[1:], color="gray", label=r"RNN, $\gamma\lambda = 0.9$")
    ax.plot(rnn.lags[1:], rnn.bound[1:], color="gray", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel(r"$t - k$")
    ax.set_ylabel(r"$\|\partial s_t / \partial s_k\|_2$")
    ax.plot([], [], color="black", linestyle=":", linewidth=1.2, label="forget-gate path only")
    ax.set_title("LSTM cell state vs. vanilla RNN")
    ax.legend(loc="lower left")


# ---------------------------------------------------------------------------
# (c) truncated BPTT
# ---------------------------------------------------------------------------
def draw_truncation(fig, gamma_lambdas=(0.5, 0.9, 1.5)) -> None:
    """||g_full - g_tau|| / ||g_full|| against tau (`derive.checks.bounds.truncation_curves`)."""
    from derive.checks.bounds import truncation_curves

    ax = fig.add_subplot()
    for curve, c in zip(truncation_curves(gamma_lambdas), ("tab:blue", "tab:green", "tab:red")):
        # tau = T-1 is full BPTT (error at rounding level): drawn down to 1e-16
        kind = "contracting" if curve.gamma_lambda < 1 else "expanding"
        ax.plot(curve.taus, np.maximum(curve.errors, 1e-16), marker="o", markersize=2.5, color=c,
                label=rf"{kind}, $\gamma\lambda = {curve.gamma_lambda:g}$")
    ax.set_yscale("log")
    ax.set_xlabel(r"window $\tau$ (Jacobian factors kept per loss)")
    ax.set_ylabel(r"$\|g - g_\tau\| / \|g\|$")
    ax.set_title(r"truncated BPTT: error in $\partial L/\partial (W, U, b)$")
    ax.legend(loc="lower left")


# ---------------------------------------------------------------------------
# (d) norm vs value clipping in 2-D
# ---------------------------------------------------------------------------
def draw_clipping(fig, g=(3.0, 0.5), threshold: float = 1.0) -> None:
    """A 2-D gradient and its two clipped versions; circle ||g|| = threshold, box |g_i| <= theta."""
    from derive.numeric.clipping import clipping_example_2d

    ex = clipping_example_2d(g, threshold)
    ax = fig.add_subplot()
    phi = np.linspace(0.0, 2.0 * np.pi, 361)
    ax.plot(threshold * np.cos(phi), threshold * np.sin(phi), color="tab:blue", linewidth=0.8,
            label=r"$\|g\| = $ threshold")
    box = threshold * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]])
    ax.plot(box[:, 0], box[:, 1], color="tab:orange", linewidth=0.8, label=r"$|g_i| = \theta$")
    arrows = (  # (vector, colour, width, label): g drawn first and thin, so the norm-clipped g shows on top
        (ex.g, "black", 1.0, "gradient $g$"),
        (ex.by_norm, "tab:blue", 2.5, f"norm clipping (angle {ex.angle_norm:.1f}°)"),
        (ex.by_value, "tab:orange", 2.0, f"value clipping (angle {ex.angle_value:.1f}°)"),
    )
    for vec, color, width, label in arrows:
        ax.annotate("", xy=tuple(vec), xytext=(0.0, 0.0),
                    arrowprops={"arrowstyle": "-|>", "color": color, "linewidth": width, "shrinkA": 0, "shrinkB": 0})
        ax.plot([], [], color=color, linewidth=width, label=label)
    ax.set_aspect("equal")
    ax.set_xlim(-1.2 * threshold, max(1.2 * threshold, 1.1 * ex.g[0]))
    ax.set_ylim(-1.2 * threshold, 1.2 * threshold)
    ax.set_title(f"clipping $g = ({ex.g[0]:g}, {ex.g[1]:g})$, threshold $= \\theta = {threshold:g}$")
    fig.legend(loc="outside lower center", ncol=2)


FIGURES: "tuple[FigureSpec, ...]" = (
    FigureSpec(
        "rnn-jacobian-norms",
        r"Vanilla tanh RNN: median (solid) and 10--90\,\% band of "
        r"$\|\partial s_t/\partial s_k\|_2$ over 64 random networks per value of $\gamma\lambda$, "
        r"against the bound $(\gamma\lambda)^{t-k}$ of CS7015 Module~14.4 (dashed). "
        r"$W = \lambda Q$ with $Q$ orthogonal and small inputs, the case where the bound is closest to tight; "
        r"for $\gamma\lambda > 1$ the bound only says the gradient \emph{could} explode: "
        r"saturation pulls the measured norms below it.",
        draw_rnn_bound,
    ),
    FigureSpec(
        "lstm-forget-gates",
        r"LSTM (Lecture 111): $\|\partial s_t/\partial s_k\|_2$ through all paths (solid) and through the "
        r"forget gates alone, $\|\prod_j \operatorname{diag}(f_j)\|_2$ (dotted), with every forget gate "
        r"fixed at $f = \sigma(b_f)$; grey: the vanilla RNN at $\gamma\lambda = 0.9$ and its bound. "
        r"With $f \approx 1$ the gradient survives 100 steps; with $f = 0.5$ it decays like $0.5^{t-k}$.",
        draw_lstm_forget,
    ),
    FigureSpec(
        "truncation-error",
        r"Truncated BPTT: relative error $\|g - g_\tau\|/\|g\|$ of the gradient of $(W, U, b)$ when each "
        r"$\mathscr{L}_t$ keeps only the paths with at most $\tau$ Jacobian factors, for a contracting and an "
        r"expanding recurrence ($T = 30$, tanh). The error falls like $(\gamma\lambda)^{\tau}$ when "
        r"$\gamma\lambda < 1$ and stays large when $\gamma\lambda > 1$.",
        draw_truncation,
    ),
    FigureSpec(
        "clipping-2d",
        r"Gradient clipping in two dimensions: norm clipping (Pascanu et al., Algorithm~1) rescales $g$ onto "
        r"the circle $\|g\| = \text{threshold}$ and keeps its direction; value clipping moves each entry into "
        r"$[-\theta, \theta]$ and turns the gradient towards the clipped axis.",
        draw_clipping,
    ),
)


def _spec(fig_id: str) -> FigureSpec:
    for spec in FIGURES:
        if spec.id == fig_id:
            return spec
    raise UnknownName("figure", fig_id, [s.id for s in FIGURES])


def captions() -> "dict[str, str]":
    """Figure id -> caption (LaTeX), in the order of `FIGURES`."""
    return {spec.id: spec.caption for spec in FIGURES}


def render(fig_id: str):
    """Draw one figure and return the matplotlib `Figure` (not saved)."""
    import matplotlib.style
    from matplotlib.figure import Figure

    spec = _spec(fig_id)
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        fig = Figure(layout="constrained")
        spec.draw(fig)
    return fig


def build_figures(out_dir, *, ids: "Iterable[str] | None" = None, formats=("pdf", "png")) -> "list[Path]":
    """Write every figure (or those in ``ids``) as ``<out_dir>/<id>.<format>``; return the paths written.

    A figure whose data source is missing (`NotSupported`) is skipped and the
    reason logged at WARNING level.  Files are written to a temporary name and
    renamed, so a reader never sees half a file.
    """
    import matplotlib.style

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = FIGURES if ids is None else tuple(_spec(i) for i in ids)
    for fmt in formats:
        if fmt not in _METADATA:
            raise UnknownName("figure format", fmt, list(_METADATA))
    written: "list[Path]" = []
    for spec in specs:
        try:
            fig = render(spec.id)
        except NotSupported as exc:
            log.warning("figure %s skipped: %s", spec.id, exc)
            continue
        with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
            for fmt in formats:
                path = out / f"{spec.id}.{fmt}"
                tmp = path.with_name(path.name + ".tmp")
                fig.savefig(tmp, format=fmt, metadata=_METADATA[fmt], bbox_inches="tight", pad_inches=0.04)
                tmp.replace(path)
                written.append(path)
    return written
