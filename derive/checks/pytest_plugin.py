"""A pytest plugin: every derivation (and catalog claim) of a course repository is a test item.

A course that writes its own derivations with `derive` gets them checked by
plain ``pytest`` once it opts in: ``derive_collect = true`` or ``derive_files =
GLOB ...`` in its ini file, or ``pytest --derive``.  The plugin is installed for
every pytest run on the machine, so without an opt-in it collects nothing and
imports nothing.  Then files named ``derivations_*.py`` or ``*_derivations.py``
(or matching the globs of ``derive_files``) whose top level defines a function
``derivations`` or ``claims`` (read from the source with `ast` before anything
is imported) are imported, and

- each `derive.Derivation` returned by their ``derivations()`` becomes one item,
  checked by `derive.checks.verify` (exactly and numerically); a failure names the
  step, the method, the instance and both values;
- each `derive.checks.catalog.Claim` returned by their ``claims()`` becomes one item,
  checked by `derive.checks.catalog.check_claim`: it passes when its verdict is the
  one it expects (``expected``, default "holds") and its correction holds; a
  failure prints the counterexample.

Registered through the ``pytest11`` entry point (``derive = "derive.checks.pytest_plugin"``),
or explicitly with ``pytest -p derive.checks.pytest_plugin``.  Example course file
``derivations_rnn.py``::

    from derive import unroll, recursive_expansion
    from derive.cells import rnn

    def derivations():
        return [recursive_expansion(unroll(rnn(), 3), "s_3", "W", id="expand-s3-W")]

``pytest -v`` then reports ``derivations_rnn.py::expand-s3-W PASSED``.
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

DEFAULT_PATTERNS = ("derivations_*.py", "*_derivations.py")


def pytest_addoption(parser):
    parser.addini("derive_files", type="linelist", default=[],
                  help="glob(s) of files whose derivations()/claims() are collected by derive "
                       f"(default: {' '.join(DEFAULT_PATTERNS)}); setting it opts in")
    parser.addini("derive_collect", type="bool", default=False,
                  help="collect derivations()/claims() of course files (off unless the project opts in)")
    parser.addoption("--derive", action="store_true", default=False,
                     help="collect derivations()/claims() of course files (as derive_collect = true)")


def pytest_configure(config):
    config.addinivalue_line("markers", "derive: a derivation or lecture claim checked by derive")


def _patterns(config) -> "tuple[str, ...]":
    return tuple(config.getini("derive_files")) or DEFAULT_PATTERNS


def _opted_in(config) -> bool:
    return bool(config.getoption("--derive") or config.getini("derive_collect") or config.getini("derive_files"))


def _defines_entry_points(path: Path) -> bool:
    """Whether the module's top level defines ``derivations`` or ``claims`` (read, not imported)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return True  # let the import report the problem as a collection error
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in ("derivations", "claims")
               for n in tree.body)


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".py" and _opted_in(parent.config) \
            and any(fnmatch.fnmatch(file_path.name, p) for p in _patterns(parent.config)) \
            and _defines_entry_points(file_path):
        return DeriveFile.from_parent(parent, path=file_path)
    if file_path.suffix.lower() in (".tex", ".md", ".ipynb") and any(  # derive check: one item per equation
            fnmatch.fnmatch(file_path.name, p) for p in parent.config.getini("derive_files")):
        from derive.checks.doccheck.pytest_items import DocumentFile

        return DocumentFile.from_parent(parent, path=file_path)
    return None


class DeriveFile(pytest.File):
    """A course file: one item per derivation and per claim it returns."""

    def collect(self):
        module = self._import()
        if callable(getattr(module, "derivations", None)):
            for d in module.derivations():
                yield DerivationItem.from_parent(self, name=d.id, derivation=d)
        if callable(getattr(module, "claims", None)):
            for c in module.claims():
                yield ClaimItem.from_parent(self, name=c.id, claim=c)

    def _import(self):
        from derive.errors import DeriveError

        path = Path(self.path)
        name = f"_derive_course_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent))  # a course file may import its neighbours
        try:
            spec.loader.exec_module(module)
        except DeriveError as exc:
            raise self.CollectError(f"{path.name}: {exc}") from None
        finally:
            sys.path.remove(str(path.parent))
        sys.modules[name] = module
        return module


class DeriveCheckFailed(Exception):
    """A derivation step or claim that did not check; ``args[0]`` is the report text."""


class _DeriveItem(pytest.Item):
    """A derive check: marked ``derive``; a failed check is reported as its own text, not a traceback."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_marker("derive")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, DeriveCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)


class DerivationItem(_DeriveItem):
    """One derivation: every step, every binding, exactly and numerically (`derive.checks.verify`)."""

    def __init__(self, *, derivation, **kwargs):
        super().__init__(**kwargs)
        self.derivation = derivation

    def runtest(self):
        from derive.checks.verify import verify

        report = verify(self.derivation)
        if not report.ok:
            d = self.derivation
            lines = [f"derivation {d.id} ({d.title}{', ' + d.source if d.source else ''}): "
                     f"{report.summary()}"]
            if not report.results:
                lines.append("no checks ran (no bindings?)")
            for r in report.failures():
                lines.append(f"  step {r.step + 1} [{r.method}] {r.where}: {r.detail}")
            raise DeriveCheckFailed("\n".join(lines))

    def reportinfo(self):
        return self.path, None, f"derivation {self.derivation.id}"


class ClaimItem(_DeriveItem):
    """One lecture claim: its verdict must be the expected one and its correction must hold."""

    def __init__(self, *, claim, **kwargs):
        super().__init__(**kwargs)
        self.claim = claim

    def runtest(self):
        from derive.checks.catalog import check_claim

        r = check_claim(self.claim)
        want = self.claim.expected or "holds"
        bad = r.verdict != want or (r.correction is not None and r.correction.verdict != "holds")
        if bad:
            c = self.claim
            lines = [f"claim {c.id} ({c.source}): expected {want}, got {r.verdict}", f"  {c.statement}"]
            if r.reason:
                lines.append(f"  {r.reason}")
            if r.counterexample is not None:
                cx = r.counterexample
                lines.append(f"  counterexample: {cx.instance}")
                lines.append(f"    {cx.detail}")
            else:
                lines += [f"  [{k.method}] {k.where_text()}: {k.detail}" for k in r.checks if not k.passed][:3]
            if r.correction is not None and r.correction.verdict != "holds":
                lines.append(f"  correction {r.correction.claim.id}: {r.correction.verdict} {r.correction.reason}")
            raise DeriveCheckFailed("\n".join(lines))

    def reportinfo(self):
        return self.path, None, f"claim {self.claim.id}"
