r"""TikZ pictures of an unrolled network, generated from the graph (never drawn by hand).

CS7015 Lecture 14 (``shared/seeds/002_eb405f471485c68d.txt``, Module 14.3)
draws the RNN as an *ordered network*: L_4 depends on s_4, s_4 on s_3 and W,
..., s_1 on s_0 and W, and reads dL_4/dW off it as a sum over paths.  This
module draws that picture for any cell from a `derive.model.graph.View`:

- one column per time step (initial states in column 0 or before), one row per
  kind of node (inputs at the bottom, then the kept nodes in evaluation order,
  then labels), the totals on top;
- parameters either as separate nodes below the network (``params="nodes"``:
  one W with an edge to every s_t, as on the slide) or as labels on the edges
  they multiply (``params="labels"``: W on s_{t-1} -> s_t; easier to read for
  gated cells with a dozen parameters);
- one path highlighted, e.g. ``find_path(view, "L_4", "W", through=["s_1"])``,
  the path L_4 -> s_4 -> s_3 -> s_2 -> s_1 -> W.

Edges point the way the forward pass computes (parent -> child).  The output
uses only TikZ's built-in shapes and arrows: ``\usepackage{tikz}`` is enough
(see `standalone_document`).

    >>> from derive.cells import rnn
    >>> from derive.model.graph import unroll
    >>> view = unroll(rnn(), 4).view()
    >>> tex = tikz_unrolled(view, highlight=find_path(view, "L_4", "W", through=["s_1"]))
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import sympy as sp

from derive.errors import DeriveError, UnknownName
from derive.model.graph import Graph, NodeRef, View
from derive.model.ir import Expr, MatMul, Sym

__all__ = ["tikz_unrolled", "find_path", "standalone_document", "default_symbol"]

_STYLES = r"""  node/.style={circle, draw, thick, minimum size=8mm, inner sep=1pt},
  param/.style={rectangle, draw, rounded corners=2pt, fill=black!8, minimum size=6mm},
  leaf/.style={rectangle, draw, minimum size=6mm},
  total/.style={rectangle, draw, thick, rounded corners=4pt, minimum size=7mm},
  edge/.style={->, black!60},
  paramedge/.style={->, black!25},
  hl/.style={->, very thick, red!80!black},
  hlnode/.style={fill=red!12, draw=red!80!black},
  elabel/.style={font=\scriptsize, fill=white, inner sep=1pt}"""


def default_symbol(name: str, t) -> str:
    """``s`` at 3 -> ``{s}_{3}``; names are read as SymPy reads symbols (``W_f`` -> ``W_{f}``, ``alpha`` -> ``\\alpha``)."""
    base = sp.latex(sp.Symbol(name))
    return base if t is None else f"{{{base}}}_{{{t}}}"


def tikz_unrolled(graph: "Graph | View", *, highlight: "Sequence | None" = None, params: str = "nodes",
                  leaves: Iterable[str] = ("param", "input", "init"), symbol: "Callable | None" = None,
                  x_step: float = 2.0, y_step: float = 1.5) -> str:
    r"""A ``tikzpicture`` of the unrolled network as text.

    Args:
        graph: a `Graph` (its default view: states and losses) or a `View`.
        highlight: a path as node names or `NodeRef`s, each node an explicit
            parent (or child) of the previous one, e.g. from `find_path`.
        params: ``"nodes"`` (parameters as separate nodes) or ``"labels"``
            (a parameter multiplying a variable labels that edge; the others,
            biases, are listed in a note under the picture).
        leaves: which leaf kinds to draw: any of "param", "input", "init", "label".
        symbol: ``(name, t) -> LaTeX`` for node labels (t None for parameters and
            totals); default `default_symbol`; a notation profile's ``symbol``
            method fits.
        x_step, y_step: distance in cm between time steps and between rows.

    Raises:
        UnknownName: a highlighted node that is not in the picture.
        DeriveError: two consecutive highlighted nodes with no edge between them,
            or a bad ``params`` / ``leaves`` value.
    """
    view = graph.view() if isinstance(graph, Graph) else graph
    if params not in ("nodes", "labels"):
        raise DeriveError(f"params must be 'nodes' or 'labels', got {params!r}")
    leaves = tuple(leaves)
    for kind in leaves:
        if kind not in ("param", "input", "init", "label"):
            raise DeriveError(f"leaves may contain 'param', 'input', 'init', 'label'; got {kind!r}")
    if params == "labels":
        leaves = tuple(k for k in leaves if k != "param")
    symbol = symbol or default_symbol
    g = view.graph
    drawn = [r for r in view.variables() if _drawn(g, r, view, leaves)]
    pos = _layout(view, drawn, x_step, y_step)
    edges = [(p, v) for v in drawn for p in view.parents(v) if p in pos]
    path = _path_edges(view, highlight, pos) if highlight else set()
    on_path = {r for e in path for r in e}

    lines = ["\\begin{tikzpicture}[", _STYLES + "]"]
    lines.append("% nodes: " + ", ".join(str(r) for r in drawn))
    for ref in drawn:
        style = _style(g, ref) + (", hlnode" if ref in on_path else "")
        x, y = pos[ref]
        lines.append(f"\\node[{style}] ({_id(ref)}) at ({x:.2f},{y:.2f}) {{${symbol(ref.name, ref.t)}$}};")
    labels = _edge_labels(view, edges) if params == "labels" else {}
    for parent, child in edges:
        if (parent, child) in path:
            style = "hl"
        else:
            style = "paramedge" if g.nodes[parent].kind == "param" else "edge"
        label = labels.get((parent, child))
        text = f" node[elabel, midway] {{${', '.join(symbol(p, None) for p in label)}$}}" if label else ""
        # an edge that skips a row inside one time column would run through the node between: bend it
        (x0, y0), (x1, y1) = pos[parent], pos[child]
        link = "to[bend right=35]" if x0 == x1 and abs(y1 - y0) > 1.5 * y_step else "--"
        lines.append(f"\\draw[{style}] ({_id(parent)}) {link}{text} ({_id(child)});")
    if params == "labels":
        on_edges = {p for names in labels.values() for p in names}
        rest = [p for p in g.cell.params if p not in on_edges]
        if rest:
            y = min(y for _, y in pos.values()) - y_step
            names = ", ".join(f"${symbol(p, None)}$" for p in rest)
            lines.append(f"\\node[anchor=west, font=\\footnotesize] at (0,{y:.2f}) {{also parameters: {names}}};")
    lines.append("\\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def find_path(view: "Graph | View", source, target, *, through: Iterable = ()) -> "tuple[NodeRef, ...]":
    """The shortest chain source -> parent -> ... -> target of explicit edges that visits ``through``.

    ``find_path(view, "L_4", "W", through=["s_1"])`` is L_4, s_4, s_3, s_2, s_1, W
    (Lecture 14's path from L_4 to W through s_1).  Among equally short paths
    the first in the view's parent order wins.  Raises `DeriveError` if there is none.
    """
    view = view.view() if isinstance(view, Graph) else view
    g = view.graph
    src, dst = g.node(source), g.node(target)
    must = [g.node(r) for r in through]
    best = None
    stack = [(src,)]
    while stack:  # depth-first over parents; the graph is a DAG, paths are finite
        path = stack.pop()
        if path[-1] == dst:
            if all(m in path for m in must) and (best is None or len(path) < len(best)):
                best = path
            continue
        for parent in reversed(view.parents(path[-1])):
            stack.append(path + (parent,))
    if best is None:
        via = f" through {', '.join(map(str, must))}" if must else ""
        raise DeriveError(f"no path from {src} to {dst}{via} in the view over {', '.join(view.keep)}")
    return best


def standalone_document(tikz: str, *, documentclass: str = "article") -> str:
    """A complete LaTeX document holding one picture; needs only the ``tikz`` package.

    ``documentclass="standalone"`` crops the page to the picture (the class is
    in TeX Live's latex-extra collection); the default ``article`` is in every
    LaTeX installation.
    """
    if documentclass == "standalone":
        head = "\\documentclass[border=4pt]{standalone}\n"
    elif documentclass == "article":
        head = "\\documentclass{article}\n\\pagestyle{empty}\n"
    else:
        raise DeriveError(f"documentclass must be 'article' or 'standalone', got {documentclass!r}")
    return head + "\\usepackage{tikz}\n\\begin{document}\n" + tikz + "\\end{document}\n"


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------
def _drawn(g: Graph, ref: NodeRef, view: View, leaves) -> bool:
    kind = g.nodes[ref].kind
    return kind in ("node", "total") or kind in leaves


def _layout(view: View, drawn, x_step, y_step) -> "dict[NodeRef, tuple[float, float]]":
    """Columns by time, rows by node name: inputs, kept nodes (evaluation order), labels; totals on top."""
    g = view.graph
    names: "list[str]" = []
    for kind in ("input", "node", "init", "label"):
        for ref in drawn:
            info = g.nodes[ref]
            if info.kind == kind and ref.name not in names:
                names.append(ref.name)
    order = [n for n in names if g.nodes[_first(g, n, drawn)].kind == "input"]
    order += [n for n in g.cell.nodes if n in names]
    order += [n for n in names if n not in order]
    row = {name: i for i, name in enumerate(order)}
    times = [r.t for r in drawn if isinstance(r.t, int)]
    t_min, t_max = (min(times), max(times)) if times else (1, 1)
    pos: "dict[NodeRef, tuple[float, float]]" = {}
    untimed = {"param": [], "total": []}
    for ref in drawn:
        if ref.t is None:
            untimed["param" if g.nodes[ref].kind == "param" else "total"].append(ref)
        else:
            pos[ref] = (ref.t * x_step, row[ref.name] * y_step)
    top = len(order) * y_step
    for i, ref in enumerate(untimed["total"]):  # totals centred above everything
        frac = (i + 1) / (len(untimed["total"]) + 1)
        pos[ref] = ((t_min + frac * (t_max - t_min)) * x_step, top)
    # A parameter goes below the network, or beside the totals when all its consumers sit in the
    # top row (V, c beside L).  Parameters sit between time columns, so that their straight
    # edges pass between the nodes of the rows they cross.
    consumer_rows = {ref: [row[v.name] for v in drawn if v.t is not None and ref in view.parents(v)]
                     for ref in untimed["param"]}
    above = [r for r in untimed["param"] if consumer_rows[r] and min(consumer_rows[r]) == len(order) - 1]
    below = [r for r in untimed["param"] if r not in above]
    taken = [pos[r][0] / x_step for r in untimed["total"]]
    for refs, y, avoid in ((below, -y_step, []), (above, top, taken)):
        for ref, x in zip(refs, _gap_positions(len(refs), t_min, t_max, avoid)):
            pos[ref] = (x * x_step, y)
    return pos


def _gap_positions(n: int, t_min: int, t_max: int, avoid: "list[float]") -> "list[float]":
    """n positions between the time columns t_min..t_max, spread evenly, none within 0.6 of ``avoid``;
    with more parameters than gaps (gated cells), evenly over the whole width instead."""
    gaps = [t + 0.5 for t in range(t_min, t_max) if all(abs(t + 0.5 - a) > 0.6 for a in avoid)]
    if n <= len(gaps):
        return [gaps[int((i + 0.5) * len(gaps) / n)] for i in range(n)]
    lo, hi = t_min - 0.5, t_max + 0.5
    return [lo + (i + 0.5) * (hi - lo) / n for i in range(n)]


def _first(g: Graph, name: str, drawn) -> NodeRef:
    return next(r for r in drawn if r.name == name)


def _style(g: Graph, ref: NodeRef) -> str:
    kind = g.nodes[ref].kind
    return {"param": "param", "total": "total", "node": "node"}.get(kind, "leaf")


def _id(ref: NodeRef) -> str:
    t = "" if ref.t is None else "-" + (f"m{-ref.t}" if ref.t < 0 else str(ref.t))
    return f"n-{ref.name}{t}"


# ---------------------------------------------------------------------------
# highlighting and edge labels
# ---------------------------------------------------------------------------
def _path_edges(view: View, highlight, pos) -> "set[tuple[NodeRef, NodeRef]]":
    g = view.graph
    refs = [g.node(r) for r in highlight]
    for ref in refs:
        if ref not in pos:
            raise UnknownName("node in the picture", str(ref), [str(r) for r in pos])
    edges = set()
    for a, b in zip(refs, refs[1:]):
        if b in view.parents(a):
            edges.add((b, a))
        elif a in view.parents(b):
            edges.add((a, b))
        else:
            raise DeriveError(f"cannot highlight {a} -> {b}: {b} is not an explicit parent or child of {a} "
                              f"in the view over {', '.join(view.keep)}")
    return edges


def _edge_labels(view: View, edges) -> "dict[tuple[NodeRef, NodeRef], list[str]]":
    """Parameters P with P @ (... parent ...) on an inner path of the edge parent -> child."""
    g = view.graph
    out: "dict[tuple[NodeRef, NodeRef], list[str]]" = {}
    for parent, child in edges:
        names: "list[str]" = []
        for chain in view.inner_paths(child, parent):
            consumer = g.nodes[chain[-2]]
            for key, ref in consumer.inputs:
                if ref == parent and consumer.expr is not None:
                    for p in _multipliers(consumer.expr, key):
                        if p not in names:
                            names.append(p)
        if names:
            out[(parent, child)] = names
    return out


def _multipliers(expr: Expr, key) -> "list[str]":
    """Names of parameters P such that ``P @ B`` occurs in expr with the leaf ``key`` inside B."""
    found: "list[str]" = []
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, MatMul) and isinstance(e.A, Sym) and e.A.role == "param" and _has_leaf(e.B, key):
            found.append(e.A.name)
        stack.extend(reversed(e.children))
    return found


def _has_leaf(expr: Expr, key) -> bool:
    return any(leaf.key == key for leaf in expr.leaves())
