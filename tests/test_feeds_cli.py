"""The feed commands end to end through `newsbot` (exact JSON shape, exit codes), a pass that
cannot ingest records nothing and the next pass picks up, and story collapse of hits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.config import Settings, load_settings
from retrieval.embeddings import Embedder
from retrieval.errors import IngestLockedError
from retrieval.feeds.collapse import StoryMap, collapse
from retrieval.feeds.identity import absolute_http_url, canonical_url, entry_identity
from retrieval.feeds.poller import Poller
from retrieval.service import NewsService
from tests.conftest import REPO
from tests.test_feeds import FEEDS, FeedServer, running_server

KEYS = ["url", "name", "status", "error", "entries", "new", "updated", "duplicates", "skipped"]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """The feed server on 127.0.0.1."""
    with running_server() as s:
        yield s


def _config(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir(exist_ok=True)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    return cfg


def test_poll_with_no_feeds_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(_config(tmp_path)), "feeds", "poll", "--json"]) == 1
    assert "feeds add" in capsys.readouterr().err


def test_add_refuses_a_page_without_a_feed(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "feeds", "add", server.url("/articles/observatory.html")]) == 1
    assert "announces no feed" in capsys.readouterr().err
    assert main(["--config", cfg, "feeds", "add", server.url("/front.html"), "--name", "w"]) == 0
    assert "atom.xml" in capsys.readouterr().out
    assert main(["--config", cfg, "feeds", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(f["name"], f["feed_url"]) for f in listed] == [("w", server.url("/atom.xml"))]
    assert main(["--config", cfg, "feeds", "remove", "w"]) == 0
    assert main(["--config", cfg, "feeds", "remove", "w"]) == 1


@pytest.mark.slow
def test_feeds_poll_json_has_the_fixed_shape_and_exits_0_with_a_failing_feed(
    tmp_path: Path, server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(_config(tmp_path))
    assert main(["--config", cfg, "feeds", "add", server.url("/rss.xml"), "--name", "g"]) == 0
    server.put_file("/later.xml", "atom.xml")
    assert main(["--config", cfg, "feeds", "add", server.url("/later.xml"), "--name", "x"]) == 0
    del server.routes["/later.xml"]  # now a 404
    capsys.readouterr()
    assert main(["--config", cfg, "feeds", "poll", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["feeds", "snapshot"] and out["snapshot"]
    assert [list(f) for f in out["feeds"]] == [KEYS, KEYS]
    g, x = out["feeds"]
    assert (g["status"], g["error"], g["new"]) == ("ok", None, 4)
    assert x["status"] == "error" and "404" in x["error"]


@pytest.mark.slow
def test_a_pass_that_cannot_ingest_records_nothing_and_the_next_picks_up(
    server: FeedServer, make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    poller = Poller(NewsService(make_settings(), embedder), FEEDS)
    poller.add(server.url("/rss.xml"), "g")
    with poller.service.store.writer_lock(), pytest.raises(IngestLockedError):
        poller.poll()  # another ingest is writing
    assert not list((tmp_path / "docs" / "feeds" / "g").glob("*.jsonl"))
    assert poller.state.seen("g") == {} and poller.state.find("g").etag is None  # type: ignore[union-attr]
    again = poller.poll()
    assert again.to_json()["feeds"][0]["new"] == 4  # fetched in full, not a 304
    assert len(list((tmp_path / "docs" / "feeds" / "g").glob("*.jsonl"))) == 4
    poller.close()


@dataclass(frozen=True)
class _Article:
    id: str
    date: str | None


@dataclass(frozen=True)
class _Hit:
    article: _Article


def test_copies_collapse_to_the_earliest_with_the_other_outlets() -> None:
    stories = StoryMap(
        {"ap": "ap", "yahoo": "ap", "local": "ap"},
        {"ap": [("ap", "AP"), ("yahoo", "Yahoo News"), ("local", "Local Post")]},
    )
    hits = [
        _Hit(_Article("yahoo", "2024-05-02")),
        _Hit(_Article("other", "2024-05-01")),
        _Hit(_Article("ap", "2024-05-01")),
    ]
    out = collapse(hits, stories)
    assert [(s.hit.article.id, s.also) for s in out] == [
        ("ap", ["Yahoo News", "Local Post"]),
        ("other", []),
    ]


def test_canonical_urls_drop_tracking_fragment_and_case() -> None:
    a = canonical_url("HTTPS://News.Example.ORG:443/a/b?utm_source=rss&id=7&fbclid=x#top")
    assert a == "https://news.example.org/a/b?id=7"
    assert entry_identity(None, "http://x.org/p?utm_medium=feed", "t") == "url:http://x.org/p"
    assert entry_identity(" g1 ", "http://x.org/p", "t") == "guid:g1"
    assert entry_identity(None, None, "a  b").startswith("hash:")
    assert absolute_http_url("javascript:alert(1)", "http://x.org/") is None
    assert absolute_http_url("/p", "http://x.org/feed") == "http://x.org/p"


@pytest.mark.slow
def test_kill_9_during_a_poll_leaves_a_good_snapshot_and_the_next_poll_finishes(
    tmp_path: Path, server: FeedServer, embedder: Embedder
) -> None:
    cfg = _config(tmp_path)
    assert main(["--config", str(cfg), "feeds", "add", server.url("/rss.xml"), "--name", "g"]) == 0
    assert main(["--config", str(cfg), "feeds", "add", server.url("/atom.xml"), "--name", "w"]) == 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "bot.cli", "--config", str(cfg), "feeds", "poll"]
    for delay in (4.0, 8.0, 12.0):
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        service = NewsService(load_settings(cfg), embedder)
        if service.store.current_name() is not None:
            service.reload()  # whatever was published loads
    service = NewsService(load_settings(cfg), embedder)
    poller = Poller(service, FEEDS)
    poller.poll()
    poller.close()
    articles = service._current().index.articles
    assert sorted(a.title for a in articles.values() if "dolphins" in a.text) == [
        "Harbour festival draws record crowds",
        "Record crowd at coastal celebration",
    ]
    assert len(articles) == 6  # 4 from the RSS feed, 2 from the Atom feed, none twice
    files = list((tmp_path / "docs" / "feeds").rglob("*.jsonl"))
    assert len(files) == 6
