"""derive: machine-checked, lecture-ready mathematics for BPTT, vanishing/exploding gradients, LSTMs and GRUs.

The pipeline, one stage after another (imports flow one way):

    model   (derive.cell, derive.cells, derive.ir, derive.graph)   one time step, as the lecture writes it; unrolled
    terms   (derive.terms)        one language: ∂, ∂⁺, Π, Σ, diag, σ', ⊙, ᵀ, norms, ρ, γ, λ, relations
    expand  (derive.expand, derive.paths)    explicit/implicit expansions, path sums, BPTT forms
    prove   (derive.canon, derive.step, derive.structure)   path sums in the free algebra; one step in SymPy
    numeric (derive.numeric, derive.instances, derive.reference, derive.bounds)   numbers, NumPy BPTT, FD
    check   (derive.verify, derive.catalog, derive.doccheck)   every step, lecture claims, a course's own notes
    render  (derive.latex, derive.notation, derive.build)   LaTeX in a course's notation, documents

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

from . import activations, bounds, clipping, latex  # latex registers the renderer Jupyter uses
from .algebra import D, Brace, Prod, ProdOver, Sum, SumOver, Term, Zero, explicit, idx, node, total
from .canon import Canon, count_paths
from .cell import Cell
from .errors import CellError, DeriveError, InvalidValue, NotSupported, ShapeError, UnknownName
from .expand import (Derivation, Step, bptt_form, enumerate_paths, path_sum, product_form,
                     recursive_expansion, short_circuit, total_loss_form)
from .graph import Graph, NodeRef, View, unroll
from .ir import nll, softmax
from .numeric import Evaluator, Instance
from .structure import LocalForm, Structure, explicit_structure
from .verify import CheckResult, Report, verify
from .doccheck import check  # derive check: the equations of a course author's own notes

__all__ = [
    "activations", "bounds", "clipping", "Cell", "unroll", "Graph", "NodeRef", "View",
    "D", "Brace", "Prod", "ProdOver", "Sum", "SumOver", "Term", "Zero", "explicit", "idx", "node", "total",
    "Canon", "count_paths", "Derivation", "Step", "bptt_form", "enumerate_paths", "path_sum", "product_form",
    "recursive_expansion", "short_circuit", "total_loss_form", "Evaluator", "Instance",
    "LocalForm", "Structure", "explicit_structure", "CheckResult", "Report", "verify", "check",
    "nll", "softmax", "CellError", "DeriveError", "InvalidValue", "NotSupported", "ShapeError", "UnknownName",
]
