"""Follow alerts (`retrieval.follows`): relevance of a new article to a followed topic, and
the cost of matching one article against 1,000 follows.

The labelled set is built from a multi-hop corpus (default: ../shared/eval/multihop_sample,
326 articles): every answer of an "inference" question names the thing its evidence
articles are about ("Sam Bankman-Fried", "Google", "Taylor Swift"); that name is a topic,
and the union of the evidence articles of its questions are its positives. Each topic is
scored against every article. Two readings of the other articles:

- strict: every article not in the topic's evidence is a negative (an article naming
  Google that no question used counts as a false alarm: precision is a lower bound);
- lenient: articles not in the evidence that name the topic (its words, case-folded) are
  left out, neither right nor wrong (precision nearer the truth);
- named: an article is relevant when it is in the evidence or names the topic; nothing is
  left out (recall then also counts the articles that only name it).

The topics are split in two halves (alternately, by name): the threshold and the dense
weight are chosen on the first (the highest recall with lenient precision >= 0.90) and
reported on the second, which was not looked at.

Timing: 1,000 follows across 200 chats (topics cut from the corpus's titles), matching one
new article (its vectors and terms, the matrix product, the best follow per chat, and a
quote for every chat it alerts), per article over the corpus: median and p95.

Run from the repo root:
`.venv/bin/python bench/follows.py [--corpus ../shared/eval/multihop_sample] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.config import load_settings
from retrieval.embeddings import make_embedder
from retrieval.evaluation import eval_service
from retrieval.follows.matcher import TopicMatcher, article_view
from retrieval.follows.service import Follows
from retrieval.follows.store import FollowStore
from retrieval.lexical import terms

_DEFAULT = Path(__file__).resolve().parents[2] / "shared/eval/multihop_sample"
_WEIGHTS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]
_TARGET_P, _TARGET_R = 0.90, 0.70


def labelled_topics(corpus: Path) -> dict[str, set[str]]:
    """Topic → positive article ids, from the inference questions' answers and evidence."""
    topics: dict[str, set[str]] = {}
    for line in (corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q.get("type") != "inference_query" or not q.get("answers"):
            continue
        name = q["answers"][0].strip().rstrip(".")
        if not name[:1].isupper() or name == "Companies":
            continue
        topics.setdefault(name, set()).update(q["evidence_ids"])
    return {t: ids for t, ids in sorted(topics.items()) if len(ids) >= 2}


def curve(
    scores: np.ndarray, labels: np.ndarray, keep: np.ndarray, thresholds: np.ndarray
) -> list[dict[str, float]]:
    """Precision and recall at each threshold over the kept (topic, article) pairs."""
    s, y = scores[keep], labels[keep]
    out = []
    for t in thresholds:
        hit = s >= t
        tp = int((hit & y).sum())
        p = tp / hit.sum() if hit.sum() else 1.0
        r = tp / y.sum() if y.sum() else 0.0
        out.append(
            {"threshold": round(float(t), 3), "precision": p, "recall": r, "alerts": int(hit.sum())}
        )
    return out


def best(points: list[dict[str, float]]) -> dict[str, float] | None:
    """The point with the highest recall whose precision is at least the target."""
    ok = [p for p in points if p["precision"] >= _TARGET_P]
    return max(ok, key=lambda p: (p["recall"], p["threshold"])) if ok else None


def relevance(service: Any, topics: dict[str, set[str]]) -> dict[str, Any]:
    """Score every topic against every article; tune on one half, report the other."""
    index = service.retriever.index
    names = list(topics)
    vectors = service.embedder.encode(names)
    matcher = TopicMatcher(vectors, names, index.idf, 0.5)
    chunks_of: dict[str, list[int]] = {}
    for c in index.chunks:
        chunks_of.setdefault(c.article_id, []).append(c.row)
    ids = sorted(index.articles)
    dense = np.zeros((len(names), len(ids)))
    lexical = np.zeros((len(names), len(ids)))
    for j, aid in enumerate(ids):
        dense[:, j], lexical[:, j] = matcher.parts(article_view(index, aid, chunks_of[aid]))
    labels = np.array([[aid in topics[t] for aid in ids] for t in names])
    mentions = np.array(
        [
            [
                set(terms(t)) <= set(terms(f"{index.articles[a].title} {index.articles[a].text}"))
                for a in ids
            ]
            for t in names
        ]
    )
    halves = {
        "tune": np.array([i % 2 == 0 for i in range(len(names))]),
        "held_out": np.array([i % 2 == 1 for i in range(len(names))]),
    }
    thresholds = np.round(np.arange(0.20, 0.96, 0.01), 3)
    every = np.ones_like(labels)
    # Each reading: which articles are relevant, and which are scored at all.
    readings = {
        "strict": (labels, every),
        "lenient": (labels, labels | ~mentions),
        "named": (labels | mentions, every),
    }
    grid = []
    for w in _WEIGHTS:
        scores = w * dense + (1 - w) * lexical
        keep = halves["tune"][:, None] & readings["lenient"][1]
        point = best(curve(scores, labels, keep, thresholds))
        grid.append({"dense_weight": w, "tune_lenient_best": point})
    chosen = max(
        (g for g in grid if g["tune_lenient_best"]),
        key=lambda g: (
            g["tune_lenient_best"]["recall"],
            g["tune_lenient_best"]["precision"],
            g["dense_weight"],  # on a tie, the dense reading: lexical alone never decides
        ),
    )
    w, t = chosen["dense_weight"], chosen["tune_lenient_best"]["threshold"]
    scores = w * dense + (1 - w) * lexical
    report: dict[str, Any] = {
        "topics": len(names),
        "articles": len(ids),
        "positives": int(labels.sum()),
        "topics_by_half": {
            h: [n for n, k in zip(names, m, strict=True) if k] for h, m in halves.items()
        },
        "grid": grid,
        "chosen": {"dense_weight": w, "threshold": t},
    }
    for half, rows in halves.items():
        for reading, (relevant, keep) in readings.items():
            pts = curve(scores, relevant, rows[:, None] & keep, thresholds)
            at = next(p for p in pts if p["threshold"] == t)
            report[f"{half}_{reading}"] = {
                "at_chosen": at,
                "curve": [p for p in pts if round(p["threshold"] * 100) % 5 == 0],
            }
    return report


def timing(
    service: Any, n_follows: int = 1000, n_chats: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Matching one new article against ``n_follows`` follows across ``n_chats`` chats."""
    rng = random.Random(seed)
    index = service.retriever.index
    titles = [a.title.split() for a in index.articles.values() if len(a.title.split()) >= 3]
    topics = []
    for _ in range(n_follows):
        words = rng.choice(titles)
        k = rng.randint(2, min(5, len(words)))
        start = rng.randint(0, len(words) - k)
        topics.append(" ".join(words[start : start + k]))
    with tempfile.TemporaryDirectory() as tmp:
        store = FollowStore(Path(tmp) / "follows.sqlite")
        follows = Follows(service, store, service.settings.follows)
        vectors = service.embedder.encode(topics)
        model = service.settings.embedding.model
        for i, (topic, v) in enumerate(zip(topics, vectors, strict=True)):
            store.add(f"bench:{i % n_chats}", topic, model, v, limit=10_000)
        t0 = time.perf_counter()
        matching = follows._matching_for(index)
        build_ms = (time.perf_counter() - t0) * 1000
        ms, alerts = [], 0
        for aid in sorted(index.articles):
            t = time.perf_counter()
            alerts += len(follows._match(index, matching, aid, aid))
            ms.append((time.perf_counter() - t) * 1000)
        store.close()
    ms.sort()
    return {
        "follows": n_follows,
        "chats": n_chats,
        "articles": len(ms),
        "build_ms": round(build_ms, 1),
        "match_ms_median": round(statistics.median(ms), 2),
        "match_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "match_ms_max": round(ms[-1], 2),
        "alerts_per_article": round(alerts / len(ms), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=_DEFAULT)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text("{}\n", encoding="utf-8")
        settings = load_settings(cfg)
        embedder = make_embedder(settings.embedding)
        service, holder = eval_service(settings, args.corpus.resolve(), embedder)
        service.ingest(progress=False)
        topics = labelled_topics(args.corpus)
        out = {"relevance": relevance(service, topics), "timing": timing(service)}
        if holder is not None:
            holder.cleanup()
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    rel = out["relevance"]
    print(f"{rel['topics']} topics x {rel['articles']} articles, {rel['positives']} positives")
    print(f"chosen on the tune half: {rel['chosen']}")
    for key in (
        "tune_lenient",
        "tune_strict",
        "tune_named",
        "held_out_lenient",
        "held_out_strict",
        "held_out_named",
    ):
        at = rel[key]["at_chosen"]
        print(f"{key:18} P={at['precision']:.3f} R={at['recall']:.3f} alerts={at['alerts']}")
    print("held-out lenient curve:")
    for p in rel["held_out_lenient"]["curve"]:
        print(f"  t={p['threshold']:.2f} P={p['precision']:.3f} R={p['recall']:.3f}")
    print(f"timing: {out['timing']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
