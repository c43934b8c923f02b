r"""Whole documents from typeset pieces: a lecture's notes (article) and slides (Beamer), and the book.

Each takes the lecture's sections already resolved to `Piece` objects
(`derive.render.documents.typeset`), in the lecture's order.  Nothing here prints a
seed file name: a lecture is named by its title, a place by the lecture's own
words ("Module 14.3", "eq. (17)", "at 17:46").
"""

from __future__ import annotations

from ..latex import text
from .plan import TOPICS
from .typeset import PREAMBLE, VERDICT_LABELS

__all__ = ["notes", "slides", "book", "summary"]

_HOW = ("Every equation below was produced by \\texttt{derive} from the lecture's computation graph and checked: "
        "exactly where the algebra allows (canonical path sums, or SymPy element by element), and numerically "
        "against central finite differences and a NumPy BPTT on seeded instances that keep every path alive. "
        "The mark at the right of each equation is its verdict. Where the lecture's equation does not hold as "
        "printed, the corrected equation stands in its place, and an erratum beside it shows what was printed, "
        "why it fails and a counterexample.")


def summary(sections) -> "dict[str, int]":
    """Counts of the verdicts of a document's pieces."""
    out: dict[str, int] = {}
    for _, pieces in sections:
        for p in (q for piece in pieces for q in (piece.members or (piece,))):
            key = p.verdict if p.kind == "claim" else ("derivation" if p.verdict == "holds" else "FAILED")
            out[key] = out.get(key, 0) + 1
    return out


def _tally(sections) -> str:
    counts = summary(sections)
    parts = []
    if counts.get("derivation"):
        parts.append(f"{counts['derivation']} derivations checked")
    for v in VERDICT_LABELS:
        if counts.get(v):
            label = {"holds": "statements hold", "fails": "corrected", "transcription": "transcription slips "
                     "reconstructed", "holds_simplified": "hold as the lecturer simplified them",
                     "not_checkable": "prose statements not checkable"}.get(v, v)
            parts.append(f"{counts[v]} {label}")
    if counts.get("FAILED"):
        parts.append(f"{counts['FAILED']} derivations FAILED")
    return "; ".join(parts) + "."


def _errata_index(sections) -> str:
    items = [(sec, p) for sec, pieces in sections for p in pieces if p.erratum]
    if not items:
        return ""
    rows = [rf"\item {text.prose(sec.title)}, {p.where}: {VERDICT_LABELS.get(p.verdict, p.verdict)}"
            rf" (p.~\pageref{{piece:{p.id}}})" + (f". {p.reason}" if p.reason else "") for sec, p in items]
    return "\\section*{Errata at a glance}\n\\begin{itemize}\n" + "\n".join(rows) + "\n\\end{itemize}\n"


def _figure(fid: str, figures, slide: bool = False) -> str:
    """A figure the section names: a TikZ drawing (``.tikz``) or a plot (``.pdf``); "" when not built."""
    if fid not in figures:
        return ""
    path, caption = figures[fid]
    if path.endswith(".tikz"):
        # as wide as the text allows, and never taller than most of a page (the LSTM graph is tall)
        body = (rf"{{\setlength{{\fitheight}}{{0.75\textheight}}\fit{{\resizebox{{0.9\linewidth}}{{!}}"
                rf"{{\input{{{path}}}}}}}}}")
        if slide:
            body = rf"\fit{{\input{{{path}}}}}"
    else:
        body = rf"\includegraphics[width={'0.8' if not slide else '0.62'}\linewidth]{{{path}}}"
    if slide:
        return r"\begin{center}" + body + r"\end{center}" + "\n" + rf"{{\tiny {caption}}}"
    return r"\begin{figure}[ht]\centering" + body + rf"\caption{{{caption}}}\end{{figure}}"


def _section_body(sec, pieces, level: str = "section", figures=None) -> "list[str]":
    head = text.prose(sec.title)
    out = [rf"\{level}{{{head}}}"]
    if sec.where:
        out.append(rf"\noindent\textit{{{text.prose(sec.where)}}}\par\smallskip")
    if sec.intro:
        out.append(text.prose(sec.intro))
    last = text.prose(sec.where) if sec.where else None  # the section's own place is not repeated
    for p in pieces:
        lead = ""
        if p.kind == "claim" and p.where != last:  # the lecture's place, once for a run of statements there
            lead = rf"\noindent{{\small\textit{{{p.where}}}}}"
            last = p.where
        labels = "".join(rf"\label{{piece:{q.id}}}" for q in (p.members or (p,)))
        out.append(f"{lead}{labels}" + "\n" + p.notes)
    out.extend(f for f in (_figure(fid, figures or {}) for fid in sec.figures) if f)
    return out


def notes(lecture, sections, notation: str, figures=None) -> str:
    """The lecture notes: the lecture's sections in order, every equation generated and checked."""
    parts = [r"\documentclass[11pt]{article}", r"\usepackage[margin=2cm]{geometry}", PREAMBLE.strip(),
             r"\allowdisplaybreaks", rf"\title{{{text.escape(lecture.title)}}}",
             rf"\author{{{text.escape(lecture.course)}\\[2pt]\small notes generated and checked by \texttt{{derive}}}}",
             r"\date{}", r"\begin{document}", r"\maketitle"]
    if lecture.abstract:
        parts.append(r"\begin{abstract}" + text.prose(lecture.abstract) + r"\end{abstract}")
    parts.append(_HOW + " " + text.escape(_tally(sections)))
    parts.append(_errata_index(sections))
    for sec, pieces in sections:
        parts.extend(_section_body(sec, pieces, figures=figures))
    parts.append(r"\end{document}")
    return "\n\n".join(p for p in parts if p) + "\n"


def slides(lecture, sections, notation: str, figures=None) -> str:
    """The slide deck: a title frame, then per section its claims (one frame each, an erratum on the
    claim's frame) and derivations (one step per overlay, continued across frames when long)."""
    parts = [r"\documentclass[aspectratio=169]{beamer}", PREAMBLE.strip(),
             r"\setlength{\fitheight}{0.58\textheight}",
             r"\setbeamertemplate{navigation symbols}{}", r"\setbeamertemplate{footline}[frame number]",
             rf"\title{{{text.escape(lecture.title)}}}", rf"\subtitle{{{text.escape(lecture.course)}}}",
             r"\author{generated and checked by \texttt{derive}}", r"\date{}", r"\begin{document}",
             r"\begin{frame}\titlepage\end{frame}"]
    for sec, pieces in sections:
        title = text.prose(sec.title)
        parts.append(rf"\section{{{title}}}")
        for p in pieces:
            for k, body in enumerate(p.frames):
                sub = p.where if p.kind == "claim" else ""
                more = "erratum" if p.kind == "claim" else "continued"
                frame_title = title + (rf" \textnormal{{\small({more})}}" if k else "")
                parts.append(rf"\begin{{frame}}{{{frame_title}}}" + (rf"\framesubtitle{{{sub}}}" if sub else "")
                             + "\n" + body + "\n" + r"\end{frame}")
        for fid in sec.figures:
            fig = _figure(fid, figures or {}, slide=True)
            if fig:
                parts.append(rf"\begin{{frame}}{{{title}}}" + "\n" + fig + "\n" + r"\end{frame}")
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"


def book(lectures, figures=None) -> str:
    """The book in teaching order: one chapter per topic (RNN and BPTT, vanishing/exploding gradients,
    remedies, LSTM, GRU), each the lectures' sections on it, in lecture order.

    ``lectures`` is a list of (lecture, sections); ``figures`` maps figure id -> (path, caption).
    """
    parts = [r"\documentclass[11pt]{report}", r"\usepackage[margin=2cm]{geometry}", PREAMBLE.strip(),
             r"\allowdisplaybreaks", r"\title{Backpropagation through time, vanishing gradients, LSTMs and GRUs}",
             r"\author{five lectures, machine-checked by \texttt{derive}}", r"\date{}", r"\begin{document}",
             r"\maketitle", r"\tableofcontents", r"\chapter*{How to read this book}", _HOW,
             "The lectures are " + "; ".join(f"\\emph{{{text.escape(lec.title)}}} ({text.escape(lec.course)})"
                                             for lec, _ in lectures) + ". "
             "Each section keeps its lecture's notation and names the lecture it comes from."]
    for topic, name in TOPICS.items():
        chunks = []
        for lec, sections in lectures:
            for sec, pieces in sections:
                if sec.topic != topic:
                    continue
                body = _section_body(sec, pieces, figures=figures)
                body[0] = rf"\section{{{text.prose(sec.title)} ({text.escape(lec.short)})}}" + "\n" + \
                    rf"\noindent\textit{{From {text.escape(lec.title)}.}}\par"
                chunks.extend(body)
        if chunks:
            parts.append(rf"\chapter{{{text.escape(name)}}}")
            parts.extend(chunks)
    parts.append(r"\end{document}")
    return "\n\n".join(parts) + "\n"
