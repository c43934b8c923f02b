"""Benchmark ``derive check`` (a script, not a test): ``python bench/bench_check.py``.

A 30-equation chapter in CS7015 notation (the one-step Jacobian, the path sum,
the product form, the total loss, norms, ten of them wrong) is checked

1. by `derive.checks.doccheck` from its Markdown text: extraction + reading (the grammar)
   and the checks, timed apart;
2. as the same claims written in Python (`derive.checks.catalog.Identity` with the
   engine's own parser, the way proofs/catalog/*.py states them),

each in a fresh process so no cache is shared; the ratio is printed side by side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# (LaTeX as a course writes it, the same claim in the catalog's plain notation)
CLAIMS = [
    (r"s_t = \sigma(U x_t + W s_{t-1} + b)", "s_t", "sigma(U x_t + W s_{t-1} + b)"),
    (r"s_t = \sigma(W s_{t} + U x_t + b)", "s_t", "sigma(W s_t + U x_t + b)"),
    (r"\frac{\partial s_t}{\partial s_{t-1}} = \operatorname{diag}(\sigma'(a_t)) W", "ds_t/ds_{t-1}",
     "diag(σ'(a_t)) W"),
    (r"\frac{\partial s_t}{\partial s_{t-1}} = W \operatorname{diag}(\sigma'(a_t))", "ds_t/ds_{t-1}",
     "W diag(σ'(a_t))"),
    (r"\frac{\partial s_t}{\partial W} = \sum_{k=1}^{t} \frac{\partial s_t}{\partial s_k} \frac{\partial^+ s_k}{\partial W}",
     "ds_t/dW", "sum_{k=1}^{t} ds_t/ds_k d+s_k/dW"),
    (r"\frac{\partial s_t}{\partial W} = \sum_{k=2}^{t} \frac{\partial s_t}{\partial s_k} \frac{\partial^+ s_k}{\partial W}",
     "ds_t/dW", "sum_{k=2}^{t} ds_t/ds_k d+s_k/dW"),
    (r"\frac{\partial s_t}{\partial s_k} = \prod_{j=k+1}^{t} \frac{\partial s_j}{\partial s_{j-1}}", "ds_t/ds_k",
     "prod_{j=k+1}^{t} ds_j/ds_{j-1}"),
    (r"\frac{\partial s_t}{\partial s_k} = \prod_{j=k+1}^{t} \operatorname{diag}(\sigma'(a_j)) W", "ds_t/ds_k",
     "prod_{j=k+1}^{t} diag(σ'(a_j)) W"),
    (r"\frac{\partial s_t}{\partial s_k} = \prod_{j=k}^{t} \frac{\partial s_j}{\partial s_{j-1}}", "ds_t/ds_k",
     "prod_{j=k}^{t} ds_j/ds_{j-1}"),
    (r"\mathscr{L}(\theta) = \sum_{t=1}^{T} \mathscr{L}_t(\theta)", "L(theta)", "sum_{t=1}^{T} L_t(theta)"),
    (r"\frac{\partial \mathscr{L}(\theta)}{\partial W} = \sum_{t=1}^{T} \frac{\partial \mathscr{L}_t(\theta)}{\partial W}",
     "dL(theta)/dW", "sum_{t=1}^{T} dL_t(theta)/dW"),
    (r"\frac{\partial \mathscr{L}_t(\theta)}{\partial W} = \frac{\partial \mathscr{L}_t(\theta)}{\partial s_t} \frac{\partial s_t}{\partial W}",
     "dL_t(theta)/dW", "dL_t(theta)/ds_t ds_t/dW"),
    (r"\left\| \frac{\partial s_t}{\partial s_{t-1}} \right\| = \left\| \operatorname{diag}(\sigma'(a_t)) W \right\|",
     "||ds_t/ds_{t-1}||", "||diag(σ'(a_t)) W||"),
    (r"a_t = W s_{t-1} + U x_t + b", "a_t", "W s_{t-1} + U x_t + b"),
    (r"a_t = W s_{t-1} + b", "a_t", "W s_{t-1} + b"),
]
CHAPTER = "\n\n".join(f"$${tex}$$" for tex, _, _ in (CLAIMS * 2))   # 30 display equations


def _doc():
    from derive.checks.doccheck import extract_text, model_for, read
    from derive.checks.doccheck.check import check_equations

    t0 = time.perf_counter()
    model = model_for("rnn", "cs7015")
    eqs = extract_text(CHAPTER, "chapter.md", "md")
    cell = model.build()
    for e in eqs:
        for link in e.links:
            read(link.lhs, model.names, cell), read(link.rhs, model.names, cell)
    parse = time.perf_counter() - t0
    rs = check_equations(eqs, model)
    total = time.perf_counter() - t0
    return {"equations": len(eqs), "parse": parse, "total": total, "fails": sum(r.verdict == "fails" for r in rs),
            "not_understood": sum(r.verdict == "not_understood" for r in rs)}


def _python():
    from derive.checks.catalog.checks import Run
    from derive.checks.catalog.meanings import Identity
    from derive.cells import rnn
    from derive.checks.doccheck.check import CONFIG

    t0 = time.perf_counter()
    run, fails = Run(CONFIG), 0
    bindings = {"t": [{"t": 4, "T": 4}, {"t": 2, "T": 4}, {"t": 1, "T": 4}],
                "k": [{"t": 4, "k": 3, "T": 4}, {"t": 3, "k": 1, "T": 4}, {"t": 4, "k": 2, "T": 4}],
                "T": [{"T": 4}, {"T": 2}, {"T": 1}]}
    for _, lhs, rhs in CLAIMS * 2:
        b = bindings["k"] if "s_k" in lhs else bindings["T"] if "L(" in lhs else bindings["t"]
        out = Identity(lhs, rhs, rnn, b, activations=("tanh", "logistic")).check(run, "cs7015")
        fails += not all(c.passed for c in out.checks)
    return {"equations": len(CLAIMS) * 2, "total": time.perf_counter() - t0, "fails": fails}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("--doc", "--python"):
        print(json.dumps(_doc() if sys.argv[1] == "--doc" else _python()))
        return 0
    res = {}
    for part in ("--doc", "--python"):
        out = subprocess.run([sys.executable, __file__, part], capture_output=True, text=True, check=True)
        res[part] = json.loads(out.stdout)
    d, p = res["--doc"], res["--python"]
    print(f"derive check, {d['equations']} equations: {d['total']:.2f} s "
          f"(extraction + reading {d['parse']:.3f} s, {100 * d['parse'] / d['total']:.0f}%), "
          f"{d['fails']} fail, {d['not_understood']} not understood")
    print(f"the same claims in Python (catalog Identity): {p['total']:.2f} s, {p['fails']} fail")
    print(f"ratio check / Python: {d['total'] / p['total']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
