"""Speed and window accuracy of the time-expression resolver (`retrieval.timeparse.resolve`).

Accuracy on a time_dev-style questions.jsonl: the share of questions with a gold `window`
whose resolved window equals it exactly, and the share of null-window questions (`latest`,
`order`) for which no window is resolved. Speed: every question resolved `--rounds` times,
each call timed on its own with `time.perf_counter`; p50 and p95 in milliseconds. Target:
p50 at most 2 ms.

Run from the repo root:
`.venv/bin/python bench/time_resolver.py [--questions ../shared/eval/time_dev/questions.jsonl]
[--rounds 200] [--json]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.timeparse import resolve

_DEFAULT = Path(__file__).resolve().parents[2] / "shared/eval/time_dev/questions.jsonl"


def _accuracy(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Exact-window accuracy and the ids that missed, with what was resolved."""
    windowed = [r for r in rows if r.get("window") is not None]
    null = [r for r in rows if r.get("window") is None]
    hits, misses, missed = 0, [], set()
    for r in rows:
        intent = resolve(r["question"], dt.date.fromisoformat(r["asked_on"]))
        got = list(intent.window.iso()) if intent.window else None
        if got == r.get("window"):
            hits += r.get("window") is not None
        else:
            missed.add(r["id"])
            misses.append(f"{r['id']}: gold {r.get('window')} got {got} | {r['question']}")
    null_ok = sum(1 for r in null if r["id"] not in missed)
    return {
        "questions": len(rows),
        "with_window": len(windowed),
        "window_exact": hits,
        "window_accuracy": round(hits / len(windowed), 4) if windowed else None,
        "null_window": len(null),
        "null_none": null_ok,
        "null_accuracy": round(null_ok / len(null), 4) if null else None,
    }, misses


def _speed(rows: list[dict[str, Any]], rounds: int) -> dict[str, float]:
    """p50/p95 of one resolve call, warm."""
    cases = [(r["question"], dt.date.fromisoformat(r["asked_on"])) for r in rows]
    for question, asked_on in cases:  # warm: regexes compiled, caches filled
        resolve(question, asked_on)
    times = []
    for _ in range(rounds):
        for question, asked_on in cases:
            start = time.perf_counter()
            resolve(question, asked_on)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "calls": len(times),
        "p50_ms": round(statistics.median(times), 4),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 4),
        "max_ms": round(times[-1], 4),
    }


def main() -> int:
    """Print accuracy and latency; exit 1 when p50 is over 2 ms."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=_DEFAULT)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    accuracy, misses = _accuracy(rows)
    speed = _speed(rows, args.rounds)
    if args.json:
        print(json.dumps({"accuracy": accuracy, "speed": speed, "misses": misses}))
    else:
        print(f"questions: {args.questions}")
        print(
            f"window exact: {accuracy['window_exact']}/{accuracy['with_window']}"
            f" ({accuracy['window_accuracy']});"
            f" null windows left null: {accuracy['null_none']}/{accuracy['null_window']}"
        )
        print(
            f"resolve(): {speed['calls']} calls, p50 {speed['p50_ms']} ms,"
            f" p95 {speed['p95_ms']} ms, max {speed['max_ms']} ms"
        )
        for miss in misses:
            print(f"  miss {miss}")
    return 0 if speed["p50_ms"] <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
