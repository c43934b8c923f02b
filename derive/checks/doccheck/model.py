"""The model of a document: which cell its equations are about, and how it names the cell's symbols.

Declared once by the author, on the command line (``--cell rnn --notation cs224n``)
or in a ``derive.toml`` beside the document::

    cell = "rnn"                 # rnn | lstm | gru
    notation = "cs224n"          # optional: start from a registered notation's symbols
    activation = "tanh"          # the σ of the document (rnn: tanh and logistic by default)
    layout = "gradient"          # "jacobian" (numerator layout, CS7015) or "gradient" (∂L/∂h a column)

    [symbols]                    # the document's symbol = the cell's name
    W_hh = "W"
    W_hx = "U"
    h = "s"

The reading map of a notation is derived from its printing tables
(`derive.notation`): the profile prints the engine name ``W`` as ``W_{h}``, so the
reader reads ``W_{h}`` (and ``W_h``) as ``W``.  Names a profile does not map read
as themselves.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from derive.model import activations
from derive.model.cell import Cell
from derive.errors import DeriveError, UnknownName
from .reader import NotUnderstood, symbol_key

__all__ = ["Model", "ModelError", "CELLS", "LAYOUTS", "reading_map", "model_for", "load_toml"]

LAYOUTS = ("jacobian", "gradient")
_KEYS = ("cell", "notation", "activation", "layout", "symbols", "functions", "keep")


class ModelError(DeriveError):
    """A document model that cannot be built (unknown cell, notation, symbol; malformed derive.toml)."""


def _rnn(act: str) -> Cell:
    from derive.cells import rnn

    return rnn(act)


def _lstm(act: str) -> Cell:
    from derive.cells import lstm

    return lstm(gate=act)


def _gru(act: str) -> Cell:
    from derive.cells import gru

    return gru(gate=act)


#: cell name -> (builder taking the activation σ, the default activations to check with)
CELLS: "dict[str, tuple[Callable[[str], Cell], tuple]]" = {
    "rnn": (_rnn, ("tanh", "logistic")),
    "lstm": (_lstm, ("logistic",)),
    "gru": (_gru, ("logistic",)),
}


@dataclass
class Model:
    """Cell, activations, layout and the document's symbol map (document key -> cell name)."""

    cell: str = "rnn"
    names: "dict[str, str]" = field(default_factory=dict)
    activations: tuple = ("tanh", "logistic")
    layout: str = "jacobian"
    notation: "str | None" = None
    keep: "tuple | None" = None
    source: str = "command line"

    def build(self, act: "str | None" = None) -> Cell:
        return CELLS[self.cell][0](act or self.activations[0])


def reading_map(cell: Cell, notation: "str | None") -> "dict[str, str]":
    """Document key -> engine name for ``notation`` (None: the cell's own names)."""
    out: "dict[str, str]" = {}
    if notation is not None:
        from derive.notation import get_notation

        prof = get_notation(notation)
        for name in cell.symbols:
            tex = prof.lookup(name, cell.name)
            if tex is None:
                continue
            try:
                key = symbol_key(tex)
            except NotUnderstood:
                continue
            out.setdefault(key, name)
    mapped = set(out.values())
    inverse = {v: k for k, v in out.items()}
    for name in cell.symbols:  # an accent decorates the mapped base: the LSTM's s_tilde is \tilde{c} in cs224n
        base, _, accent = name.rpartition("_")
        if accent in ("tilde", "hat", "bar") and base in inverse and name not in mapped:
            out.setdefault(f"{inverse[base]}_{accent}", name)
            mapped.add(name)
    for name in cell.symbols:
        if name not in mapped:
            out.setdefault(name, name)
    return out


def model_for(cell: "str | None" = None, notation: "str | None" = None, *, activation: "str | None" = None,
              layout: "str | None" = None, symbols: "dict | None" = None, toml: "dict | None" = None,
              source: str = "command line") -> Model:
    """A document model: command-line values override the ``derive.toml`` ones."""
    toml = toml or {}
    cell = cell or toml.get("cell") or "rnn"
    if cell not in CELLS:
        raise UnknownName("cell", cell, list(CELLS))
    notation = notation or toml.get("notation")
    layout = layout or toml.get("layout") or "jacobian"
    if layout not in LAYOUTS:
        raise UnknownName("layout", layout, LAYOUTS)
    activation = activation or toml.get("activation")
    if activation is not None:
        activations.get(activation)  # raises UnknownName listing the activations
        acts = (activation,)
    else:
        acts = CELLS[cell][1]
    built = CELLS[cell][0](acts[0])
    names = reading_map(built, notation)
    extra = dict(toml.get("symbols") or {})
    extra.update(symbols or {})
    if extra:
        targets = set(extra.values())
        names = {k: v for k, v in names.items() if v not in targets}
        for key, target in extra.items():
            if target not in built.symbols:
                raise ModelError(f"symbol {key!r} = {target!r}: {target!r} is not a name of cell {cell!r}; "
                                 f"expected one of: {', '.join(built.symbols)}")
            try:
                names[key if re.fullmatch(r"[A-Za-z]+(_[A-Za-z0-9]+)*", key) else symbol_key(key)] = target
            except NotUnderstood:
                raise ModelError(f"symbol {key!r}: not a symbol name (expected e.g. W_hh, h, \\mathbf{{W}})") \
                    from None
    for fname, target in dict(toml.get("functions") or {}).items():
        # h_t = f(x_t, h_{t-1}, w_h): the function f computes the cell's node `target`
        if not re.fullmatch(r"[A-Za-z]+", fname):
            raise ModelError(f"functions.{fname}: a function name is a word such as f or g")
        if target not in built.symbols or built.symbols[target].role != "node":
            raise ModelError(f"functions.{fname} = {target!r}: expected a node of cell {cell!r}: "
                             f"{', '.join(n for n, s in built.symbols.items() if s.role == 'node')}")
        names[f"{fname}()"] = target
    keep = toml.get("keep")
    return Model(cell, names, acts, layout, notation, tuple(keep) if keep else None, source)


def load_toml(path) -> dict:
    """The document settings of a derive.toml, validated: each error names the key and its line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{p}: cannot read ({exc})") from None
    return parse_settings(text, str(p))


_FRONT = re.compile(r"\A\+\+\+[ \t]*\n(?P<body>.*?)^\+\+\+[ \t]*$", re.S | re.M)


def front_matter(text: str) -> "tuple[str, int] | None":
    """The TOML front matter of a Markdown document (between ``+++`` lines at the top), and its first line."""
    m = _FRONT.match(text)
    return (m.group("body"), 2) if m else None


def parse_settings(text: str, where: str, first_line: int = 1) -> dict:
    """TOML document settings, validated; errors name ``where:line`` and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{where}: not valid TOML: {exc}") from None

    def line_of(key: str) -> str:
        m = re.search(r"^[ \t]*[\"']?" + re.escape(key) + r"[\"']?\s*=", text, re.M)
        return f"{where}:{text[:m.start()].count(chr(10)) + first_line}" if m else where

    for key, value in data.items():
        if key not in _KEYS:
            raise ModelError(f"{line_of(key)}: unknown key {key!r}; expected one of: {', '.join(_KEYS)}")
        if key in ("symbols", "functions"):
            if not isinstance(value, dict):
                raise ModelError(f"{line_of(key)}: {key!r} must be a table of name = \"cell name\"")
            for k, v in value.items():
                if not isinstance(v, str):
                    raise ModelError(f"{line_of(k)}: {key}.{k} must be a string naming a cell symbol, "
                                     f"got {type(v).__name__}")
        elif key == "keep":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ModelError(f"{line_of(key)}: 'keep' must be a list of node names")
        elif not isinstance(value, str):
            raise ModelError(f"{line_of(key)}: {key!r} must be a string, got {type(value).__name__}")
    return data


def model_of_document(path, *, cell=None, notation=None, activation=None, layout=None) -> Model:
    """The model for one document: a derive.toml beside it (if any), then the document's own TOML
    front matter (Markdown, between ``+++`` lines), overridden by the arguments."""
    toml_path = Path(path).parent / "derive.toml"
    toml = load_toml(toml_path) if toml_path.is_file() else {}
    sources = [str(toml_path)] if toml else []
    if Path(path).suffix.lower() in (".md", ".markdown", ".txt"):
        try:
            head = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            head = ""   # extraction reports an unreadable document
        fm = front_matter(head)
        if fm is not None:
            own = parse_settings(fm[0], str(path), fm[1])
            merged = {**toml, **own}
            if "symbols" in toml and "symbols" in own:
                merged["symbols"] = {**toml["symbols"], **own["symbols"]}
            toml = merged
            sources.append(f"{path} (front matter)")
    try:
        return model_for(cell, notation, activation=activation, layout=layout, toml=toml,
                         source=", ".join(sources) or "command line")
    except ModelError:
        raise
    except DeriveError as exc:
        where = f"{', '.join(sources)}: " if sources else ""
        raise ModelError(f"{where}{exc}") from None
