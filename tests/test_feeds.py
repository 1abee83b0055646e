"""Following feeds against a real HTTP server on 127.0.0.1: conditional GETs, identities and
versions, syndicated copies, bad feeds reported while good ones are ingested, and a question
answered from a just-polled article."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.feeds.poller import Poller, PollReport
from retrieval.feeds.settings import FeedsSettings
from retrieval.service import NewsService
from tests.feed_server import DATA, LAST_MODIFIED, FeedServer, Route


@contextlib.contextmanager
def running_server() -> Iterator[FeedServer]:
    """A feed server with an RSS feed, an Atom feed and their article pages."""
    s = FeedServer()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    s.put_file("/rss.xml", "rss.xml")
    s.put_file("/atom.xml", "atom.xml")
    s.put_file("/articles/harbour.html", "harbour.html")
    s.put_file("/articles/harbour.html?utm_source=rss&utm_medium=feed", "harbour.html")
    s.put_file("/articles/observatory.html", "observatory.html")
    s.put_file("/articles/other.html", "observatory.html")
    s.put_file("/wire/harbour-copy.html", "harbour-copy.html")
    s.put_file("/wire/vineyard.html", "vineyard.html")
    s.put_file("/front.html", "page-with-feed.html")
    s.put("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """The feed server on 127.0.0.1."""
    with running_server() as s:
        yield s


FEEDS = FeedsSettings(per_host_delay_s=0, timeout_s=2, max_bytes=200_000)


@pytest.fixture
def poller(
    make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> Iterator[Poller]:
    """A poller over an empty docs folder and its own index."""
    (tmp_path / "docs").mkdir()
    p = Poller(NewsService(make_settings(), embedder), FEEDS)
    yield p
    p.close()


def by_name(report: PollReport) -> dict[str, dict]:
    """The JSON report's feeds by name."""
    return {f["name"]: f for f in report.to_json()["feeds"]}


@pytest.mark.slow
def test_a_second_poll_of_unchanged_feeds_gets_304s_and_embeds_nothing(
    server: FeedServer, poller: Poller
) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.add(server.url("/atom.xml"), "wire")
    first = poller.poll()
    assert first.ingest is not None and first.ingest.embedded > 0
    assert {f["status"] for f in first.to_json()["feeds"]} == {"ok"}
    snapshot = first.snapshot
    second = poller.poll()
    assert [f["status"] for f in second.to_json()["feeds"]] == ["not_modified"] * 2
    assert second.ingest is None  # nothing written, nothing embedded
    assert second.snapshot == snapshot
    for path in ("/rss.xml", "/atom.xml"):
        assert server.statuses(path)[-1] == 304
        sent = [h for p, _, h in server.log if p == path][-1]
        assert sent.get("if-none-match") and sent.get("if-modified-since") == LAST_MODIFIED


@pytest.mark.slow
def test_entries_are_reported_and_bad_entries_never_stop_the_feed(
    server: FeedServer, poller: Poller
) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    report = poller.poll()
    g = by_name(report)["gazette"]
    # 5 entries: two pages, a duplicate guid (skipped), a brief without title/link/date and
    # a javascript: link (both indexed from their summaries).
    assert (g["status"], g["entries"], g["new"], g["skipped"]) == ("ok", 5, 4, 1)
    lines = "\n".join(report.feeds[0].lines)
    assert "same identity" in lines and "not an http(s) URL" in lines
    articles = poller.service._current().index.articles
    texts = " ".join(a.text for a in articles.values())
    assert "alert(" not in texts and "color:red" not in texts
    assert "cobalt blue" in texts and "Skarvøy" in texts
    harbour = next(a for a in articles.values() if "dolphins" in a.text)
    assert harbour.date == "2023-04-02"  # the page's published date
    observatory = next(a for a in articles.values() if "spectrograph" in a.text)
    assert observatory.url == server.url("/articles/observatory.html")  # relative resolved
    assert observatory.date == "2023-01-15"  # the page has none: the feed's
    brief = next(a for a in articles.values() if "cobalt" in a.text)
    assert brief.date is None  # never guessed


@pytest.mark.slow
def test_an_updated_entry_leaves_exactly_one_version(server: FeedServer, poller: Poller) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.poll()
    body = (DATA / "harbour.html").read_text(encoding="utf-8")
    changed = body.replace("eleven thousand visitors", "twelve thousand visitors")
    for path in ("/articles/harbour.html?utm_source=rss&utm_medium=feed",):
        server.put(path, Route(changed.encode()))
    feed = server.routes["/rss.xml"].body.replace(
        b"parade of fishing boats.</description>", b"parade of boats (updated).</description>"
    )
    server.put("/rss.xml", Route(feed, "application/xml"))
    g = by_name(poller.poll())["gazette"]
    assert (g["status"], g["new"], g["updated"]) == ("ok", 0, 1)
    index = poller.service._current().index
    festival = [a for a in index.articles.values() if "dolphins" in a.text]
    assert len(festival) == 1 and "twelve thousand" in festival[0].text
    chunks = [c for c in index.chunks if "thousand visitors" in c.text]
    assert chunks and all("twelve" in c.text for c in chunks)


@pytest.mark.slow
def test_a_syndicated_copy_joins_its_story(server: FeedServer, poller: Poller) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.poll()
    poller.add(server.url("/front.html"), "wire")  # a page whose Atom feed is discovered
    report = poller.poll()
    w = by_name(report)["wire"]
    assert (w["status"], w["new"], w["duplicates"]) == ("ok", 1, 1)
    stories = poller.state.stories()
    articles = poller.service._current().index.articles
    copy_id = next(a.id for a in articles.values() if a.title.startswith("Record crowd"))
    original = next(a.id for a in articles.values() if a.title.startswith("Harbour festival"))
    assert stories[copy_id] == original
    sources = [s for _, s, _ in poller.state.story_sources(original)]
    assert sources == ["Harbour Gazette", "Wire Digest"]  # earliest first
    # A different report on a related topic is not a copy.
    vineyard = next(a.id for a in articles.values() if "Riesling" in a.text)
    assert vineyard not in stories


@pytest.mark.slow
def test_a_poller_sees_the_stories_another_process_stored_since_its_last_pass(
    server: FeedServer, poller: Poller
) -> None:
    poller.poll()  # a pass with no feeds: its (empty) copy index is kept for the next
    other = Poller(NewsService(poller.service.settings, poller.service.embedder), FEEDS)
    try:
        other.add(server.url("/rss.xml"), "gazette")
        other.poll()  # stores the original report's story
    finally:
        other.close()
    poller.add(server.url("/front.html"), "wire")
    w = by_name(poller.poll())["wire"]
    assert (w["new"], w["duplicates"]) == (1, 1)  # the copy joins the other's story


@pytest.mark.slow
def test_bad_feeds_are_reported_while_good_ones_are_ingested(
    server: FeedServer, poller: Poller
) -> None:
    big = b"<rss>" + b"x" * 1_000_000
    server.put("/huge.xml", Route(big, "application/xml", conditional=False))
    server.put(
        "/chunked-huge.xml",
        Route(gzip.compress(big), "application/xml", headers={"Content-Encoding": "gzip"}),
    )
    server.put("/gone.xml", Route(b"gone", status=410))
    server.put("/broken.xml", Route(b"oops", status=500))
    server.put("/page.html", Route(b"<html><body><p>No feed here.</p></body></html>"))
    server.put(
        "/malformed.xml",
        Route(b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>x &bogus;</title>"),
    )
    recovered = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>R</title><item><title>a"
        b"</title><guid>r1</guid><description>The night train to Narvik was cancelled "
        b"because of snow on the line, the railway said.</description></item><item></channel>"
    )
    server.put("/recovered.xml", Route(recovered, "application/xml"))
    server.put("/loop.xml", Route(b"", status=302, headers={"Location": "/loop.xml"}))
    server.put("/slow.xml", Route(b"<rss/>", "application/xml", delay_s=4))
    server.put("/private/feed.xml", Route((DATA / "atom.xml").read_bytes(), "application/xml"))
    latin1 = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Kiel</title><item>"
        "<title>Fähre</title><guid>k1</guid><description>Die Fähre nach Kiel fährt ab "
        "Montag um sieben Uhr, teilte die Reederei Ostsee am Freitag mit.</description>"
        "</item></channel></rss>"
    ).encode("latin-1")
    server.put("/latin1.xml", Route(latin1, "application/xml"))  # no charset, not UTF-8
    bad = ["huge", "chunked-huge", "gone", "broken", "page", "malformed", "loop", "slow"]
    for name in bad:
        poller.add(server.url(f"/{name}.{'html' if name == 'page' else 'xml'}"), name, check=False)
    poller.add(server.url("/private/feed.xml"), "private", check=False)
    poller.add("http://127.0.0.1:9/feed.xml", "unreachable", check=False)
    poller.add(server.url("/latin1.xml"), "latin1", check=False)
    poller.add(server.url("/recovered.xml"), "recovered", check=False)
    poller.add(server.url("/rss.xml"), "gazette")
    started = time.monotonic()
    report = poller.poll()
    assert time.monotonic() - started < 60  # does not hang
    feeds = by_name(report)
    for name in [*bad, "private", "unreachable"]:
        assert feeds[name]["status"] == "error", name
        assert feeds[name]["error"] and "\n" not in feeds[name]["error"]
    assert "robots.txt" in feeds["private"]["error"]
    assert "more than 5 redirects" in feeds["loop"]["error"]
    assert "over 200000" in feeds["huge"]["error"]
    assert "over 200000" in feeds["chunked-huge"]["error"]
    assert "not a feed" in feeds["page"]["error"]
    assert "timed out" in feeds["slow"]["error"]
    assert feeds["gazette"]["status"] == "ok" and feeds["gazette"]["new"] == 4
    assert feeds["latin1"]["status"] == "ok" and feeds["latin1"]["new"] == 1
    assert feeds["recovered"]["status"] == "ok" and feeds["recovered"]["new"] == 1
    recovered_lines = next(f.lines for f in report.feeds if f.name == "recovered")
    assert any("mismatched tag" in line for line in recovered_lines)
    texts = " ".join(a.text for a in poller.service._current().index.articles.values())
    assert "Die Fähre nach Kiel" in texts and "dolphins" in texts
    failed = poller.state.find("gone")
    assert failed is not None and failed.failures == 1 and failed.next_poll > time.time()
    # Backoff: a pass that only polls feeds that are due skips the failed ones.
    due = poller.poll(force=False)
    assert "gone" not in by_name(due)


@pytest.mark.slow
def test_a_just_polled_article_answers_a_question_with_its_citation(
    server: FeedServer, poller: Poller
) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.poll()
    answer = poller.service.ask("How many dolphins did the ferry captain count?")
    assert not answer.abstained
    assert "forty-two" in answer.text
    cited = answer.citations[0]
    assert cited.url == server.url("/articles/harbour.html?utm_source=rss&utm_medium=feed")
    assert cited.source == "Harbour Gazette" and cited.date == "2023-04-02"


@pytest.mark.slow
def test_remove_with_purge_takes_its_articles_out(server: FeedServer, poller: Poller) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.add(server.url("/atom.xml"), "wire")
    poller.poll()
    poller.remove("wire")  # articles stay
    ids = set(poller.service._current().index.articles)
    assert any("Riesling" in a.text for a in poller.service._current().index.articles.values())
    poller.remove(server.url("/rss.xml"), purge=True)
    left = set(poller.service._current().index.articles)
    assert left and left < ids and all(a.startswith("feed-wire-") for a in left)
    assert not (poller.service.settings.docs_paths[0] / "feeds" / "gazette").exists()
    assert [f.name for f in poller.state.feeds()] == []
