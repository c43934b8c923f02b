"""Content, found and never listed by hand: the derivations and lecture claims a build checks.

Content lives above the engine and is discovered by name, so the engine never
imports it.  A *content package* is a Python package whose modules have

- ``derivations()`` (optionally taking ``T``) returning `Derivation` objects, and/or
- a ``catalog`` subpackage whose modules have ``claims()`` (one module per lecture,
  ordered by their ``SOURCE`` seed file) and ``lecture()``, the lecture's plan
  (collected by `derive.render.documents.collect_lectures`).

The built-in content is ``derive.proofs`` (the repository's top-level ``proofs/``
folder, shipped under the project's namespace).  A course author's own package
is added with an entry point in the group ``derive.content`` (its value the
package name), or ``DERIVE_CONTENT=pkg1,pkg2`` in the environment.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil

from typing import TYPE_CHECKING

from derive.errors import DeriveError, UnknownName

if TYPE_CHECKING:
    from derive.prove.expand import Derivation

__all__ = ["BUILTIN", "content_packages", "proof_modules", "collect_derivations", "claim_modules",
           "collect_claims", "select"]

#: The content shipped with derive (the repository's ``proofs/`` folder).
BUILTIN = "derive.proofs"


def content_packages() -> "list[str]":
    """The built-in content package, then those registered by entry point or ``DERIVE_CONTENT``."""
    out = [BUILTIN]
    try:
        from importlib.metadata import entry_points

        out += [ep.value for ep in sorted(entry_points(group="derive.content"), key=lambda e: e.name)]
    except Exception:  # pragma: no cover - broken metadata must not stop a build
        pass
    out += [p.strip() for p in os.environ.get("DERIVE_CONTENT", "").split(",") if p.strip()]
    return list(dict.fromkeys(out))


def _package(name: str):
    try:
        pkg = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise UnknownName("content package", name, content_packages()) from exc
    if not hasattr(pkg, "__path__"):
        raise DeriveError(f"content {name!r} is a module, expected a package of modules")
    return pkg


def _modules(package: str, attribute: str) -> list:
    pkg = _package(package)
    out = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{package}.{info.name}")
        if callable(getattr(mod, attribute, None)):
            out.append(mod)
    return out


def proof_modules(package: "str | None" = None) -> "list":
    """The modules with a ``derivations()`` function, sorted by name (every content package by default)."""
    return [m for p in ([package] if package else content_packages()) for m in _modules(p, "derivations")]


def claim_modules(package: "str | None" = None) -> "list":
    """The lecture modules (with ``claims()``) of the content packages' ``catalog``, ordered by seed file."""
    out = []
    for p in ([package] if package else content_packages()):
        try:
            importlib.import_module(f"{p}.catalog")
        except ModuleNotFoundError as exc:
            if exc.name != f"{p}.catalog":
                raise
            continue
        out += sorted(_modules(f"{p}.catalog", "claims"), key=lambda m: getattr(m, "SOURCE", m.__name__))
    return out


def collect_claims(package: "str | None" = None) -> list:
    """Every claim of every lecture module, in file order; ids are unique (corrections included)."""
    out: list = []
    seen: set[str] = set()
    for mod in claim_modules(package):
        for c in mod.claims():
            for ident in [c.id] + ([c.correction.id] if c.correction is not None else []):
                if ident in seen:
                    raise DeriveError(f"two catalog claims share the id {ident!r} (second one in {mod.__name__})")
                seen.add(ident)
            out.append(c)
    return out


def collect_derivations(T: "int | None" = None, package: "str | None" = None) -> "list[Derivation]":
    """All derivations of all content modules; ``T`` goes to those that take it."""
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
