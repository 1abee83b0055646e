"""Copy detection (`retrieval.feeds.copies`) on a synthetic set of syndicated copies.

From every article of a corpus (default: ../shared/eval/multihop_sample, 326 articles) the
bench makes five copies: a new headline, boilerplate added (an agency credit before, a
newsletter pitch after), the first 70% of the words, one paragraph (line, else sentence)
dropped, and all of these at once (an agency copy). Originals and copies are shuffled and
fed to one `CopyDetector` as an ingest would (each joins the story of a verified copy or
starts its own). The corpus's own articles are the "different reports": many share a
topic and quotes (it is a multi-hop set built from several outlets covering the same
events); the bench also lists how many same-topic pairs there are (word-set Jaccard
>= 0.2) and how many of them were merged.

Scores over pairs of documents: precision and recall of "same story"; merges = predicted
stories holding copies of two or more different originals; ARI against the true stories.
Targets: precision >= 0.98, recall >= 0.90, 0 merges.

Run from the repo root:
`.venv/bin/python bench/copies.py [--corpus ../shared/eval/multihop_sample] [--seed 0] [--json]`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.feeds.copies import CopyDetector

_DEFAULT = Path(__file__).resolve().parents[2] / "shared/eval/multihop_sample"
_BEFORE = [
    "NEW YORK (AP) —",
    "(Reuters) -",
    "This story was originally published by The Associated Press.",
]
_AFTER = [
    "Copyright 2023 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed without permission.",
    "Sign up for our daily newsletter to get the top stories delivered to your inbox. "
    "Follow us on social media for more updates.",
    "Reporting by our wire staff; editing by the news desk. Our standards: the Trust Principles.",
]


def copies_of(doc: dict[str, Any], rng: random.Random) -> list[tuple[str, str]]:
    """The five copies of one article, as (kind, text)."""
    text = doc["text"]
    words = text.split()
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 2:
        lines = re.split(r"(?<=[.!?])\s+", text)
    dropped = list(lines)
    if len(dropped) > 2:
        del dropped[rng.randrange(1, len(dropped))]
    kept = "\n".join(dropped)
    return [
        ("headline", text),
        ("boilerplate", f"{rng.choice(_BEFORE)} {text}\n{rng.choice(_AFTER)}"),
        ("truncated", " ".join(words[: max(1, round(len(words) * 0.7))])),
        ("dropped", kept),
        # All at once, as an agency copy often is: dateline, a paragraph dropped, credit.
        ("syndicated", f"{rng.choice(_BEFORE)} {kept}\n{rng.choice(_AFTER)}"),
    ]


def ari(truth: list[str], pred: list[str]) -> float:
    """Adjusted Rand index of two labelings."""

    def pairs(n: int) -> float:
        return n * (n - 1) / 2

    table = Counter(zip(truth, pred, strict=True))
    sum_ij = sum(pairs(n) for n in table.values())
    sum_a = sum(pairs(n) for n in Counter(truth).values())
    sum_b = sum(pairs(n) for n in Counter(pred).values())
    expected = sum_a * sum_b / pairs(len(truth))
    top = (sum_a + sum_b) / 2
    return 1.0 if top == expected else (sum_ij - expected) / (top - expected)


def run(corpus: Path, seed: int) -> dict[str, Any]:
    """Build the set, detect, score."""
    rng = random.Random(seed)
    docs = [json.loads(line) for line in (corpus / "corpus.jsonl").open(encoding="utf-8")]
    items: list[tuple[str, str, str]] = []  # (key, true story, text)
    for d in docs:
        items.append((d["id"], d["id"], d["text"]))
        items += [(f"{d['id']}~{k}", d["id"], t) for k, t in copies_of(d, rng)]
    rng.shuffle(items)
    detector = CopyDetector()
    t0 = time.perf_counter()
    pred = {key: detector.add(key, text) for key, _, text in items}
    seconds = time.perf_counter() - t0
    truth = {key: story for key, story, _ in items}
    keys = list(truth)
    tp = fp = fn = 0
    by_pred: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        by_pred[pred[k]].append(k)
    by_truth: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        by_truth[truth[k]].append(k)
    for members in by_pred.values():
        for a, b in itertools.combinations(members, 2):
            if truth[a] == truth[b]:
                tp += 1
            else:
                fp += 1
    for members in by_truth.values():
        for a, b in itertools.combinations(members, 2):
            fn += pred[a] != pred[b]
    merges = sum(1 for m in by_pred.values() if len({truth[k] for k in m}) > 1)
    words = {d["id"]: set(re.findall(r"\w+", d["text"].casefold())) for d in docs}
    topical = [
        (a, b)
        for a, b in itertools.combinations(words, 2)
        if len(words[a] & words[b]) / max(1, len(words[a] | words[b])) >= 0.2
    ]
    topical_merged = sum(1 for a, b in topical if pred[a] == pred[b])
    return {
        "articles": len(docs),
        "documents": len(items),
        "true_stories": len(by_truth),
        "predicted_stories": len(by_pred),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "merges": merges,
        "ari": round(ari([truth[k] for k in keys], [pred[k] for k in keys]), 4),
        "same_topic_pairs": len(topical),
        "same_topic_pairs_merged": topical_merged,
        "ms_per_document": round(1000 * seconds / len(items), 3),
        "missed_by_kind": dict(
            Counter(k.split("~")[1] for k in keys if "~" in k and pred[k] != pred[truth[k]])
        ),
    }


def main() -> int:
    """Print the scores."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=_DEFAULT, help="folder with corpus.jsonl")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = run(args.corpus, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
