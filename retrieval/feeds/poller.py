"""One pass over every feed: fetch, extract new or changed entries, ingest, report.

The articles folder stays the source of truth: each entry is written as one JSON Lines
file in ``<first docs folder>/feeds/<feed name>/``, named from the entry's identity, so a
changed entry replaces its file and, on ingest, its chunks. Files are written and indexed
under the index's writer lock; the feed state (validators, entries seen, stories) is
committed only after the ingest published, so a pass killed at any moment leaves the last
good snapshot and the next pass fetches again what was not recorded. Bad input is reported
per feed and per entry and never stops the pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from retrieval import adding
from retrieval.backend import publish_stories
from retrieval.errors import InputError
from retrieval.feeds.copies import CopyDetector, shingles, signature
from retrieval.feeds.extract import extract_page
from retrieval.feeds.fetch import Fetcher, FetchError
from retrieval.feeds.identity import absolute_http_url, article_id, canonical_url, entry_identity
from retrieval.feeds.parse import Entry, NotAFeedError, discover_feed, parse_feed
from retrieval.feeds.settings import FeedsSettings
from retrieval.feeds.state import Feed, FeedState, SeenEntry, StoryMember
from retrieval.ingest import IngestReport, ingest
from retrieval.service import NewsService

log = logging.getLogger("newsbot.feeds")

FEEDS_FOLDER = "feeds"
PAGES_FEED = "_pages"  # single pages from `newsbot ingest URL` (no feed name starts with _)
MAX_BACKOFF_S = 24 * 3600
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,59}")


class FeedError(InputError):
    """A feed cannot be added, found or removed; the message says why."""


@dataclass
class FeedResult:
    """What one pass did with one feed (the ``feeds poll --json`` shape, plus detail lines)."""

    url: str
    name: str
    status: str = "ok"  # ok | not_modified | error
    error: str | None = None
    entries: int = 0
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    skipped: int = 0
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The fixed JSON shape."""
        d = asdict(self)
        del d["lines"]
        return d


@dataclass
class PollReport:
    """A pass: every feed's result and the snapshot answering now."""

    feeds: list[FeedResult]
    snapshot: str | None
    ingest: IngestReport | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"feeds": [...], "snapshot": ...}``."""
        return {"feeds": [f.to_json() for f in self.feeds], "snapshot": self.snapshot}


@dataclass
class _Pending:
    """What a pass will record once its articles are indexed."""

    drafts: dict[Path, adding.Draft] = field(default_factory=dict)
    entries: list[tuple[str, str, SeenEntry, str | None]] = field(default_factory=list)
    members: list[StoryMember] = field(default_factory=list)
    feeds: list[Feed] = field(default_factory=list)


def feeds_root(docs_paths: list[Path]) -> Path:
    """``feeds/`` in the first docs folder (checked like ``added/``)."""
    return adding.added_folder(docs_paths, FEEDS_FOLDER)


def state_path(docs_paths: list[Path]) -> Path:
    """The state database: in a dot folder under ``feeds/``, which ingest never reads."""
    return feeds_root(docs_paths) / ".state" / "feeds.sqlite"


def name_from_url(url: str) -> str:
    """A feed name from its URL: host and path, slugged."""
    parts = urlsplit(url)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{parts.hostname or ''}{parts.path}").strip("-")
    return (slug or "feed")[:50].strip("-").lower()


class Poller:
    """Subscriptions and poll passes over one service's index."""

    def __init__(
        self,
        service: NewsService,
        settings: FeedsSettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self._transport = transport
        self.state = FeedState(state_path(service.settings.docs_paths))
        self.last_requests = 0  # requests made by the last pass (for reports and tests)
        # The copy index as of a revision of the stored one: a watcher's passes reuse it
        # instead of re-shingling every feed article each time.
        self._copies: tuple[int, CopyDetector] | None = None
        self._published: int | None = None  # the stories revision replicas were given

    def close(self) -> None:
        """Close the state database."""
        self.state.close()

    def _fetcher(self) -> Fetcher:
        return Fetcher(self.settings, transport=self._transport)

    # --- subscriptions ---------------------------------------------------------------

    def add(self, url: str, name: str | None = None, *, check: bool = True) -> Feed:
        """Subscribe to a feed, or to a page whose feed is discovered.

        Raises:
            FeedError: a bad URL or name, already subscribed, or (with ``check``) the URL
                gives neither a feed nor a page announcing one.
        """
        if absolute_http_url(url, url) != url.strip():
            raise FeedError(f"not an http(s) URL: {url!r}")
        url = url.strip()
        name = name or self._free_name(name_from_url(url))
        if not _NAME.fullmatch(name):
            raise FeedError(
                f"feed name {name!r}: use letters, digits, '.', '_' or '-' (up to 60), "
                "starting with a letter or digit"
            )
        if self.state.find(name) or self.state.find(url):
            raise FeedError(f"already subscribed: {name} ({url}); see `newsbot feeds list`")
        feed = Feed(name=name, url=url, feed_url=None)
        if check:
            with self._fetcher() as fetcher:
                feed.feed_url, feed.title = self._resolve(fetcher, url)
        self.state.add(feed)
        return feed

    def remove(self, name_or_url: str, *, purge: bool = False) -> tuple[Feed, IngestReport | None]:
        """Unsubscribe; with ``purge`` its articles leave the folder and the index too.

        Raises:
            FeedError: no such feed.
        """
        feed = self.state.find(name_or_url)
        if feed is None:
            raise FeedError(f"no feed named or at {name_or_url!r}; see `newsbot feeds list`")
        report = None
        if purge:
            folder = adding.added_folder(self.service.settings.docs_paths, self._folder(feed.name))
            svc = self.service
            with svc.store.writer_lock():
                if folder.is_dir():
                    shutil.rmtree(folder)  # only the poller writes there
                if svc.store.current_name() is not None:
                    report = ingest(
                        svc.settings, svc.embedder, [folder], progress=False, locked=True
                    )
            if report is not None and report.published:
                svc.reload()
        ids = self.state.remove(feed.name)
        if purge:
            self.state.forget_members(ids)
            self._publish_stories()
        return feed, report

    def _free_name(self, base: str) -> str:
        name, n = base, 2
        while self.state.find(name):
            name, n = f"{base}-{n}", n + 1
        return name

    def _resolve(self, fetcher: Fetcher, url: str) -> tuple[str, str | None]:
        """The feed URL behind ``url`` (itself, or the feed its page announces) and title."""
        try:
            got = fetcher.get(url)
        except FetchError as e:
            raise FeedError(str(e)) from None
        try:
            return url, parse_feed(got.body, got.url, got.content_type).title
        except NotAFeedError as e:
            found = discover_feed(got.body, got.url)
            if found is None:
                raise FeedError(f"{url}: {e}, and it announces no feed") from None
        try:
            got = fetcher.get(found)
            return found, parse_feed(got.body, got.url, got.content_type).title
        except (FetchError, NotAFeedError) as e:
            raise FeedError(f"{url} announces {found}, which fails: {e}") from None

    @staticmethod
    def _folder(name: str) -> str:
        return f"{FEEDS_FOLDER}/{name}"

    def sync_config(self) -> None:
        """Subscribe (unchecked: checked on the first poll) to configured URLs not yet known."""
        for url in self.settings.urls:
            if self.state.find(url) is None:
                self.add(url, check=False)

    # --- polling ---------------------------------------------------------------------

    def poll(self, *, force: bool = True, stop: threading.Event | None = None) -> PollReport:
        """One pass over every feed (``force=False``: only those due, honouring backoff).

        Raises:
            IngestLockedError: another ingest holds the writer lock (nothing recorded).
        """
        self.sync_config()
        self._scan_follows()  # the first pass ever starts the cursor before its articles
        stop = stop or threading.Event()
        now = time.time()
        revision, detector = self._detector()
        pending = _Pending()
        results: list[FeedResult] = []
        with self._fetcher() as fetcher:
            for feed in self.state.feeds():
                if stop.is_set():
                    break
                if not force and not self._due(feed, now):
                    continue
                results.append(self._poll_feed(feed, fetcher, detector, pending, stop))
            self.last_requests = fetcher.requests
        report = self._commit(pending, detector, revision)
        return PollReport(
            results, report.snapshot if report else self.service.store.current_name(), report
        )

    def _due(self, feed: Feed, now: float) -> bool:
        """A failing feed waits out its backoff; another is due ``every`` after its last
        success (so a changed interval applies at once)."""
        if feed.failures:
            return feed.next_poll <= now
        return (feed.last_success or 0.0) + self.settings.every_s <= now

    def _detector(self) -> tuple[int, CopyDetector]:
        """The copy index and the stored revision it holds: the one kept from the last pass
        while the stored one has not changed since (another process's poll or a purge
        changes it), else rebuilt. It is handed out once: a pass adds its articles to it,
        and :meth:`_commit` keeps it only when they were stored."""
        kept, self._copies = self._copies, None
        # Read before the rows: a change landing in between makes the revision look older
        # than the rows, so that the detector is only ever rebuilt once too often.
        revision = self.state.stories_revision()
        if kept is not None and kept[0] == revision:
            return revision, kept[1]
        detector = CopyDetector()
        for m in self.state.members():
            detector.add(m.article_id, m.text, m.signature, story=m.story_id)
        return revision, detector

    def _poll_feed(
        self,
        feed: Feed,
        fetcher: Fetcher,
        detector: CopyDetector,
        pending: _Pending,
        stop: threading.Event,
    ) -> FeedResult:
        result = FeedResult(url=feed.url, name=feed.name)
        every = self.settings.every_s
        try:
            if feed.feed_url is None:
                feed.feed_url, feed.title = self._resolve(fetcher, feed.url)
            got = fetcher.get(feed.feed_url, etag=feed.etag, last_modified=feed.last_modified)
            if got.not_modified:
                result.status = "not_modified"
            else:
                parsed = parse_feed(got.body, got.url, got.content_type)
                result.lines += parsed.warnings
                feed.title = parsed.title or feed.title
                complete = self._entries(
                    feed, parsed.entries, got.url, fetcher, detector, pending, result, stop
                )
                if complete:
                    # Validators are kept only for a feed whose every entry was handled:
                    # otherwise a 304 would hide the rest forever.
                    feed.etag, feed.last_modified = got.etag, got.last_modified
        except (FetchError, NotAFeedError, FeedError) as e:
            result.status, result.error = "error", str(e)
            feed.failures += 1
            feed.last_error = str(e)
            feed.next_poll = time.time() + min(every * 2**feed.failures, MAX_BACKOFF_S)
            pending.feeds.append(feed)
            return result
        feed.failures, feed.last_error = 0, None
        feed.last_success = time.time()
        feed.next_poll = feed.last_success + every
        pending.feeds.append(feed)
        return result

    def _entries(
        self,
        feed: Feed,
        entries: list[Entry],
        base: str,
        fetcher: Fetcher,
        detector: CopyDetector,
        pending: _Pending,
        result: FeedResult,
        stop: threading.Event,
    ) -> bool:
        """Handle a feed's entries; False when stopped or an entry must be retried."""
        result.entries = len(entries)
        seen = self.state.seen(feed.name)
        this_pass: set[str] = set()
        complete = True
        for n, e in enumerate(entries, 1):
            if stop.is_set():
                return False
            label = f"entry {n} ({(e.title or e.link or 'untitled')[:60]})"
            result.lines += [f"{label}: {w}" for w in e.warnings]
            identity = entry_identity(e.guid, e.link, f"{e.title or ''}\n{e.summary}")
            if identity in this_pass:
                result.skipped += 1
                result.lines.append(f"{label}: same identity as an earlier entry: skipped")
                continue
            this_pass.add(identity)
            fp = _fingerprint(e)
            known = seen.get(identity)
            if known is not None and known.fingerprint == fp:
                continue
            handled = self._entry(
                feed, e, identity, fp, known, fetcher, detector, pending, result, label
            )
            complete = complete and handled
        return complete

    def _entry(
        self,
        feed: Feed,
        e: Entry,
        identity: str,
        fp: str,
        known: SeenEntry | None,
        fetcher: Fetcher,
        detector: CopyDetector,
        pending: _Pending,
        result: FeedResult,
        label: str,
        *,
        fetch_page: bool = True,
    ) -> bool:
        """Turn one new or changed entry into a draft; False when it must be retried."""
        text, title, date, site = e.summary, e.title, e.published, None
        if fetch_page and self.settings.fetch_pages and e.link:
            try:
                got = fetcher.get(e.link)
                page = extract_page(got.body, got.url)
                text = page.text or text
                title = title or page.title
                # The page's published date first; the feed's when the page has none.
                date = page.date or e.published
                site = page.site
                if page.text is None:
                    result.lines.append(f"{label}: no article text on {e.link}; using the summary")
            except FetchError as err:
                if not text:
                    result.skipped += 1
                    result.lines.append(f"{label}: {err}; will retry on the next poll")
                    return False
                result.lines.append(f"{label}: {err}; indexed the feed's summary")
        aid = article_id(feed.name, identity)
        record = {
            "id": aid,
            "title": title,
            "date": date,
            "source": feed.title or site or urlsplit(feed.feed_url or feed.url).hostname,
            "url": e.link,
            "text": text,
        }
        draft = adding.draft(record)
        if draft.skipped:
            result.skipped += 1
            result.lines.append(f"{label}: not indexed: {draft.skipped}")
            return True
        folder = adding.added_folder(self.service.settings.docs_paths, self._folder(feed.name))
        pending.drafts[folder / draft.file_name] = draft
        sig = signature(shingles(text))
        story = detector.add(aid, text, sig)
        pending.members.append(StoryMember(aid, story, record["source"], date, sig, text))
        pending.entries.append(
            (feed.name, identity, SeenEntry(aid, fp, e.published or date, e.updated), e.link)
        )
        if story != aid:
            result.duplicates += 1
            result.lines.append(f"{label}: a copy of story {story}")
        elif known is not None:
            result.updated += 1
        else:
            result.new += 1
        return True

    def _commit(
        self, pending: _Pending, detector: CopyDetector, revision: int
    ) -> IngestReport | None:
        """Write and index the pass's articles, then record the state, in that order; the
        pass's copy index (read at ``revision``) is kept for the next pass once its
        articles are stored, unless another process changed the stored one meanwhile."""
        report = None
        svc = self.service
        if pending.drafts:
            by_folder: dict[Path, list[adding.Draft]] = {}
            for path, d in pending.drafts.items():
                by_folder.setdefault(path.parent, []).append(d)
            with svc.store.writer_lock():
                report = self._write_and_ingest(list(by_folder.items()))
            if report.published:
                svc.reload()
        with self.state.transaction():
            for feed_name, identity, seen, url in pending.entries:
                self.state.record_entry(feed_name, identity, seen, url)
            for m in pending.members:
                self.state.record_member(m)
            for feed in pending.feeds:
                self.state.save(feed)
            now = self.state.stories_revision()
        if now == revision + len(pending.members):  # each stored member bumps it by one
            self._copies = (now, detector)
        if pending.members:
            svc.refresh_stories()  # new copies collapse from the next answer on
        self._publish_stories()
        self._scan_follows()
        return report

    def _scan_follows(self) -> None:
        """With follows every replica shares, this poller (the one worker, which holds the
        feed state) turns the new articles into alerts (at the start and the end of each
        pass); the replicas deliver them."""
        svc = self.service
        if svc.settings.store.backend != "postgres" or not svc.follows.store.shared:
            return
        try:
            svc.follows.scan()
        except Exception:  # the articles are in: the next pass scans from the same cursor
            log.exception("scanning the new articles for follows failed; retrying next pass")

    def _publish_stories(self) -> None:
        """With a database replicas share, publish the story map when it changed since this
        poller last did (or never did): every replica then collapses the same copies."""
        now = self.state.stories_revision()
        if now != self._published:
            svc = self.service
            if publish_stories(svc.store, state_path(svc.settings.docs_paths)):
                svc.refresh_stories()
            self._published = now

    def _write_and_ingest(self, groups: list[tuple[Path, list[adding.Draft]]]) -> IngestReport:
        """Write every folder's files (all put back if the ingest fails) and ingest them."""
        svc = self.service
        with contextlib.ExitStack() as stack:
            paths: list[Path] = []
            for folder, drafts in groups:
                paths += stack.enter_context(adding.written(folder, drafts))
            return ingest(svc.settings, svc.embedder, paths, progress=False, locked=True)

    # --- single pages ----------------------------------------------------------------

    def ingest_pages(self, urls: list[str]) -> PollReport:
        """Fetch, extract and index single pages (``newsbot ingest URL ...``)."""
        feed = Feed(name=PAGES_FEED, url="", feed_url=None)
        revision, detector = self._detector()
        pending = _Pending()
        results = []
        with self._fetcher() as fetcher:
            seen = self.state.seen(PAGES_FEED)
            for url in urls:
                result = FeedResult(url=url, name=PAGES_FEED, entries=1)
                results.append(result)
                link = absolute_http_url(url, url)
                if link is None:
                    result.status, result.error = "error", f"not an http(s) URL: {url!r}"
                    continue
                try:
                    got = fetcher.get(link)
                except FetchError as err:
                    result.status, result.error = "error", str(err)
                    continue
                page = extract_page(got.body, got.url)
                if page.text is None:
                    result.status, result.error = "error", f"no article text on {url}"
                    continue
                identity = "url:" + canonical_url(got.url)
                fp = hashlib.sha256(got.body).hexdigest()
                known = seen.get(identity)
                if known is not None and known.fingerprint == fp:
                    result.lines.append("unchanged")
                    continue
                entry = Entry(None, got.url, page.title, page.text, page.date, None)
                feed.title = page.site
                self._entry(
                    feed,
                    entry,
                    identity,
                    fp,
                    known,
                    fetcher,
                    detector,
                    pending,
                    result,
                    url,
                    fetch_page=False,
                )
        report = self._commit(pending, detector, revision)
        return PollReport(
            results, report.snapshot if report else self.service.store.current_name(), report
        )


def _fingerprint(e: Entry) -> str:
    """What makes an entry changed: its title, link, text and dates."""
    h = hashlib.sha256()
    for part in (e.title, e.link, e.summary, e.published, e.updated):
        h.update((part or "").encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()
