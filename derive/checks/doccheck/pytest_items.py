"""pytest items for documents: one item per display equation of a .tex/.md/.ipynb matching ``derive_files``.

The plugin (`derive.checks.pytest_plugin`) collects the documents matching the ini option ``derive_files``'s
globs; each equation is checked by `derive.checks.doccheck` in the model of its
document (the ``derive.toml`` beside it).  An equation that fails fails its item
with the row, the counterexample and both values; one that is not understood is
skipped with the reason (so nothing is passed silently).
"""

from __future__ import annotations

import pytest

from .check import check_equations
from .extract import extract
from .model import model_of_document


class DocumentFile(pytest.File):
    def collect(self):
        from derive.errors import DeriveError

        try:
            model = model_of_document(self.path)
            equations = extract(self.path)
        except DeriveError as exc:
            raise self.CollectError(f"{self.path.name}: {exc}") from None
        for eq in equations:
            name = f"line {eq.line}" if eq.cell is None else f"cell {eq.cell} line {eq.line}"
            if eq.label:
                name += f" ({eq.label})"
            yield EquationItem.from_parent(self, name=name, equation=eq, model=model)


class EquationFailed(Exception):
    """An equation of a document that does not hold; ``args[0]`` is the report text."""


class EquationItem(pytest.Item):
    def __init__(self, *, equation, model, **kwargs):
        super().__init__(**kwargs)
        self.equation, self.model = equation, model
        self.add_marker("derive")

    def runtest(self):
        results = check_equations([self.equation], self.model)
        bad = [r for r in results if r.verdict == "fails"]
        if bad:
            raise EquationFailed("\n".join(f"{r.where}: fails: {r.text}\n  {r.detail}" for r in bad))
        unread = [r for r in results if r.verdict == "not_understood"]
        if unread:
            pytest.skip(f"not understood: {unread[0].detail}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, EquationFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.equation.line - 1, f"{self.equation.where()}"
