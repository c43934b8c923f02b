"""derive: machine-checked, lecture-ready mathematics for BPTT, vanishing/exploding gradients, LSTMs and GRUs.

The pipeline, one stage a module:

    cells (derive.cell, derive.cells)      one time step, as the lecture writes it
    -> unroll (derive.graph)               the DAG over T steps, nodes s_3, a_2, L_4, W
    -> expand (derive.expand)              explicit/implicit expansions, path sums, BPTT forms
    -> prove (derive.canon, derive.structure)   exact: path sums in the free algebra; local Jacobians by SymPy
    -> evaluate (derive.numeric, derive.reference)   numbers: lambdified Jacobians, NumPy BPTT, finite differences
    -> verify (derive.verify)              every step, every binding, every check named

Example::

    from derive import unroll, recursive_expansion, verify
    from derive.cells import rnn
    g = unroll(rnn(), T=4)
    d = recursive_expansion(g, "s_4", "W")
    print(verify(d).summary())
"""

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

__all__ = [
    "activations", "bounds", "clipping", "Cell", "unroll", "Graph", "NodeRef", "View",
    "D", "Brace", "Prod", "ProdOver", "Sum", "SumOver", "Term", "Zero", "explicit", "idx", "node", "total",
    "Canon", "count_paths", "Derivation", "Step", "bptt_form", "enumerate_paths", "path_sum", "product_form",
    "recursive_expansion", "short_circuit", "total_loss_form", "Evaluator", "Instance",
    "LocalForm", "Structure", "explicit_structure", "CheckResult", "Report", "verify",
    "nll", "softmax", "CellError", "DeriveError", "InvalidValue", "NotSupported", "ShapeError", "UnknownName",
]
