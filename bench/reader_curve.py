"""The short-answer reader's coverage / exact-match curve on a slice of bench/reader_data.py's
output, run as the bot runs it (onnxruntime), alone and with the rules below the threshold.

    .venv/bin/python bench/reader_curve.py /tmp/reader/quoted.jsonl --rows 0:2349
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.answering.reader import WEIGHTS, SpanReader  # noqa: E402
from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path  # noqa: E402
from retrieval.evaluation import squad_em_f1  # noqa: E402

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    """Print rate and EM per threshold, overall and per question kind."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path)
    p.add_argument("--rows", default="0:2349", help="a slice of the rows, FROM:TO")
    p.add_argument("--weights", type=Path, default=WEIGHTS)
    args = p.parse_args()
    lo, hi = (int(x) for x in args.rows.split(":"))
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")][lo:hi]
    reader = SpanReader(resolve_model_path(DEFAULT_MODEL), weights=args.weights)
    preds = [
        reader.read(r["question"], r["sentences"]) if r["sentences"] else (None, 0.0) for r in rows
    ]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_kind[r["kind"] or "abstained"].append(i)
    for t in THRESHOLDS:
        for rules in (False, True):
            line = [f"t={t:.1f} {'reader+rules' if rules else 'reader      '}"]
            for kind, idx in [("all", list(range(len(rows)))), *sorted(by_kind.items())]:
                ems = []
                for i in idx:
                    r, (span, conf) = rows[i], preds[i]
                    if r["abstained"]:
                        continue
                    short = span if span and conf >= t and r["kind"] != "yesno" else None
                    if short is None and (rules or r["kind"] == "yesno"):
                        short = r["rule_short"]
                    if short:
                        ems.append(squad_em_f1(short, r["answers"])[0])
                em = sum(ems) / len(ems) if ems else 0.0
                line.append(f"{kind} {len(ems) / len(idx):.3f}/{em:.3f}")
            print("  ".join(line))
    rule = [squad_em_f1(r["rule_short"], r["answers"])[0] for r in rows if r["rule_short"]]
    print(f"rules alone: rate {len(rule) / len(rows):.4f} EM {sum(rule) / len(rule):.4f}")


if __name__ == "__main__":
    main()
