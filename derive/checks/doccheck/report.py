"""Formats of `derive check` results: text (``file:line: verdict``), json, github annotations, junit."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape, quoteattr

from .check import Result, summary

__all__ = ["FORMATS", "render", "SCHEMA_VERSION"]

FORMATS = ("text", "json", "github", "junit")
SCHEMA_VERSION = 1
_WORDS = {"holds": "holds", "fails": "fails", "not_understood": "not understood"}


def _summary_line(results: "list[Result]") -> str:
    c = summary(results)
    if c["equations"] == 0:
        return "0 equations found"
    return (f"{c['understood']} of {c['equations']} display equations understood, {c['fails']} fail "
            f"({c['holds']} hold, {c['not_understood']} not understood; {c['links']} links)")


def _message(r: Result) -> str:
    how = f" ({', '.join(r.how)})" if r.verdict == "holds" and r.how else ""
    return f"{_WORDS[r.verdict]}{how}: {r.text} -- {r.detail}"


def render(results: "list[Result]", fmt: str = "text") -> str:
    if fmt == "json":
        doc = {"schema": "derive-check", "version": SCHEMA_VERSION, "summary": summary(results),
               "results": [r.as_dict() for r in results]}
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "github":
        lines = []
        for r in results:
            if r.verdict == "holds":
                continue
            level = "error" if r.verdict == "fails" else "warning"
            msg = _message(r).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            lines.append(f"::{level} file={r.equation.path},line={r.line},title=derive check::{msg}")
        lines.append(_summary_line(results))
        return "\n".join(lines) + "\n"
    if fmt == "junit":
        c = summary(results)
        out = [f'<?xml version="1.0" encoding="utf-8"?>',
               f'<testsuite name="derive check" tests="{len(results)}" failures="'
               f'{sum(r.verdict == "fails" for r in results)}" skipped="'
               f'{sum(r.verdict == "not_understood" for r in results)}">']
        for r in results:
            out.append(f'  <testcase classname={quoteattr(r.equation.path)} name={quoteattr(r.where + " " + r.text)}'
                       f' time="{r.seconds:.3f}">')
            if r.verdict == "fails":
                out.append(f"    <failure message={quoteattr(r.detail)}>{escape(_message(r))}</failure>")
            elif r.verdict == "not_understood":
                out.append(f"    <skipped message={quoteattr(r.detail)}/>")
            out.append("  </testcase>")
        out.append("</testsuite>")
        del c
        return "\n".join(out) + "\n"
    lines = [f"{r.where}: {_message(r)}" for r in results]
    lines.append(_summary_line(results))
    return "\n".join(lines) + "\n"
