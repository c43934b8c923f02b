r"""``derive check``: verify the equations of a course author's own .tex, .md and .ipynb notes.

Pipeline, one module a stage:

    extract   display equations with file and line, chains split into links
    reader    LaTeX -> engine terms, a recursive-descent grammar (no eval, no sympify)
    model     the document's cell and symbol map (--cell/--notation or derive.toml)
    check     each link: exact (free algebra of path sums) and numeric (seeded instances)
    report    text (file:line:), json (schema version 1), github annotations, junit

Example::

    >>> from derive.checks.doccheck import check
    >>> [r.verdict for r in check(r"$$s_t = \sigma(W s_{t-1} + U x_t + b)$$", cell="rnn", notation="cs7015")]
    ['holds']
"""

from __future__ import annotations

from pathlib import Path

from .check import Result, check_equations, summary
from .extract import DocumentError, Equation, Link, extract, extract_text
from .model import Model, ModelError, model_for, model_of_document
from .reader import NotUnderstood, read

__all__ = ["check", "check_paths", "Result", "Equation", "Link", "Model", "DocumentError", "ModelError",
           "NotUnderstood", "extract", "extract_text", "read", "summary", "model_for"]

SUFFIXES = (".tex", ".md", ".markdown", ".ipynb")


def check(path_or_text, *, cell: "str | None" = None, notation: "str | None" = None,
          activation: "str | None" = None, layout: "str | None" = None, inline: bool = False,
          kind: str = "md") -> "list[Result]":
    """Results for one document (a path) or for a text (``kind`` "md" or "tex")."""
    if isinstance(path_or_text, Path) or (isinstance(path_or_text, str) and "\n" not in path_or_text
                                          and path_or_text.endswith(SUFFIXES + (".txt",)) and Path(path_or_text).exists()):
        model = model_of_document(path_or_text, cell=cell, notation=notation, activation=activation, layout=layout)
        return check_equations(extract(path_or_text, inline=inline), model)
    if not isinstance(path_or_text, str):
        raise DocumentError(f"expected a path or a document's text, got {type(path_or_text).__name__}")
    model = model_for(cell, notation, activation=activation, layout=layout)
    return check_equations(extract_text(path_or_text, "<text>", kind, inline=inline), model)


def documents(paths) -> "list[Path]":
    """The documents named: files as given, folders searched for .tex/.md/.ipynb (sorted)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in SUFFIXES and q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise DocumentError(f"{p}: no such file or folder")
    return out


def check_paths(paths, **options) -> "list[Result]":
    """Results for every document under ``paths`` (options as for `check`)."""
    out = []
    for p in documents(paths):
        out.extend(check(p, **options))
    return out
