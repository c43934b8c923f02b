"""The command line: ``derive build | list | show | verify | audit``.

Exit codes: 0 success, 1 a check (or a compilation) failed, 2 bad usage or bad input.
Errors are one line on stderr naming the offending value; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .errors import DeriveError
from derive.render.publish import DEFAULT_TEX_TIMEOUT

__all__ = ["main"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="derive",
        description="Machine-checked, lecture-ready mathematics for BPTT, vanishing/exploding gradients, "
                    "LSTMs and GRUs.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="the lecture notes, slides and book, every equation generated and checked "
                                     "(the main job)",
                       description="Verify every derivation of proofs/ and audit every lecture claim, then write, "
                                   "per lecture, LECTURE/notes.tex and LECTURE/slides.tex (in the lecture's own "
                                   "notation and order, errata corrected in place) with LECTURE/equations/<id>.tex, "
                                   "and book.tex (all lectures in teaching order), figures/ and logs/ into the "
                                   "output folder; compile the PDFs when TeX Live is installed.")
    b.add_argument("--out", default="build",
                   help="output folder (default: build); replaced as a whole when the build succeeds")
    b.add_argument("--lecture", action="append", metavar="NAME",
                   help="build only this lecture (l59, l105, l14, cs224n, l111; may be repeated); no book")
    b.add_argument("--notation", default=None,
                   help="print every document in this notation (cs7015, appliednlp, cs224n); default: each "
                        "lecture in its own")
    b.add_argument("--T", type=int, default=4, help="time steps of the unrolled examples, 1..12 (default: 4)")
    b.add_argument("--only", nargs="+", action="extend", metavar="ID",
                   help="build one document of only these derivation ids (see `derive list`), in "
                        "selection/; may be repeated")
    b.add_argument("--no-pdf", action="store_true", help="write the .tex files but do not compile them")
    b.add_argument("--tex-timeout", type=_seconds, default=DEFAULT_TEX_TIMEOUT, metavar="SECONDS",
                   help=f"stop a TeX run taking longer than this per document (default: {DEFAULT_TEX_TIMEOUT:g})")

    sub.add_parser("list", help="list every derivation with its id and source lecture")

    s = sub.add_parser("show", help="print one derivation's LaTeX on stdout")
    s.add_argument("id", help="a derivation id (see `derive list`)")
    s.add_argument("--notation", default="cs7015", help="notation profile (default: cs7015)")
    s.add_argument("--T", type=int, default=4, help="time steps of the unrolled examples (default: 4)")

    v = sub.add_parser("verify", help="run every check; exit 0 when all hold, 1 when any fails")
    v.add_argument("-k", dest="pattern", help="only checks whose id contains PATTERN")
    v.add_argument("--format", choices=("text", "json", "junit"), default="text", help="output format")

    a = sub.add_parser("audit", help="check every lecture equation as printed; report holds / fails / not checkable")
    a.add_argument("-k", dest="pattern", help="only claims whose id contains PATTERN")
    a.add_argument("--format", choices=("table", "json", "junit"), default="table", help="output format")
    a.add_argument("--expected", action="store_true",
                   help="exit 0 when every verdict is the one the catalog expects (the lectures' known errata "
                        "included); without it, exit 1 when any claim fails as printed")

    from derive.checks.doccheck.cli import add_arguments as _check_arguments, run as _check  # derive check (issue 10)
    _check_arguments(sub.add_parser("check", help="check the equations of .tex/.md/.ipynb notes: holds / fails / "
                                                  "not understood, with file:line"))
    _COMMANDS.setdefault("check", _check)
    return p


def main(argv: "list[str] | None" = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    previous = _on_sigterm()
    try:
        code = _COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe is met here, inside the handlers below, not at exit
        return code
    except DeriveError as exc:
        print(f"derive {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("derive: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:  # `derive list | head`: the reader left; say nothing more
        _silence_stdout()
        return 141
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class _Terminated(BaseException):
    """SIGTERM as an exception, so that every cleanup (staging folder, workers, TeX) runs."""


def _raise_terminated(signum, frame):
    raise _Terminated()


def _on_sigterm():
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _build(args) -> int:
    from derive.render.build import BuildOptions, build

    from derive.render.publish import check_out

    out = check_out(args.out)  # an unusable --out is a one-line error before any work
    return build(BuildOptions(out=out, notation=args.notation, T=args.T, only=args.only, lectures=args.lecture,
                              pdf=not args.no_pdf, tex_timeout=args.tex_timeout))


def _list(args) -> int:
    from .content import collect_derivations

    ders = collect_derivations()
    width = max(len(d.id) for d in ders)
    for d in ders:
        print(f"{d.id:<{width}}  {d.title}  [{d.source}]")
    return 0


def _show(args) -> int:
    from derive.render.build import MAX_BUILD_T, render_derivation
    from .content import collect_derivations, select
    from .errors import InvalidValue
    from .notation import get_notation

    get_notation(args.notation)
    if not 1 <= args.T <= MAX_BUILD_T:
        raise InvalidValue(f"--T must be an integer in [1, {MAX_BUILD_T}], got {args.T}")
    (d,) = select(collect_derivations(T=args.T), [args.id])
    sys.stdout.write(render_derivation(d, args.notation))
    return 0


def _verify(args) -> int:
    try:
        from derive.checks.catalog import main_verify
    except ImportError:
        main_verify = None
    if main_verify is not None:
        return main_verify(pattern=args.pattern, fmt=args.format)
    from .content import collect_derivations
    from derive.checks.verify import Report, verify

    report = Report()
    for d in collect_derivations():
        if args.pattern and args.pattern not in d.id:
            continue
        report.extend(verify(d))
    for r in report.results:
        if not r.passed:
            print(r)
    print(report.summary())
    return 0 if report.ok else 1


def _audit(args) -> int:
    try:
        from derive.checks.catalog import main_audit
    except ImportError:
        raise DeriveError("the lecture catalog is not available in this installation") from None
    return main_audit(pattern=args.pattern, fmt=args.format, expected=args.expected)


_COMMANDS = {"build": _build, "list": _list, "show": _show, "verify": _verify, "audit": _audit}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
