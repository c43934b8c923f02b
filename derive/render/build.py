"""`derive build`: the lectures' notes and slides and the book, every equation generated and checked.

The stages, in order (each timed and reported on stderr, per lecture where it is long):

    derive   collect the derivations of `proofs/` and the lecture plans (derive.content)
    verify   check every derivation step, exactly and numerically (derive.checks.verify), lecture by lecture,
             then draw the figures (derive.render.figures)
    audit    meanwhile, on the second core: every lecture claim as printed (derive.checks.catalog), typeset as
             pieces (derive.render.documents.typeset); with one core, before verify
    print    each lecture's sections in its own notation and order (derive.render.documents.write)
    write    LECTURE/notes.tex, LECTURE/slides.tex, LECTURE/equations/<id>.tex, book.tex, figures/
    compile  the PDFs, two at a time, with latexmk or pdflatex when TeX Live is installed; TeX's logs go to
             logs/, its other auxiliary files nowhere

Everything is built in a staging folder beside ``--out`` and swapped in as one
unit only when complete (derive.render.publish): a failure or a signal leaves the
previous build as it was, and a lock keeps two builds out of one folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from derive.content import collect_derivations, select
from .latex import text
from derive.errors import InvalidValue, UnknownName
from derive.prove.expand import Derivation
from .publish import (DEFAULT_TEX_TIMEOUT, Publication, PublishError, SideWorker, TexError, allow_tex, run_tex,
                      stop_tex, tex_tool)
from derive.checks.verify import Report, verify

__all__ = ["BuildOptions", "build", "render_derivation", "diagrams", "write_atomic", "compile_pdf"]

MAX_BUILD_T = 12


@dataclass
class BuildOptions:
    out: Path = Path("build")
    notation: "str | None" = None  # None: each lecture in its own notation
    T: int = 4
    only: "list[str] | None" = None
    lectures: "list[str] | None" = None  # --lecture: build these lectures only (no book)
    pdf: bool = True
    figures: bool = True
    tex_timeout: float = DEFAULT_TEX_TIMEOUT  # seconds per document (derive.render.publish.run_tex)
    log: object = None  # a text stream for progress; None means sys.stderr at run time


def render_derivation(d: Derivation, notation: str, report: "Report | None" = None) -> str:
    """An ``align*`` block: the left-hand side, then ``= step`` per line (`derive show`, equations/<id>.tex)."""
    from .documents.typeset import derivation_align

    return derivation_align(d, notation, report)


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
    from derive.notation import get_notation

    log = opts.log or sys.stderr
    if opts.notation is not None:
        get_notation(opts.notation)  # an unknown notation fails before any work
    if isinstance(opts.T, bool) or not isinstance(opts.T, int) or not 1 <= opts.T <= MAX_BUILD_T:
        raise InvalidValue(f"--T must be an integer in [1, {MAX_BUILD_T}], got {opts.T!r}")
    t = opts.tex_timeout
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
        raise InvalidValue(f"--tex-timeout must be a positive number of seconds, got {t!r}")
    lectures = _chosen_lectures(opts)  # an unknown --lecture fails before any work, listing the valid ones
    with Publication(opts.out) as pub:  # checks --out, takes the lock, makes the staging folder
        try:
            return _build(opts, pub, log, lectures)
        except OSError as exc:  # a full disk under the figures worker or TeX's working folder, ...
            where = f" ({exc.filename})" if exc.filename else ""
            raise PublishError(f"cannot build into {str(pub.out)!r}: {exc.strerror or exc}{where}; "
                               "the previous build is unchanged") from None


def _chosen_lectures(opts: BuildOptions) -> list:
    from derive.render.documents import collect_lectures

    every = collect_lectures()
    if not opts.lectures:
        return [] if opts.only else every
    by_id = {lec.id: lec for lec in every}
    out = []
    for name in opts.lectures:
        if name not in by_id:
            raise UnknownName("lecture", name, list(by_id))
        if by_id[name] not in out:
            out.append(by_id[name])
    return out


def _selection(ders) -> "Lecture":
    """--only: the chosen derivations as one document, a section per lecture place they come from."""
    from .documents import Lecture, Section
    from .documents.typeset import place

    places: dict[str, list[str]] = {}
    for d in ders:
        places.setdefault(place(d.source), []).append(d.id)
    sections = tuple(Section(place, tuple(ids)) for place, ids in places.items())
    return Lecture("selection", "Selected derivations", "derive build --only", "cs7015", sections)


def _build(opts: BuildOptions, pub: Publication, log, lectures) -> int:
    from .documents.typeset import derivation_piece, group_pieces
    from .documents.write import book, notes, slides

    times = {}
    t0 = time.perf_counter()
    ders = collect_derivations(T=opts.T)
    if opts.only:
        ders = select(ders, opts.only)
        lectures = lectures or [_selection(ders)]
    times["derive"] = time.perf_counter() - t0
    print(f"derive: {len(ders)} derivations, {len(lectures)} lectures ({times['derive']:.1f} s)", file=log,
          flush=True)
    notation = {lec.id: opts.notation or lec.notation for lec in lectures}
    claim_ids = {lec.id: [c.id for c in _claims_of(lec)] for lec in lectures}
    # The plans must place every claim and name only what exists: checked now, before the long work.
    plans = {lec.id: lec.resolve(_claims_of(lec), ders) for lec in lectures}
    known = _figure_ids()
    for lec in lectures:
        for sec in lec.sections:
            bad = [f for f in sec.figures if f not in known]
            if bad:
                raise UnknownName(f"figure (lecture {lec.id}, section {sec.title!r})", bad[0], sorted(known))
    placed = {o.id for sections in plans.values() for _, objs in sections for o in objs}
    unplaced = [d.id for d in ders if d.id not in placed]
    if unplaced and not opts.only:
        print(f"derive: {len(unplaced)} derivations are in no lecture's plan and appear in no document: "
              + ", ".join(unplaced[:8]) + (" ..." if len(unplaced) > 8 else ""), file=log)

    # The audit of the lectures' claims does not depend on the derivations: on a second core, while this
    # one verifies the derivations and then draws the figures (the two halves take about as long).
    wanted = {i: notation[lid] for lid, ids in claim_ids.items() for i in ids}
    want_figs = opts.figures and not opts.only
    side = _start_side_work(pub, claims=wanted)
    try:
        t0 = time.perf_counter()
        report = Report()
        for lec in lectures:
            t1 = time.perf_counter()
            mine = [o for _, objs in plans[lec.id] for o in objs if isinstance(o, Derivation)]
            for d in mine:
                report.extend(verify(d))
            print(f"verify: {lec.id}: {len(mine)} derivations ({time.perf_counter() - t1:.1f} s)", file=log,
                  flush=True)
        if not opts.lectures:  # the whole build checks every derivation, placed in a document or not
            for d in ders:
                if d.id not in placed:
                    report.extend(verify(d))
        times["verify"] = time.perf_counter() - t0
        print(f"verify: {report.summary()} ({times['verify']:.1f} s)", file=log, flush=True)
        fig_files = []
        if want_figs:
            t0 = time.perf_counter()
            fig_files = _figures(pub.staging)
            times["figures"] = time.perf_counter() - t0
            print(f"figures: {len(fig_files)} files ({times['figures']:.1f} s)", file=log, flush=True)
        t0 = time.perf_counter()
        claim_pieces, side_times = side.result()
    finally:
        side.cancel()
    times.update(side_times)
    if "audit" in side_times:
        print(f"audit: {len(claim_pieces)} lecture claims ({side_times['audit']:.1f} s, "
              f"{'beside verify' if isinstance(side, SideWorker) else 'before verify'})", file=log)
    times["wait"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out = pub.out
    files: dict[Path, "str | bytes"] = {}
    documents, problems, book_parts = [], [], []
    for lec in lectures:
        nota = notation[lec.id]
        sections = []
        for sec, objs in plans[lec.id]:
            pieces = [claim_pieces[o.id] if o.id in claim_pieces else derivation_piece(o, report, nota)
                      for o in objs]
            sections.append((sec, group_pieces(pieces)))
        for _, pieces in sections:
            for p in (q for piece in pieces for q in (piece.members or (piece,))):
                files[out / lec.id / "equations" / f"{p.id}.tex"] = p.fragment
                if p.problem:
                    problems.append(f"{lec.id}: {p.problem}")
        figs = _figure_paths(fig_files, "../figures/")
        files[out / lec.id / "notes.tex"] = notes(lec, sections, nota, figures=figs)
        files[out / lec.id / "slides.tex"] = slides(lec, sections, nota, figures=figs)
        documents += [f"{lec.id}/notes.tex", f"{lec.id}/slides.tex"]
        book_parts.append((lec, sections))
    if want_figs:
        for dia in diagrams(opts.notation or "cs7015"):
            files[out / "figures" / f"{dia['id']}.tikz"] = dia["tex"]
    if not opts.lectures and not opts.only:
        files[out / "book.tex"] = book(book_parts, figures=_figure_paths(fig_files, "figures/"))
        documents.append("book.tex")
    times["print"] = time.perf_counter() - t0
    print(f"print: {len(files) + len(fig_files)} files ({times['print']:.1f} s)", file=log, flush=True)
    for msg in problems:
        print(f"warning: {msg}", file=log)

    t0 = time.perf_counter()
    for path, content in files.items():
        pub.write(path, content)
    times["write"] = time.perf_counter() - t0
    print(f"write: {out}/ (staged, {times['write']:.1f} s)", file=log, flush=True)

    code = 1 if report.failures() else 0  # a lecture with no derivations (only claims) is fine
    for f in report.failures()[:10]:
        print(f"FAILED: {f}", file=log)
    if opts.pdf:
        t0 = time.perf_counter()
        try:
            tool = _compile_all(pub, documents, opts.tex_timeout, log)
        except TexError as exc:
            print(f"compile: {exc}", file=log)
            print(f"compile: nothing published, the previous {out}/ is unchanged (--no-pdf writes the "
                  ".tex files without compiling)", file=log)
            return 1
        if tool is None:
            print("compile: TeX Live not found (no latexmk or pdflatex); wrote the .tex files only", file=log)
        times["compile"] = time.perf_counter() - t0
    pub.commit()
    print(f"publish: {out}/", file=log, flush=True)
    print("times: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()), file=log)
    return code


def _figure_ids() -> "set[str]":
    """The figures a section may name: the graph drawings and the plots of derive.render.figures."""
    try:
        from .figures import captions
    except ImportError:
        return set(DIAGRAM_CAPTIONS)
    return set(DIAGRAM_CAPTIONS) | set(captions())


def _claims_of(lecture) -> list:
    """The claims of a lecture: those of the module that defines its plan (none for a --only selection)."""
    import importlib

    if not lecture.module:
        return []
    return list(importlib.import_module(lecture.module).claims())


def _figure_paths(fig_files, prefix: str) -> "dict[str, tuple[str, str]]":
    """figure id -> (path as the document includes it, caption); the TikZ drawings by their id too."""
    out = {fid: (prefix + fid + ".pdf", cap) for fid, cap in fig_files}
    for fid, cap in DIAGRAM_CAPTIONS.items():
        out.setdefault(fid, (prefix + fid + ".tikz", cap))
    return out


def _compile_all(pub: Publication, documents, timeout: float, log) -> "str | None":
    """Compile every document, two at a time (this machine has two cores; TeX is single-threaded)."""
    from concurrent.futures import ThreadPoolExecutor

    if tex_tool() is None:
        return None
    allow_tex()   # a previous build in this process may have been interrupted
    workers = max(1, min(2, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(workers)
    try:
        futures = [(name, pool.submit(pub.compile, name, timeout)) for name in documents]
        tool, error = None, None
        for name, fut in futures:
            try:
                tool = fut.result() or tool
                print(f"compile: {pub.out / name.replace('.tex', '.pdf')}", file=log, flush=True)
            except TexError as exc:
                error = error or exc
        if error is not None:
            raise error
        return tool
    except BaseException:  # an error, Ctrl-C or SIGTERM: no TeX outlives the build
        pool.shutdown(wait=False, cancel_futures=True)
        stop_tex()
        raise
    finally:
        pool.shutdown(wait=False)


def _t(t):
    return None if t is None else str(t)


DIAGRAM_CAPTIONS = {
    "rnn-unrolled": "The unrolled RNN (T = 4); highlighted: the path from $L_4$ to $W$ through $s_1$.",
    "lstm-dependencies": "The LSTM dependency graph over two steps (gates and states as nodes, parameters on the "
                         "edges); highlighted: one path from $L_2$ to $s_1$.",
}


def diagrams(notation: str) -> "list[dict]":
    """TikZ drawings generated from graph objects, a chosen path highlighted (CS7015 Lecture 14, Module 14.3:
    the path from L_4 to W through s_1; Lecture 111: the LSTM dependency graph)."""
    from derive.cells import rnn
    from derive.model.graph import unroll
    from derive.notation import get_notation
    from .tikz import find_path, tikz_unrolled

    nota = get_notation(notation)
    out = []
    g = unroll(rnn(), 4)
    v = g.view()
    path = find_path(v, "L_4", "W", through=["s_1"])
    out.append({"id": "rnn-unrolled", "tex": tikz_unrolled(v, highlight=path,
                                                           symbol=lambda n, t: nota.symbol(n, _t(t), cell="rnn")),
                "caption": DIAGRAM_CAPTIONS["rnn-unrolled"]})
    try:
        from derive.cells.lstm import lstm
    except ImportError:
        return out
    cell = lstm()
    g = unroll(cell, 2)
    v = g.full_view()
    path = find_path(v, "L_2", "s_1")
    out.append({"id": "lstm-dependencies", "tex": tikz_unrolled(v, highlight=path, params="labels",
                                                                symbol=lambda n, t: nota.symbol(n, _t(t), cell=cell.family)),
                "caption": DIAGRAM_CAPTIONS["lstm-dependencies"]})
    return out


def _side_work(claims: "dict[str, str]"):
    """The audit of the lecture claims ``claims`` (id -> notation) typeset as pieces, and its time."""
    times, pieces = {}, {}
    if claims:
        t0 = time.perf_counter()
        pieces = _claim_pieces(claims)
        times["audit"] = time.perf_counter() - t0
    return pieces, times


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value

    def cancel(self):
        pass


def _start_side_work(pub: Publication, *, claims: "dict[str, str]"):
    """Run `_side_work` in a forked child (derive.render.publish.SideWorker: it dies with this process) when there is
    a spare core, else now; returns an object whose ``result()`` waits for it and ``cancel()`` stops it."""
    if not claims or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return _Done(_side_work(claims))
    return SideWorker(lambda: _side_work(claims), pub.staging / ".side-result")


def _claim_pieces(claims: "dict[str, str]") -> dict:
    """Audit the lecture claims and typeset each in its document's notation (derive.render.documents.typeset)."""
    from derive.checks.catalog import audit
    from derive.content import collect_claims
    from .documents.typeset import claim_piece

    chosen = [c for c in collect_claims() if c.id in claims]
    report = audit(chosen)
    return {r.claim.id: claim_piece(r, claims[r.claim.id]) for r in report.results}


def _figures(dest: Path) -> "list[tuple[str, str]]":
    """The plots of derive.render.figures written into ``dest/figures``: (id, caption) of each PDF written."""
    try:
        from . import figures
    except ImportError:
        return []
    captions = figures.captions() if hasattr(figures, "captions") else {}
    made = figures.build_figures(dest / "figures")
    out = []
    for item in made:
        p = Path(getattr(item, "path", item))
        if p.suffix == ".pdf":
            out.append((p.stem, captions.get(p.stem, "")))
    return out
