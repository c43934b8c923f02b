"""Stage 1, the model: one time step as the lecture writes it (`Cell`, the vector IR, activations) and the
graph unrolled over T steps.  Add an activation in `derive.model.activations` (`register`); its γ = sup σ' is proved in
`derive.model.supremum`; the built-in
cells are in `derive.cells`."""
