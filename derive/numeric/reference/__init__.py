"""NumPy reference BPTT for the RNN, LSTM and GRU, with a gradient checker.

Every symbolic derivation `derive` emits is evaluated numerically and compared
against these implementations, which are themselves checked against central
finite differences (`gradcheck`) and, when PyTorch is installed, against
``torch.nn.RNN`` / ``LSTM`` / ``GRU`` autograd.

Modules:
    rnn        vanilla RNN (CS7015 Lecture 14), full and truncated BPTT
    lstm       LSTM in the Lecture 111 notation (s = cell state, h = output)
    gru        GRU in the CS224n notation, "cs224n" and "pytorch" variants
    gradcheck  finite-difference and directional gradient checks
    demos      Lecture 111's numeric demonstration (forget gates vs RNN decay)

Conventions: float64; X (T, B, n); integer labels (T, B) in [0, k); initial
states (B, d); losses summed over steps and batch.  Steps t = 1..T of the
maths are array indices 0..T-1.
"""

from . import demos, gradcheck, gru, lstm, rnn
from .gradcheck import GradCheckReport, check_gradients, directional_check, finite_difference_gradient
from .rnn import BPTTResult, RNNCache

__all__ = [
    "rnn", "lstm", "gru", "gradcheck", "demos",
    "BPTTResult", "RNNCache",
    "GradCheckReport", "check_gradients", "directional_check", "finite_difference_gradient",
]
