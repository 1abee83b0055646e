"""Distinct stories in the top 5 with copies of one story collapsed (retrieval.feeds.collapse).

A corpus with syndicated copies added: every article of ../shared/eval/multihop_sample
(326) plus two copies of each, made as `bench/copies.py` makes them (an agency copy: a
dateline, a paragraph dropped, a credit line; and the same text under a new headline), each
dated a day and two days later and credited to "AP" and "Yahoo News". The stories are found
as the poller finds them at ingest (one `CopyDetector`, articles in date order), written to
the feed state the service reads, and the multihop questions are asked twice: retrieval
without collapsing (the retriever's top 5) and the service's retrieval with it.

Reported, before and after: the mean number of distinct true stories (an article and its
copies) and of distinct articles among the top 5 chunks, story-level hit@5 (a copy of an
evidence article counts), the share of questions whose top 5 holds a story twice, and the
service's retrieval time per question (embedding excluded).

The index (about 1,000 articles) is built once and kept in $NEWSBOT_BENCH_CACHE (default
~/.cache/newsbot-bench/collapse); building it takes a few minutes on two cores.

Run from the repo root:
`HF_HUB_OFFLINE=1 .venv/bin/python bench/collapse.py [--limit 500] [--json]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.copies import copies_of
from retrieval.config import load_settings
from retrieval.evaluation import load_questions
from retrieval.feeds.collapse import state_file
from retrieval.feeds.copies import CopyDetector, shingles, signature
from retrieval.feeds.state import FeedState, StoryMember
from retrieval.service import NewsService

_DEFAULT = Path(__file__).resolve().parents[2] / "shared/eval/multihop_sample"
_CACHE = Path(os.environ.get("NEWSBOT_BENCH_CACHE", Path.home() / ".cache" / "newsbot-bench"))
_OUTLETS = {"syndicated": "AP", "headline": "Yahoo News"}
K = 5


def _later(date: str | None, days: int) -> str | None:
    if not date:
        return None
    return (dt.date.fromisoformat(date[:10]) + dt.timedelta(days=days)).isoformat()


def build_corpus(corpus: Path, seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The articles with their copies, and each one's true story."""
    rng = random.Random(seed)
    docs = [json.loads(line) for line in (corpus / "corpus.jsonl").open(encoding="utf-8")]
    out: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    for d in docs:
        out.append(d)
        truth[d["id"]] = d["id"]
        made = dict(copies_of(d, rng))
        for days, (kind, outlet) in enumerate(_OUTLETS.items(), start=1):
            cid = f"{d['id']}-{kind}"
            title = d["title"] if kind != "headline" else f"{outlet}: {d['title'].lower()}"
            out.append(
                {
                    "id": cid,
                    "title": title,
                    "date": _later(d.get("date"), days),
                    "source": outlet,
                    "url": f"https://{outlet.lower().replace(' ', '')}.example/{cid}",
                    "text": made[kind],
                }
            )
            truth[cid] = d["id"]
    return out, truth


def prepare(folder: Path, articles: list[dict[str, Any]]) -> NewsService:
    """The index over the articles and the feed state's stories (each built once)."""
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    corpus = docs / "corpus.jsonl"
    body = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    if not corpus.exists() or corpus.read_text(encoding="utf-8") != body:
        corpus.write_text(body, encoding="utf-8")
    empty = folder / "config.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    settings = load_settings(empty, paths={"docs": [str(docs)], "index_dir": str(folder / "index")})
    service = NewsService(settings)
    report = service.ensure_index(progress=sys.stderr.isatty())
    if report is not None:
        print(f"indexed {report.articles} articles, {report.chunks} chunks", file=sys.stderr)
    path = state_file(settings.docs_paths)
    assert path is not None
    if not path.exists():
        state = FeedState(path)
        detector = CopyDetector()
        with state.transaction():
            for a in sorted(articles, key=lambda a: (a.get("date") or "9999", a["id"])):
                sig = signature(shingles(a["text"]))
                story = detector.add(a["id"], a["text"], sig)
                state.record_member(
                    StoryMember(a["id"], story, a.get("source"), a.get("date"), sig, a["text"])
                )
        state.close()
    return service


def _twice(ids: list[str], truth: dict[str, str]) -> bool:
    """True when two different articles of one story are among the ids."""
    by_story: dict[str, set[str]] = {}
    for a in ids:
        by_story.setdefault(truth[a], set()).add(a)
    return any(len(v) > 1 for v in by_story.values())


def run(corpus: Path, limit: int | None, seed: int) -> dict[str, Any]:
    """Build, ask, score."""
    articles, truth = build_corpus(corpus, seed)
    service = prepare(_CACHE / "collapse", articles)
    questions = [q for q in load_questions(corpus / "questions.jsonl", limit) if q.evidence_ids]
    service.refresh_stories()
    loaded = service._current()  # the bench times the service's own search, below
    rows: dict[str, list[list[str]]] = {"before": [], "after": []}
    ms: dict[str, list[float]] = {"before": [], "after": []}
    for q in questions:
        qvec = service.embedder.encode([q.question])[0]
        t0 = time.perf_counter()
        before = loaded.retriever.search(q.question, qvec=qvec, k=K)
        t1 = time.perf_counter()
        after = service._search(loaded, q.question, qvec, K, None)
        t2 = time.perf_counter()
        rows["before"].append([h.article.id for h in before])
        rows["after"].append([h.article.id for h in after])
        ms["before"].append(1000 * (t1 - t0))
        ms["after"].append(1000 * (t2 - t1))
    result: dict[str, Any] = {
        "articles": len(articles),
        "chunks": len(loaded.index.chunks),
        "questions": len(questions),
        "stories_with_copies": len(set(service._stories.members)),
    }
    for name, ranked in rows.items():
        stories = [[truth[a] for a in ids] for ids in ranked]
        result[name] = {
            "distinct_stories_top5": round(statistics.mean(len(set(s)) for s in stories), 3),
            "distinct_articles_top5": round(statistics.mean(len(set(r)) for r in ranked), 3),
            "story_twice_in_top5": round(statistics.mean(_twice(ids, truth) for ids in ranked), 3),
            "story_hit_at_5": round(
                statistics.mean(
                    any(s in set(q.evidence_ids) for s in story)
                    for story, q in zip(stories, questions, strict=True)
                ),
                4,
            ),
            "search_ms_p50": round(statistics.median(ms[name]), 2),
        }
    return result


def main() -> int:
    """Print the scores."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=_DEFAULT, help="folder with corpus.jsonl")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = run(args.corpus, args.limit, args.seed)
    print(
        json.dumps(result, indent=2)
        if args.json
        else "\n".join(f"{k}: {v}" for k, v in result.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
