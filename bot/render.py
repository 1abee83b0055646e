"""Plain-text rendering of answers and reports for terminals and logs."""

from __future__ import annotations

from retrieval.answer import Answer, Citation, time_stamp
from retrieval.ingest import IngestReport


def citation_line(c: Citation) -> str:
    """`[n] Title — Source, 2021-10-19 — url` (parts that are unknown are left out)."""
    meta = ", ".join(p for p in (c.source, c.date) if p)
    parts = [f"[{c.n}] {c.title}"]
    if meta:
        parts.append(meta)
    if c.url:
        parts.append(c.url)
    return " — ".join(parts)


def answer_text(answer: Answer) -> str:
    """The answer, its as-of stamp and window, then its numbered sources and their quotes."""
    lines = [answer.text]
    stamp = time_stamp(answer)
    if stamp:
        lines += ["", stamp]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(citation_line(c))
            lines.append(f'    "{c.quote}"')
    return "\n".join(lines)


def ingest_text(report: IngestReport, verbose: bool = True) -> str:
    """One line per file (status, path, detail, warnings), then totals."""
    lines = []
    counts: dict[str, int] = {}
    for f in report.files:
        counts[f.status] = counts.get(f.status, 0) + 1
        if not verbose and f.status == "unchanged" and not f.warnings:
            continue
        detail = f": {f.detail}" if f.detail else ""
        lines.append(f"{f.status:<9} {f.path}{detail}")
        lines.extend(f"          warning: {w}" for w in f.warnings)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    state = f"published snapshot {report.snapshot}" if report.published else "index unchanged"
    lines.append(
        f"{summary}. {report.articles} articles, {report.chunks} chunks; "
        f"{report.embedded} texts embedded; {report.invisible_stripped} invisible characters "
        f"stripped; {state}."
    )
    return "\n".join(lines)
