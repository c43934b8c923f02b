"""derive: machine-checked, lecture-ready mathematics for BPTT, vanishing/exploding gradients, LSTMs and GRUs.

The pipeline, one stage after another; a stage imports only the stages above it
(tests/test_imports.py checks the order and that there is no cycle):

    foundation  derive.errors, derive.indices, derive.notation, derive.display, derive.content
    model       derive.model (cell, ir, activations, supremum, graph): one time step, as the lecture
                writes it, and the graph unrolled over T steps
    terms       derive.terms: one language for ∂, ∂⁺, Π, Σ, diag, σ', ⊙, ᵀ, norms, ρ, γ, λ, relations
    prove       derive.prove (expand, paths, canon, local, structure, step): expansions, path sums,
                BPTT forms; the exact check in the free algebra and one step in SymPy
    numeric     derive.numeric (evaluator, instances, reference, clipping): numbers for every term,
                alive-path instances, the NumPy BPTT references, finite differences
    cells       derive.cells (rnn, lstm, gru): the built-in cells, each with its NumPy reference
    checks      derive.checks (results, verify, bounds, catalog, doccheck, pytest_plugin): every step of a
                derivation, bounds, the lectures' claims, the equations of a course author's own notes
    render      derive.render (latex, tikz, figures, codegen, errata, documents, build, publish, tex,
                worker): LaTeX in a course's notation, notes, slides and the book
    top         derive.cli (the command line); content lives in derive.proofs (proofs/ in a checkout)

Module paths of the flat layout (``derive.verify``, ``derive.latex``, ...) still import, with a
DeprecationWarning, as the modules above.

Example::

    from derive import unroll, recursive_expansion, verify
    from derive.cells import rnn
    g = unroll(rnn(), T=4)
    d = recursive_expansion(g, "s_4", "W")
    print(verify(d).summary())
"""

import importlib.util as _util
import sys as _sys
from pathlib import Path as _Path


class _SourceProofs:
    """In a source checkout (a clone, a git worktree), ``derive.proofs`` is the checkout's own ``proofs/``.

    The wheel maps ``proofs/`` to ``derive.proofs`` (pyproject's package-dir); an
    editable install maps it to the folder it was installed from.  Neither is
    right when this ``derive`` was imported from another checkout, or from one
    that was never installed, so the checkout beside this package wins.
    """

    root = _Path(__file__).resolve().parent.parent

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        folder = cls.root / "proofs"
        if fullname != "derive.proofs" or not (cls.root / "pyproject.toml").is_file() \
                or not (folder / "__init__.py").is_file():
            return None
        return _util.spec_from_file_location(fullname, folder / "__init__.py",
                                             submodule_search_locations=[str(folder)])


if not any(f is _SourceProofs or getattr(f, "__name__", "") == "_SourceProofs" for f in _sys.meta_path):
    _sys.meta_path.insert(0, _SourceProofs)


# The flat layout's module paths, before the stage folders (derive.verify is now derive.checks.verify).
_MOVED = {
    "derive.cell": "derive.model.cell", "derive.ir": "derive.model.ir",
    "derive.activations": "derive.model.activations", "derive.graph": "derive.model.graph",
    "derive.local": "derive.prove.local", "derive.canon": "derive.prove.canon",
    "derive.structure": "derive.prove.structure", "derive.step": "derive.prove.step",
    "derive.expand": "derive.prove.expand", "derive.paths": "derive.prove.paths",
    "derive.reference": "derive.numeric.reference", "derive.instances": "derive.numeric.instances",
    "derive.clipping": "derive.numeric.clipping", "derive.verify": "derive.checks.verify",
    "derive.catalog": "derive.checks.catalog", "derive.doccheck": "derive.checks.doccheck",
    "derive.bounds": "derive.checks.bounds", "derive.bounds.supremum": "derive.model.supremum", "derive.pytest_plugin": "derive.checks.pytest_plugin",
    "derive.latex": "derive.render.latex", "derive.tikz": "derive.render.tikz",
    "derive.figures": "derive.render.figures", "derive.documents": "derive.render.documents",
    "derive.codegen": "derive.render.codegen", "derive.build": "derive.render.build",
    "derive.publish": "derive.render.publish",
}


def _moved_to(fullname: str) -> "str | None":
    head = fullname
    while head:
        if head in _MOVED:
            return _MOVED[head] + fullname[len(head):]
        head = head.rpartition(".")[0]
    return None


class _AliasLoader:
    """Import a moved module under its old name: ``sys.modules`` then holds the module of the new name."""

    def __init__(self, new):
        self.new = new

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        import importlib
        import warnings

        warnings.warn(f"{module.__name__} is now {self.new}; import it from there", DeprecationWarning,
                      stacklevel=2)
        _sys.modules[module.__name__] = importlib.import_module(self.new)


class _MovedModules:
    """A meta-path finder that maps the flat layout's module names to the stage folders."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        new = _moved_to(fullname) if fullname.startswith("derive.") else None
        if new is None or _util.find_spec(new) is None:
            return None
        return _util.spec_from_loader(fullname, _AliasLoader(new))


if not any(getattr(f, "__name__", "") == "_MovedModules" for f in _sys.meta_path):
    _sys.meta_path.insert(0, _MovedModules)

from derive.model import activations
from derive.numeric import clipping
from derive.checks import bounds
from derive.render import latex  # latex registers the renderer Jupyter uses
from derive.terms import D, Brace, Prod, ProdOver, Sum, SumOver, Term, Zero, explicit, idx, node, total
from derive.prove.canon import Canon, count_paths
from derive.model.cell import Cell
from derive.errors import CellError, DeriveError, InvalidValue, NotSupported, ShapeError, UnknownName
from derive.prove.expand import (Derivation, Step, bptt_form, enumerate_paths, path_sum, product_form,
                                 recursive_expansion, short_circuit, total_loss_form)
from derive.model.graph import Graph, NodeRef, View, unroll
from derive.model.ir import nll, softmax
from derive.numeric.evaluator import Evaluator, Instance
from derive.prove.structure import LocalForm, Structure, explicit_structure
from derive.checks.verify import CheckResult, Report, verify
from derive.checks.doccheck import check  # derive check: the equations of a course author's own notes

# The old names of modules that are also attributes here: importing them must not rebind the attribute
# (``import derive.verify`` would otherwise replace the function derive.verify by its module).
for _old in ("derive.activations", "derive.clipping", "derive.bounds", "derive.latex", "derive.verify"):
    _sys.modules.setdefault(_old, _sys.modules[_MOVED[_old]])
del _old

__all__ = [
    "activations", "bounds", "clipping", "Cell", "unroll", "Graph", "NodeRef", "View",
    "D", "Brace", "Prod", "ProdOver", "Sum", "SumOver", "Term", "Zero", "explicit", "idx", "node", "total",
    "Canon", "count_paths", "Derivation", "Step", "bptt_form", "enumerate_paths", "path_sum", "product_form",
    "recursive_expansion", "short_circuit", "total_loss_form", "Evaluator", "Instance",
    "LocalForm", "Structure", "explicit_structure", "CheckResult", "Report", "verify", "check",
    "nll", "softmax", "CellError", "DeriveError", "InvalidValue", "NotSupported", "ShapeError", "UnknownName",
]
