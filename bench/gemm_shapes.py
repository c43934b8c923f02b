"""The matrix products of an LSTM forward + backward, timed alone (for `bench/bench_reference.py`).

Imported by both peers (`torch_peer.py` under torch, `bench_reference.py` under NumPy), so each
times the same list of products with its own BLAS library: MKL in torch's wheels, OpenBLAS in
NumPy's.  Needs only NumPy.
"""

import time

import numpy as np


def lstm_gemms(T, d, n, k, B):
    """(shape of A, shape of B, how many) for every matrix product of an LSTM forward + backward:
    per step h_{t-1} W^T and dA_t W; once, the hoisted U x, the output V h, and the gradients
    dW, dU, dV, dH (see derive/numeric/reference/lstm.py)."""
    TB = T * B
    return [((B, d), (d, 4 * d), T), ((B, 4 * d), (4 * d, d), T), ((TB, n), (n, 4 * d), 1),
            ((TB, d), (d, k), 1), ((4 * d, TB), (TB, d), 1), ((4 * d, TB), (TB, n), 1),
            ((k, TB), (TB, d), 1), ((TB, k), (k, d), 1)]


def gemm_seconds(matmul, make, T, d, n, k, B, repeats) -> float:
    """Sum over `lstm_gemms` of (median time of one product) x (how many)."""
    total = 0.0
    for a_shape, b_shape, count in lstm_gemms(T, d, n, k, B):
        a, b = make(a_shape), make(b_shape)
        matmul(a, b)
        times = []
        for _ in range(max(repeats, 5)):
            t0 = time.perf_counter()
            matmul(a, b)
            times.append(time.perf_counter() - t0)
        total += float(np.median(times)) * count
    return total
