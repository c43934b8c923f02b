"""The built-in content: every derivation in `proofs/`, found by module, never listed by hand.

A proofs module is any module of the ``proofs`` package with a function
``derivations()`` (optionally taking ``T``) returning `Derivation` objects.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from .errors import DeriveError, UnknownName
from .expand import Derivation

__all__ = ["proof_modules", "collect_derivations", "select"]


def proof_modules(package: str = "proofs") -> "list":
    """The proofs modules with a ``derivations()`` function, sorted by name."""
    pkg = importlib.import_module(package)
    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{package}.{info.name}")
        if callable(getattr(mod, "derivations", None)):
            out.append(mod)
    return out


def collect_derivations(T: "int | None" = None, package: str = "proofs") -> "list[Derivation]":
    """All derivations of all proofs modules; ``T`` goes to those that take it."""
    out: list[Derivation] = []
    seen: set[str] = set()
    for mod in proof_modules(package):
        fn = mod.derivations
        takes_T = "T" in inspect.signature(fn).parameters
        for d in (fn(T=T) if (T is not None and takes_T) else fn()):
            if d.id in seen:
                raise DeriveError(f"two derivations share the id {d.id!r} (second one in {mod.__name__})")
            seen.add(d.id)
            out.append(d)
    return out


def select(derivations: "list[Derivation]", only: "list[str] | None") -> "list[Derivation]":
    """The derivations named in ``only`` (in the order given); an unknown id lists the valid ones."""
    if not only:
        return derivations
    by_id = {d.id: d for d in derivations}
    for i in only:
        if i not in by_id:
            raise UnknownName("derivation id", i, list(by_id))
    return [by_id[i] for i in only]
