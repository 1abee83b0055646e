"""The postgres backend side by side with the local one, in one run (issue 22): ingest time,
article-level hit@1 / hit@5 / MRR@10 of the full answer path (``ask_traced``, depth 10, as
`newsbot eval` asks) and its warm per-question p50 / p95, questions interleaved.

PostgreSQL: ``--database-url`` (default $NEWSBOT_DATABASE_URL), else a private server that
the pgserver wheel starts in a temp folder (PostgreSQL 16 with pgvector 0.6.2), on this
machine. The database's newsbot tables are emptied by the rebuild.

Run from the repo root:
``HF_HUB_OFFLINE=1 .venv/bin/python bench/pg_backend.py --limit 1000``
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _measure

from retrieval.config import load_settings
from retrieval.embeddings import make_embedder
from retrieval.evaluation import load_questions, ranked_article_ids
from retrieval.pg.migrate import upgrade_database
from retrieval.pg.store import PgStore
from retrieval.service import NewsService
from retrieval.store import IndexStore

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "eval" / "squad_dev_a"


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given database, or a private pgserver one for the run."""
    if url:
        yield url
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="newsbot-pg-") as d:
        server = pgserver.get_server(Path(d), cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def timing_commits(totals: dict[str, float]) -> Iterator[None]:
    """Add each store's commit time (writing, not embedding) to ``totals``."""
    originals = {cls: cls.commit for cls in (IndexStore, PgStore)}

    def timed(cls: type, original: Callable[..., str]) -> Callable[..., str]:
        def commit(self: Any, *args: Any, **kwargs: Any) -> str:
            t0 = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                totals[cls.__name__] = totals.get(cls.__name__, 0.0) + time.perf_counter() - t0

        return commit

    for cls, original in originals.items():
        cls.commit = timed(cls, original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.commit = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    """Ingest the dataset's corpus into both backends, ask every question of both."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    p.add_argument("--limit", type=int, default=1000, help="first N questions (0: all)")
    p.add_argument("--database-url", default=os.environ.get("NEWSBOT_DATABASE_URL"))
    args = p.parse_args(argv)
    questions = load_questions(args.dataset / "questions.jsonl", args.limit or None)
    corpus = args.dataset / "corpus.jsonl"
    empty = Path(tempfile.mkdtemp(prefix="newsbot-bench-")) / "config.yaml"
    empty.write_text("sessions:\n  path: ':memory:'\n", encoding="utf-8")
    out: dict[str, Any] = {"dataset": str(args.dataset), "questions": len(questions)}
    with database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        base = {"paths": {"docs": [str(corpus)], "index_dir": str(Path(tmp) / "index")}}
        local_settings = load_settings(empty, **base)
        pg_settings = load_settings(
            empty, **base, store={"backend": "postgres"}, database={"url": url}
        )
        upgrade_database(pg_settings.database)
        embedder = make_embedder(local_settings.embedding)
        services = {
            "local": NewsService(local_settings, embedder),
            "postgres": NewsService(pg_settings, embedder),
        }
        commits: dict[str, float] = {}
        with timing_commits(commits):
            for name, service in services.items():
                t0 = time.perf_counter()
                report = service.ingest(rebuild=True, progress=False)
                out[f"{name}_ingest_s"] = round(time.perf_counter() - t0, 1)
                out[f"{name}_chunks"] = report.chunks
                print(f"{name}: ingested {report.chunks} chunks", file=sys.stderr)
        out["local_commit_s"] = round(commits.get("IndexStore", 0.0), 2)
        out["postgres_commit_s"] = round(commits.get("PgStore", 0.0), 2)

        def asker(service: NewsService) -> Callable[[str], Any]:
            return lambda q: service.ask_traced(q, depth=10, time_aware=False)[1]

        runs = _measure.timed_runs(
            questions, {n: (asker(s), ranked_article_ids) for n, s in services.items()}
        )
        for name, (ranked, ms) in runs.items():
            for key, value in {**_measure.score(questions, ranked), **_measure.latency(ms)}.items():
                out[f"{name}_{key}"] = round(value, 4 if "@" in key else 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
