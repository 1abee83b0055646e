"""Seconds per new article: a poll of 50 feeds that finds one new article, on an index of
10,000+ chunks, split into fetch / extract / embed / publish.

A local HTTP server on 127.0.0.1 serves 50 RSS feeds (3 entries each, their article pages)
with ETag / Last-Modified and answers 304 to a matching conditional request. The index holds
real articles: ../shared/eval squad_dev_a, ramdocs and multihop_sample (4,156 articles),
chunked at `--max-tokens` (default 96 word pieces, not the shipped 256, to pass 10,000 chunks
without copying articles), embedded with `embedding.backend: onnx`, int8. It is built once
and kept in $NEWSBOT_BENCH_CACHE (default ~/.cache/newsbot-bench/feeds_poll); every run
polls a fresh copy of it.

A first pass subscribes and indexes the 150 entries (validators recorded). Then, `--rounds`
times: one feed publishes one new article and a pass runs: 49 feeds answer 304, one answers
200 with one new entry, whose page is fetched, extracted, embedded and published.

Reported per round (median over rounds): the whole pass, and its parts: fetch (every HTTP
request: 50 feed requests and the one page), extract (trafilatura + htmldate), embed (the new
article's chunks), publish (the ingest besides embedding: reading the snapshot, writing the
next one, and loading it for answering) and the rest (feed parsing, state, copy detection).
publish_ingest and publish_reload split it. Since segments (issue 19), publishing writes one
small segment and a manifest; before, it rewrote the whole snapshot (O(chunks)).

`--synthetic-base` builds the base index with synthetic vectors instead (bench/scale.py's
`Perturbed`: a pool of 512 real vectors of the base articles' sentences, each text's vector
a pool vector picked by a hash of the text plus noise) — minutes instead of an hour; the
polled articles are still embedded for real. Cached separately ("-synthetic").

Run from the repo root:
`HF_HUB_OFFLINE=1 .venv/bin/python bench/feeds_poll.py [--rounds 3] [--json]`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import retrieval.feeds.poller as poller_module
from retrieval.config import load_settings
from retrieval.feeds.fetch import Fetcher
from retrieval.feeds.poller import Poller
from retrieval.feeds.settings import FeedsSettings
from retrieval.service import NewsService

_EVAL = Path(__file__).resolve().parents[2] / "shared/eval"
_SETS = ["squad_dev_a", "ramdocs", "multihop_sample"]
# Popped: the settings would read any NEWSBOT_* variable as a setting and refuse this one.
_CACHE = Path(os.environ.pop("NEWSBOT_BENCH_CACHE", Path.home() / ".cache" / "newsbot-bench"))
FEEDS = 50
STAGES = ["fetch", "extract", "embed", "publish", "other", "other_copy_index", "other_parse"]
STAGES += ["publish_ingest", "publish_reload"]  # publish = writing + loading it to answer


class Site:
    """50 feeds and their pages, served with validators; ``publish`` adds one entry."""

    def __init__(self, pages: list[dict[str, Any]], entries: int) -> None:
        self.pages = pages
        self.feeds: dict[int, list[int]] = {f: [] for f in range(FEEDS)}
        self.next = 0
        for f in range(FEEDS):
            for _ in range(entries):
                self._add(f)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, ctype = site.body(self.path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Mon, 03 Apr 2023 10:00:00 GMT")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _add(self, feed: int) -> None:
        self.feeds[feed].append(self.next)
        self.next += 1

    def publish(self, feed: int) -> None:
        """One new entry at the top of one feed."""
        self._add(feed)

    def body(self, path: str) -> tuple[bytes | None, str]:
        if path == "/robots.txt":
            return b"User-agent: *\nAllow: /\n", "text/plain"
        if path.startswith("/feed/"):
            f = int(path.split("/")[2].split(".")[0])
            return self._feed(f).encode(), "application/rss+xml"
        if path.startswith("/a/"):
            n = int(path.split("/")[2].split(".")[0])
            return self._page(n).encode(), "text/html; charset=utf-8"
        return None, ""

    def _feed(self, f: int) -> str:
        items = "".join(
            f"<item><title>{_esc(self.pages[n]['title'])}</title>"
            f"<link>{self.base}/a/{n}.html</link><guid>bench-{n}</guid>"
            f"<pubDate>{format_datetime(_when(n))}</pubDate>"
            f"<description>{_esc(self.pages[n]['text'][:200])}</description></item>"
            for n in reversed(self.feeds[f])
        )
        return (
            f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>Bench feed {f}</title><link>{self.base}/</link>{items}</channel></rss>"
        )

    def _page(self, n: int) -> str:
        p = self.pages[n]
        paras = "".join(f"<p>{_esc(s)}</p>" for s in p["text"].split("\n") if s.strip())
        return (
            f"<!doctype html><html><head><title>{_esc(p['title'])}</title>"
            f'<meta property="article:published_time" content="{_when(n).isoformat()}">'
            f"</head><body><nav>Home | World</nav><article><h1>{_esc(p['title'])}</h1>"
            f"{paras}</article><footer>(c) Bench</footer></body></html>"
        )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(n: int) -> Any:
    import datetime as dt

    return dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n)


class Clock:
    """Seconds spent inside wrapped functions, by stage."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[stage] = self.spent.get(stage, 0.0) + time.perf_counter() - t
                self.calls[stage] = self.calls.get(stage, 0) + 1

        return timed

    def reset(self) -> None:
        self.spent.clear()
        self.calls.clear()


def _base_articles(sets: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in sets:
        for line in (_EVAL / name / "corpus.jsonl").open(encoding="utf-8"):
            d = json.loads(line)
            d["id"] = f"{name}-{d['id']}"
            out.append(d)
    return out


def base_index(
    sets: list[str], max_tokens: int, synthetic: bool = False
) -> tuple[Path, dict[str, Any]]:
    """The cached base folder (docs + index over the eval corpora), built when missing."""
    suffix = "-synthetic" if synthetic else ""
    folder = _CACHE / "feeds_poll" / f"{'+'.join(sets)}-t{max_tokens}{suffix}"
    docs = folder / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    corpus = docs / "corpus.jsonl"
    if not corpus.exists():
        body = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in _base_articles(sets))
        corpus.write_text(body, encoding="utf-8")
    sections = _sections(folder, max_tokens)
    (folder / "config.yaml").write_text("{}\n", encoding="utf-8")
    service = NewsService(load_settings(folder / "config.yaml", **sections))
    if synthetic:
        from bench.scale import POOL, Perturbed

        texts = [s for a in _base_articles(sets) for s in a["text"].split(". ") if len(s) > 30]
        pool = service.embedder.encode(texts[:: max(1, len(texts) // POOL)][:POOL])
        service.embedder.encode = Perturbed(pool)  # type: ignore[method-assign]
    t = time.perf_counter()
    try:
        report = service.ensure_index(progress=sys.stderr.isatty())
    finally:
        # The embedder may be shared with the polling service: polled articles embed for real.
        vars(service.embedder).pop("encode", None)
    if report is not None:
        print(f"built the base index in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return folder, service.stats()


def _sections(folder: Path, max_tokens: int) -> dict[str, Any]:
    return {
        "paths": {"docs": [str(folder / "docs")], "index_dir": str(folder / "index")},
        "embedding": {"backend": "onnx", "precision": "int8"},
        "chunking": {"max_tokens": max_tokens},
    }


@contextlib.contextmanager
def serving(site: Site) -> Iterator[Site]:
    thread = threading.Thread(target=site.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.httpd.shutdown()
        site.httpd.server_close()


def run(
    rounds: int, max_tokens: int, sets: list[str], entries: int, synthetic: bool = False
) -> dict[str, Any]:
    """Build (once), then poll: a warm-up pass, then ``rounds`` passes with one new article."""
    base, stats = base_index(sets, max_tokens, synthetic)
    pages = _base_articles(["multihop_sample"])
    clock = Clock()
    poller_module.extract_page = clock.wrap("extract", poller_module.extract_page)
    poller_module.ingest = clock.wrap("ingest", poller_module.ingest)
    Fetcher.get = clock.wrap("fetch", Fetcher.get)  # type: ignore[method-assign]
    # Inside "other": rebuilding the copy index from the feed state, parsing feeds.
    Poller._detector = clock.wrap("copy_index", Poller._detector)  # type: ignore[method-assign]
    poller_module.parse_feed = clock.wrap("parse", poller_module.parse_feed)
    with tempfile.TemporaryDirectory(prefix="feeds-poll-") as tmp:
        work = Path(tmp)
        shutil.copytree(base / "docs", work / "docs")
        shutil.copytree(base / "index", work / "index")
        (work / "config.yaml").write_text("{}\n", encoding="utf-8")
        service = NewsService(load_settings(work / "config.yaml", **_sections(work, max_tokens)))
        service.reload()
        embedder = service.embedder
        embedder.encode = clock.wrap("embed", embedder.encode)  # type: ignore[method-assign]
        service.reload = clock.wrap("reload", service.reload)  # type: ignore[method-assign]
        feeds = FeedsSettings(per_host_delay_s=0, timeout_s=10)
        site = Site(pages, entries)
        with serving(site):
            poller = Poller(service, feeds)
            for f in range(FEEDS):
                poller.add(f"{site.base}/feed/{f}.xml", f"bench-{f}", check=False)
            t = time.perf_counter()
            first = poller.poll()
            warm = time.perf_counter() - t
            new_first = sum(r.new for r in first.feeds)
            results = []
            for r in range(rounds):
                site.publish((17 + r) % FEEDS)
                clock.reset()
                t = time.perf_counter()
                report = poller.poll()
                total = time.perf_counter() - t
                statuses = [f.status for f in report.feeds]
                assert statuses.count("not_modified") == FEEDS - 1, statuses
                assert sum(f.new for f in report.feeds) == 1
                s = dict(clock.spent)
                embed = s.get("embed", 0.0)
                publish = s.get("ingest", 0.0) - embed + s.get("reload", 0.0)
                parts = {
                    "fetch": s.get("fetch", 0.0),
                    "extract": s.get("extract", 0.0),
                    "embed": embed,
                    "publish": publish,
                }
                parts["other"] = total - sum(parts.values())
                parts["publish_ingest"] = s.get("ingest", 0.0) - embed
                parts["publish_reload"] = s.get("reload", 0.0)
                parts["other_copy_index"] = s.get("copy_index", 0.0)
                parts["other_parse"] = s.get("parse", 0.0)
                results.append({"total": total, **parts, "requests": clock.calls.get("fetch", 0)})
            poller.close()
        chunks = len(service._current().index.chunks)

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in results), 3)

    return {
        "index_chunks_before": stats["chunks"],
        "index_chunks_after": chunks,
        "articles": stats["articles"],
        "embedding": "onnx int8" + (" (base index: synthetic vectors)" if synthetic else ""),
        "max_tokens": max_tokens,
        "base_sets": sets,
        "warmup_pass": {"new": new_first, "seconds": round(warm, 2)},
        "rounds": rounds,
        "seconds_per_new_article": med("total"),
        "split_seconds": {k: med(k) for k in STAGES},
        "requests_per_pass": results[0]["requests"],
        "per_round": [{k: round(v, 3) for k, v in r.items()} for r in results],
    }


def main() -> int:
    """Print the timings."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max-tokens", type=int, default=96, help="chunking.max_tokens")
    p.add_argument(
        "--sets", default=",".join(_SETS), help="eval corpora in the base index (comma-separated)"
    )
    p.add_argument("--entries", type=int, default=3, help="entries per feed before the rounds")
    p.add_argument("--json", action="store_true")
    p.add_argument("--synthetic-base", action="store_true", help="base index: synthetic vectors")
    args = p.parse_args()
    result = run(
        args.rounds, args.max_tokens, args.sets.split(","), args.entries, args.synthetic_base
    )
    print(
        json.dumps(result, indent=2)
        if args.json
        else "\n".join(f"{k}: {v}" for k, v in result.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
