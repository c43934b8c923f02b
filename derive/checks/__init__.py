"""Stage 5, the checks: every step of a derivation (`verify`), bounds and their counterexamples (`bounds`),
the lectures' claims (`catalog`), the equations of a course author's own notes (`doccheck`), and the pytest
plugin that collects them."""
