"""`newsbot eval`: the command-line side of retrieval.evaluation."""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from bot import render
from retrieval.config import Settings, answer_for
from retrieval.embeddings import make_embedder
from retrieval.errors import InputError
from retrieval.evaluation import (
    Report,
    TurnOutcome,
    conversation_scores,
    eval_service,
    load_conversations,
    load_questions,
    refuse_empty_corpus,
    run_conversations,
    run_questions,
    tradeoff,
)


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Index the dataset's corpus, ask every question, print the scores."""
    questions_file = args.dataset / "questions.jsonl"
    if not questions_file.exists():
        raise InputError(f"{questions_file} does not exist")
    questions = load_questions(questions_file, args.limit, args.offset)
    threshold = answer_for(settings).threshold
    levels = [float(t) for t in args.thresholds.split(",") if t.strip()]
    # Answer with the lowest threshold asked for, so every level can be scored afterwards
    # (an abstained answer has no text to score at a lower threshold).
    update: dict[str, object] = {"abstain_threshold": min([threshold, *levels])}
    if args.backend:
        update["backend"] = args.backend
    settings = settings.model_copy(update={"answer": settings.answer.model_copy(update=update)})
    embedder = make_embedder(settings.embedding)
    service, tmp = eval_service(settings, args.dataset, embedder)
    try:
        if tmp is None:
            print(
                "no corpus.jsonl in the dataset: evaluating on the configured articles",
                file=sys.stderr,
            )
        ingested = service.ensure_index(progress=True)
        if ingested is not None:
            print(render.ingest_text(ingested, verbose=False), file=sys.stderr)
        docs = ", ".join(map(str, settings.paths.docs))
        source = str(args.dataset / "corpus.jsonl") if tmp is not None else docs
        refuse_empty_corpus(service.stats()["articles"], source)
        service.ask("warm-up question")  # the first call pays one-off costs
        report = Report(threshold=threshold)
        with tqdm(total=len(questions), desc="questions", file=sys.stderr) as bar:
            report.outcomes = list(run_questions(service, questions, lambda _: bar.update()))
        conversations_file = args.dataset / "conversations.jsonl"
        extra = {}
        turns: list[TurnOutcome] = []
        if conversations_file.exists():
            # The same slice of the conversations as of the questions (their first turns).
            conversations = load_conversations(conversations_file, args.limit, args.offset)
            with tqdm(total=len(conversations), desc="conversations", file=sys.stderr) as bar:
                turns = list(run_conversations(service, conversations, lambda _: bar.update()))
            extra = conversation_scores(turns)
    finally:
        if tmp is not None:
            tmp.cleanup()
    result = report.as_json()
    result.update(extra)
    result["dataset"] = str(args.dataset)
    if args.offset:
        result["offset"] = args.offset
    result["backend"] = settings.answer.backend
    result["abstain_threshold"] = threshold
    if levels:
        result["tradeoff"] = tradeoff(report.outcomes, levels)
    if args.details:
        with args.details.open("w", encoding="utf-8") as f:
            for o in report.outcomes:
                f.write(
                    json.dumps(
                        {
                            "id": o.question.id,
                            "question": o.question.question,
                            "answers": o.question.answers,
                            "evidence_ids": o.question.evidence_ids,
                            "answerable": o.question.answerable,
                            "ranked_ids": o.ranked_ids,
                            "answer": o.answer.model_dump(),
                        }
                    )
                    + "\n"
                )
            for t in turns:
                f.write(
                    json.dumps(
                        {
                            "id": t.question.id,
                            "turn": t.turn,
                            "question": t.question.question,
                            "answers": t.question.answers,
                            "kind": t.question.kind,
                            "answerable": t.question.answerable,
                            "right": t.right,
                            "answer": t.answer.model_dump(),
                        }
                    )
                    + "\n"
                )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        if key != "tradeoff":
            print(f"{key:>20}: {value}")
    for row in result.get("tradeoff", []):
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0
