"""Checks, counterexamples, the run context of one audit, and comparing two sides' values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

from derive.model.cell import Cell
from derive.model.graph import Graph, unroll
from derive.numeric.evaluator import Evaluator
from ..verify import RTOL_EXACT
from .instances import _instance


@dataclass(frozen=True)
class AuditConfig:
    """Sizes and seeds of the numeric checks; SymPy checks use the first ``symbolic_sizes`` sizes.

    Sizes differ in every dimension (n = d + 1, k = d + 2), so a transposed
    matrix is a shape error or a wrong value, never an accident that fits.
    """

    sizes: tuple = ({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}, {"n": 4, "d": 3, "k": 5})
    seeds: tuple = (0, 1)
    symbolic_sizes: int = 2

    def as_dict(self) -> dict:
        return {"sizes": [dict(s) for s in self.sizes], "seeds": list(self.seeds)}


FAST = AuditConfig(sizes=({"n": 2, "d": 1, "k": 3}, {"n": 3, "d": 2, "k": 4}), seeds=(0,), symbolic_sizes=1)


@dataclass
class Check:
    """One check of one claim: method, outcome, the instance (``where``) and a detail naming values."""

    method: str           # "exact" | "symbolic" | "numeric" | "arithmetic" | "shape" | "labels"
    passed: bool
    where: dict = field(default_factory=dict)
    detail: str = ""
    seconds: float = 0.0

    def where_text(self) -> str:
        return ", ".join(f"{k}={_fmt_where(v)}" for k, v in self.where.items())


def _fmt_where(v) -> str:
    """An instance as a reader writes it: ``binding t=2, T=3; sizes n=2, d=1; seed 1; activation tanh``."""
    if isinstance(v, dict) and not any(isinstance(x, dict) for x in v.values()):
        return ", ".join(f"{k}={_fmt_value(x)}" for k, x in v.items())
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            if isinstance(x, dict):
                parts.append(f"{k} " + ", ".join(f"{a}={_fmt_value(b)}" for a, b in x.items()))
            else:
                parts.append(f"{k} {_fmt_value(x)}")
        return "; ".join(parts)
    return str(v)


def _fmt_value(x) -> str:
    if isinstance(x, (list, tuple)):
        return "(" + ", ".join(_fmt_value(y) for y in x) + ")"
    if isinstance(x, dict):
        return ", ".join(f"{a}={_fmt_value(b)}" for a, b in x.items())
    return str(x)


@dataclass
class Counterexample:
    """A small, seeded instance on which a claim fails, with both sides' values."""

    instance: dict
    lhs: Any
    rhs: Any
    entry: "tuple | None" = None
    discrepancy: "float | None" = None
    detail: str = ""

    def as_dict(self) -> dict:
        return {"instance": _jsonable(self.instance), "lhs": _jsonable(self.lhs), "rhs": _jsonable(self.rhs),
                "entry": list(self.entry) if self.entry is not None else None,
                "discrepancy": _jsonable(self.discrepancy), "detail": self.detail}


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, sp.Basic):
        return str(x)
    return x


@dataclass
class _Outcome:
    checks: "list[Check]"
    counterexample: "Counterexample | None" = None
    special_case: str = ""
    notes: str = ""
    sides: tuple = ()  # engine terms (lhs, rhs) for printing


class _Run:
    """Caches shared by the claims of one audit: cells per activation, evaluators per instance."""

    def __init__(self, config: AuditConfig):
        self.config = config
        self._cells: dict = {}
        self._evs: dict = {}
        self._graphs: dict = {}

    def graph(self, cell: Cell, T: int, size: "dict | None" = None) -> Graph:
        key = (id(cell), T, tuple(sorted(size.items())) if size else None)
        if key not in self._graphs:
            self._graphs[key] = (cell, unroll(cell, T, size))  # the cell is kept alive with its id
        return self._graphs[key][1]

    def cell(self, builder: Callable[[str], Cell], act: str) -> Cell:
        key = (builder, act)
        if key not in self._cells:
            self._cells[key] = builder(act)
        return self._cells[key]

    def evaluator(self, cell: Cell, T: int, size: dict, seed: int, keep=None, recipe: str = "random",
                  target: float = 1.0) -> "Evaluator | None":
        key = (id(cell), T, tuple(sorted(size.items())), seed, keep, recipe, target)
        if key not in self._evs:
            g = self.graph(cell, T, size)
            inst = _instance(g, recipe, seed, target)
            self._evs[key] = None if inst is None else Evaluator(g, inst, g.view(list(keep) if keep else None))
        return self._evs[key]


def _graph_T(binding: dict) -> int:
    if "T" in binding:
        return int(binding["T"])
    return max([int(v) for v in binding.values()] + [1])


def _compare(lv, rv) -> "tuple[bool, str, tuple | None, float | None]":
    """Scale-aware comparison of two values: |lhs - rhs| <= 1e-9 max(1, |lhs|), naming the worst entry."""
    a = np.atleast_2d(np.asarray(0.0 if lv is None else lv, dtype=np.float64))
    b = np.atleast_2d(np.asarray(0.0 if rv is None else rv, dtype=np.float64))
    if a.size == 1 and b.size > 1 and a.item() == 0.0:
        a = np.zeros_like(b)
    if b.size == 1 and a.size > 1 and b.item() == 0.0:
        b = np.zeros_like(a)
    if a.shape != b.shape:
        return False, f"the left side is {a.shape[0]}x{a.shape[1]} but the right side is {b.shape[0]}x{b.shape[1]}", \
            None, None
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False, "non-finite values (overflow on this instance)", None, None
    err = np.abs(a - b)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    scale = max(1.0, float(np.max(np.abs(a))))
    rel = float(err[i]) / scale
    entry = tuple(int(v) for v in i)
    msg = f"entry {entry}: left {a[i]:.12g}, right {b[i]:.12g} (relative error {rel:.2e})"
    return rel <= RTOL_EXACT, msg, entry, float(err[i])


def _round(x):
    if isinstance(x, (int, float, np.floating)) or np.ndim(x) == 0:
        return float(f"{float(x):.12g}")
    return np.vectorize(lambda v: float(f"{v:.12g}"))(np.asarray(x, dtype=np.float64))
