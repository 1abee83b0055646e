"""Fit the extractive answerer's sentence-scoring weights, honestly: fit on the first N
questions of a dataset, report on the rest (held out).

    .venv/bin/python bench/tune_answerer.py [DATASET_DIR] [--train 2000] [--config FILE]

``--config`` fits for another index (e.g. ``bench/from-sentences-int8.yaml``: chunk vectors
made from sentences); ``--train 2349`` splits squad_dev_a where its articles do (questions
0-2348 and 2349-5664 share no article).

Prints the fitted weights (to copy into ``Weights`` in retrieval/answering/extractive.py)
and, for the current and the fitted weights, the held-out share of questions whose best
sentence comes from a gold article and contains a gold answer.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.answering.extractive import FEATURES, Weights  # noqa: E402
from retrieval.config import load_settings  # noqa: E402
from retrieval.embeddings import make_embedder  # noqa: E402
from retrieval.evaluation import contains_answer, eval_service, load_questions  # noqa: E402


def collect(
    dataset: Path, config: Path
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per question: the feature matrix of its candidate sentences and two label vectors
    (sentence from a gold article; that and it contains a gold answer)."""
    settings = load_settings(config)
    embedder = make_embedder(settings.embedding)
    service, tmp = eval_service(settings, dataset, embedder)
    try:
        service.ingest(progress=True)
        answerer = service._current().answerer
        feats, gold_article, gold_answer = [], [], []
        questions = [q for q in load_questions(dataset / "questions.jsonl") if q.answerable]
        for i, q in enumerate(questions):
            qvec = embedder.encode([q.question])[0]
            hits = service.retriever.search(q.question, qvec=qvec)
            rows = answerer.features(q.question, qvec, hits)
            feats.append(
                np.array([r[3] for r in rows], dtype=np.float64).reshape(-1, len(FEATURES))
            )
            art = np.array([r[0].article.id in q.evidence_ids for r in rows], dtype=bool)
            ans = np.array([contains_answer(r[2], q.answers) for r in rows], dtype=bool)
            gold_article.append(art)
            gold_answer.append(art & ans)
            if i % 500 == 0:
                print(f"{i}/{len(questions)}", file=sys.stderr)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return feats, gold_article, gold_answer


def top1(weights: np.ndarray, feats: list[np.ndarray], labels: list[np.ndarray]) -> float:
    """Share of questions whose best-scored candidate is labelled true."""
    ok = [lab[int(np.argmax(f @ weights))] for f, lab in zip(feats, labels, strict=True) if len(f)]
    return float(np.mean(ok))


def fit(feats: list[np.ndarray], labels: list[np.ndarray]) -> np.ndarray:
    """Softmax (listwise) regression: maximise the log-probability of the labelled
    candidates within each question, by plain gradient ascent."""
    w = np.array(Weights().values, dtype=np.float64)
    data = [(f, lab) for f, lab in zip(feats, labels, strict=True) if len(f) and lab.any()]
    lr = 0.5
    for _ in range(300):
        grad = np.zeros_like(w)
        for f, lab in data:
            z = f @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            target = lab / lab.sum()
            grad += f.T @ (target - p)
        w += lr * grad / len(data) - 1e-3 * w
    return w


def main() -> None:
    """Collect features, fit on the training questions, report on the held-out ones."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared/eval/squad_dev_a")
    p.add_argument("--train", type=int, default=2000, help="questions to fit on (the first N)")
    p.add_argument("--config", type=Path, default=REPO / "config.yaml", help="the index's config")
    args = p.parse_args()
    feats, gold_article, gold_answer = collect(args.dataset, args.config)
    n = args.train
    current = np.array(Weights().values)
    fitted = fit(feats[:n], gold_answer[:n])
    print("features:", ", ".join(FEATURES))
    print("fitted weights:", "(" + ", ".join(f"{x:.3f}" for x in fitted) + ")")
    for name, w in (("current", current), ("fitted", fitted)):
        print(
            f"{name:>8}: held-out ({len(feats) - n} questions) best sentence from a gold "
            f"article {top1(w, feats[n:], gold_article[n:]):.4f}, "
            f"also holding the answer {top1(w, feats[n:], gold_answer[n:]):.4f}; "
            f"on the training questions {top1(w, feats[:n], gold_article[:n]):.4f}"
        )


if __name__ == "__main__":
    main()
