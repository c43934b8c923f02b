r"""Notation profiles: how one course writes the engine's canonical names.

The engine names things once, the CS7015 way (the RNN cell's ``s, a, x, y, e,
L, W, U, V, b, c``).  A `Notation` is one validated settings object that says
how a course writes them: the base symbol of each name, how a time index is
attached, how a loss is written, and the mark of an explicit derivative.
Nothing else in the printer knows which course it is printing for.

=============  ===========  =============================  ===========================
profile        time index   loss (step / total)            recurrent, input, output
=============  ===========  =============================  ===========================
``cs7015``     ``s_{t}``    ``\mathscr{L}_{t}(\theta)``    W, U, V       (seeds/002)
``appliednlp`` ``h^{[t]}``  ``E^{[t]}`` / ``E(\theta)``    U, W, V       (seeds/000)
``cs224n``     ``h^{(t)}``  ``J^{(t)}(\theta)``            W_h, W_x, U   (seeds/003)
=============  ===========  =============================  ===========================

Names a profile does not map print as themselves, read the way SymPy reads a
symbol name: ``W_f`` -> ``W_{f}``, ``b1`` -> ``b_{1}``, ``sigma`` -> ``\sigma``,
``s_tilde`` -> ``\tilde{s}`` (an accent decorates the *mapped* base, so under
``cs224n`` ``s_tilde`` is ``\tilde{h}``; a subscript names another quantity,
so ``W_f`` is never rewritten through the map of ``W``).

Example::

    >>> get_notation("cs224n").symbol("s", "t - 1")
    'h^{(t - 1)}'
    >>> print(get_notation("cs7015").symbol("L", "4"))
    \mathscr{L}_{4}(\theta)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .errors import DeriveError, InvalidValue, UnknownName

__all__ = ["Notation", "notations", "get_notation", "register_notation", "TIME_STYLES"]

#: How a time index is attached to a base symbol ("{}" stands for the index).
TIME_STYLES: "Mapping[str, str]" = MappingProxyType({
    "sub": "_{{{}}}",         # s_{t}        CS7015
    "bracket": "^{{[{}]}}",   # h^{[t]}      Applied NLP
    "paren": "^{{({})}}",     # h^{(t)}      CS224n
})

# Accents a name may carry as a suffix (``s_tilde``), as SymPy reads them.
_ACCENTS = MappingProxyType({
    "tilde": r"\tilde", "hat": r"\hat", "bar": r"\bar", "vec": r"\vec",
    "dot": r"\dot", "ddot": r"\ddot", "check": r"\check", "breve": r"\breve",
})

_GREEK = frozenset((
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho "
    "sigma tau upsilon phi chi psi omega varepsilon vartheta varphi varrho varsigma "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split())

_TRAILING_SUB = re.compile(r"^(?P<core>.+?)_\{(?P<sub>[^{}]*)\}$")
_TRAILING_DIGITS = re.compile(r"^(?P<core>[A-Za-z]+?)(?P<digits>\d+)$")


_FONTS = re.compile(r"\\(?:mathscr|mathrm|mathbf|mathcal|boldsymbol|mathit|operatorname)\{([^{}]*)\}")
_ACCENTED = re.compile(r"\\(" + "|".join(_ACCENTS) + r")\{([^{}]*)\}")


def _plain(core: str, subs=()) -> str:
    """How a printed symbol is written in plain text: ``W_{h}`` -> ``W_h``, ``\\mathscr{L}`` -> ``L``,
    ``\\hat{y}`` -> ``y_hat``, ``\\sigma`` -> ``sigma``."""
    text = _FONTS.sub(r"\1", core)
    text = _ACCENTED.sub(lambda m: f"{m.group(2)}_{m.group(1)}", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    text = text.replace("{", "").replace("}", "")
    for sub in subs:
        text += "_" + sub.replace("{", "").replace("}", "").replace(", ", "").replace(" ", "")
    return text


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in tex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _word(word: str, *, index: bool = False) -> str:
    """One name fragment: Greek names become letters; a longer base word is upright,
    a longer subscript stays a run of indices (``W_hh`` -> ``W_{hh}``)."""
    if word in _GREEK:
        return "\\" + word
    if len(word) == 1 or word.isdigit() or index:
        return word
    return rf"\mathrm{{{word}}}"


@dataclass(frozen=True)
class _Glyph:
    """A symbol split so a time index can be merged into it: core_{subs}."""

    core: str
    subs: tuple = ()

    @classmethod
    def parse(cls, tex: str) -> "_Glyph":
        m = _TRAILING_SUB.match(tex)
        if m and _balanced(m.group("core")):
            return cls(m.group("core"), (m.group("sub"),))
        return cls(tex)

    def accent(self, command: str) -> "_Glyph":
        return _Glyph(f"{command}{{{self.core}}}", self.subs)

    def render(self, time: "str | None", style: str, indices: "tuple[str, ...]" = ()) -> str:
        subs = list(self.subs)
        sup = ""
        if time is not None:
            if style == "sub":
                subs.append(time)
            else:
                sup = TIME_STYLES[style].format(time)
        subs.extend(indices)
        core = self.core
        if sup and ("^" in core or core.endswith("'")):
            core = "{" + core + "}"  # y' with a superscript would be a double superscript
        sub = "_{" + ", ".join(subs) + "}" if subs else ""
        return core + sub + sup


@dataclass(frozen=True)
class Notation:
    """All notation choices of one course, validated once.

    Attributes:
        name: registry key, e.g. ``"cs7015"``.
        title: one line naming the course and lecture file.
        symbols: engine name -> LaTeX base symbol, for every cell (``"L": "J"``).
        cells: per-cell overrides, cell name -> {engine name -> LaTeX}: the same
            engine name means different things in different cells (the RNN's
            ``s`` is CS224n's ``h``, the LSTM's ``s`` its ``c``).  A cell named
            ``gru_cs224n`` also finds the entry ``gru``.
        time: how a time index is attached: one of `TIME_STYLES`
            (``"sub"``: ``s_{t}``; ``"bracket"``: ``h^{[t]}``; ``"paren"``: ``h^{(t)}``).
        losses: canonical names that are losses; they take the loss arguments.
        step_loss_argument: written after a per-step loss (``(\\theta)`` -> ``\\mathscr{L}_{t}(\\theta)``).
        total_loss_argument: written after the total loss (``\\mathscr{L}(\\theta)``).
        explicit_mark: the operator of an explicit derivative, ``\\partial^{+}``.
        class_index: the true class at step t in ``-\\log (y_{t})_{c_{t}}``.
        descending_product: the product symbol for the chain-rule order
            (largest index leftmost), the order every lecture writes as plain ``\\prod``.
        ascending_product: the product symbol for the reverse order (smallest
            index leftmost), marked so it never reads like the default.
        aliases: extra symbols a course writes for an engine name, read but never
            printed (Applied NLP writes the input as both x and X).
        reading_times: time styles read besides ``time`` (a transcript that
            writes h^{(t)} for the slide's h^{[t]}).

    The same tables read a course's notation (`reading`): what prints ``W_{h}``
    reads back from ``W_h``, so a registered profile works for printing, lecture
    claims and document checking alike.
    """

    name: str
    title: str
    symbols: "Mapping[str, str]" = field(default_factory=dict)
    cells: "Mapping[str, Mapping[str, str]]" = field(default_factory=dict)
    time: str = "sub"
    losses: "tuple[str, ...]" = ("L",)
    step_loss_argument: str = r"(\theta)"
    total_loss_argument: str = r"(\theta)"
    explicit_mark: str = r"\partial^{+}"
    class_index: str = "c"
    descending_product: str = r"\prod"
    ascending_product: str = r"\mathop{\overrightarrow{\prod}}\limits"
    aliases: "Mapping[str, str]" = field(default_factory=dict)
    reading_times: "tuple[str, ...]" = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z][\w-]*", self.name):
            raise InvalidValue(f"a notation name must be a word such as 'cs7015', got {self.name!r}")
        if self.time not in TIME_STYLES:
            raise UnknownName("time style", self.time, list(TIME_STYLES))
        object.__setattr__(self, "symbols", self._check_symbols(self.symbols, "symbols"))
        cells = {}
        for cell, table in dict(self.cells).items():
            if not isinstance(cell, str) or not cell.isidentifier():
                raise InvalidValue(f"notation {self.name!r}: cells are keyed by cell name, got {cell!r}")
            cells[cell] = self._check_symbols(table, f"cells[{cell!r}]")
        object.__setattr__(self, "cells", MappingProxyType(cells))
        object.__setattr__(self, "losses", tuple(self.losses))
        aliases = dict(self.aliases)
        for key, engine in aliases.items():
            if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z]\w*", key) and isinstance(engine, str)
                    and engine.isidentifier()):
                raise InvalidValue(f"notation {self.name!r}: aliases map a written symbol to an engine name, "
                                   f"got {key!r}: {engine!r}")
        object.__setattr__(self, "aliases", MappingProxyType(aliases))
        object.__setattr__(self, "reading_times", tuple(self.reading_times))
        for style in self.reading_times:
            if style not in TIME_STYLES:
                raise UnknownName("time style", style, list(TIME_STYLES))
        for what in ("step_loss_argument", "total_loss_argument"):
            self._check_tex(what, getattr(self, what), allow_empty=True)
        for what in ("explicit_mark", "class_index", "descending_product", "ascending_product"):
            self._check_tex(what, getattr(self, what), allow_empty=False)
        if self.ascending_product == self.descending_product:
            raise InvalidValue(
                f"notation {self.name!r}: ascending_product and descending_product are both "
                f"{self.ascending_product!r}; a reader could not tell the factor order"
            )

    def _check_symbols(self, table, where: str) -> "Mapping[str, str]":
        table = dict(table)
        for key, tex in table.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise InvalidValue(f"notation {self.name!r}: {where} keys are engine names (identifiers), got {key!r}")
            self._check_tex(f"{where}[{key!r}]", tex, allow_empty=False)
        return MappingProxyType(table)

    def _check_tex(self, what: str, tex: object, *, allow_empty: bool) -> None:
        if not isinstance(tex, str) or (not tex and not allow_empty) or not _balanced(tex):
            raise InvalidValue(
                f"notation {self.name!r}: {what} must be a {'' if allow_empty else 'non-empty '}"
                f"LaTeX string with balanced braces, got {tex!r}"
            )

    # -- symbols ---------------------------------------------------------------
    def lookup(self, name: str, cell: "str | None" = None) -> "str | None":
        """The profile's LaTeX for ``name`` in ``cell`` (its entry in ``cells``, then ``symbols``), or None.

        ``cell`` is a cell *family* (`derive.model.cell.Cell.family`): a variant cell says
        which family's symbols it uses; nothing is inherited by name prefix.
        """
        if cell is not None and name in self.cells.get(cell, {}):
            return self.cells[cell][name]
        return self.symbols.get(name)

    # -- reading: the same tables, the other way ---------------------------------
    @property
    def time_styles(self) -> "tuple[str, ...]":
        """The time styles this course is read in: its own, then ``reading_times``."""
        return (self.time,) + tuple(s for s in self.reading_times if s != self.time)

    def reading(self, cell) -> "dict[str, str]":
        """Written symbol -> engine name for the names of ``cell`` (a `Cell`), derived from the printing tables.

        ``W_{h}`` prints for W under cs224n, so ``W_h`` reads as W; a font or an
        accent is read off (``\\mathscr{L}`` is L, ``\\hat{y}`` is y_hat).  Printed
        forms come first, then the aliases, then the engine's own names where no
        printed form took them.
        """
        family = getattr(cell, "family", None) or cell.name
        out: dict = {}
        for name in cell.symbols:
            glyph = self.glyph(name, family)
            out.setdefault(_plain(glyph.core, glyph.subs), name)
        for key, engine in self.aliases.items():
            if engine in cell.symbols:
                out.setdefault(key, engine)
        for name in cell.symbols:
            out.setdefault(name, name)
        return out

    def glyph(self, name: str, cell: "str | None" = None) -> _Glyph:
        """The base symbol of an engine name, split for merging a time subscript."""
        mapped = self.lookup(name, cell)
        if mapped is not None:
            return _Glyph.parse(mapped)
        base, *parts = name.split("_")
        accents = [p for p in parts if p in _ACCENTS]
        subs = [p for p in parts if p and p not in _ACCENTS]
        if not base:
            raise InvalidValue(f"cannot print the name {name!r}: it has no base letter")
        m = _TRAILING_DIGITS.match(base)
        if m:
            base, subs = m.group("core"), [m.group("digits")] + subs
        if accents and not subs and self.lookup(base, cell) is not None:
            glyph = _Glyph.parse(self.lookup(base, cell))
        else:
            glyph = _Glyph(_word(base))
        for accent in accents:
            glyph = glyph.accent(_ACCENTS[accent])
        return _Glyph(glyph.core, glyph.subs + tuple(_word(s, index=True) for s in subs))

    def symbol(self, name: str, time: "str | None" = None, indices: "tuple[str, ...]" = (),
               cell: "str | None" = "rnn") -> str:
        """LaTeX for engine name ``name`` at the (already printed) time index ``time``.

        ``time=None`` is a parameter, or for a loss name the total loss.
        ``indices`` (printed) select an element: ``s_{k, p}``, ``h^{(t)}_{p}``, ``W_{qr}``.
        ``cell`` names the cell whose engine names these are (the lectures' RNN by default).
        """
        tex = self.glyph(name, cell).render(time, self.time, tuple(indices))
        if name in self.losses and not indices:
            tex += self.step_loss_argument if time is not None else self.total_loss_argument
        return tex

    def timed(self, core: str, time: str) -> str:
        """A literal core symbol (no name lookup) with a time index: ``c_{t}``."""
        return _Glyph(core).render(time, self.time)


# ---------------------------------------------------------------------------
# The registry and the three lecture profiles.
# ---------------------------------------------------------------------------
_PROFILES: "dict[str, Notation]" = {}


def register_notation(notation: Notation, *, replace: bool = False) -> Notation:
    """Add a profile so that ``latex(obj, notation=notation.name)`` finds it."""
    if not isinstance(notation, Notation):
        raise InvalidValue(f"register_notation expects a derive.notation.Notation, got {type(notation).__name__}")
    if notation.name in _PROFILES and not replace:
        raise DeriveError(f"notation {notation.name!r} is already registered (pass replace=True to redefine it)")
    _PROFILES[notation.name] = notation
    return notation


def get_notation(name: "str | Notation") -> Notation:
    """Look a profile up by name; an unknown name lists the registered ones."""
    if isinstance(name, Notation):
        return name
    try:
        return _PROFILES[name]
    except (KeyError, TypeError):
        raise UnknownName("notation", name, notations()) from None


def notations() -> "list[str]":
    """Registered profile names, sorted."""
    return sorted(_PROFILES)


register_notation(Notation(
    "cs7015", "CS7015 Deep Learning, Lectures 14 and 111 (seeds/002, 004): s_t, W recurrent, U input, V output",
    symbols={"s": "s", "a": "a", "x": "x", "y": "y", "e": "e", "L": r"\mathscr{L}",
             "W": "W", "U": "U", "V": "V", "b": "b", "c": "c"},
    time="sub",
))
register_notation(Notation(
    "appliednlp", "Applied NLP, Lecture 59 (seeds/000): h^[t], E^[t], U recurrent, W input",
    symbols={"y": r"\hat{y}", "e": "y", "L": "E"},
    cells={"rnn": {"s": "h", "W": "U", "U": "W"}},
    time="bracket",
    step_loss_argument="",
    aliases={"X": "x"},             # eq. (18) writes the input X^{(τ)}
    reading_times=("paren",),       # the transcript writes h^{(t)} for the slide's h^{[t]}
))
register_notation(Notation(
    "cs224n", "CS224n, vanishing gradients and fancy RNNs (seeds/003): h^(t), W_h, W_x, b_1, J^(t)",
    symbols={"y": r"\hat{y}", "e": "y", "L": "J", "V": "U", "c": "b_{2}"},
    cells={
        "rnn": {"s": "h", "W": "W_{h}", "U": "W_{x}", "b": "b_{1}"},
        # LSTM: cell state c^(t), candidate \tilde{c}^(t) = tanh(W_c h^(t-1) + U_c x^(t) + b_c).
        "lstm": {"s": "c", "W": "W_{c}", "U": "U_{c}", "b": "b_{c}"},
    },
    time="paren",
    class_index="w",  # the true word at step t; c^(t) is the LSTM's cell state here
))
