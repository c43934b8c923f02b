"""How objects of the core show themselves in Jupyter, without the core importing the printer.

`derive.render.latex` registers its ``latex`` function here when it is imported; a
cell, a graph expression, a derivation or a term then typesets itself through
whatever renderer is registered (the last one).  Nothing here imports anything
of the project, so every stage may use it.
"""

from __future__ import annotations

__all__ = ["register_renderer", "render"]

_RENDERERS: list = []


def register_renderer(fn) -> None:
    """``fn(obj, **settings) -> LaTeX`` (math mode, no delimiters)."""
    if fn not in _RENDERERS:
        _RENDERERS.append(fn)


def render(obj, **settings) -> str:
    """The LaTeX of ``obj`` by the registered renderer; a clear error when there is none."""
    if not _RENDERERS:
        from .errors import NotSupported

        raise NotSupported("no LaTeX renderer is registered: import derive.render.latex")
    return _RENDERERS[-1](obj, **settings)
