"""Small-term mutations: a wrong step that drops distant paths must fail the numeric checks on their own.

On random instances the contribution of a path k -> t shrinks like (γλ)^{t-k}
(CS7015 Lecture 14, Module 14.4), so a step missing the k = 1 path agrees with
the truth to ~1e-12 and a tolerance of max(1, |want|) cannot see it.  The
alive-path instances (derive.numeric.instances) keep every one-step Jacobian near norm 1
and the tolerance is relative to the size of the terms, so these fail.
"""

from __future__ import annotations

import pytest

from derive import D, Derivation, Prod, Step, SumOver, idx, node, verify
from derive.cells import rnn

k = idx("k")


def s(i):
    return node("s", i)


def _bptt(f, theta, lo, t):
    """∂f/∂θ = ∂f/∂s_t Σ_{k=lo}^{t} ∂s_t/∂s_k ∂⁺s_k/∂θ (lo = 1 is right; lo > 1 drops paths)."""
    body = SumOver(k, lo, t, Prod((D(s(t), s(k)), D(s(k), node(theta), True))))
    return body if f == s(t) else Prod((D(f, s(t)), body))


CASES = {
    "dL12/dW without k=1": (lambda lo: (node("L", 12), "W", lo, 12), 2),
    "dL12/dU without k=1,2": (lambda lo: (node("L", 12), "U", lo, 12), 3),
    "ds20/dW without k=1": (lambda lo: (s(20), "W", lo, 20), 2),
}


def _derivation(name, act, lo):
    f, theta, lo, t = CASES[name][0](lo)
    return Derivation(f"small-{name}", name, "", rnn(act), D(f, node(theta)), [Step(_bptt(f, theta, lo, t))],
                      bindings=[{"T": t}])


@pytest.mark.parametrize("act", ["logistic", "tanh"])
@pytest.mark.parametrize("name", list(CASES))
def test_dropped_distant_paths_fail_numerically(name, act):
    report = verify(_derivation(name, act, CASES[name][1]), exact=False)
    assert report.results and not report.ok, [str(r) for r in report.results]
    failed = {r.method for r in report.failures()}
    assert failed & {"numeric-fd", "numeric-directional", "numeric-reference"}, failed


@pytest.mark.parametrize("act", ["logistic", "tanh"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_right_step_passes_numerically(name, act):
    report = verify(_derivation(name, act, 1), exact=False)
    assert report.ok, [str(r) for r in report.failures()]
