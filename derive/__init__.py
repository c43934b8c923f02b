"""derive: machine-checked BPTT mathematics."""
