r"""Display equations of a document, with file and line numbers, split into links.

A document is read as text (never executed): ``.tex`` files, Markdown ``.md``
files and Jupyter notebooks ``.ipynb`` (the Markdown cells; the notebook is
read with `json`).  From each we take

- the display equations: ``$$…$$``, ``\[…\]`` and the environments
  ``equation``, ``align``, ``gather``, ``multline``, ``eqnarray`` (starred or
  not); an ``aligned``/``split``/``gathered`` block inside a display is one more
  level of rows;
- with ``inline=True`` also inline ``$…$`` (and ``\(…\)``) that contain a relation.

Markdown fenced code blocks and inline code spans are ignored; TeX comments
(``%`` to the end of the line) are ignored.  Each display is cut into rows at
``\\``; each row into relations at the top level (outside braces and
``\left…\right``).  A chain ``a = b = c`` or a row that starts with ``&=`` gives
one `Link` per relation, each with the line of its row, so a failure names the
row.  A display that starts with a relation (the transcripts write a chain as
consecutive ``$$= …$$`` displays) continues the previous display of the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from derive.errors import DeriveError

__all__ = ["Link", "Equation", "extract", "extract_text", "DocumentError", "RELATIONS"]

#: Relations a chain is split at: LaTeX spelling -> the relation's name.
RELATIONS = {
    "=": "=", r"\equiv": "=", r"\coloneqq": "=", ":=": "=", r"\doteq": "=",
    r"\le": "<=", r"\leq": "<=", r"\leqslant": "<=", "<": "<",
    r"\ge": ">=", r"\geq": ">=", r"\geqslant": ">=", ">": ">",
    r"\approx": "~", r"\neq": "!=", r"\ne": "!=", r"\propto": "~", r"\sim": "~",
    r"\in": "in", r"\to": "->", r"\rightarrow": "->",
}
_REL_RE = re.compile(r"\\(?:equiv|coloneqq|doteq|leqslant|leq|le|geqslant|geq|ge|approx|neq|ne|propto|sim|in|to|"
                     r"rightarrow)(?![A-Za-z])|:=|=|<|>")

_ENVS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math")
_INNER_ENVS = ("aligned", "split", "gathered", "alignedat")
_MAX_BYTES = 5_000_000


class DocumentError(DeriveError):
    """A document that cannot be read (missing, binary, malformed notebook, unknown kind)."""


@dataclass
class Link:
    """One relation ``lhs rel rhs`` of a display, with the line of its row."""

    lhs: str
    rel: str          # the normalised relation: "=", "<=", "<", ">=", ">", "~", "!=", "in", "->"
    rhs: str
    line: int
    rel_tex: str = "="


@dataclass
class Equation:
    """One display (or inline) equation: where it is, its text, its label and its links."""

    path: str
    line: int
    text: str
    kind: str                     # "$$", "\\[", "equation", "align", ..., "inline"
    label: "str | None" = None
    cell: "int | None" = None     # the notebook cell index (0-based) for .ipynb
    links: "list[Link]" = field(default_factory=list)

    def where(self, line: "int | None" = None) -> str:
        """``file:line`` (a notebook adds ``[cell N]`` after the file name; the line is within the cell)."""
        cell = f"[cell {self.cell}]" if self.cell is not None else ""
        return f"{self.path}{cell}:{self.line if line is None else line}"


# -- reading files --------------------------------------------------------------------------
def extract(path, *, inline: bool = False) -> "list[Equation]":
    """Every display equation of the file at ``path`` (``.tex``, ``.md``, ``.markdown``, ``.ipynb``)."""
    p = Path(path)
    kind = p.suffix.lower()
    if kind not in (".tex", ".md", ".markdown", ".ipynb", ".ltx", ".txt"):
        raise DocumentError(f"{path}: unknown kind of document {p.suffix or '(no suffix)'!r}; "
                            "expected .tex, .md (.txt is read as Markdown) or .ipynb")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > _MAX_BYTES:
        raise DocumentError(f"{path}: {len(data)} bytes; expected a document of at most {_MAX_BYTES} bytes")
    if b"\x00" in data:
        raise DocumentError(f"{path}: a binary file (it contains NUL bytes); expected a text document")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not UTF-8 text (byte {exc.start}); expected a text document") from None
    if kind == ".ipynb":
        return _notebook(str(path), text, inline)
    return extract_text(text, str(path), "tex" if kind in (".tex", ".ltx") else "md", inline=inline)


def _notebook(path: str, text: str, inline: bool) -> "list[Equation]":
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{path}: not a notebook: invalid JSON at line {exc.lineno} ({exc.msg})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise DocumentError(f"{path}: not a notebook: expected a JSON object with a 'cells' list")
    out = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        src = cell.get("source", "")
        if isinstance(src, list) and all(isinstance(s, str) for s in src):
            src = "".join(src)
        if not isinstance(src, str):
            raise DocumentError(f"{path}: cell {i}: 'source' must be text or a list of text")
        for eq in extract_text(src, path, "md", inline=inline):
            eq.cell = i
            out.append(eq)
    return out


# -- scanning text --------------------------------------------------------------------------
def _blank(text: str, start: int, end: int) -> str:
    """Replace text[start:end] by spaces, keeping newlines (so offsets and lines stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _strip_tex_comments(text: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", lambda m: " " * len(m.group(0)), text)


def _strip_md_code(text: str) -> str:
    lines = text.split("\n")
    out, fence = [], None
    for line in lines:
        m = re.match(r"\s{0,3}(`{3,}|~{3,})", line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            out.append(" " * len(line))
        elif fence is not None:
            if re.match(r"\s{0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$", line):
                fence = None
            out.append(" " * len(line))
        elif line.startswith("    ") and out and out[-1].strip() == "" and not line.strip().startswith("$"):
            out.append(" " * len(line))  # an indented code block after a blank line
        else:
            out.append(line)
    text = "\n".join(out)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", lambda m: " " * len(m.group(0)), text)


_DISPLAY = re.compile(
    r"(?<!\\)\$\$(?P<dd>.+?)(?<!\\)\$\$"
    r"|\\\[(?P<br>.+?)\\\]"
    r"|\\begin\{(?P<env>" + "|".join(_ENVS) + r")(?P<star>\*?)\}(?P<body>.*?)\\end\{(?P=env)(?P=star)\}",
    re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(?P<a>[^$]+?)(?<![\\$])\$(?!\$)|\\\((?P<b>.+?)\\\)", re.S)


def extract_text(text: str, path: str = "<text>", kind: str = "md", *, inline: bool = False) -> "list[Equation]":
    """The equations of a document's text; ``kind`` is "md" or "tex" (comments, code blocks)."""
    if kind != "tex":   # TOML front matter (+++ … +++) holds the document's model, not maths
        m = re.match(r"\A\+\+\+[ \t]*\n.*?^\+\+\+[ \t]*$", text, re.S | re.M)
        if m:
            text = _blank(text, 0, m.end())
    text = _strip_tex_comments(text) if kind == "tex" else _strip_md_code(text)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    found = []
    rest = text
    for m in _DISPLAY.finditer(text):
        if m.group("dd") is not None:
            body, off, kind_ = m.group("dd"), m.start("dd"), "$$"
        elif m.group("br") is not None:
            body, off, kind_ = m.group("br"), m.start("br"), "\\["
        else:
            body, off, kind_ = m.group("body"), m.start("body"), m.group("env")
        found.append((m.start(), kind_, body, off))
        rest = _blank(rest, m.start(), m.end())
    if inline:
        for m in _INLINE.finditer(rest):
            body = m.group("a") if m.group("a") is not None else m.group("b")
            off = m.start("a") if m.group("a") is not None else m.start("b")
            if _top_relations(body):
                found.append((m.start(), "inline", body, off))
    found.sort()
    out: "list[Equation]" = []
    previous: "Equation | None" = None
    for _, kind_, body, off in found:
        eq = _equation(path, body, off, kind_, line_of)
        if eq is None:
            continue
        if eq.links and eq.links[0].lhs == "" and kind_ != "inline":
            # a display that starts with "=": it continues the previous display's chain
            last = previous.links[-1].rhs if previous is not None and previous.links else ""
            eq.links[0].lhs = last
        out.append(eq)
        if kind_ != "inline":
            previous = eq
    return out


def _equation(path, body, offset, kind, line_of) -> "Equation | None":
    label = None
    m = re.search(r"\\label\{([^{}]*)\}", body)
    if m:
        label = m.group(1)
    clean = _blank_groups(body, ("label", "tag", "tag*"))
    ends = list(re.finditer(r"\\end\{(" + "|".join(_INNER_ENVS) + r")\}", clean))
    if ends:  # what follows an aligned block inside the display is commentary (a transcript's garbled \tag)
        clean = _blank(clean, ends[-1].end(), len(clean))
    clean = re.sub(r"\\(nonumber|notag)(?![A-Za-z])", lambda x: " " * len(x.group(0)), clean)
    clean = re.sub(r"\\(begin|end)\{(" + "|".join(_INNER_ENVS) + r")\}(\{[^{}]*\})?",
                   lambda x: " " * len(x.group(0)), clean)
    if not clean.strip():
        return None
    lead = len(clean) - len(clean.lstrip())
    eq = Equation(path, line_of(offset + lead), " ".join(clean.split()), kind, label)
    rows = _rows(clean)
    chain: "str | None" = None
    for row_off, row in rows:
        row_line = line_of(offset + row_off + len(row) - len(row.lstrip()))
        row = _cut_commentary(row.replace("&", " "))
        row = re.sub(r"[\s,.;]*$", "", row)   # trailing punctuation of a displayed sentence
        row = re.sub(r"\\(quad|qquad)\s*\\?(text|mbox)\{[^{}]*\}\s*$", "", row).rstrip()
        row = re.sub(r"(\\q?quad|\\hfill|\s)\s*\(\s*\d+(\.\d+)?[a-z]?\s*\)\s*$", "", row).rstrip()  # "(15)"
        parts = _split_relations(row)
        if not parts:
            continue
        first, pairs = parts[0], parts[1:]
        if first.strip() == "":
            if pairs and chain is None:
                chain = ""           # the display starts with a relation: continued from before
        elif chain is not None and not pairs:
            # a row without a relation continues the previous right side (a long sum broken over rows)
            if eq.links:
                eq.links[-1].rhs = eq.links[-1].rhs + " " + " ".join(first.split())
                continue
            chain = first.strip()
            continue
        else:
            chain = first.strip()
        for rel_tex, rhs in pairs:
            rhs = " ".join(rhs.split())
            eq.links.append(Link(" ".join((chain or "").split()), RELATIONS.get(rel_tex, rel_tex), rhs, row_line,
                                 rel_tex))
            chain = rhs
    return eq


def _rows(body: str) -> "list[tuple[int, str]]":
    """Cut at top-level ``\\\\`` (outside braces); each row with its offset in ``body``."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == "\\" and body.startswith("\\\\", i) and depth == 0:
            out.append((start, body[start:i]))
            i += 2
            m = re.match(r"\s*\[[^\]]*\]", body[i:])   # \\[2pt]
            if m:
                i += m.end()
            start = i
            continue
        if c == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    out.append((start, body[start:]))
    return out


def _top_relations(text: str) -> "list[tuple[int, int, str]]":
    """(start, end, relation) of every relation outside braces, brackets and \\left…\\right."""
    out, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if re.match(r"\\left(?![A-Za-z])", text[i:]):
                depth += 1
                i += 5
                continue
            if re.match(r"\\right(?![A-Za-z])", text[i:]):
                depth -= 1
                i += 6
                continue
            m = _REL_RE.match(text, i)
            if m and depth == 0:
                out.append((i, m.end(), m.group(0)))
                i = m.end()
                continue
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            i += m.end() if m else 1
            continue
        if c in "{":
            depth += 1
        elif c in "}":
            depth -= 1
        elif depth == 0:
            m = _REL_RE.match(text, i)
            if m:
                # "<=" written as two characters is one relation
                if m.group(0) in "<>" and text.startswith("=", m.end()):
                    out.append((i, m.end() + 1, m.group(0) + "="))
                    i = m.end() + 1
                    continue
                out.append((i, m.end(), m.group(0)))
                i = m.end()
                continue
        i += 1
    return out


def _split_relations(row: str) -> list:
    """[first, (rel, part), (rel, part), …] of one row."""
    rels = _top_relations(row)
    if not rels:
        return [row] if row.strip() else []
    out: list = [row[: rels[0][0]]]
    for n, (s, e, rel) in enumerate(rels):
        end = rels[n + 1][0] if n + 1 < len(rels) else len(row)
        rel = {"<=": r"\le", ">=": r"\ge"}.get(rel, rel)
        out.append((rel, row[e:end]))
    return out


_COMMENTARY = re.compile(r"\\(q?quad|text|textrm|mbox|hbox)(?![A-Za-z])\s*(\{(?P<words>[^{}]*)\})?")


def _cut_commentary(row: str) -> str:
    """A row without its commentary: from a top-level ``\\quad`` or ``\\text{where …}`` on; a leading
    ``\\therefore`` is dropped.  ``\\text{diag}`` is an operator, not commentary."""
    row = re.sub(r"^\s*\\(therefore|because|implies|Rightarrow|Longrightarrow)(?![A-Za-z])", " ", row)
    depth = 0
    i = 0
    while i < len(row):
        c = row[i]
        if c == "\\":
            m = _COMMENTARY.match(row, i)
            if m and depth == 0 and (m.group(1).endswith("quad") or
                                     (m.group("words") or "").strip() not in ("", "diag", "Diag")):
                return row[:i]
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    return row


def _blank_groups(text: str, commands) -> str:
    """Blank ``\\cmd{…}`` (braces balanced: ``\\tag{value of \\frac{a}{b}}``) for the named commands."""
    pattern = re.compile(r"\\(" + "|".join(re.escape(c) for c in commands) + r")(?![A-Za-z])\s*\{")
    while True:
        m = pattern.search(text)
        if not m:
            return text
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0) if text[i - 1] != "\\" else 0
            i += 1
        text = _blank(text, m.start(), i)
