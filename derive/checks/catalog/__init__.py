r"""The lecture catalog and its audit: every equation of the five lectures, checked as printed.

A `Claim` is one statement of one lecture (file, equation number or slide, a
short verbatim quote), the notation it is written in, and its *meaning* in
the engine's terms.  ``audit(claims)`` checks each claim exactly as printed
and says whether it **holds** (and how: exactly, symbolically, numerically),
**holds_simplified** (it fails as stated, but the special case its lecturer
announced holds), **fails** (the lecture's mathematics is wrong: a small seeded
counterexample and a corrected statement that is itself checked),
**transcription** (the transcript garbles the slide: the garbled text fails,
the reconstruction holds; the evidence is cited), is **not checkable** (prose, and why), is **pending** (it
needs a module that is not installed) or is an **error** (the claim names a
symbol its notation does not define, or cannot be parsed; the rest of the
audit still runs).  ``verify_all`` runs every claim that should hold, every
correction, and every derivation in ``proofs/``.

Claims are written in the lecture's own symbols and parsed here (`parse`), so
an entry reads like the slide::

    Claim("l59-eq17", Source("000_7be57cb19668d348.txt", "eq. (17)", "..."), "appliednlp",
          Identity("dE^{(t)}/dh^{(0)}", "dE^{(t)}/dh^{(t)} prod_{tau=1}^{t-1} dh^{(tau)}/dh^{(tau-1)}",
                   cell=rnn, bindings=[{"t": 3}]), expected="fails", correction=...)

Meanings (what the engine checks):

- `Identity`  lhs = rhs, terms of the derivative algebra (exact proof in the
  free algebra of path sums, `derive.prove.canon`) or formulas with values, diag,
  σ', powers (SymPy at d = 1, 2 when every derivative is local; float64 at
  d = 1, 2, 3 always).  A claim true only at d = 1 (1 x 1 Jacobians commute)
  is reported as such;
- `Bound`     an inequality (``<=``, ``<``, ``=`` ...) over seeded instances,
  random and adversarial (pre-activations pinned at the argmax of σ', so the
  bound is attained; non-normal or saturated W);
- `Exact`     a number printed on a slide (0.5^47 = 7.1054274e-15), in exact arithmetic;
- `Shapes`    the printed dimensions of parameters, imposed on the cell: a
  transposed matrix is a shape error naming both shapes;
- `JacobianShape`  the printed shape of a Jacobian (∂⁺s_k/∂W ∈ R^{d x d x d});
- `Computed`  a property computed by a small function (perplexity, clipping rules);
- `Implication`  "if H then C" on seeded and adversarial cases (the lectures' reasoning): the
  counterexample is a case where H holds and C does not.

The stages, one module each:

- `claims`       `Source`, `Claim`; the catalog (`load_claims`) and ``-k`` selection (`select_ids`);
- `terms`        formula terms beside the derivative algebra (`Value`, `Diag`, `SigmaPrime`, ...);
- `parse`        lecture symbols -> engine names (`LECTURE_NAMES`), and `parse`;
- `evaluate`     terms as float64 numbers on one instance, and as exact SymPy matrices of one step;
- `instances`    random and adversarial instances (`RECIPES`);
- `checks`       the claims' layer on `derive.checks.verify`: `AuditConfig`, the run context of one audit (`Run`),
                 a meaning's `Outcome`, comparing two sides (`compare_sides`, by `derive.checks.verify.compare`);
                 a claim's checks are `derive.checks.verify.CheckResult`, its counterexample a
                 `derive.checks.verify.Counterexample`, the audit a `derive.checks.verify.Report` (`AuditReport`);
- `meanings`     `Identity`; `meaning_bounds` `Bound`, `Implication`; `meaning_values` `Exact`, `Computed`;
                 `meaning_shapes` `Shapes`, `JacobianShape` (all importable from `meanings`);
- `mutants`      deliberately wrong variants of a term, for the sensitivity test;
- `audit`        `audit`, `check_claim`: the verdict on every claim;
- `report`       `format_table`, `to_json` (its JSON schema is in that module's docstring), errata, JUnit;
- `run`          `verify_all`, and the commands ``derive verify`` / ``derive audit``;
- `sensitivity`  `mutation_report`: mutants of every claim that holds, and how many the audit catches.
"""

from .audit import AuditReport, ClaimResult, audit, check_claim
from .checks import FAST, AuditConfig, Check, Outcome, Run
from derive.checks.results import CheckResult, Counterexample, Report
from .claims import EXPECTED, JUDGED, KINDS, VERDICTS, Claim, Source, load_claims, select_ids
from .evaluate import Pending, gamma_of
from .instances import RECIPES
from .meanings import Bound, Computed, Exact, Identity, Implication, JacobianShape, Meaning, Shapes
from .parse import LECTURE_NAMES, NOTATIONS, TIME_STYLE, parse
from .report import audit_junit, errata_entries, summary_line, format_table, results_to_json, to_json, to_junit
from .run import collect_derivations, main_audit, main_verify, verify_all
from .sensitivity import MUTATION_KINDS, mutation_report
from .terms import (Const, DeltaOuter, Diag, Gamma, Hadamard, Lam, MatPow, Norm, Sigma, SigmaPrime, SpectralRadius,
                    Value)

__all__ = [
    # claims
    "Source", "Claim", "KINDS", "NOTATIONS", "VERDICTS", "JUDGED", "EXPECTED",
    # meanings
    "Meaning", "Identity", "Bound", "Exact", "Shapes", "JacobianShape", "Computed", "Implication",
    # formula terms and the parser
    "Value", "Diag", "SigmaPrime", "Sigma", "MatPow", "Norm", "SpectralRadius", "Const", "Gamma", "Lam",
    "DeltaOuter", "Hadamard", "parse", "LECTURE_NAMES", "gamma_of", "Pending",
    # audit
    "AuditConfig", "Check", "CheckResult", "Counterexample", "Report", "ClaimResult", "AuditReport", "Run",
    "Outcome", "audit", "check_claim",
    "format_table", "to_json", "audit_junit", "summary_line", "errata_entries", "mutation_report",
    # verify
    "collect_derivations", "load_claims", "select_ids", "verify_all", "to_junit", "results_to_json",
    "main_audit", "main_verify",
]
