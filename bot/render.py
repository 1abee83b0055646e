"""Plain-text rendering of answers and reports for terminals and logs."""

from __future__ import annotations

import re

from retrieval.answer import Answer, Citation, Conflict, ConflictValue, also_line, time_stamp
from retrieval.ingest import IngestReport

# C0/C1 controls (except newline and tab), the bidi overrides that can reorder a line, and
# lone surrogates (a file name that is not UTF-8), which cannot even be printed.
_UNSAFE = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_LINE = re.compile(f"[\t\n{_UNSAFE}]")


def inert(text: str, *, one_line: bool = False) -> str:
    """The text with control characters written as escapes (``\\x1b``), so that a file name
    or article text cannot move the cursor, retitle the terminal or plant a hyperlink;
    ``one_line`` escapes newlines and tabs too (a file name must not forge a report line)."""
    return (_UNSAFE_LINE if one_line else _UNSAFE_TEXT).sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def citation_line(c: Citation) -> str:
    """`[n] Title — Source, 2021-10-19 — url` (parts that are unknown are left out)."""
    meta = ", ".join(p for p in (c.source, c.date) if p)
    parts = [f"[{c.n}] {c.title}"]
    if meta:
        parts.append(meta)
    if c.url:
        parts.append(c.url)
    return " — ".join(parts)


_HEADINGS = {
    "update": "Updated report: the newer value leads",
    "disagreement": "Reports differ",
    "ambiguous": "The name means more than one thing",
}


def conflict_heading(conflict: Conflict) -> str:
    """What kind of conflict the answer shows, in words."""
    return f"{_HEADINGS[conflict.kind]}:"


def conflict_value_line(v: ConflictValue) -> str:
    """`Broken Bow, Nebraska: 3,559 [2] — Gazetteer (entity)`: a value, its markers, outlets,
    dates and role."""
    marks = "".join(f"[{n}]" for n in v.citations)
    head = f"{v.entity}: {v.value}" if v.entity else v.value
    meta = ", ".join(dict.fromkeys(p for p in (*v.sources, *v.dates) if p))
    return f"{head} {marks}" + (f" — {meta}" if meta else "") + f" ({v.role})"


def conflict_text(conflict: Conflict) -> str:
    """The conflict as an indented list under its heading."""
    lines = [conflict_heading(conflict)]
    lines += [f"  - {conflict_value_line(v)}" for v in conflict.values]
    return "\n".join(lines)


def answer_text(answer: Answer) -> str:
    """The answer, the conflict among its sources if any, its as-of stamp and window, then
    its numbered sources and their quotes."""
    lines = [answer.text]
    if answer.conflict and not answer.abstained:
        lines += ["", conflict_text(answer.conflict)]
    stamp = time_stamp(answer)
    if stamp:
        lines += ["", stamp]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(citation_line(c))
            if c.also:
                lines.append(f"    {also_line(c)}")
            lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def ingest_text(report: IngestReport, verbose: bool = True) -> str:
    """One line per file (status, path, detail, warnings), then totals; file names and
    details are shown inert (they come from the docs folder, which is not trusted)."""
    lines = []
    counts: dict[str, int] = {}
    for f in report.files:
        counts[f.status] = counts.get(f.status, 0) + 1
        if not verbose and f.status == "unchanged" and not f.warnings:
            continue
        detail = f": {f.detail}" if f.detail else ""
        lines.append(inert(f"{f.status:<9} {f.path}{detail}", one_line=True))
        lines.extend(inert(f"          warning: {w}", one_line=True) for w in f.warnings)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    state = f"published snapshot {report.snapshot}" if report.published else "index unchanged"
    lines.append(
        f"{summary}. {report.articles} articles, {report.chunks} chunks; "
        f"{report.embedded} texts embedded; {report.invisible_stripped} invisible characters "
        f"stripped; {state}."
    )
    return "\n".join(lines)
