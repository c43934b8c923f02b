"""Benchmark the NumPy BPTT references (a script, not a test): ``python bench/bench_reference.py``.

Prints, in one run (about half a minute on 2 cores):

1. a large float64 NumPy matmul's GFLOP/s (N = 1024, 2048): the machine's peak;
2. vanilla RNN forward + backward, `derive.numeric.reference.rnn.bptt` (batched, input and
   output projections hoisted into one matmul each) against a straightforward loop
   (one sequence at a time, one step at a time, matrix-vector products), at
   (T, d, n, k, batch) = (100, 64, 32, 32, 16) and (1000, 128, 64, 64, 32) --
   the column order of shared/MEASUREMENTS.md: T steps, d state size, n input
   size, k classes, batch B;
3. LSTM forward + backward at (T, d, n, B) = (100, 64, 32, 16) and (500, 128, 64, 32),
   with k = n classes;
4. LSTM against PyTorch CPU autograd (float64, nn.LSTM -> Linear -> summed cross-entropy,
   `bench/torch_peer.py`) at (T, d, n, k, B) = (100, 64, 32, 32, 16) and (50, 512, 256, 256, 64),
   each side in its own process, alternating, median of the rounds.  torch is not a
   dependency: the peer runs under the interpreter named by DERIVE_TORCH_PYTHON
   (e.g. a venv with ``pip install torch==2.13.0 numpy``); without it the section says
   "torch not available".  Beside each, the LSTM's matrix products alone (`bench/gemm_shapes.py`),
   timed with each side's own BLAS: the floor that no element-wise work can go below.

GFLOP/s of a BPTT counts only the matrix products (per step and sequence:
RNN 4nd + 6d^2 + 6dk, LSTM 16nd + 24d^2 + 6dk, forward + backward); the
element-wise work (tanh, softmax) is not counted, so the ratio to the matmul
peak understates how busy the machine is.  Do not run PyTorch in the same
process (MEASUREMENTS.md: the thread pools fight).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from derive.numeric.reference import lstm, rnn  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_gflops(N: int) -> float:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(N, N)), rng.normal(size=(N, N))
    return 2 * N**3 / median_time(lambda: a @ b, 5) / 1e9


def naive_rnn_bptt(params, X, labels):
    """Straightforward BPTT: each sequence on its own, each step a matrix-vector product."""
    W, U, b, V, c = (params[key] for key in "WUbVc")
    grads = {key: np.zeros_like(value) for key, value in params.items()}
    loss = 0.0
    T, B, _ = X.shape
    for j in range(B):
        s, ys = [np.zeros(W.shape[0])], []
        for t in range(T):
            s.append(np.tanh(W @ s[-1] + U @ X[t, j] + b))
            z = V @ s[-1] + c
            y = np.exp(z - z.max())
            ys.append(y / y.sum())
            loss -= np.log(ys[-1][labels[t, j]])
        carry = np.zeros_like(s[0])
        for t in range(T - 1, -1, -1):
            dz = ys[t].copy()
            dz[labels[t, j]] -= 1.0
            grads["V"] += np.outer(dz, s[t + 1])
            grads["c"] += dz
            da = (V.T @ dz + carry) * (1.0 - s[t + 1] ** 2)
            grads["W"] += np.outer(da, s[t])
            grads["U"] += np.outer(da, X[t, j])
            grads["b"] += da
            carry = W.T @ da
    return loss, grads


def problem(T, n, k, B, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, n)), rng.integers(0, k, size=(T, B))


TORCH_SIZES = (((100, 64, 32, 32, 16), 20), ((50, 512, 256, 256, 64), 5))
HERE = os.path.dirname(os.path.abspath(__file__))


def numpy_gemm_child(T, d, n, k, B, repeats) -> None:
    """The LSTM's matrix products alone, with NumPy's BLAS (`gemm_shapes.lstm_gemms`)."""
    sys.path.insert(0, HERE)
    from gemm_shapes import gemm_seconds
    rng = np.random.default_rng(0)
    print(json.dumps({"seconds": gemm_seconds(np.matmul, lambda shape: rng.normal(size=shape), T, d, n, k, B, repeats)}))


def numpy_lstm_child(T, d, n, k, B, repeats) -> None:
    """One NumPy measurement in this process (run as a subprocess: a process of its own, like torch's)."""
    params = lstm.init_params(n, d, k)
    X, labels = problem(T, n, k, B)
    print(json.dumps({"seconds": median_time(lambda: lstm.bptt(params, X, labels), repeats)}))


def _child(cmd) -> "float | str":
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or ["exit code %d" % out.returncode])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def torch_comparison(rounds: int = 3) -> None:
    print("LSTM vs PyTorch CPU autograd, float64, forward + backward, separate processes (T, d, n, k, batch)")
    torch_python = os.environ.get("DERIVE_TORCH_PYTHON")
    if not torch_python:
        print("  torch not available: set DERIVE_TORCH_PYTHON to an interpreter with torch and numpy\n")
        return
    print(f"  {'size':<26} {'derive.numeric.reference':>16} {'torch':>10} {'torch/numpy':>12}"
          f" {'products alone: numpy':>22} {'torch':>8} {'torch/numpy':>12}")
    for (T, d, n, k, B), repeats in TORCH_SIZES:
        args = [str(v) for v in (T, d, n, k, B, repeats)]
        runs: "dict[str, list]" = {"ours": [], "theirs": [], "our_gemm": [], "their_gemm": []}
        for _ in range(rounds):   # alternate, so both see the same load
            runs["ours"].append(_child([sys.executable, os.path.abspath(__file__), "--numpy-child", *args]))
            runs["theirs"].append(_child([torch_python, os.path.join(HERE, "torch_peer.py"), *args]))
            runs["our_gemm"].append(_child([sys.executable, os.path.abspath(__file__), "--numpy-gemm", *args]))
            runs["their_gemm"].append(_child([torch_python, os.path.join(HERE, "torch_peer.py"), "--gemm", *args]))
        failed = [v for values in runs.values() for v in values if isinstance(v, str)]
        if failed:
            print(f"  torch not available ({failed[0]})\n")
            return
        a, b, ga, gb = (float(np.median(runs[key])) for key in ("ours", "theirs", "our_gemm", "their_gemm"))
        print(f"  {str((T, d, n, k, B)):<26} {a * 1e3:>13.1f} ms {b * 1e3:>7.1f} ms {b / a:>11.2f}x"
              f" {ga * 1e3:>19.1f} ms {gb * 1e3:>5.1f} ms {gb / ga:>11.2f}x")
    print("  (torch/numpy > 1: the NumPy reference is faster.  'products alone' times only the matrix")
    print("  products both need, each with its own BLAS: MKL in torch's wheels, OpenBLAS in NumPy's.)\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--numpy-child":
        numpy_lstm_child(*(int(v) for v in sys.argv[2:8]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--numpy-gemm":
        numpy_gemm_child(*(int(v) for v in sys.argv[2:8]))
        return
    print("NumPy", np.__version__, "| float64 | BLAS threads as configured by the environment")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"warning: load average {load:.1f} -- other processes compete for the cores, and multi-threaded")
        print("BLAS degrades badly under contention: the timings below are not representative.")
    print()
    peak = max(matmul_gflops(1024), matmul_gflops(2048))
    print(f"matmul N=1024..2048: {peak:.1f} GFLOP/s (peak used for the ratios below)\n")

    print("vanilla RNN, forward + backward (T, d, n, k, batch)")
    print(f"  {'size':<26} {'derive.numeric.reference':>16} {'per-step loop':>14} {'speed-up':>9} "
          f"{'GFLOP/s':>8} {'of peak':>8}")
    for (T, d, n, k, B), repeats in (((100, 64, 32, 32, 16), 20), ((1000, 128, 64, 64, 32), 3)):
        params = rnn.init_params(n, d, k)
        X, labels = problem(T, n, k, B)
        ours = median_time(lambda: rnn.bptt(params, X, labels), repeats)
        naive = median_time(lambda: naive_rnn_bptt(params, X, labels), 1)
        gflops = T * B * (4 * n * d + 6 * d * d + 6 * d * k) / ours / 1e9
        print(f"  {str((T, d, n, k, B)):<26} {ours * 1e3:>13.1f} ms {naive * 1e3:>11.0f} ms "
              f"{naive / ours:>8.1f}x {gflops:>8.2f} {gflops / peak:>8.1%}")
    ref = rnn.bptt(params, X, labels)
    _, naive_grads = naive_rnn_bptt(params, X, labels)
    err = max(np.abs(ref.grads[key] - naive_grads[key]).max() / np.abs(naive_grads[key]).max() for key in params)
    print(f"  (largest relative difference between the two at the last size: {err:.1e})\n")

    print("LSTM, forward + backward (T, d, n, batch), k = n")
    print(f"  {'size':<26} {'derive.numeric.reference':>16} {'GFLOP/s':>8} {'of peak':>8}")
    for (T, d, n, B), repeats in (((100, 64, 32, 16), 10), ((500, 128, 64, 32), 3)):
        k = n
        params = lstm.init_params(n, d, k)
        X, labels = problem(T, n, k, B)
        ours = median_time(lambda: lstm.bptt(params, X, labels), repeats)
        gflops = T * B * (16 * n * d + 24 * d * d + 6 * d * k) / ours / 1e9
        print(f"  {str((T, d, n, B)):<26} {ours * 1e3:>13.1f} ms {gflops:>8.2f} {gflops / peak:>8.1%}")
    print()
    torch_comparison()


if __name__ == "__main__":
    main()
