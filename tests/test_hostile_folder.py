"""A docs folder that tries to make ingest read elsewhere or hang: links out of the folder,
FIFOs, /dev/zero, symlink loops, escape sequences in file names (issue 14, items 1, 2, 6)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, get_args

import httpx
import pytest
from test_http_support import wait_ready

from bot import render
from bot.http.models import FileStatus
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.ingest import FileReport, IngestReport, fingerprint, scan
from retrieval.loaders import read_file
from retrieval.service import NewsService
from tests.hostile import (
    BAD_UTF8_NAME,
    ESC_NAME,
    INNER_TEXT,
    LINK_ARTICLES,
    LINK_EXPECTED,
    NOT_REGULAR,
    OUTSIDE,
    OUTSIDE_SECRET,
    make_hostile_links,
)

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")
MakeSettings = Callable[..., Settings]
# The entries ingest reads (and records in the manifest); everything else is refused unread.
READABLE = {"2021-10-19-russia-nato-mission.txt", "sub/inner.txt", ESC_NAME, "z_inner_link.txt"}


def within(seconds: float, fn: Callable[[], T]) -> T:
    """fn's result; fails (rather than hangs) when fn has not returned after ``seconds``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the test's thread
            box["error"] = e

    # A daemon thread: if fn is stuck on a FIFO, the test still ends and so does pytest.
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _release(fifos: list[Path]) -> None:
    """Open each FIFO for writing and close it, so that a reader stuck on it gets EOF."""
    for fifo in fifos:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as e:  # ENXIO: nobody is waiting on it
            assert e.errno in (errno.ENXIO, errno.ENOENT), e


@pytest.fixture
def links(tmp_path: Path) -> Iterator[Path]:
    """The hostile docs folder (see ``make_hostile_links``)."""
    fifos = make_hostile_links(tmp_path / "docs", tmp_path / "outside")
    yield tmp_path / "docs"
    _release(fifos)


def by_name(report: IngestReport) -> dict[str, tuple[str, str]]:
    """``{entry name: (status, detail)}``; fails if an entry is reported twice."""
    names = [Path(f.path).name for f in report.files]
    assert len(names) == len(set(names)), names
    return {Path(f.path).name: (f.status, f.detail) for f in report.files}


# --- ingest -------------------------------------------------------------------------------


@pytest.mark.slow
def test_ingest_reports_every_entry_and_reads_nothing_outside(
    links: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    service = NewsService(make_settings(docs=[links]), embedder)
    report = within(30, lambda: service.ingest(progress=False))
    assert by_name(report) == LINK_EXPECTED

    data = service.store.load()
    assert set(data.articles) == LINK_ARTICLES
    docs = links.resolve()
    assert all(Path(a.path).is_relative_to(docs) for a in data.articles.values())
    # Only what was read is recorded, so that is_stale() compares like with like.
    assert set(data.manifest["files"]) == {str(docs / n) for n in READABLE}
    text = "\n".join(c.text for c in data.chunks)
    assert "root:x:0" not in text and "zq-outside-secret" not in text and "VmRSS" not in text
    assert "hidden folder" not in text

    assert within(30, service.is_stale) is False
    again = within(30, lambda: service.ingest(progress=False))
    assert again.embedded == 0 and not again.published
    answer = service.ask("root:x:0:0 shell?")
    assert all(c.article_id in LINK_ARTICLES for c in answer.citations)
    assert "root:x:0" not in answer.text


def test_ingesting_part_of_the_docs_follows_the_same_links(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    (docs / "part").mkdir(parents=True)
    (docs / "other").mkdir()
    (docs / "other" / "y.txt").write_text(INNER_TEXT, encoding="utf-8")
    (docs / "part" / "x.txt").symlink_to("../other/y.txt")
    service = NewsService(make_settings(docs=[docs]), embedder)
    assert by_name(service.ingest(progress=False))["x.txt"] == ("duplicate", "duplicate of other/y")
    # Only part/ is named, but its link leads into a configured docs folder: still followed,
    # and read it is the same verdict as in a full ingest (a copy of the indexed other/y).
    assert by_name(service.ingest([docs / "part"], progress=False)) == {
        "x.txt": ("duplicate", "duplicate of other/y")
    }
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "z.txt").symlink_to(docs / "other" / "y.txt")
    assert by_name(service.ingest([outside], progress=False)) == {
        "z.txt": ("duplicate", "duplicate of other/y")
    }


def test_scan_never_hands_out_what_is_not_a_file_inside(links: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    found = within(30, lambda: scan([links], index))
    docs = links.resolve()
    assert {p.relative_to(docs).as_posix() for p, root in found if root} == READABLE
    # Everything else is listed too (with no root), so ingest can report it.
    assert len(found) == len(LINK_EXPECTED)
    # What is_stale hashes: every one of these opens, none blocks.
    hashes = within(30, lambda: [fingerprint(p, 1 << 20) for p, root in found if root])
    assert all(len(h) == 64 for h in hashes)


def test_explicit_fifo_or_device_is_not_read(links: Path, tmp_path: Path) -> None:
    fifo = links / "fifo.txt"
    assert within(10, lambda: scan([fifo], tmp_path / "index")) == [(fifo.resolve(), None)]
    assert within(10, lambda: fingerprint(fifo, 1 << 20)) == ""
    assert within(10, lambda: fingerprint(Path("/dev/zero"), 1 << 20)) == ""
    assert within(10, lambda: read_file(fifo, links, 1 << 20)).skipped == NOT_REGULAR


def test_read_file_refuses_a_link_out_of_its_folders(links: Path) -> None:
    # The last line of defence, should a link change between the scan and the read.
    result = read_file(links / "env.txt", links, 1 << 20)
    assert result.skipped == OUTSIDE and not result.articles and not result.sha256
    result = read_file(links / "z_inner_link.txt", links, 1 << 20)
    assert result.skipped is None and result.articles[0].id == "z_inner_link"
    outside = links.parent / "outside"
    result = read_file(links / "env.txt", links, 1 << 20, within=[links, outside])
    assert result.skipped == "unsupported file type (no suffix)" or result.articles


# --- rendering ----------------------------------------------------------------------------


def test_ingest_report_shows_escape_sequences_inert(links: Path) -> None:
    files = [
        FileReport(str(links / ESC_NAME), "indexed", "1 article"),
        FileReport(str(links / BAD_UTF8_NAME), "skipped", "file name is not valid UTF-8"),
        FileReport("a.txt", "skipped", "no article could be used", ["w\x1b[2J\u202e"]),
        FileReport("x\nindexed   forged.txt", "skipped", "unsupported file type"),
    ]
    report = IngestReport(files, None, False, 1, 1, 0, 0)
    text = render.ingest_text(report)
    assert len(text.splitlines()) == len(files) + 2  # one warning, the totals; no more
    assert "x\\x0aindexed   forged.txt" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "esc\\x1b]0;pwned\\x07\\x1b[2J.txt" in text
    assert "bad\\udcff.txt" in text and "w\\x1b[2J\\u202e" in text
    text.encode("utf-8")  # a lone surrogate would make print() fail


# --- the status vocabulary (issue 13) -----------------------------------------------------


def test_file_status_is_one_of_six_in_the_http_schema() -> None:
    from retrieval.ingest import ReportStatus

    statuses = set(get_args(ReportStatus))
    assert statuses == {"indexed", "unchanged", "duplicate", "skipped", "removed", "rebuilt"}
    schema = FileStatus.model_json_schema()["properties"]["status"]
    assert set(schema["enum"]) == statuses


# --- newsbot serve ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_serve_over_hostile_folder_starts_and_stops_on_sigterm(links: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"paths:\n  docs: [{links}]\n  index_dir: {tmp_path / 'index'}\n"
        f"sessions:\n  path: {tmp_path / 'sessions.sqlite'}\n"
        "http:\n  auth_disabled: true\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "--config", str(cfg), "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_ready(proc, url, 240)
        r = httpx.get(f"{url}/v1/articles?limit=50")
        assert r.status_code == 200, r.text
        assert "root:x:0" not in r.text and "zq-outside-secret" not in r.text
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("newsbot serve was still running 10 s after SIGTERM")
        print(f"\nserve stopped {time.monotonic() - started:.1f} s after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Traceback" not in out
    assert OUTSIDE_SECRET.strip() not in out


def test_fixture_builds_what_it_says(links: Path) -> None:
    assert stat.S_ISFIFO((links / "fifo.txt").lstat().st_mode)
    assert (links / "zero.txt").readlink() == Path("/dev/zero")
    assert (links / ESC_NAME).is_file() and (links / BAD_UTF8_NAME).is_file()
