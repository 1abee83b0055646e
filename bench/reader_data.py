"""Record what the extractive answerer quotes for each SQuAD question: the question, its
kind, the sentences the short answer is read from, today's rule-made short answer and the
gold answers (the training and validation data of bench/train_reader.py).

    .venv/bin/python bench/reader_data.py [DATASET_DIR] --out /tmp/reader/quoted.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.answering import shorts  # noqa: E402
from retrieval.config import load_settings  # noqa: E402
from retrieval.embeddings import make_embedder  # noqa: E402
from retrieval.evaluation import eval_service, load_questions  # noqa: E402


def main() -> None:
    """Run the answerer over the dataset's answerable questions; one JSON line each."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dataset", nargs="?", type=Path, default=REPO.parent / "shared/eval/squad_dev_a")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    calls: list[tuple[str, list[str], str]] = []
    in_kind = shorts.answer_in_kind  # what the answerer's short answer reads first

    def recording(kind, sentences, question):  # type: ignore[no-untyped-def]
        calls.append((kind, list(sentences), question))
        return in_kind(kind, sentences, question)

    shorts.answer_in_kind = recording  # type: ignore[assignment]
    settings = load_settings(REPO / "config.yaml")
    embedder = make_embedder(settings.embedding)
    service, tmp = eval_service(settings, args.dataset, embedder)
    try:
        service.ingest(progress=False)
        questions = load_questions(args.dataset / "questions.jsonl")
        with args.out.open("w", encoding="utf-8") as out:
            for i, q in enumerate(questions):
                calls.clear()
                answer = service.ask(q.question, time_aware=False)
                kind, sentences = (calls[-1][0], calls[-1][1]) if calls else (None, [])
                row = {
                    "n": i,
                    "id": q.id,
                    "question": q.question,
                    "kind": kind,
                    "sentences": sentences,
                    "rule_short": answer.short_answer,
                    "abstained": answer.abstained,
                    "answers": q.answers,
                    "evidence_ids": q.evidence_ids,
                    "cited": [c.article_id for c in answer.citations],
                }
                out.write(json.dumps(row) + "\n")
                if i % 500 == 0:
                    print(f"{i}/{len(questions)}", file=sys.stderr)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
