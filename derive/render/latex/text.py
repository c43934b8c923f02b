r"""All TeX text escaping in one place: words for text mode, lecture Unicode as maths, titles.

Lecture transcripts and claim statements are Unicode (∂s_t/∂W, σ'(a_j), ‖W‖ ≤ γλ).
`escape` makes any such string safe in text mode: TeX's special characters are
escaped and each mathematical character is typeset as maths (``\ensuremath``),
one table for every document `derive` writes.  `prose` reads running text the
way a lecturer writes it: words stay words, symbols with scripts in them
(``∂s_4/∂W``, ``h^{(t)}``) become maths.

    >>> escape("W_h & σ'")
    "W\\_h \\& \\ensuremath{\\sigma}'"
"""

from __future__ import annotations

import re
from types import MappingProxyType

__all__ = ["escape", "prose", "math_token", "MATH", "TEXT"]

#: Unicode characters the lectures use for mathematics -> the TeX math command.
MATH = MappingProxyType({
    "∂": r"\partial", "⁺": r"^{+}", "Σ": r"\Sigma", "Π": r"\Pi", "σ": r"\sigma", "θ": r"\theta",
    "γ": r"\gamma", "λ": r"\lambda", "τ": r"\tau", "δ": r"\delta", "ε": r"\varepsilon", "ω": r"\omega",
    "α": r"\alpha", "β": r"\beta", "μ": r"\mu", "ρ": r"\rho", "η": r"\eta", "φ": r"\phi",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "∈": r"\in", "⊙": r"\odot", "∘": r"\circ",
    "⊗": r"\otimes", "→": r"\to", "←": r"\leftarrow", "·": r"\cdot", "×": r"\times", "±": r"\pm",
    "∴": r"\therefore", "‖": r"\|", "ĝ": r"\hat{g}", "∞": r"\infty", "√": r"\surd", "∑": r"\sum", "∏": r"\prod",
    "∇": r"\nabla", "≡": r"\equiv", "π": r"\pi", "∵": r"\because", "−": "-", "∀": r"\forall", "∃": r"\exists",
    "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow", "∧": r"\wedge", "∨": r"\vee", "∼": r"\sim", "≪": r"\ll", "≫": r"\gg",
    "ŷ": r"\hat{y}", "ᵀ": r"^{\top}", "⁻": r"^{-}", "¹": r"^{1}", "²": r"^{2}", "³": r"^{3}",
    "₀": r"_{0}", "₁": r"_{1}", "₂": r"_{2}", "₃": r"_{3}", "₊": r"_{+}", "₋": r"_{-}",
})

#: Characters with a text-mode spelling.
TEXT = MappingProxyType({
    "\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{",
    "}": r"\}", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "′": "'", "—": "---", "–": "--",
    "…": r"\dots{}", "“": "``", "”": "''", "‘": "`", "’": "'", "\u0303": "",  # a combining tilde (h̃) is dropped
})

# Inside maths: the big operators read as operators, symbols keep a space after a command.
_IN_MATH = {**MATH, "Σ": r"\sum", "Π": r"\prod"}


def escape(text: str) -> str:
    """``text`` for TeX text mode: special characters escaped, lecture maths typeset as maths.

    Letters TeX's T1 encoding has (é, ü) stay as they are; any other character
    with no TeX spelling becomes ``?`` rather than breaking the document.
    """
    out = []
    for ch in str(text):
        if ch in TEXT:
            out.append(TEXT[ch])
        elif ch in MATH:
            out.append(r"\ensuremath{" + MATH[ch] + "}")
        elif ord(ch) < 128 or (ch.isalpha() and ord(ch) < 0x180):
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)



def _math_char(c: str) -> str:
    if c in _IN_MATH:
        tex = _IN_MATH[c]
        return tex + " " if tex[-1].isalpha() else tex
    return {"′": "'"}.get(c, c if ord(c) < 128 else "?")


def math_token(tok: str) -> str:
    """One whitespace-free token typeset as maths: ``s_4`` -> ``$s_{4}$``, ``∂`` -> ``\\partial``."""
    out, i = [], 0
    while i < len(tok):
        ch = tok[i]
        if ch in "_^":
            j = i + 1
            if j < len(tok) and tok[j] == "{":
                k = tok.find("}", j)
                k = len(tok) - 1 if k < 0 else k
                out.append(ch + "{" + "".join(_math_char(c) for c in tok[j + 1:k]) + "}")
                i = k + 1
                continue
            k = j
            while k < len(tok) and (tok[k].isalnum() or tok[k] in "+-") and not (k > j and tok[k] in "+-"):
                k += 1
            out.append(ch + "{" + "".join(_math_char(c) for c in tok[j:k]) + "}")
            i = k
            continue
        out.append(_math_char(ch))
        i += 1
    return "$" + "".join(out).replace("diag", r"\operatorname{diag}") + "$"


# A symbol with sub/superscripts in running text: s_{k-1}, h^{(t)}, U^{τ-1}, ∇_θ, W_h^T; a derivative ∂s_t/∂W,
# ∂L/∂W; a number with an exponent (10^{-3}, 1.5^{T-1}) and a big operator with limits (Π_{j=2}^{T}) too.
_SCRIPT = r"(?:[_^](?:\{[^{}\s]*\}|\([^()\s]*\)|[A-Za-z0-9+\-]+|[θσγλτδ]))"
_BASE = r"(?:[A-Za-z]~|[A-Za-z]{1,2}|[θσγλτδŷĝ])'?"
_ATOM = r"(?:∇|(?:∂⁺?)?" + _BASE + r"|\d+(?:\.\d+)?|[ΠΣ])" + _SCRIPT + "+"
_FRAC = r"∂⁺?" + _BASE + _SCRIPT + "*/∂" + _BASE + _SCRIPT + "*"
# a symbol, not part of a longer word or file name (test_reference_rnn.py stays text)
# ... and a script after a closing bar or bracket: |W_h|^{i-j}, (γ||W||)^t
_RUN = re.compile(r"(?<![\w/.])(?:" + _FRAC + "|" + _ATOM + r"(?:/" + _ATOM + r")?)(?![\w/])"
                  r"|(?<=[|)\]])" + _SCRIPT + r"+(?![\w/])")
_RELATIONS = (("<=", "≤"), (">=", "≥"), ("!=", "≠"))


def prose(text: str) -> str:
    """Running text with inline maths, for TeX: each symbol with scripts (``X^{(τ-1)}``, ``∂h_t/∂h_k``)
    becomes maths; everything else is escaped as text (`escape`), quotes and brackets included."""
    out, pos = [], 0
    text = str(text)
    for ascii_, sign in _RELATIONS:  # a relation written in ASCII reads as the sign
        text = text.replace(ascii_, sign)
    for m in _RUN.finditer(text):
        out.append(escape(text[pos:m.start()]))
        run = m.group(0)
        if "~" in run and "/" not in run:  # h~_t: the lectures' candidate state h-tilde
            base, scripts = run.split("~", 1)
            out.append("$" + math_token(base[:-1])[1:-1] + r"\tilde{" + base[-1] + "}" + math_token(scripts)[1:-1]
                       + "$")
        elif "/" in run:
            num, den = run.split("/", 1)
            out.append("$" + r"\frac{" + math_token(num)[1:-1] + "}{" + math_token(den)[1:-1] + "}$")
        else:
            out.append(math_token(run))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)
