"""What the short-answer reader says about each question of a slice of bench/reader_data.py's
output, with the general signals an answer/no-answer policy may weigh (bench/reader_policy.py):
the span and its confidence, the probability of "no answer", how sure the reader is of the
span's start and of its end, how much of the span mass overlaps the best span, the span's
length, which quoted sentence it sits in, how many of its words the question already has,
whether it is an entity or noun chunk of its sentence (the project's parser), and whether
it is exactly right (SQuAD exact match; the label, never a feature).

    .venv/bin/python bench/reader_signals.py /tmp/r/quoted.jsonl --rows 5103:5665 \\
        --out /tmp/r/sig-val.json [--weights FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.answering.parse import SentenceReader, default_reader  # noqa: E402
from retrieval.answering.reader import WEIGHTS, SpanReader, best_span  # noqa: E402
from retrieval.answering.shorts import READ_KINDS  # noqa: E402
from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path  # noqa: E402
from retrieval.evaluation import squad_em_f1  # noqa: E402

_WORD = re.compile(r"\w+")


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def token_signals(start: np.ndarray, end: np.ndarray, enc: Any, span: str, context: str) -> dict:
    """Start / end certainty and the overlapping-span mass of ``span`` (found in ``context``)."""
    allowed = [0] + [i for i, sid in enumerate(enc.sequence_ids) if sid == 1]
    ps = softmax(start[allowed])
    pe = softmax(end[allowed])
    a = context.find(span)
    b = a + len(span)
    offsets = [enc.offsets[i] for i in allowed]
    inside = np.array(
        [k > 0 and offsets[k][0] < b and a < offsets[k][1] for k in range(len(allowed))]
    )
    first = int(np.argmax(inside)) if inside.any() else 0
    last = len(inside) - 1 - int(np.argmax(inside[::-1])) if inside.any() else 0
    return {
        "p_start": float(ps[first]),
        "p_end": float(pe[last]),
        # How much start and end probability falls inside the span at all (location, not edges).
        "mass": float(ps[inside].sum() * pe[inside].sum()),
        "p_null_start": float(ps[0]),
    }


def parse_signals(parser: SentenceReader | None, span: str, sentences: list[str]) -> dict:
    """Whether the span is exactly an entity or a noun chunk of its sentence."""
    sentence = next((s for s in sentences if span in s), None)
    if parser is None or sentence is None:
        return {"entity": 0.0, "chunk": 0.0}
    parsed = parser.parse([sentence])[0]
    texts = {parsed.span_text(e) for e in parsed.entities}
    chunks = {parsed.span_text(c) for c in parsed.chunks}
    bare = re.sub(r"^(the|a|an) ", "", span, flags=re.I)
    return {
        "entity": float(span in texts or bare in texts),
        "chunk": float(span in chunks or bare in chunks or any(c.endswith(span) for c in chunks)),
    }


def signals(reader: SpanReader, parser: SentenceReader | None, row: dict) -> dict:
    """One row's signals (the span is None when the reader gives none)."""
    out: dict[str, Any] = {"n": row["n"], "kind": row["kind"], "rule_short": row["rule_short"]}
    out["abstained"] = row["abstained"]
    out["rule_em"] = squad_em_f1(row["rule_short"], row["answers"])[0] if row["rule_short"] else 0
    sentences = row["sentences"]
    if not sentences or row["kind"] not in READ_KINDS:
        return out | {"span": None}
    start, end, enc = reader.logits(row["question"], sentences)
    span, conf = best_span(start, end, enc, sentences)
    out |= {"span": span, "conf": conf}
    if not span:
        return out
    context = " ".join(sentences)
    q_words = {w.lower() for w in _WORD.findall(row["question"])}
    words = [w.lower() for w in _WORD.findall(span)]
    out |= token_signals(start, end, enc, span, context)
    out |= parse_signals(parser, span, sentences)
    out |= {
        "words": len(words),
        "in_question": sum(w in q_words for w in words) / max(1, len(words)),
        "sentence": next(i for i, s in enumerate(sentences) if span in s),
        "em": squad_em_f1(span, row["answers"])[0],
    }
    return out


def main() -> None:
    """Write one JSON list of the rows' signals."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("data", type=Path)
    p.add_argument("--rows", default="5103:5665", help="a slice of the rows, FROM:TO")
    p.add_argument("--weights", type=Path, default=WEIGHTS)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    lo, hi = (int(x) for x in args.rows.split(":"))
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8")][lo:hi]
    reader = SpanReader(resolve_model_path(DEFAULT_MODEL), weights=args.weights)
    parser = default_reader()
    out = [signals(reader, parser, r) for r in rows]
    args.out.write_text(json.dumps(out))
    print(f"{len(out)} rows -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
