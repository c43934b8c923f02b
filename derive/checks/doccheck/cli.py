"""The ``derive check`` command: options, documents, output, exit code (0 all hold, 1 a failure, 2 bad usage)."""

from __future__ import annotations

import sys
from pathlib import Path

from . import check_paths
from .report import FORMATS, render

__all__ = ["add_arguments", "run"]


def add_arguments(c) -> None:
    """The options of ``derive check`` on an argparse (sub)parser."""
    c.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help=".tex, .md or .ipynb documents, or folders to search for them")
    c.add_argument("--cell", choices=("rnn", "lstm", "gru"), help="the cell the document is about (default: rnn, "
                   "or `cell` in a derive.toml beside the document)")
    c.add_argument("--notation", help="a notation profile whose symbols the document uses: cs7015, appliednlp, "
                   "cs224n (default: the cell's own names)")
    c.add_argument("--activation", help="the activation σ stands for (default: tanh and logistic for rnn)")
    c.add_argument("--layout", choices=("jacobian", "gradient"),
                   help="jacobian (numerator layout, default) or gradient (∂L/∂h a column, with transposes)")
    c.add_argument("--inline", action="store_true", help="also check inline $…$ that contain a relation")
    c.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text, file:line:)")
    c.add_argument("--strict", action="store_true", help="also exit 1 when an equation is not understood")


def run(args) -> int:
    results = check_paths(args.paths, cell=args.cell, notation=args.notation, activation=args.activation,
                          layout=args.layout, inline=args.inline)
    sys.stdout.write(render(results, args.format))
    if any(r.verdict == "fails" for r in results):
        return 1
    if args.strict and any(r.verdict == "not_understood" for r in results):
        return 1
    return 0
