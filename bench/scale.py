"""How the index scales: build indexes of N chunks and time what an operator feels.

    python bench/scale.py --n 10000 40000 [--code DIR ...] [--backend onnx] [--kind auto]

For each N: one-sentence news articles (so N articles = N chunks) made from the sentences of
the shipped corpus (docs_store/multihop-news-2023.jsonl), each varied by a number and given a
date (2019-2024) and one of five sources, in one corpus.jsonl. What is synthetic: the
vectors. A pool of real MiniLM vectors of real sentences is embedded once; every chunk and
sentence vector is a pool vector (picked by a hash of the text) plus Gaussian noise
(sigma 0.03 per dimension), re-normalised, so vectors keep the pool's clustering. Everything
else (chunking, SQLite rows, BM25, FAISS files, checksums) is what ingest really does.

Reported per N: the whole-process `newsbot ingest` that finds nothing new (wall, CPU, peak
RSS) for each --code folder (e.g. before and after a change); adding one article with the
real embedder (whole process); adding one article in-process as the poller and the HTTP API
do (`ingest` of the new file alone, real embedder), `--appends` times, split into embedding
and the rest (reading the index state, writing and publishing, merging), and a reader's
reload of each new snapshot (NewsService.reload, its segments of the one before in memory);
disk size. `--skip-cli` leaves out the whole-process runs.
Then a new process reads the index as a server would, and reports: cold load
(NewsService.reload: verify, read, build the search index); retrieval p50/p95 (question
embedding excluded) unfiltered and with a one-year date window (1/6 of the chunks);
full-answer p50 (`NewsService.ask`, extractive, question embedding included); its peak RSS
while serving (``serving_peak_rss_mib``); recall@10 of the dense chunk search (ANN where a
segment has one) against exact search over the same rows, unfiltered and in the window, on
100 real questions' vectors; its peak RSS after that check too (``read_peak_rss_mib``: the
check reads every vector back, 100k at a time).
`--kind` sets `index.kind` (and `--ann-min` `index.ann_min_chunks`). `--keep DIR` builds
into DIR/n<N> and keeps it; `--reuse DIR` then skips the build and times only the reader's
process on DIR/n<N> (the 1M build takes ~25 min and ~11 GB), e.g. one checkout's reader
against another's on the same index (bench/reformat.py copies an index into the segment
format of the checkout it runs from). `--reuse DIR --noop RUNS --code A B` times only the
no-op ingest, RUNS times per checkout, A and B alternating (every run and the medians).
To time older code in-process, copy this file into that checkout and run it there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retrieval.config import load_settings  # noqa: E402
from retrieval.embeddings import make_embedder  # noqa: E402
from retrieval.ingest import ingest  # noqa: E402
from retrieval.search_index import Filters  # noqa: E402
from retrieval.service import NewsService  # noqa: E402

SOURCES = ["Example Wire", "City Paper", "The Verge", "Harbour Times", "Northern Post"]
QUERIES = [
    "When is the accreditation withdrawn?",
    "Who won the election?",
    "What did Apple say about Google?",
    "How many people were injured in the storm?",
    "Which team won the final?",
]
POOL = 512
SIGMA = 0.03


def real_sentences() -> list[str]:
    """Sentences of the shipped news corpus (30 to 300 characters)."""
    out = []
    with (REPO / "docs_store" / "multihop-news-2023.jsonl").open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            out += [s for s in re.split(r"(?<=[.!?])\s+", text) if 30 <= len(s) <= 300]
    return out


def write_corpus(path: Path, n: int, sentences: list[str]) -> None:
    """n one-sentence articles, streamed to a JSONL file."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            s = sentences[i % len(sentences)]
            year = 2019 + (i * 7919) % 6
            record = {
                "id": f"a{i}",
                "title": f"Report {i}",
                "date": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "source": SOURCES[i % len(SOURCES)],
                "text": f"{s} (item {i})",
            }
            f.write(json.dumps(record) + "\n")


class Perturbed:
    """Stands in for the embedder's encode: a real pool vector plus noise (see module doc)."""

    def __init__(self, pool: np.ndarray) -> None:
        self.pool = pool

    def __call__(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.pool.shape[1]), dtype=np.float32)
        for i, t in enumerate(texts):
            h = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(h)
            v = self.pool[h % len(self.pool)] + rng.normal(0, SIGMA, self.pool.shape[1])
            out[i] = v / np.linalg.norm(v)
        return out


def run_cli(code: Path, config: Path, *args: str) -> dict[str, float]:
    """One whole `newsbot` process: wall seconds, CPU seconds and peak RSS (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["PYTHONPATH"] = str(code)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *args],
        cwd=code,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    cpu = user + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "user_s": round(user, 2),
        "rss_mib": after.ru_maxrss // 1024,
    }


def noop_runs(config: Path, codes: list[Path], runs: int) -> dict[str, object]:
    """``runs`` whole-process ingests that find nothing new per checkout, the checkouts
    alternating (so that a busy spell of the machine hits both): every run and the medians."""
    each: dict[str, list[dict[str, float]]] = {str(c): [] for c in codes}
    for _ in range(runs):
        for code in codes:
            each[str(code)].append(run_cli(code, config, "ingest", "--quiet"))
    return {
        code: {
            "median_wall_s": statistics.median(r["wall_s"] for r in results),
            "median_user_s": statistics.median(r["user_s"] for r in results),
            "runs": results,
        }
        for code, results in each.items()
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    qs = statistics.quantiles(samples, n=20)
    return round(statistics.median(samples) * 1000, 1), round(qs[18] * 1000, 1)


def add_articles(settings: object, embedder: object, docs: Path, count: int) -> dict[str, object]:
    """Add ``count`` one-article files one by one, as the poller does; time each add, and a
    reader's reload of the snapshot it published (a NewsService that already holds the one
    before, as a server or the poller does)."""
    reader = NewsService(settings, embedder)  # type: ignore[arg-type]
    reader.reload()
    real = embedder.encode  # type: ignore[attr-defined]
    spent = [0.0]

    def timed(texts: list[str], *args: object, **kwargs: object) -> np.ndarray:
        t = time.perf_counter()
        try:
            return real(texts, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    embedder.encode = timed  # type: ignore[attr-defined]
    totals, embeds, reloads = [], [], []
    sentences = real_sentences()
    for i in range(count):
        path = docs / f"added-{i}.jsonl"
        record = {"id": f"added-{i}", "date": "2024-06-01", "source": SOURCES[i % 5]}
        record["text"] = f"{sentences[(i * 37) % len(sentences)]} (added {i})"
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        spent[0] = 0.0
        t = time.perf_counter()
        report = ingest(settings, embedder, [path], progress=False)  # type: ignore[arg-type]
        totals.append(time.perf_counter() - t)
        embeds.append(spent[0])
        assert report.published and report.embedded > 0
        t = time.perf_counter()
        assert reader.reload()
        reloads.append(time.perf_counter() - t)
    embedder.encode = real  # type: ignore[attr-defined]
    rest = [t - e for t, e in zip(totals, embeds, strict=True)]
    return {
        "adds": count,
        "total_s": {"median": _r(statistics.median(totals)), "max": _r(max(totals))},
        "embedding_s": {"median": _r(statistics.median(embeds))},
        "excl_embedding_s": {
            "median": _r(statistics.median(rest)),
            "mean": _r(statistics.mean(rest)),
            "max": _r(max(rest)),
        },
        "reader_reload_s": {"median": _r(statistics.median(reloads)), "max": _r(max(reloads))},
    }


def _r(x: float) -> float:
    return round(x, 3)


def bench(
    n: int,
    codes: list[Path],
    backend: str,
    root: Path,
    appends: int = 5,
    cli: bool = True,
    kind: str | None = None,
    ann_min: int | None = None,
) -> dict[str, object]:
    """Build an index of n chunks under root and measure it."""
    docs = root / "docs"
    docs.mkdir(parents=True)
    config = root / "config.yaml"
    index = {"kind": kind, "ann_min_chunks": ann_min}
    index = {k: v for k, v in index.items() if v}  # none: code older than index.kind
    config.write_text(
        f"paths: {{docs: [docs], index_dir: index}}\nembedding: {{backend: {backend}}}\n"
        + (f"index: {json.dumps(index)}\n" if index else ""),
        encoding="utf-8",
    )
    settings = load_settings(config)
    sentences = real_sentences()
    write_corpus(docs / "corpus.jsonl", n, sentences)
    embedder = make_embedder(settings.embedding)
    pool = embedder.encode(sentences[:POOL])
    real_encode = embedder.encode
    embedder.encode = Perturbed(pool)  # type: ignore[method-assign]
    t = time.perf_counter()
    report = ingest(settings, embedder, progress=False)
    build_s = time.perf_counter() - t
    embedder.encode = real_encode  # type: ignore[method-assign]
    result: dict[str, object] = {"n_chunks": report.chunks, "build_s": round(build_s, 1)}
    if appends:
        result["add_one_article_in_process"] = add_articles(settings, embedder, docs, appends)
    for code in codes if cli else []:
        result[f"ingest_nothing_new[{code.name}]"] = run_cli(code, config, "ingest", "--quiet")
    if cli:
        (docs / "new.jsonl").write_text(
            json.dumps({"id": "new-1", "date": "2024-06-01", "text": sentences[1] + " (new)"})
            + "\n",
            encoding="utf-8",
        )
        result["ingest_add_one_article"] = run_cli(codes[-1], config, "ingest", "--quiet")
    result["build_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    result.update(read_process(config))
    result["disk_mib"] = round(
        sum(p.stat().st_size for p in (root / "index").rglob("*") if p.is_file()) / 2**20, 1
    )
    result["kinds"] = sorted({e.get("kind", "flat") for e in _segments(root / "index")})
    return result


def read_process(config: Path) -> dict[str, object]:
    """The reader's measurements (read_side), taken in a fresh process."""
    reader = subprocess.run(
        [sys.executable, __file__, "--read", str(config)],
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return dict(json.loads(reader.stdout))


def _segments(index_dir: Path) -> list[dict[str, object]]:
    name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = json.loads((index_dir / "snapshots" / name / "manifest.json").read_text())
    return list(manifest["segments"])


def read_side(config: Path) -> dict[str, object]:
    """What a server feels, in a process of its own: cold load, retrieval and answer
    latency, recall of the ANN against exact search, peak RSS."""
    settings = load_settings(config)
    embedder = make_embedder(settings.embedding)
    reader = NewsService(settings, embedder)
    t = time.perf_counter()
    reader.reload()
    result: dict[str, object] = {"cold_load_s": round(time.perf_counter() - t, 3)}
    retriever = reader.retriever
    qvecs = embedder.encode(QUERIES)
    window = Filters(since=dt.date(2021, 1, 1), until=dt.date(2021, 12, 31))
    for label, filters in (("unfiltered", None), ("date_window", window)):
        samples = []
        for _ in range(8):
            for q, v in zip(QUERIES, qvecs, strict=True):
                t = time.perf_counter()
                retriever.search(q, qvec=v, filters=filters)
                samples.append(time.perf_counter() - t)
        p50, p95 = percentiles(samples)
        result[f"retrieval_{label}_ms"] = {"p50": p50, "p95": p95}
    samples = []
    for _ in range(4):
        for q in QUERIES:
            t = time.perf_counter()
            reader.ask(q, record=False)
            samples.append(time.perf_counter() - t)
    result["answer_ms"] = dict(zip(("p50", "p95"), percentiles(samples), strict=True))
    # What a server holds: the recall check below reads every vector back (100k at a time).
    result["serving_peak_rss_mib"] = peak_rss_mib()
    questions = real_sentences()[POOL : POOL + 95] + QUERIES  # not in the vector pool
    qs = embedder.encode(questions)
    index = retriever.index
    for label, filters in (("unfiltered", None), ("date_window", window)):
        result[f"recall@10_{label}"] = recall_at_10(index, qs, index.mask(filters or Filters()))
    result["read_peak_rss_mib"] = peak_rss_mib()
    return result


def peak_rss_mib() -> int:
    """This process's peak RSS since its exec (ru_maxrss would carry the parent's over)."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024  # type: ignore[union-attr]


def recall_at_10(index: object, qs: np.ndarray, mask: np.ndarray | None) -> float:
    """Mean share of the exact top 10 (over every live row in the mask) that the dense
    chunk search returns in its top 10."""
    scores = np.full((len(qs), 0), -np.inf, dtype=np.float32)
    rows = np.zeros((len(qs), 0), dtype=np.int64)
    for p in index.parts:  # type: ignore[attr-defined]
        vectors = p.index.seg.chunk_vectors
        allowed = p.alive if mask is None else mask[p.chunk0 : p.chunk0 + len(vectors)]
        for start in range(0, len(vectors), 100_000):
            s = qs @ vectors[start : start + 100_000].T
            if allowed is not None:
                s[:, ~allowed[start : start + 100_000]] = -np.inf
            r = np.broadcast_to(np.arange(s.shape[1]) + p.chunk0 + start, s.shape)
            scores, rows = np.hstack([scores, s]), np.hstack([rows, r])
            top = np.argsort(-scores, axis=1)[:, :10]
            scores = np.take_along_axis(scores, top, 1)
            rows = np.take_along_axis(rows, top, 1)
    found = []
    for q, want, best in zip(qs, rows, scores, strict=True):
        got = {r for r, _ in index.dense_chunks(q, 10, mask)}  # type: ignore[attr-defined]
        want = {int(r) for r, sc in zip(want, best, strict=True) if np.isfinite(sc)}
        found.append(len(got & want) / max(1, len(want)))
    return round(float(np.mean(found)), 4)


def main() -> int:
    """Run the benchmark for each N and print one JSON line each."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[10_000])
    p.add_argument("--code", type=Path, nargs="*", default=[REPO], help="checkouts to time")
    p.add_argument("--backend", default="onnx", choices=["onnx", "torch"])
    p.add_argument("--appends", type=int, default=5, help="articles added one by one")
    p.add_argument("--skip-cli", action="store_true", help="no whole-process runs")
    p.add_argument("--kind", choices=["auto", "flat", "hnsw", "ivf"], help="index.kind")
    p.add_argument("--ann-min", type=int, help="index.ann_min_chunks")
    p.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build under DIR/n<N> (must not exist) and keep it, for --reuse",
    )
    p.add_argument(
        "--reuse",
        type=Path,
        metavar="DIR",
        help="skip the build: time only the reader on DIR/n<N> (built by --keep)",
    )
    p.add_argument(
        "--noop",
        type=int,
        metavar="RUNS",
        help="with --reuse: only RUNS no-op `newsbot ingest` per --code checkout, alternating",
    )
    p.add_argument("--read", type=Path, help=argparse.SUPPRESS)  # the reader's process
    args = p.parse_args()
    if args.read:
        print(json.dumps(read_side(args.read)))
        return 0
    for n in args.n:
        if args.reuse and args.noop:
            config = args.reuse / f"n{n}" / "config.yaml"
            codes = [c.resolve() for c in args.code]
            result = {"n_chunks": n, "load_before": os.getloadavg()[0]}
            result["ingest_nothing_new"] = noop_runs(config, codes, args.noop)
            result["load_after"] = os.getloadavg()[0]
        elif args.reuse:
            result = {"n_chunks": n, "reused": str(args.reuse / f"n{n}")}
            result.update(read_process(args.reuse / f"n{n}" / "config.yaml"))
        elif args.keep:
            result = bench(
                n, [c.resolve() for c in args.code], args.backend, args.keep / f"n{n}",
                args.appends, not args.skip_cli, args.kind, args.ann_min,
            )  # fmt: skip
        else:
            with tempfile.TemporaryDirectory(prefix="newsbot-scale-") as tmp:
                result = bench(
                    n, [c.resolve() for c in args.code], args.backend, Path(tmp),
                    args.appends, not args.skip_cli, args.kind, args.ann_min,
                )  # fmt: skip
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
