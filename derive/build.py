"""`derive build`: derivations -> verification -> LaTeX fragments, an article, Beamer slides, PDFs.

The stages, in order (each timed and reported on stderr):

    derive   collect the derivations of `proofs/` (derive.content)
    verify   check every step, exactly and numerically (derive.verify)
    print    LaTeX for every step in the chosen notation (derive.latex)
    write    equations/<id>.tex, lectures.tex, slides.tex, figures/ (into a staging folder)
    compile  lectures.pdf and slides.pdf with latexmk or pdflatex, when TeX Live is installed

Everything is built in a staging folder beside ``--out`` and swapped in as one
unit only when complete (derive.publish): a failure or a signal leaves the
previous build as it was, and a lock keeps two builds out of one folder.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .content import collect_derivations, select
from .errors import DeriveError, InvalidValue
from .expand import Derivation
from .publish import (DEFAULT_TEX_TIMEOUT, Publication, PublishError, SideWorker, TexError, first_error, run_tex,
                      tex_tool)
from .verify import Report, verify

__all__ = ["BuildOptions", "build", "render_derivation", "article", "slides", "write_atomic", "compile_pdf"]

MAX_BUILD_T = 12
SLIDE_MAX_TERMS = 12  # a longer sum shows its first terms on a slide (the article has them all)


@dataclass
class BuildOptions:
    out: Path = Path("build")
    notation: str = "cs7015"
    T: int = 4
    only: "list[str] | None" = None
    pdf: bool = True
    figures: bool = True
    tex_timeout: float = DEFAULT_TEX_TIMEOUT  # seconds per document (derive.publish.run_tex)
    log: object = None  # a text stream for progress; None means sys.stderr at run time


def _latex(obj, notation: str, cell=None) -> str:
    from .latex import latex

    return latex(obj, notation=notation, **({"cell": cell} if cell is not None else {}))


def _colour(tex: str) -> str:
    """Colour the underbrace labels as the slides highlight explicit and implicit terms."""
    return tex.replace(r"_{\text{explicit}}", r"_{\color{explicitcolor}\text{explicit}}") \
              .replace(r"_{\text{implicit}}", r"_{\color{implicitcolor}\text{implicit}}")


MAX_FRACS_PER_ROW = 8


def step_rows(rhs, notation: str, cell, max_terms: "int | None" = None) -> "list[str]":
    """A right-hand side as one or more rows: a long sum is broken after a ``+`` (never inside a term).

    With ``max_terms`` (slides), a sum longer than that shows its first terms and says how many follow.
    """
    from .algebra import Sum

    if not isinstance(rhs, Sum):
        return [_latex(rhs, notation, cell)]
    terms = [_latex(t, notation, cell) for t in rhs.terms]
    hidden = 0
    if max_terms is not None and len(terms) > max_terms:
        hidden = len(terms) - max_terms
        terms = terms[:max_terms]
    rows, row, width = [], [], 0
    for t in terms:
        w = max(1, t.count(r"\frac"))
        if row and width + w > MAX_FRACS_PER_ROW:
            rows.append(" + ".join(row))
            row, width = [], 0
        row.append(t)
        width += w
    rows.append(" + ".join(row))
    if hidden:
        rows[-1] += rf" + \cdots \text{{ ({hidden} more terms)}}"
    return rows


def render_derivation(d: Derivation, notation: str, report: "Report | None" = None) -> str:
    """An ``align*`` block: the left-hand side, then ``= step`` per line, each marked with its verdict."""
    lhs = _latex(d.lhs, notation, d.cell)
    rows = []
    for i, step in enumerate(d.steps):
        parts = step_rows(step.rhs, notation, d.cell)
        mark = ""
        if report is not None:
            mark = rf" && \text{{\footnotesize [{report.verdict(d.id, i)}]}}"
        rows.append((lhs if i == 0 else "") + f" &= {parts[0]}{mark}")
        rows.extend(rf"&\quad + {p}" for p in parts[1:])
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in "&%$#_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch in "~^":
            out.append(r"\textasciitilde{}" if ch == "~" else r"\textasciicircum{}")
        else:
            out.append(ch)
    return _unicode_to_tex("".join(out))


_UNICODE = {"∂": r"$\partial$", "⁺": r"$^{+}$", "Σ": r"$\Sigma$", "Π": r"$\Pi$", "σ": r"$\sigma$",
            "θ": r"$\theta$", "γ": r"$\gamma$", "λ": r"$\lambda$", "τ": r"$\tau$", "≤": r"$\leq$",
            "⊙": r"$\odot$", "δ": r"$\delta$", "′": "'", "—": "---", "–": "--", "→": r"$\to$", "←": r"$\leftarrow$",
            "·": r"$\cdot$", "×": r"$\times$", "…": r"\dots{}", "‖": r"$\|$", "≈": r"$\approx$", "ε": r"$\varepsilon$",
            "ω": r"$\omega$", "α": r"$\alpha$", "β": r"$\beta$", "μ": r"$\mu$", "ρ": r"$\rho$", "̃": ""}


_MATHY = re.compile(r"[∂_^σθγλτδΣΠ⊙≤‖′⁺]")
_MATH_UNICODE = {"∂": r"\partial ", "⁺": "^{+}", "σ": r"\sigma ", "θ": r"\theta ", "γ": r"\gamma ", "λ": r"\lambda ",
                 "τ": r"\tau ", "δ": r"\delta ", "Σ": r"\sum ", "Π": r"\prod ", "⊙": r"\odot ", "≤": r"\leq ",
                 "‖": r"\| ", "′": "'", "→": r"\to ", "←": r"\leftarrow ", "·": r"\cdot ", "×": r"\times "}


def _math_token(tok: str) -> str:
    """One whitespace-free token of a title typeset as maths: s_4 -> s_{4}, ∂ -> \\partial."""
    out, i = [], 0
    while i < len(tok):
        ch = tok[i]
        if ch in "_^":
            j = i + 1
            if j < len(tok) and tok[j] == "{":
                k = tok.find("}", j)
                k = len(tok) - 1 if k < 0 else k
                out.append(ch + "{" + "".join(_MATH_UNICODE.get(c, c) for c in tok[j + 1:k]) + "}")
                i = k + 1
                continue
            k = j
            while k < len(tok) and (tok[k].isalnum() or tok[k] in "+-") and not (k > j and tok[k] in "+-"):
                k += 1
            out.append(ch + "{" + tok[j:k] + "}")
            i = k
            continue
        out.append(_MATH_UNICODE.get(ch, ch if ord(ch) < 128 else "?"))
        i += 1
    return "$" + "".join(out).replace("diag", r"\operatorname{diag}") + "$"


def _title(text: str) -> str:
    """A derivation title for LaTeX: words stay text, tokens with maths in them become maths."""
    return " ".join(_math_token(t) if _MATHY.search(t) else _escape(t) for t in text.split(" "))


def _unicode_to_tex(text: str) -> str:
    return "".join(_UNICODE.get(ch, ch if ord(ch) < 128 else "?") for ch in text)


PREAMBLE = r"""\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb,mathrsfs}
\usepackage{xcolor}
\usepackage{graphicx}
\usepackage{tikz}
\definecolor{explicitcolor}{RGB}{0,114,178}
\definecolor{implicitcolor}{RGB}{213,94,0}
"""


def article(derivations, texts: "dict[str, str]", report: Report, notation: str, figures=(),
            diagrams_=(), errata: str = "") -> str:
    """The article: every derivation step by step, each step's verification, an appendix of checks."""
    parts = [r"\documentclass[11pt]{article}", r"\usepackage[margin=1.8cm]{geometry}", PREAMBLE.strip(),
             r"\allowdisplaybreaks", r"\title{Backpropagation through time, machine-checked}",
             r"\author{generated by \texttt{derive}}", r"\date{}", r"\begin{document}", r"\maketitle",
             "Every equation below was produced from the computation graph and checked: "
             "\\emph{symbolic} means an exact proof (canonical path sums, or SymPy element by element), "
             "\\emph{numeric} means agreement with central finite differences and the NumPy BPTT on seeded "
             f"instances. Notation: \\texttt{{{_escape(notation)}}}.", ""]
    for d in derivations:
        parts.append(rf"\section{{{_title(d.title)}}}\label{{sec:{d.id}}}")
        parts.append(rf"\noindent\textit{{Source:}} {_escape(d.source)}. \textit{{Id:}} \texttt{{{_escape(d.id)}}}.")
        parts.append(texts[d.id])
        whys = [f"({i + 1}) {_escape(s.why)}" for i, s in enumerate(d.steps) if s.why]
        if whys:
            parts.append(r"\noindent\textit{Steps:} " + "; ".join(whys) + ".")
        parts.append("")
    for dia in diagrams_:
        parts.append(r"\begin{figure}[ht]\centering")
        parts.append(rf"\resizebox{{\linewidth}}{{!}}{{\input{{figures/{dia['id']}.tikz}}}}")
        parts.append(rf"\caption{{{_escape(dia['caption'])}}}\end{{figure}}")
    for fig in figures:
        parts.append(r"\begin{figure}[ht]\centering")
        parts.append(rf"\includegraphics[width=0.8\linewidth]{{{fig['path']}}}")
        parts.append(rf"\caption{{{_escape(fig['caption'])}}}\end{{figure}}")
    parts.append(r"\appendix")
    if errata:
        parts.append(r"\section{Errata: lecture equations that do not hold as printed}")
        parts.append("Each equation of the lecture transcripts was encoded as printed and checked by "
                     "\texttt{derive audit}; these fail, each with a seeded counterexample and a correction "
                     "that was itself verified.")
        parts.append(errata)
    parts.append(r"\section{Checks}")
    parts.append(_checks_table(derivations, report))
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"


def _checks_table(derivations, report: Report) -> str:
    rows = [r"\begin{tabular}{lrrl}",
            r"derivation & step & checks passed & methods \\ \hline"]
    lines = []
    for d in derivations:
        for i in range(len(d.steps)):
            rs = [r for r in report.results if r.derivation == d.id and r.step == i]
            ok = sum(r.passed for r in rs)
            methods = ", ".join(sorted({r.method for r in rs}))
            lines.append(rf"\texttt{{{_escape(d.id)}}} & {i + 1} & {ok}/{len(rs)} & {_escape(methods)} \\")
    # Split into chunks so a long table breaks across pages without extra packages.
    out = []
    for k in range(0, len(lines), 40):
        out.append("\n".join(rows + lines[k:k + 40] + [r"\end{tabular}"]))
    return "\n\n".join(r"{\small " + t + "}" for t in out)


SLIDE_MAX_ROWS = 4


def slides(derivations, lhs: "dict[str, str]", rhs_rows: "dict[str, list[list[str]]]", notation: str) -> str:
    """Beamer: one frame sequence per derivation, one new step of the chain per overlay.

    ``rhs_rows[id]`` holds, per step, the rows of its right-hand side.  A
    derivation with more rows than fit on a slide continues on further frames
    ("cont."), each starting again from its left-hand side.
    """
    parts = [r"\documentclass{beamer}", PREAMBLE.strip().replace(r"\usepackage{xcolor}" + "\n", ""),
             r"\setbeamertemplate{navigation symbols}{}", r"\title{Backpropagation through time}",
             r"\subtitle{machine-checked with \texttt{derive}}", r"\date{}", r"\begin{document}",
             r"\begin{frame}\titlepage\end{frame}"]
    for d in derivations:
        groups, current, used = [], [], 0
        for rows in rhs_rows[d.id]:
            if current and used + len(rows) > SLIDE_MAX_ROWS:
                groups.append(current)
                current, used = [], 0
            current.append(rows)
            used += len(rows)
        groups.append(current)
        for g, steps in enumerate(groups):
            parts.append(rf"\begin{{frame}}{{{_title(d.title)}{' (cont.)' if g else ''}}}")
            parts.append(rf"{{\footnotesize {_escape(d.source)}}}")
            parts.append(r"\resizebox{\linewidth}{!}{$\displaystyle\begin{aligned}")
            lines = []
            for i, rows in enumerate(steps):
                first = (lhs[d.id] if i == 0 else "") + " &= " + rows[0]
                body = " \\\\ &\\quad + ".join([first] + rows[1:])
                lines.append(r"\uncover<%d->{%s}" % (i + 1, _colour(body)))
            parts.append(" \\\\\n".join(lines))
            parts.append(r"\end{aligned}$}")
            parts.append(r"\end{frame}")
    parts.append(r"\end{document}")
    return "\n".join(parts) + "\n"


def write_atomic(path: Path, text: "str | bytes") -> None:
    """Write to a temporary file beside ``path``, then rename: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would ignore the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def compile_pdf(tex: Path, log=None, timeout: float = DEFAULT_TEX_TIMEOUT) -> "tuple[bool, str]":
    """Compile ``tex`` in its own folder with latexmk (or pdflatex twice): (True, "") or (False, the message).

    `derive build` does not use this (it compiles inside its staging folder through
    `Publication.compile`); it is kept for compiling a single file by hand.
    """
    tool = tex_tool()
    if tool is None:
        return False, "missing"
    try:
        run_tex(tool, tex.parent, tex.name, tex.parent, timeout)
    except TexError as exc:
        return False, str(exc)
    return True, ""


def build(opts: BuildOptions) -> int:
    """Run the whole job; returns the exit code (0 ok, 1 a check or compilation failed)."""
    from .notation import get_notation

    log = opts.log or sys.stderr
    get_notation(opts.notation)  # an unknown notation fails before any work
    if isinstance(opts.T, bool) or not isinstance(opts.T, int) or not 1 <= opts.T <= MAX_BUILD_T:
        raise InvalidValue(f"--T must be an integer in [1, {MAX_BUILD_T}], got {opts.T!r}")
    t = opts.tex_timeout
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
        raise InvalidValue(f"--tex-timeout must be a positive number of seconds, got {t!r}")
    with Publication(opts.out) as pub:  # checks --out, takes the lock, makes the staging folder
        try:
            return _build(opts, pub, log)
        except OSError as exc:  # a full disk under the figures worker or TeX's working folder, ...
            where = f" ({exc.filename})" if exc.filename else ""
            raise PublishError(f"cannot build into {str(pub.out)!r}: {exc.strerror or exc}{where}; "
                               "the previous build is unchanged") from None


def _build(opts: BuildOptions, pub: Publication, log) -> int:
    times = {}
    t0 = time.perf_counter()
    ders = select(collect_derivations(T=opts.T), opts.only)
    times["derive"] = time.perf_counter() - t0
    print(f"derive: {len(ders)} derivations ({times['derive']:.1f} s)", file=log, flush=True)

    # The figures and the errata audit do not depend on the derivations' checks: on a second core, meanwhile.
    side = _start_side_work(pub, figures=opts.figures and not opts.only, errata=not opts.only)
    try:
        t0 = time.perf_counter()
        report = Report()
        for i, d in enumerate(ders, 1):
            report.extend(verify(d))
            print(f"verify: [{i}/{len(ders)}] {d.id}", file=log, flush=True)
        times["verify"] = time.perf_counter() - t0
        print(f"verify: {report.summary()} ({times['verify']:.1f} s)", file=log, flush=True)

        t0 = time.perf_counter()
        figs, fig_files, errata, side_times = side.result()
    finally:
        side.cancel()
    for stage, secs in side_times.items():
        times[stage] = secs
    if "figures" in side_times:
        print(f"figures: {len(fig_files)} files ({side_times['figures']:.1f} s, beside verify)", file=log)
    if "audit" in side_times:
        print(f"audit: errata appendix ({side_times['audit']:.1f} s, beside verify)", file=log)
    times["wait"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out = pub.out
    texts = {d.id: render_derivation(d, opts.notation, report) for d in ders}
    lhs = {d.id: _latex(d.lhs, opts.notation, d.cell) for d in ders}
    rhs_rows = {d.id: [step_rows(st.rhs, opts.notation, d.cell, max_terms=SLIDE_MAX_TERMS) for st in d.steps]
                for d in ders}
    files: dict[Path, "str | bytes"] = {}
    files.update({out / "equations" / f"{d.id}.tex": texts[d.id] for d in ders})
    dias = diagrams(opts.notation) if opts.figures and not opts.only else []
    files.update({out / "figures" / f"{dia['id']}.tikz": dia["tex"] for dia in dias})
    files[out / "lectures.tex"] = article(ders, texts, report, opts.notation, figs, dias, errata)
    files[out / "slides.tex"] = slides(ders, lhs, rhs_rows, opts.notation)
    times["print"] = time.perf_counter() - t0
    print(f"print: {len(files) + len(fig_files)} files ({times['print']:.1f} s)", file=log, flush=True)

    t0 = time.perf_counter()
    for path, text in files.items():
        pub.write(path, text)
    times["write"] = time.perf_counter() - t0
    print(f"write: {out}/ (staged, {times['write']:.1f} s)", file=log, flush=True)

    code = 0 if report.ok else 1
    for f in report.failures()[:10]:
        print(f"FAILED: {f}", file=log)
    if opts.pdf:
        t0 = time.perf_counter()
        for name in ("lectures.tex", "slides.tex"):
            try:
                tool = pub.compile(name, opts.tex_timeout)
            except TexError as exc:
                print(f"compile: {exc}", file=log)
                print(f"compile: nothing published, the previous {out}/ is unchanged (--no-pdf writes the "
                      ".tex files without compiling)", file=log)
                return 1
            if tool is None:
                print("compile: TeX Live not found (no latexmk or pdflatex); wrote the .tex files only", file=log)
                break
            print(f"compile: {out / name.replace('.tex', '.pdf')}", file=log, flush=True)
        times["compile"] = time.perf_counter() - t0
    pub.commit()
    print(f"publish: {out}/", file=log, flush=True)
    print("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()), file=log)
    return code


def _t(t):
    return None if t is None else str(t)


def diagrams(notation: str) -> "list[dict]":
    """TikZ drawings generated from graph objects, a chosen path highlighted (CS7015 Lecture 14, Module 14.3:
    the path from L_4 to W through s_1; Lecture 111: the LSTM dependency graph)."""
    from .cells import rnn
    from .graph import unroll
    from .notation import get_notation
    from .tikz import find_path, tikz_unrolled

    nota = get_notation(notation)
    out = []
    g = unroll(rnn(), 4)
    v = g.view()
    path = find_path(v, "L_4", "W", through=["s_1"])
    out.append({"id": "rnn-unrolled", "tex": tikz_unrolled(v, highlight=path,
                                                           symbol=lambda n, t: nota.symbol(n, _t(t), cell="rnn")),
                "caption": "The unrolled RNN (T = 4); highlighted: the path from L_4 to W through s_1."})
    try:
        from .cells.lstm import lstm
    except ImportError:
        return out
    cell = lstm()
    g = unroll(cell, 2)
    v = g.full_view()
    path = find_path(v, "L_2", "s_1")
    out.append({"id": "lstm-dependencies", "tex": tikz_unrolled(v, highlight=path, params="labels",
                                                                symbol=lambda n, t: nota.symbol(n, _t(t), cell=cell.name)),
                "caption": "The LSTM dependency graph over two steps (gates and states as nodes, parameters on "
                           "the edges); highlighted: one path from L_2 to s_1."})
    return out


def _side_work(dest: Path, figures: bool, errata: bool):
    times, figs, fig_files, text = {}, [], [], ""
    if figures:
        t0 = time.perf_counter()
        figs, fig_files = _figures(dest)
        times["figures"] = time.perf_counter() - t0
    if errata:
        t0 = time.perf_counter()
        text = _errata()
        times["audit"] = time.perf_counter() - t0
    return figs, fig_files, text, times


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def cancel(self):
        pass


def _start_side_work(pub: Publication, *, figures: bool, errata: bool):
    """Run `_side_work` in a forked child (derive.publish.SideWorker: it dies with this process) when there is
    a spare core; returns an object whose ``result()`` waits for it and ``cancel()`` stops it."""
    if not (figures or errata) or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return _Done(_side_work(pub.staging, figures, errata))
    return SideWorker(lambda: _side_work(pub.staging, figures, errata), pub.staging / ".side-result")


def _errata() -> str:
    """The Errata appendix: every catalog claim that fails as printed (derive.catalog), in its lecture's notation."""
    try:
        from .catalog import audit, errata_latex
    except ImportError:
        return ""
    return errata_latex(audit())


def _figures(dest: Path):
    """Figures from derive.figures, when that module is available, written into ``dest/figures``."""
    try:
        from . import figures
    except ImportError:
        return [], []
    made = figures.build_figures(dest / "figures")
    files, figs = [], []
    for item in made:
        p = Path(getattr(item, "path", item))
        files.append(p.name)
        if p.suffix == ".pdf":
            figs.append({"path": f"figures/{p.name}", "caption": getattr(item, "caption", p.stem)})
    return figs, files
