"""Stage 3, the proofs: expansions (explicit and implicit parts, path sums, BPTT forms), the exact check of a
step in the free algebra (`canon`), the local Jacobians in SymPy (`local`, `structure`, `step`)."""
