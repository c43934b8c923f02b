"""Symbols of a document, read and resolved: ``W_{hh}``, ``\\mathbf{h}_{t-1}``, ``h^{(t)}``, ``\\hat{y}``,
``f(x_t, h_{t-1})`` of an abstract cell, looked up in the document's map (document name -> cell name).

A mixin of `derive.checks.doccheck.reader.Reader`: the grammar reads an atom, these methods turn the base
and its scripts into a node of the unrolled graph (or a parameter)."""

from __future__ import annotations

import re

import sympy as sp

from derive.model.graph import NodeRef
from derive.terms import Power, Term, Transpose, Value

from .lexer import _ACCENTS, _FONTS, _GREEK, _TRANSPOSE, Tok, _key_part, _plain



class SymbolReading:
    """How the reader turns a written symbol into a graph node or a parameter value."""

    def raw_symbol(self) -> "tuple[str, list, Tok]":
        """(base, [("_"|"^", text), …], first token) of one symbol, unresolved."""
        tok = self.next()
        if tok.kind == "char" and tok.text.isalpha():
            base = tok.text
        elif tok.kind == "cmd" and tok.text[1:] in _FONTS:
            inner = self.group_tokens()
            sub = self.sub_reader(inner)
            if len(inner) == 1 and inner[0].kind == "cmd" and inner[0].text[1:] in _GREEK:
                base = inner[0].text[1:]
            elif inner and all(t.kind == "char" and t.text.isalnum() for t in inner):
                base = "".join(t.text for t in inner)
            elif inner and inner[0].kind == "cmd" and inner[0].text[1:] in (_FONTS | set(_ACCENTS)):
                base, extra, _ = sub.raw_symbol()
                if extra or sub.peek().kind != "end":
                    self.fail(f"{tok.text}{{…}} holds more than one symbol", tok)
            else:
                self.fail(f"{tok.text}{{{_plain(inner)}}} is not a symbol", tok)
        elif tok.kind == "cmd" and tok.text[1:] in _ACCENTS:
            inner = self.sub_reader(self.group_tokens())
            b, extra, _ = inner.raw_symbol()
            if extra or inner.peek().kind != "end":
                self.fail(f"{tok.text}{{…}} holds more than one symbol", tok)
            base = f"{b}_{_ACCENTS[tok.text[1:]]}"
        elif tok.kind == "cmd" and tok.text[1:] in _GREEK:
            base = tok.text[1:]
        elif tok.kind == "end":
            self.fail("expected a symbol, found the end", tok)
        else:
            self.fail(f"'{tok.text}' is not read", tok)
        scripts = []
        while self.at("_", "^"):
            mark = self.next().text
            scripts.append((mark, _plain(self.group_tokens())))
        return base, scripts, tok

    def resolve(self) -> "tuple[NodeRef, list, Tok]":
        """A symbol as a node reference; the superscripts left over (transpose, power) are returned."""
        base, scripts, tok = self.raw_symbol()
        self.applied = False
        if not scripts and f"{base}()" in self.names and self.at("("):
            return self.application(base, tok), [], tok
        subs = [s for m, s in scripts if m == "_"]
        sups = [s for m, s in scripts if m == "^"]
        if len(subs) > 1:
            self.fail(f"{base} with two subscripts", tok)
        sub = subs[0] if subs else None
        time = None
        engine = None
        if sub is not None:
            engine = self.names.get(f"{base}_{_key_part(sub)}")
        if engine is not None:
            sub = None
        else:
            engine = self.names.get(base)
        shown = base + (f"_{{{sub}}}" if sub is not None else "")
        if engine is None:
            self.fail(f"unknown symbol {shown!r}; the document's symbols are {', '.join(sorted(k.replace('()', '(…)') for k in self.names))}", tok)
        sym = self.cell.symbols[engine]
        rest = []
        for s in sups:
            m = re.fullmatch(r"\s*[(\[]\s*(.*?)\s*[)\]]\s*", s)
            if m and time is None and sub is None and sym.role != "param":
                time = self.index(m.group(1), tok)
            else:
                rest.append(s)
        if sub is not None:
            if sym.role == "param":
                self.fail(f"{shown}: {base} is the parameter {engine!r} and takes no time index; "
                          f"no symbol {base}_{_key_part(sub)} in the document's map", tok)
            time = self.index(sub, tok)
        if self.at("(") and self.peek(1).text in ("\\theta", "\\boldsymbol", "\\mathbf") and engine in self.cell.losses:
            self.i += 1
            while not self.take(")"):
                if self.next().kind == "end":
                    self.fail("unclosed ( after the loss", tok)
        if sym.role == "param":
            if time is not None:
                self.fail(f"{shown} is a parameter and takes no time index", tok)
            return NodeRef(engine), rest, tok
        if time is None and engine in self.cell.losses:
            return NodeRef(engine), rest, tok
        if time is None:
            self.fail(f"{shown} ({engine} of the cell) needs a time index", tok)
        return NodeRef(engine, time), rest, tok

    def application(self, name: str, tok: Tok) -> NodeRef:
        """f(x_t, h_{t-1}, w_h): the node the document's function f computes, at the latest time of its arguments.

        An abstract cell (h_t = f(x_t, h_{t-1}, w_h), o_t = g(h_t, w_o), d2l Section 9.7) is checked on the
        declared cell, whose step is one smooth instance of f; ∂f(…)/∂w is the explicit derivative ∂⁺.
        """
        engine = self.names[f"{name}()"]
        self.expect("(")
        args = []
        while True:
            args.append(self.node_ref())
            if self.take(")"):
                break
            self.expect(",", f"between the arguments of {name}")
        times = [a.t for a in args if a.t is not None]
        if not times:
            self.fail(f"{name}(…) has no argument with a time index", tok)
        for c in times:
            if all(sp.sympify(c - o).is_Integer and int(sp.sympify(c - o)) >= 0 for o in times):
                self.applied = True
                self.applications.append((NodeRef(engine, c), args))
                return NodeRef(engine, c)
        self.fail(f"{name}(…): no argument's time is the latest of all", tok)

    def node_ref(self) -> NodeRef:
        ref, rest, tok = self.resolve()
        if rest:
            self.fail(f"{ref} with superscript ^{{{rest[0]}}} in a derivative", tok)
        return ref

    def symbol_value(self) -> Term:
        ref, rest, tok = self.resolve()
        out: Term = Value(ref)
        for s in rest:
            if s in _TRANSPOSE or s.replace(" ", "") in _TRANSPOSE:
                out = Transpose(out)
            else:
                out = Power(out, self.index(s, tok))
        return out
