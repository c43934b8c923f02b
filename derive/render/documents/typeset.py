r"""The pieces every lecture document is made of, typeset: a claim with its verdict, an erratum, a derivation.

Everything mathematical goes through the LaTeX printer (`derive.render.latex`) from
terms, in the lecture's notation; text from lectures and claims goes through
`derive.render.latex.text.escape`.  A piece is rendered once, as a `Piece` of plain
strings (so the audit can render its pieces in a worker process), and then
placed by the notes, the slides and the book.

Verdicts are marked in one column: ``\tag*{\verdict{...}}`` at the right margin
of each equation.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from derive.errors import DeriveError
from derive.terms import relation as relation_tex

from ..latex import text
from .refs import readable

__all__ = ["Piece", "PREAMBLE", "claim_piece", "derivation_piece", "group_pieces", "heading", "rows_of",
           "VERDICT_LABELS"]

#: How each audit verdict reads beside an equation.
VERDICT_LABELS = {
    "holds": "holds",
    "holds_simplified": "holds as simplified",
    "fails": "corrected",
    "transcription": "reconstructed",
    "not_checkable": "not checkable",
    "pending": "pending",
    "error": "not checked",
}

PREAMBLE = r"""\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb,mathrsfs}
\usepackage{xcolor}
\usepackage{graphicx}
\usepackage{booktabs,array}
\usepackage{algpseudocode}
\usepackage{tikz}
\definecolor{explicitcolor}{RGB}{0,114,178}
\definecolor{implicitcolor}{RGB}{213,94,0}
\definecolor{holdscolor}{RGB}{0,110,60}
\definecolor{errcolor}{RGB}{190,40,0}
\newcommand{\verdict}[1]{\textsf{\footnotesize #1}}
\newcommand{\holds}[1]{\textcolor{holdscolor}{\verdict{#1}}}
\newcommand{\fails}[1]{\textcolor{errcolor}{\verdict{#1}}}
\newsavebox{\fitbox}
\newlength{\fitheight}
\setlength{\fitheight}{0.62\textheight}
% \fit{material}: as it is when it fits, scaled down to the line width and to \fitheight when it does not.
\newcommand{\fit}[1]{\sbox{\fitbox}{#1}%
  \ifdim\wd\fitbox>\linewidth\sbox{\fitbox}{\resizebox{\linewidth}{!}{\usebox{\fitbox}}}\fi
  \dimen0=\ht\fitbox\advance\dimen0 by\dp\fitbox
  \ifdim\dimen0>\fitheight\sbox{\fitbox}{\resizebox*{!}{\fitheight}{\usebox{\fitbox}}}\fi
  \usebox{\fitbox}}
"""

MAX_FRACS_PER_ROW = 6
SLIDE_MAX_TERMS = 12


@dataclass
class Piece:
    """One claim or derivation, typeset: what the notes, slides and book place.

    ``notes`` is a block for an article; ``frames`` the body of one or more
    Beamer frames (the frame titles are added by the slides); ``fragment`` the
    equation alone (``equations/<id>.tex``).  ``verdict`` is the audit verdict
    or "holds"/"fails" for a derivation; ``erratum`` is True when the lecture's
    equation was corrected or reconstructed.
    """

    id: str
    kind: str  # "claim" or "derivation"
    verdict: str
    where: str
    notes: str
    frames: "list[str]" = field(default_factory=list)
    fragment: str = ""
    erratum: bool = False
    problem: str = ""  # a correction that could not be produced, said in the document and on stderr
    reason: str = ""   # an erratum's one sentence (TeX): why the printed equation fails
    members: tuple = ()  # a family of one-step derivations typeset together (`group_pieces`): its pieces
    line: tuple = ()     # a one-row derivation's (lhs &= rhs, verdict mark), for `group_pieces`
    family: tuple = ()   # what one-row derivations typeset together share: (title, steps line)


def _latex(obj, notation: str, cell=None) -> str:
    from ..latex import latex

    return latex(obj, notation=notation, **({"cell": cell} if cell is not None else {}))


def _mark(verdict: str, label: "str | None" = None) -> str:
    label = label or VERDICT_LABELS.get(verdict, verdict)
    macro = r"\holds" if verdict in ("holds", "holds_simplified") else r"\fails" \
        if verdict in ("fails", "transcription", "error", "FAILED") else r"\verdict"
    return macro + "{" + text.escape(label) + "}"


def _colour(tex: str) -> str:
    """Colour the underbrace labels as the slides highlight explicit and implicit terms."""
    return tex.replace(r"_{\text{explicit}}", r"_{\color{explicitcolor}\text{explicit}}") \
              .replace(r"_{\text{implicit}}", r"_{\color{implicitcolor}\text{implicit}}")


def rows_of(rhs, notation: str, cell=None, max_terms: "int | None" = None) -> "list[str]":
    """A right-hand side as rows: a long sum is broken after a ``+`` (never inside a term).

    With ``max_terms`` (slides) a longer sum shows its first terms and says how many follow.
    """
    from derive.terms import Sum

    if not isinstance(rhs, Sum):
        return [_latex(rhs, notation, cell)]
    terms = [_latex(t, notation, cell) for t in rhs.terms]
    hidden = 0
    if max_terms is not None and len(terms) > max_terms:
        hidden, terms = len(terms) - max_terms, terms[:max_terms]
    rows, row, width = [], [], 0
    for t in terms:
        w = max(1, t.count(r"\frac") + t.count(r"\operatorname{diag}"))
        if row and width + w > MAX_FRACS_PER_ROW:
            rows.append(" + ".join(row))
            row, width = [], 0
        row.append(t)
        width += w
    rows.append(" + ".join(row))
    if hidden:
        rows[-1] += rf" + \cdots \text{{ ({hidden} more terms)}}"
    return rows


def _aligned(lhs: str, rel: str, rows: "list[str]") -> str:
    body = [f"{lhs} &{rel} {rows[0]}"] + [rf"&\quad + {r}" for r in rows[1:]]
    return r"\begin{aligned}" + r" \\ ".join(body) + r"\end{aligned}"


def _equation(sides, display, notation: str, max_terms=None) -> "str | None":
    """The claim as mathematics: its sides (lhs, rhs[, relation]) or its display term; None when it has neither."""
    from derive.terms import Term, relation

    if sides and len(sides) in (2, 3) and all(isinstance(s, Term) for s in sides[:2]):
        rel = relation(sides[2]) if len(sides) == 3 else "="
        lhs = _latex(sides[0], notation)
        return _aligned(lhs, rel, rows_of(sides[1], notation, max_terms=max_terms))
    if display is not None:
        return _latex(display, notation)
    return None


def _sentence(s: str) -> str:
    """The first sentence of a reading, for the erratum's one-line reason."""
    s = " ".join(str(s).split())
    m = re.search(r"(?<!eq\.)(?<!cf\.)(?<!e\.g\.)(?<!i\.e\.)(?<!et al\.)(?<!sec\.)(?<=[.;])\s+(?=[A-Z(])", s)
    first = s[:m.start()] if m else s
    word = first.split(" ", 1)[0]
    if word.isalpha() and word.islower() and len(word) > 1:  # "the bound ..." but never a symbol (s_t, dL/dW)
        first = first[:1].upper() + first[1:]
    return first.rstrip(".;") + "."


def _number(x) -> str:
    """A value for a table cell, as maths: 4 significant digits, vectors shortened."""
    import numpy as np

    if isinstance(x, (list, tuple, np.ndarray)):
        arr = np.asarray(x, dtype=object).ravel().tolist()
        shown = r",\allowbreak ".join(_number(v) for v in arr[:4])
        return "(" + shown + (r",\allowbreak \dots" if len(arr) > 4 else "") + ")"
    if isinstance(x, bool):
        return r"\text{" + ("true" if x else "false") + "}"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return r"\infty" if v > 0 else (r"-\infty" if v < 0 else r"\text{NaN}")
        s = f"{v:.4g}"
        if "e" in s:
            m, e = s.split("e")
            return rf"{m} \times 10^{{{int(e)}}}"
        return s
    return r"\text{" + text.escape(str(x)) + "}"


_KEYS = {"activation": "activation", "sizes": "sizes", "T": "T", "seed": "seed", "binding": "at",
         "recipe": "instance", "gamma_lambda": r"$\gamma\lambda$"}


_GREEK = {"tau": r"\tau", "theta": r"\theta", "gamma": r"\gamma", "lambda": r"\lambda", "sigma": r"\sigma",
          "delta": r"\delta", "rho": r"\rho", "eta": r"\eta"}


def _symbol(name) -> str:
    """An index or size name as maths: ``tau`` -> ``\\tau``, ``n`` -> ``n``."""
    name = str(name)
    if name in _GREEK:
        return _GREEK[name]
    if re.fullmatch(r"[A-Za-z]", name):
        return name
    return r"\text{" + text.escape(name) + "}"


def counterexample_table(cx, entry_note: str = "", relation: str = "=") -> str:
    """A small table: the instance (activation, sizes, T, seed, ...) and both sides' values.

    For an equation the sides are the printed right-hand side and the true value; for a relation
    (a bound, an inequality) they are its left and right sides, with the relation that fails between them.
    """
    rows = []
    inst = dict(cx.instance or {})
    for key in list(_KEYS) + sorted(k for k in inst if k not in _KEYS):
        if key not in inst:
            continue
        val = inst[key]
        name = _KEYS.get(key) or text.escape(str(key).replace("_", " "))
        if isinstance(val, dict):
            shown = ", ".join(f"${_symbol(k)} = {_number(v)}$" for k, v in val.items())
        elif isinstance(val, str):
            shown = text.prose(val)
        else:
            shown = f"${_number(val)}$"
        rows.append(f"{name} & {shown}")
    import numpy as np

    def side(v) -> "str | None":
        """The value as maths (the counterexample's entry of an array), or None for text."""
        if isinstance(v, str):
            return None
        if cx.entry is not None and isinstance(v, np.ndarray) and v.ndim == len(cx.entry):
            try:
                return _number(v[tuple(cx.entry)])
            except (IndexError, TypeError):
                pass
        return _number(v)

    where = ""
    if cx.entry is not None:
        where = " (entry " + ", ".join(str(int(i) + 1) for i in cx.entry) + ")"
    if cx.lhs is not None and not isinstance(cx.lhs, str):
        a, b = side(cx.lhs), side(cx.rhs)
        shown = [f"${x}$" if x is not None else text.escape(v) for x, v in ((a, cx.lhs), (b, cx.rhs))]
        if relation in ("=", "=="):
            rows += [f"as printed{where} & {shown[0]}", f"true value{where} & {shown[1]}"]
        else:
            rows += [f"left side{where} & {shown[0]}", f"right side{where} & {shown[1]}"]
            if a is not None and b is not None:
                rows.append(rf"so & ${a} \not{relation_tex(relation)} {b}$")
    body = " \\\\\n".join(rows)
    return ("{\\small\\begin{tabular}{@{}l>{\\raggedright\\arraybackslash}p{0.55\\linewidth}@{}}\\toprule\n" + body
            + " \\\\\n\\bottomrule\\end{tabular}}")


def _erratum_parts(result, notation: str):
    """(printed equation, reason as TeX, counterexample table or check line) of a failing claim."""
    claim = result.claim
    printed = _equation(result.sides, claim.display, notation)  # None: the printed claim is quoted in words
    # a transcription slip is explained by its evidence (the slide elsewhere, the spoken words); a failure by
    # the reading that says why the mathematics is wrong
    evidence = getattr(claim, "evidence", "")
    why = (evidence if result.verdict == "transcription" else "") or claim.reading or evidence
    reason = text.prose(_sentence(readable(why))) if why else ""  # TeX from here on
    detail = ""
    cx = result.counterexample
    if cx is not None and cx.instance:
        sides = result.sides or ()
        detail = counterexample_table(cx, relation=sides[2] if len(sides) == 3 else "=")
    else:
        bad = next((k.detail for k in result.checks if not k.passed), "")
        if bad:
            detail = r"\textit{Check:} " + text.prose(readable(bad)) + "."
    if result.special_case:
        reason = (reason + " " if reason else "") + text.prose(readable(result.special_case)).rstrip(".") + "."
    return printed, reason, detail


def _text_only(eq: str) -> "str | None":
    """The words of an equation that is one ``\\text{...}`` group (a statement in words), else None."""
    eq = eq.strip()
    if not eq.startswith("\\text{"):
        return None
    depth = 0
    for i, ch in enumerate(eq[5:], start=5):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            return eq[6:i] if i == len(eq) - 1 else None
    return None


def _condition(claim, notation: str) -> str:
    """A bound's quantifier and assumption, as the claim means them: ``\quad\text{whenever } γλ < 1`` for
    every instance, ``\quad\text{for some instance with } γλ > 1`` for a witness ("could explode")."""
    meaning = claim.meaning
    quantifier, assume = getattr(meaning, "quantifier", None), getattr(meaning, "assume", None)
    if quantifier is None or (quantifier != "exists" and not assume):
        return ""
    words = "for some instance" if quantifier == "exists" else "whenever"
    if not assume:
        return rf"\quad\text{{{words}}}"
    from derive.checks.catalog.parse import parse
    from derive.terms import Relation

    try:
        cell = meaning.cell(meaning.activations[0])
        rel = Relation(parse(assume[0], claim.notation, cell), assume[1], parse(assume[2], claim.notation, cell))
        shown = _latex(rel, notation, cell)
    except DeriveError:
        shown = text.escape(" ".join(map(str, assume)))
        return rf"\quad\text{{{words} with {shown}}}"
    return rf"\quad\text{{{words}{' with' if quantifier == 'exists' else ''} }}{shown}"


def claim_piece(result, notation: str) -> Piece:
    """A lecture claim as the lecture would show it: the engine's equation with its verdict; where the
    printed equation fails, the corrected equation in its place and an erratum beside it."""
    claim = result.claim
    where = text.prose(claim.source.where)
    verdict = result.verdict
    corr = result.correction
    problem = ""
    if claim.kind == "prose" or verdict == "not_checkable":
        quote = text.prose(claim.source.quote or claim.statement)
        why = text.prose(readable(claim.not_checkable or result.reason or ""))
        body = (rf"\begin{{quote}}\itshape ``{quote}''\hfill{_mark('not_checkable')}\end{{quote}}" + "\n"
                + (rf"\noindent{{\small Not checked: {why}}}" if why else ""))
        return Piece(claim.id, "claim", verdict, where, body, [body], "")
    shown_result = result
    label = None
    if verdict in ("fails", "transcription"):
        if corr is not None and corr.verdict in ("holds", "holds_simplified"):
            shown_result = corr
        else:
            problem = (f"claim {claim.id}: the lecture's equation fails and no verified correction could be "
                       "produced" + (f" (the correction {corr.claim.id} {corr.verdict})" if corr is not None else ""))
            label = "fails as printed"
    eq = _equation(shown_result.sides, shown_result.claim.display, notation)
    if eq is None and shown_result is not result:
        eq = _equation(result.sides, claim.display, notation)
    if eq is None:
        eq = r"\text{" + text.prose(shown_result.claim.statement) + "}"
    mark = _mark(verdict, label)
    cond = _condition(shown_result.claim, notation)
    if cond and not eq.lstrip().startswith(r"\begin{algorithmic}"):
        eq = eq + cond
    words = _text_only(eq)
    if words is not None:  # a statement in words (an implication): wrapped as a paragraph, never shrunk to a line
        block = r"\begin{minipage}{0.8\linewidth}\centering " + words + r"\end{minipage}"
        notes = [r"\par\medskip\noindent\hfill" + block + rf"\hfill{mark}\par\medskip"]
        slide = [r"\begin{center}" + block + "\\end{center}" + "\n" + rf"\hfill{mark}"]
    elif eq.lstrip().startswith(r"\begin{algorithmic}"):  # pseudo-code (derive.terms.Code): a text block
        block = r"\begin{minipage}{0.7\linewidth}" + eq + r"\end{minipage}"
        notes = [r"\par\medskip\noindent\hfill" + block + rf"\hfill{mark}\par\medskip"]
        slide = [r"\begin{center}\fit{" + block + "}\\end{center}" + "\n" + rf"\hfill{mark}"]
    else:
        notes = [rf"\begin{{equation*}}\fit{{$\displaystyle {_colour(eq)}$}}\tag*{{{mark}}}\end{{equation*}}"]
        slide = [rf"{{\large\[\fit{{$\displaystyle {_colour(eq)}$}}\]}}" + "\n" + rf"\hfill{mark}"]
    said = shown_result.claim if shown_result.verdict == "holds_simplified" else claim
    if shown_result.verdict == "holds_simplified" and (getattr(said, "evidence", "") or shown_result.special_case):
        note = text.prose(_sentence(readable(getattr(said, "evidence", "") or shown_result.special_case)))
        notes.append(rf"\noindent{{\small As the lecturer says: {note}}}")
        slide.append(rf"{{\footnotesize As the lecturer says: {note}}}")
    erratum = verdict in ("fails", "transcription")
    frames = ["\n".join(slide)]
    reason = ""
    if erratum:
        printed, reason, detail = _erratum_parts(result, notation)
        head = "Erratum" if verdict == "fails" else "Transcription"
        what = "the lecture prints" if verdict == "fails" else "the transcript reads"
        shown = (rf"\[\fit{{$\displaystyle {printed}$}}\]" if printed
                 else rf"``{text.prose(claim.statement)}''")
        why = reason
        if problem:
            why += r" \textbf{No verified correction:} " + text.escape(problem) + "."
        lines = [rf"\textbf{{{head}}} ({where}): {what} {shown}", why, detail]
        notes.append("\\begin{quote}\\small\n" + "\n\n".join(x for x in lines if x) + "\n\\end{quote}")
        frames.append(r"\setlength{\fitheight}{0.3\textheight}" + rf"{{\small\textbf{{{head}}}: {what}}}" + "\n" + (shown if printed else rf"{{\small {shown}}}")
                      + "\n" + r"\begin{columns}[T]\begin{column}{0.5\textwidth}\footnotesize " + why
                      + r"\end{column}\begin{column}{0.45\textwidth}" + (r"\fit{" + detail + "}" if detail.startswith("{\\small\\begin{tabular}") else detail) + r"\end{column}\end{columns}")
    fragment = (eq if eq.lstrip().startswith(r"\begin{algorithmic}") else rf"\[ {eq} \]") + "\n"  # equations/<id>.tex: the equation alone, for a course's own documents
    return Piece(claim.id, "claim", verdict, where, "\n".join(notes) + "\n", frames, fragment, erratum, problem,
                 reason if erratum else "")


_MATHY = re.compile(r"[∂_^σθγλτδΣΠ⊙≤≥‖′⁺/=]")
_SEED = re.compile(r"\s*\(?\b\d{3}_[0-9a-f]{16}\.txt\)?,?\s*")


def place(source: str) -> str:
    """A derivation's source as a lecture place: the transcript's file name (an artefact of how the
    lectures were collected) left out, "Module 14.3 (BPTT)" kept."""
    return _SEED.sub(" ", str(source)).strip(" ,") or "the lecture"


def heading(title: str, lhs_tex: str) -> str:
    """A derivation's heading: its words as text, its mathematics as the printer typesets its left-hand side.

    ``Recursive expansion of ∂s_4/∂W (explicit + implicit)`` reads "Recursive
    expansion of $\\frac{∂s_4}{∂W}$": the words before the first mathematical
    token, then the left-hand side; a title with no mathematics stays as it is.
    """
    words = []
    for tok in str(title).split():
        if _MATHY.search(tok):
            head = " ".join(words).strip()
            return (text.escape(head) + f" ${lhs_tex}$") if head else ""  # maths alone: the equation says it
        words.append(tok)
    return text.escape(" ".join(words))


SLIDE_MAX_ROWS = 4


def derivation_align(d, notation: str, report=None) -> str:
    """lhs = step 1 = step 2 ... as a plain ``align*`` (no macros of the documents' preamble): each step
    marked with its checks when a report is given."""
    lhs = _latex(d.lhs, notation, d.cell)
    rows = []
    for i, step in enumerate(d.steps):
        parts = rows_of(step.rhs, notation, d.cell)
        mark = rf" && \text{{\footnotesize [{report.verdict(d.id, i)}]}}" if report is not None else ""
        rows.append((lhs if i == 0 else "") + f" &= {parts[0]}{mark}")
        rows.extend(rf"&\quad + {p}" for p in parts[1:])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def derivation_piece(d, report, notation: str) -> Piece:
    """A derivation: lhs = step 1 = step 2 ..., each step with its verdict; on slides one step per overlay,
    continued on further frames when the rows do not fit."""
    lhs = _latex(d.lhs, notation, d.cell)
    rows, line = [], ()
    verdicts = [report.verdict(d.id, i) if report is not None else "unchecked" for i in range(len(d.steps))]
    for i, step in enumerate(d.steps):
        parts = rows_of(step.rhs, notation, d.cell)
        v = verdicts[i]
        mark = _mark("holds" if v not in ("FAILED", "unchecked") else "fails", v)
        first = (lhs if i == 0 else "") + f" &= {_colour(parts[0])}"
        rows.append(first + rf" \tag*{{{mark}}}")
        rows.extend(rf"&\quad + {_colour(p)} \notag" for p in parts[1:])
        line = (first, mark) if len(d.steps) == 1 and len(parts) == 1 else ()
    title = heading(d.title, lhs)
    whys = [f"({i + 1}) {text.prose(s.why)}" for i, s in enumerate(d.steps) if s.why]
    notes = ([rf"\paragraph{{{title}}}"] if title else []) + [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    if whys:
        notes.append(r"\noindent{\small\textit{Steps:} " + "; ".join(whys) + ".}")
    # slides: rows per step, grouped so each frame holds at most SLIDE_MAX_ROWS rows
    groups, current, used = [], [], 0
    for i, step in enumerate(d.steps):
        parts = rows_of(step.rhs, notation, d.cell, max_terms=SLIDE_MAX_TERMS)
        tall = sum(2 if (r"\underbrace" in r or r"\left[" in r) else 1 for r in parts)  # braces: two lines' height
        if current and used + tall > SLIDE_MAX_ROWS:
            groups.append(current)
            current, used = [], 0
        current.append((i, parts))
        used += tall
    groups.append(current)
    frames = []
    for g, steps in enumerate(groups):
        lines = []
        for k, (i, parts) in enumerate(steps):
            first = (lhs if k == 0 else "") + " &= " + _colour(parts[0])
            body = " \\\\ &\\quad + ".join([first] + [_colour(p) for p in parts[1:]])
            lines.append(r"\uncover<%d->{%s}" % (k + 1, body))
        marks = "; ".join(f"step {i + 1} {text.escape(verdicts[i])}" for i, _ in steps)
        frames.append((rf"{{\small {title}}}" if title else "") + "\n"
                      + r"\[\fit{$\displaystyle\begin{aligned}" + " \\\\\n".join(lines) + r"\end{aligned}$}\]"
                      + "\n" + rf"\hfill{{\footnotesize checked: {marks}}}")
    ok = all(v not in ("FAILED", "unchecked") for v in verdicts)
    fragment = derivation_align(d, notation, report)
    return Piece(d.id, "derivation", "holds" if ok else "fails", text.prose(place(d.source)), "\n".join(notes) + "\n",
                 frames, fragment, line=line, family=(title, notes[-1] if whys else ""))


GROUP_MIN = 3  # this many consecutive one-step derivations with one title are typeset as one family
FAMILY_ROWS_PER_FRAME = 3  # a family's rows per slide (each a full BPTT sum: more would shrink below reading size)


def group_pieces(pieces: "list[Piece]") -> "list[Piece]":
    """Consecutive one-step derivations with the same title and reasons (∂J/∂W_u, ∂J/∂U_u, ∂J/∂b_u, ... of
    one BPTT form) as one family: the title and the steps once, one aligned row per derivation, each with
    its own verdict.  Every member keeps its own equation fragment and label."""
    out, run = [], []

    def flush():
        if len(run) >= GROUP_MIN:
            out.append(_family(run))
        else:
            out.extend(run)
        run.clear()

    for p in pieces:
        if run and not (p.line and p.family == run[0].family):
            flush()
        if p.line:
            run.append(p)
        else:
            out.append(p)
    flush()
    return out


def _family(run: "list[Piece]") -> Piece:
    title, steps_line = run[0].family
    notes = ([rf"\paragraph{{{title}}}"] if title else []) + [
        r"\begin{align*}", " \\\\\n".join(rf"{body} \tag*{{{mark}}}" for body, mark in (p.line for p in run)),
        r"\end{align*}"] + ([steps_line] if steps_line else [])
    frames = []
    n = FAMILY_ROWS_PER_FRAME
    for k in range(0, len(run), n):
        body = " \\\\\n".join(rf"{line} && {mark}" for line, mark in (p.line for p in run[k:k + n]))
        frames.append((rf"{{\small {title}}}" if title else "") + "\n"
                      + r"\[\fit{$\displaystyle\begin{aligned}" + body + r"\end{aligned}$}\]")
    ok = all(p.verdict == "holds" for p in run)
    return Piece(run[0].id, "derivation", "holds" if ok else "fails", run[0].where, "\n".join(notes) + "\n",
                 frames, run[0].fragment, members=tuple(run))
