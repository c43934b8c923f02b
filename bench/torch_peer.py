"""The PyTorch peer of `bench/bench_reference.py`: LSTM forward + backward by CPU autograd, float64.

Run by bench_reference.py in a *separate* process with the interpreter named by
DERIVE_TORCH_PYTHON (torch is not a dependency of derive; thread pools of torch and
NumPy in one process fight).  Needs only torch and NumPy; prints one JSON line.

    python bench/torch_peer.py T d n k B repeats
    python bench/torch_peer.py --gemm T d n k B repeats   # only the LSTM's matrix products

The ``--gemm`` mode times the matrix products an LSTM forward + backward needs
(`gemm_shapes.lstm_gemms`), nothing else: the floor set by the BLAS library (MKL in torch's
wheels, OpenBLAS in NumPy's).

The model is the reference's: nn.LSTM (one layer) -> Linear(V, c) -> cross-entropy
summed over steps and sequences; the timed work is the forward pass, the loss
and ``loss.backward()`` (gradients of every parameter), as `lstm.bptt` computes.
"""

import json
import sys
import time

import numpy as np
import torch

from gemm_shapes import gemm_seconds  # bench/, beside this script


def main(argv) -> None:
    if argv[1] == "--gemm":
        T, d, n, k, B, repeats = (int(a) for a in argv[2:8])
        with torch.no_grad():
            seconds = gemm_seconds(torch.mm, lambda shape: torch.randn(*shape, dtype=torch.float64), T, d, n, k, B,
                                   repeats)
        print(json.dumps({"seconds": seconds}))
        return
    T, d, n, k, B, repeats = (int(a) for a in argv[1:7])
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(n, d).double()
    head = torch.nn.Linear(d, k).double()
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(T, B, n)))
    labels = torch.tensor(rng.integers(0, k, size=(T, B))).reshape(-1)

    def step():
        for p in list(lstm.parameters()) + list(head.parameters()):
            p.grad = None
        out, _ = lstm(X)
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, k), labels, reduction="sum")
        loss.backward()

    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"seconds": float(np.median(times)), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main(sys.argv)
