"""Stage 4, the numbers: every term evaluated on an instance (`evaluator`: forward pass, local Jacobians,
totals by reverse accumulation, finite differences), alive-path instances (`instances`), the hand-vectorised
NumPy BPTT references (`reference`) and the clipping rules (`clipping`)."""

from derive.numeric.evaluator import Evaluator, Instance, Numbers, cell_fingerprint, local_jacobians, unrolled

__all__ = ["Instance", "Evaluator", "Numbers", "local_jacobians", "unrolled", "cell_fingerprint"]
