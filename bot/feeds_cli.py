"""`newsbot feeds add|list|remove|poll`, `newsbot watch` and `newsbot ingest URL ...`.

Data goes to stdout, progress and diagnostics to stderr. Exit codes: 0 when the command
ran (a poll pass ran, whatever single feeds did), 1 when nothing could run, 2 on usage.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.articles import strip_invisible
from retrieval.config import Settings
from retrieval.errors import NewsbotError
from retrieval.feeds.settings import FeedsSettings, parse_every

if TYPE_CHECKING:
    # The poller brings httpx and datasketch (scipy): seconds that `newsbot ask` must not pay.
    from retrieval.feeds.poller import Poller, PollReport
    from retrieval.feeds.state import Feed
    from retrieval.feeds.watch import BackgroundWatcher

FEEDS_EXAMPLES = """examples:
  newsbot feeds add https://example.org/rss.xml --name example
  newsbot feeds add https://example.org/            # a page: its <link rel="alternate"> feed
  newsbot feeds list --json
  newsbot feeds poll --json
  newsbot feeds remove example --purge              # also take its articles out
"""


def feeds_settings(settings: Settings) -> FeedsSettings:
    """The ``feeds`` config section."""
    return settings.feeds


def _every(value: str) -> str:
    try:
        parse_every(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def path_or_url(value: str) -> Path | str:
    """An `ingest` argument: an http(s) URL stays a string, anything else is a path."""
    return value if value.lower().startswith(("http://", "https://")) else Path(value)


def register(sub: Any) -> None:
    """Add the `feeds` and `watch` commands to the `newsbot` subparsers."""
    p = sub.add_parser(
        "feeds",
        help="follow RSS/Atom feeds and web pages",
        epilog=FEEDS_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fsub = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    s = fsub.add_parser(
        "add",
        help="subscribe to a feed, or a page whose feed is discovered",
        epilog="example: newsbot feeds add https://example.org/rss.xml --name example",
    )
    s.add_argument("url", metavar="URL")
    s.add_argument("--name", help="a short name (default: from the URL)")
    s = fsub.add_parser(
        "list", help="the subscribed feeds", epilog="example: newsbot feeds list --json"
    )
    s.add_argument("--json", action="store_true", help="print JSON")
    s = fsub.add_parser(
        "remove",
        help="unsubscribe (its articles stay unless --purge)",
        epilog="example: newsbot feeds remove example --purge",
    )
    s.add_argument("feed", metavar="NAME|URL")
    s.add_argument("--purge", action="store_true", help="also remove its articles")
    s = fsub.add_parser(
        "poll",
        help="one pass over every feed: fetch, extract, ingest, report",
        epilog="example: newsbot feeds poll --json",
    )
    s.add_argument("--json", action="store_true", help="print the report as JSON")

    s = sub.add_parser(
        "watch",
        help="poll the feeds in a loop until Ctrl-C",
        epilog="example: newsbot watch --every 15m",
    )
    s.add_argument(
        "--every", type=_every, default=None, help="poll interval, e.g. 15m (default: feeds.every)"
    )
    s.add_argument("--json", action="store_true", help="one JSON report per line")


def _safe(text: object) -> str:
    """Remote text made inert for a terminal (control and invisible characters dropped)."""
    return strip_invisible(str(text))[0]


@contextmanager
def _poller(settings: Settings, feeds: FeedsSettings | None = None) -> Iterator[Poller]:
    from retrieval.feeds.poller import Poller
    from retrieval.service import NewsService  # not at import: `ingest` never answers

    poller = Poller(NewsService(settings), feeds or feeds_settings(settings))
    try:
        yield poller
    finally:
        poller.close()


def _feed_json(f: Feed) -> dict[str, Any]:
    def when(t: float | None) -> str | None:
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds") if t else None

    return {
        "name": f.name,
        "url": f.url,
        "feed_url": f.feed_url,
        "title": f.title,
        "last_success": when(f.last_success),
        "last_error": f.last_error,
        "failures": f.failures,
        "next_poll": when(f.next_poll),
    }


def report_text(report: PollReport) -> str:
    """One line per feed, its detail lines indented, then the snapshot."""
    lines = []
    for f in report.feeds:
        counts = (
            f"{f.entries} entries, {f.new} new, {f.updated} updated, "
            f"{f.duplicates} duplicates, {f.skipped} skipped"
        )
        head = f"{f.status:<12} {f.name} ({f.url})"
        lines.append(f"{head}: {f.error}" if f.error else f"{head}: {counts}")
        lines.extend(f"    {line}" for line in f.lines)
    lines.append(f"snapshot: {report.snapshot or '(none)'}")
    return _safe("\n".join(lines)) if lines else ""


def cmd_feeds(settings: Settings, args: argparse.Namespace) -> int:
    """`newsbot feeds ...`."""
    with _poller(settings) as poller:
        match args.feeds_command:
            case "add":
                feed = poller.add(args.url, args.name)
                print(_safe(f"added {feed.name}: {feed.feed_url} ({feed.title or 'untitled'})"))
            case "list":
                poller.sync_config()
                feeds = poller.state.feeds()
                if args.json:
                    print(json.dumps([_feed_json(f) for f in feeds], indent=2))
                for f in [] if args.json else feeds:
                    state = f"failing ({f.failures}): {f.last_error}" if f.failures else "ok"
                    print(_safe(f"{f.name}\t{f.feed_url or f.url}\t{state}"))
            case "remove":
                feed, report = poller.remove(args.feed, purge=args.purge)
                kept = "its articles removed" if args.purge else "its articles stay"
                print(_safe(f"removed {feed.name} ({feed.url}); {kept}"))
                if report is not None:
                    print(f"snapshot: {report.snapshot}", file=sys.stderr)
            case "poll":
                return _poll_once(poller, args.json)
    return 0


def _poll_once(poller: Poller, as_json: bool) -> int:
    poller.sync_config()
    if not poller.state.feeds():
        print("newsbot: no feeds to poll; add one with `newsbot feeds add URL`", file=sys.stderr)
        return 1
    report = poller.poll()
    print(json.dumps(report.to_json(), indent=2) if as_json else report_text(report))
    return 0


def cmd_watch(settings: Settings, args: argparse.Namespace) -> int:
    """`newsbot watch`: poll until Ctrl-C or SIGTERM, finishing the entry in progress."""
    feeds = feeds_settings(settings)
    if args.every:
        feeds = feeds.model_copy(update={"every": args.every})
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        print("newsbot: stopping after the entry in progress", file=sys.stderr)
        stop.set()

    def on_report(report: PollReport) -> None:
        print(json.dumps(report.to_json()) if args.json else report_text(report), flush=True)

    def on_error(e: NewsbotError) -> None:  # e.g. another ingest holds the lock: next round
        print(f"newsbot: {e}", file=sys.stderr)

    from retrieval.feeds.watch import watch

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _poller(settings, feeds) as poller:
            watch(poller, stop, on_report, on_error)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def watching(settings: Settings, enabled: bool) -> contextlib.AbstractContextManager[object]:
    """``--watch`` of `serve` and `telegram`: the poll loop in a background thread while the
    front end runs, stopped after the entry in progress when it returns (SIGTERM / Ctrl-C
    stop the front end first); nothing when not ``enabled``."""
    return _watching(settings) if enabled else contextlib.nullcontext()


@contextmanager
def _watching(settings: Settings) -> Iterator[BackgroundWatcher]:
    from retrieval.feeds.watch import BackgroundWatcher

    watcher = BackgroundWatcher(settings, feeds_settings(settings))

    def on_term(signum: int, frame: object) -> None:
        # The front end has shut down (uvicorn passes the signal on once it has) or has not
        # started yet: leave through the `finally` below, which lets the watcher finish.
        raise SystemExit(0)

    watcher.start()
    print(f"newsbot: watching the feeds (every {settings.feeds.every})", file=sys.stderr)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if main else None
    try:
        yield watcher
    finally:
        print("newsbot: stopping the feed watcher after the entry in progress", file=sys.stderr)
        watcher.stop()
        if main:
            signal.signal(signal.SIGTERM, previous)


def cmd_ingest_urls(settings: Settings, urls: Sequence[str], as_json: bool) -> int:
    """`newsbot ingest URL ...`: fetch, extract and index single pages."""
    with _poller(settings) as poller:
        report = poller.ingest_pages(list(urls))
    print(json.dumps(report.to_json(), indent=2) if as_json else report_text(report))
    return 0 if any(f.status == "ok" for f in report.feeds) else 1
