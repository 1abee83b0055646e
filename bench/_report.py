"""The comparison as a plain-text table (stdout) or one JSON object: a row per pipeline, the
full-answer latency of newsbot, and ratio rows against the tutorial pipeline."""

from __future__ import annotations

import math
from typing import Any

COLUMNS = [  # key, header, format
    ("chunks", "chunks", "{:.0f}"),
    ("ingest_s", "ingest s", "{:.1f}"),
    ("ingest_cpu_s", "CPU s", "{:.1f}"),
    ("hit@1", "hit@1", "{:.3f}"),
    ("hit@5", "hit@5", "{:.3f}"),
    ("mrr@10", "MRR@10", "{:.3f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p95_ms", "p95 ms", "{:.1f}"),
]
RATIO_KEYS = [key for key, _, _ in COLUMNS]
BASELINE = "tutorial"


def ratios(pipelines: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Each other pipeline's numbers divided by the tutorial pipeline's."""
    base = pipelines.get(BASELINE)
    if base is None:
        return {}
    out = {}
    for name, row in pipelines.items():
        if name != BASELINE:
            out[f"{name} / {BASELINE}"] = {k: _div(row.get(k), base.get(k)) for k in RATIO_KEYS}
    return out


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, 3)


def _loads(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def render(result: dict[str, Any]) -> str:
    """The human-readable report."""
    q = result["questions"]
    m = result["machine"]
    lines = [
        f"command:   {result['command']}",
        f"dataset:   {result['dataset']}",
        f"questions: {q['loaded']} loaded (--limit {q['limit'] or 'all'}), "
        f"{q['answerable']} answerable scored",
        f"machine:   nproc {m['nproc']}, torch threads {m['torch_threads']}, {m['cpu']}, "
        f"Python {m['python']}",
        f"load avg:  {_loads(m['loadavg_before'])} before, {_loads(m['loadavg_after'])} after "
        "(1/5/15 min)",
        f"versions:  {', '.join(f'{k} {v}' for k, v in m['versions'].items())}",
        f"date:      {result['date']}",
        "",
    ]
    rows: list[tuple[str, dict[str, Any], bool]] = []  # name, numbers, is a ratio
    for name, row in result["pipelines"].items():
        rows.append((name, row, False))
        if "ask_p50_ms" in row:
            ask = {"p50_ms": row["ask_p50_ms"], "p95_ms": row["ask_p95_ms"]}
            rows.append((f"{name} ask() (answer)", ask, False))
    rows += [(name, row, True) for name, row in result["ratios"].items()]
    width = max(len(name) for name, _, _ in rows)
    header = f"{'pipeline':<{width}}  " + "  ".join(f"{h:>8}" for _, h, _ in COLUMNS)
    lines += [header, "-" * len(header)]
    for name, row, is_ratio in rows:
        cells = [_cell(row.get(key), "{:.2f}x" if is_ratio else fmt) for key, _, fmt in COLUMNS]
        lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>8}" for c in cells))
    lines += ["", *_notes(result["pipelines"])]
    return "\n".join(lines)


def _notes(pipelines: dict[str, dict[str, Any]]) -> list[str]:
    notes = []
    for name, row in pipelines.items():
        parts = ", ".join(f"{k} {v:.1f}" for k, v in row.get("ingest_parts", {}).items())
        extra = f"; ingest {parts}" if parts else ""
        if "sentences" in row:
            extra += (
                f"; ingest embeds {row['chunks']} chunks + {row['sentences']} sentences "
                f"({row['embedded_texts']} distinct texts)"
            )
        notes.append(f"{name}: model load {row['model_load_s']:.1f} s (not in ingest){extra}")
    notes.append(
        "ingest s = split + embed + index build (newsbot: read, chunk, embed, write snapshot, "
        "load), wall; CPU s = the process's user + system seconds over the same span (every "
        "thread; less stretched than the wall by other processes); latencies are warm, one "
        "query at a time (pipelines interleaved question by question), embedding the question "
        "included"
    )
    return notes
