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

from span_fits import span_fits  # noqa: E402  (bench/span_fits.py, beside this script)

from retrieval.answering.parse import default_reader  # noqa: E402
from retrieval.answering.reader import WEIGHTS, SpanReader  # noqa: E402
from retrieval.answering.shorts import READ_KINDS  # noqa: E402
from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path  # noqa: E402
from retrieval.evaluation import squad_em_f1  # noqa: E402

THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.45, 0.49, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)
# "reader": the reader alone; "reader+rules": the rules below its threshold; "rules+reader":
# the reader where the rules give none (as retrieval/answering/shorts.py does).
MODES = ("reader", "reader+rules", "rules+reader")


def main() -> None:
    """Print rate and EM per threshold, overall and per question kind."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path)
    p.add_argument("--rows", default="0:2349", help="a slice of the rows, FROM:TO")
    p.add_argument("--weights", type=Path, default=WEIGHTS)
    p.add_argument("--fit", action="store_true", help="refuse spans of the wrong type too")
    args = p.parse_args()
    lo, hi = (int(x) for x in args.rows.split(":"))
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")][lo:hi]
    reader = SpanReader(resolve_model_path(DEFAULT_MODEL), weights=args.weights)
    preds = [
        reader.read(r["question"], r["sentences"]) if r["sentences"] else (None, 0.0) for r in rows
    ]
    if args.fit:
        parser = default_reader()
        preds = [
            (s, c) if s and span_fits(r["kind"], s, r["sentences"], parser) else (None, 0.0)
            for r, (s, c) in zip(rows, preds, strict=True)
        ]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_kind[r["kind"] or "abstained"].append(i)
    for t in THRESHOLDS:
        for mode in MODES:
            line = [f"t={t:.2f} {mode:12}"]
            for kind, idx in [("all", list(range(len(rows)))), *sorted(by_kind.items())]:
                ems = []
                for i in idx:
                    r, (span, conf) = rows[i], preds[i]
                    if r["abstained"]:
                        continue
                    read = span and conf >= t and r["kind"] in READ_KINDS
                    short = span if read else None
                    if mode == "rules+reader" and r["rule_short"]:
                        short = r["rule_short"]
                    if short is None and (mode != "reader" or r["kind"] == "yesno"):
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
