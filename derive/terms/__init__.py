"""One language of terms for everything a lecture writes, a derivation expands or a document states.

- `derive.terms.calculus`: ∂f/∂x, ∂⁺f/∂x, ordered products, sums, Σ and Π over an index, underbrace labels;
- `derive.terms.formula`: node values, diag, σ and σ', ⊙, transposes, powers, norms, ρ, γ, λ,
  δ-outer tensors, element-wise formulas, entries, words; the variables of a rule (g, ĝ, threshold),
  fractions, sup, real spaces ℝ^{d×d}, path counts, code typeset by latexify, a cell's names;
- `derive.terms.relations`: =, ≤, <, chains, multi-line equations, systems, cases, sets.

Every class has the generic walk of `derive.terms.base.Term` (``subs``,
``instantiate``, ``children``, ``walk``) and says what it means: ``numeric``
(`derive.numeric.evaluator.Numbers`), ``symbolic`` (`derive.prove.step.StepSymbols`) and
``canon`` (`derive.prove.canon.Canon`).  Printing is the LaTeX printer's
``_print_<Class>``.  To add a term kind: one class here, one printer method.
"""

from .base import Term, register_renderer, walk
from .calculus import (Brace, D, Prod, ProdOver, Sum, SumOver, Zero, explicit, flat_factors, flat_terms,
                       idx, node, prod, total)
from .counts import DimFormula, ParamCount
from .formula import (NORM_ORDERS, Apply, Const, DeltaOuter, Diag, Elementwise, Entry, Gamma, Hadamard, Identity, Lam,
                      Norm, Power, Prime, SpectralRadius, Text, Transpose, Value)
from .layout import AtStep, GradientLayout
from .statements import Code, Frac, PathCount, RealSpace, Sup, Var, Within
from .relations import RELATIONS, Cases, Chain, Equation, Relation, SetOf, System, cell_equations, relation

#: Terms of the free algebra of path sums: an identity among these alone is proved exactly.
ALGEBRA = (D, Prod, Sum, Brace, Zero, SumOver, ProdOver)


def is_algebra(term) -> bool:
    """Only derivatives, products, sums: an identity of the free algebra of path sums.

    Cached on each term (terms are immutable), so shared sub-terms are inspected once."""
    if not isinstance(term, Term):
        return False
    hit = term.__dict__.get("_algebra_")
    if hit is None:
        hit = isinstance(term, ALGEBRA) and all(isinstance(c, Term) for c in _operands(term)) and \
            all(is_algebra(c) for c in term.children())
        object.__setattr__(term, "_algebra_", hit)
    return hit


def _operands(t):
    if isinstance(t, Prod):
        return t.factors
    if isinstance(t, Sum):
        return t.terms
    return ()


__all__ = [
    "Term", "register_renderer", "D", "Zero", "Prod", "Sum", "Brace", "SumOver", "ProdOver",
    "idx", "node", "total", "explicit", "prod", "flat_factors", "flat_terms",
    "Value", "Const", "Identity", "Diag", "Apply", "Prime", "Hadamard", "Transpose", "Power", "Norm",
    "SpectralRadius", "Gamma", "Lam", "DeltaOuter", "Elementwise", "Entry", "Text", "NORM_ORDERS",
    "Var", "Frac", "Sup", "RealSpace", "PathCount", "Code", "Within", "GradientLayout", "ParamCount", "DimFormula",
    "Relation", "Chain", "Equation", "System", "Cases", "SetOf", "RELATIONS", "relation", "cell_equations",
    "ALGEBRA", "is_algebra",
]
