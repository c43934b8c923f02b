"""The LaTeX lexer of the document reader: tokens, and the tables of what is skipped, a font, an accent,
a Greek letter, a transposition mark; the token helpers the grammar shares (`derive.checks.doccheck.reader`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Tok", "tokens"]

_MAX_LENGTH = 4000


@dataclass(frozen=True)
class Tok:
    kind: str    # "cmd" (\name or \x), "char", "num", "end"
    text: str
    pos: int


_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(\d+(?:\.\d+)?)|(\S)", re.S)
_SKIP = {",", ";", "!", ":", " ", "quad", "qquad", "displaystyle", "textstyle", "limits", "nolimits",
         "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr",
         "middle", "mathop", "enspace", "thinspace", "medspace", "thickspace", "negthinspace"}
_FONTS = {"mathbf", "boldsymbol", "bm", "mathrm", "textrm", "mathit", "mathcal", "mathscr", "mathsf", "mathbb",
          "mathnormal", "vec", "mathbfit", "pmb", "text", "textit", "textbf", "operatorname"}
_ACCENTS = {"hat": "hat", "widehat": "hat", "tilde": "tilde", "widetilde": "tilde", "bar": "bar",
            "overline": "bar", "dot": "dot"}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "varrho", "tau", "upsilon", "phi", "varphi", "chi",
          "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Phi", "Psi", "Omega", "ell"}
_UNICODE = {"σ": r"\sigma", "∂": r"\partial", "⊙": r"\odot", "∘": r"\circ", "·": r"\cdot", "×": r"\times",
            "θ": r"\theta", "τ": r"\tau", "Σ": r"\sum", "Π": r"\prod", "⊤": r"\top", "′": "'", "−": "-",
            "≤": r"\le", "γ": r"\gamma", "λ": r"\lambda", "‖": r"\|"}
_TRANSPOSE = {r"\top", "T", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\textsf{T}"}
_ACTIVATIONS = {"sigma": None, "tanh": "tanh"}


def tokens(text: str) -> "list[Tok]":
    for u, tex in _UNICODE.items():
        text = text.replace(u, f" {tex} ")
    out = []
    for m in _TOKEN.finditer(text):
        cmd, num, ch = m.groups()
        if cmd is not None:
            if cmd in _SKIP or cmd.isspace():
                continue
            out.append(Tok("cmd", "\\" + cmd, m.start()))
        elif num is not None:
            out.append(Tok("num", num, m.start()))
        else:
            if ch == "~":
                continue
            out.append(Tok("char", ch, m.start()))
    return out


def _is_d(toks) -> bool:
    """``d`` or ``\\mathrm{d}`` leading a total derivative written with d."""
    if not toks:
        return False
    if toks[0].text == "d" and len(toks) > 1:
        return True
    return toks[0].text in ("\\mathrm", "\\text", "\\operatorname") and len(toks) > 3 and toks[2].text == "d" \
        and toks[1].text == "{" and toks[3].text == "}"


def _plain(toks) -> str:
    """The tokens as plain text: ``t-1``, ``\\top``, ``hh``, ``j<t\\le i`` (a command is followed by a space)."""
    s, prev_cmd = "", False
    for t in toks:
        if t.kind == "cmd" and t.text[1:] in ("mathrm", "text", "mathsf", "textsf", "mathbf", "textrm"):
            continue
        if t.text in ("{", "}") and len(toks) > 1:
            continue
        text = t.text[1:] if t.kind == "cmd" and t.text[1:] in _GREEK else t.text   # \tau -> tau
        s += (" " if prev_cmd and text[:1].isalnum() else "") + text
        prev_cmd = t.kind == "cmd" and t.text[1:].isalpha() and text is t.text
    return s.strip()


def _key_part(sub: str) -> str:
    return re.sub(r"[\s{}]", "", sub)


def _label(toks) -> str:
    text = _plain([t for t in toks if t.text not in ("\\text", "\\textrm", "\\mathrm", "\\mbox", "{", "}")])
    return " ".join(text.split())
