"""Watching in-process: `serve --watch` (and the watcher it runs) make a just-published
article answerable while serving, and stop cleanly after the entry in progress."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexMissingError
from retrieval.feeds.watch import BackgroundWatcher
from retrieval.service import NewsService
from tests.conftest import REPO, SEED
from tests.test_feeds import FeedServer, Route, running_server

QUESTION = "How many days will the Bodø ferry strike last?"
KEY = "watch-key-0123456789abcdef"
FEEDS = {"every": "1s", "per_host_delay_s": 0, "timeout_s": 2}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """The feed server on 127.0.0.1."""
    with running_server() as s:
        yield s


def publish_ferry(server: FeedServer) -> None:
    """A new article appears: its page, and an item for it at the top of the RSS feed."""
    server.put_file("/articles/ferry.html", "ferry.html")
    item = (
        "<item><title>Ferry crews strike on the Bodø route</title>"
        f"<link>{server.url('/articles/ferry.html')}</link>"
        "<guid isPermaLink='false'>gazette-ferry-1</guid>"
        "<pubDate>Wed, 05 Apr 2023 07:00:00 GMT</pubDate>"
        "<description>Ferry crews walk out.</description></item>"
    ).encode()
    feed = server.routes["/rss.xml"].body.replace(b"</channel>", item + b"</channel>")
    server.put("/rss.xml", Route(feed, "application/xml"))


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.5)


def _cites_ferry(ask: Callable[[], dict]) -> bool:
    answer = ask()
    return not answer["abstained"] and any(
        c["url"] and c["url"].endswith("/articles/ferry.html") for c in answer["citations"]
    )


@pytest.mark.slow
def test_the_background_watcher_makes_a_just_published_article_answerable(
    server: FeedServer, make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    settings = make_settings(feeds={**FEEDS, "urls": [server.url("/rss.xml")]})
    serving = NewsService(settings, embedder)  # the front end's own service
    watcher = BackgroundWatcher(settings, settings.feeds, embedder).start()
    try:
        # The first pass must have polled before the article is published (on a slow
        # machine the first poll can otherwise find the new article already there).
        _until(
            lambda: watcher.passes >= 1 and serving.store.current_name() is not None,
            60,
            "the first poll indexed",
        )

        def ask() -> dict:
            try:
                return serving.ask(QUESTION).model_dump()
            except IndexMissingError:
                return {"abstained": True, "citations": []}

        assert not _cites_ferry(ask)
        publish_ferry(server)
        _until(lambda: _cites_ferry(ask), 60, "the new article answers")
        answer = serving.ask(QUESTION)
        assert "nine days" in answer.text
        assert answer.citations[0].source == "Harbour Gazette"
        assert answer.citations[0].date == "2023-04-05"
    finally:
        assert watcher.stop(timeout=30), "the watcher did not stop"
    assert watcher.passes >= 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_serve_watch_answers_a_just_published_article_over_http(
    server: FeedServer, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"paths:\n  docs: [{docs}]\n  index_dir: {tmp_path / 'index'}\n"
        f"sessions:\n  path: {tmp_path / 'sessions.sqlite'}\n"
        f"feeds:\n  urls: ['{server.url('/rss.xml')}']\n  every: 1s\n  per_host_delay_s: 0\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", NEWSBOT_HTTP__API_KEYS=f'["{KEY}"]'
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = ["--config", str(cfg), "serve", "--port", str(port), "--watch"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *cmd],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def ask() -> dict:
        r = httpx.post(
            f"{url}/v1/answer",
            json={"question": QUESTION},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def ready() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            return httpx.get(f"{url}/readyz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        _until(ready, 300, "newsbot serve --watch got ready")
        _until(lambda: server.statuses("/rss.xml") != [], 120, "the watcher polled")
        publish_ferry(server)
        _until(lambda: _cites_ferry(ask), 120, "the new article answers over HTTP")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    assert "watching the feeds" in out and "stopping the feed watcher" in out
    assert proc.returncode == 0, out
    assert "Traceback" not in out


@pytest.mark.slow
def test_telegram_watch_stops_its_watcher_when_the_bot_cannot_start(
    server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "paths:\n  docs: [docs]\n  index_dir: index\n"
        f"feeds:\n  urls: ['{server.url('/rss.xml')}']\n  every: 1s\n  per_host_delay_s: 0\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        assert main(["--config", str(cfg), "telegram", "--watch"]) == 1
    err = capsys.readouterr().err
    assert "watching the feeds" in err and "stopping the feed watcher" in err
    assert "TELEGRAM_BOT_TOKEN" in err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was
