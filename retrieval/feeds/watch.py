"""Polling in a loop until told to stop: `newsbot watch`, and `serve --watch` /
`telegram --watch` in a background thread of the same process.

One pass at a time, each under the index's writer lock (taken by the poller only while it
writes and indexes), so a watcher in the server and a `newsbot ingest` never write at once;
the serving service picks the new snapshot up through its refresh. A stop request is
honoured after the entry in progress: the pass then records what it finished.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import NewsbotError
from retrieval.feeds.poller import Poller, PollReport
from retrieval.feeds.settings import FeedsSettings
from retrieval.service import NewsService

# Under "newsbot" so that `serve` (which configures that logger) and Telegram show it.
log = logging.getLogger("newsbot.feeds")

MIN_WAIT_S = 1.0


def next_wait(poller: Poller, every_s: float, now: float | None = None) -> float:
    """Seconds until the next feed is due (its backoff, else ``every`` after its last
    success), between 1 s and ``every``."""
    now = time.time() if now is None else now
    due = [
        f.next_poll if f.failures else (f.last_success or 0.0) + every_s
        for f in poller.state.feeds()
    ]
    return min(max(min(due, default=now + every_s) - now, MIN_WAIT_S), every_s)


def watch(
    poller: Poller,
    stop: threading.Event,
    on_report: Callable[[PollReport], None],
    on_error: Callable[[NewsbotError], None],
) -> None:
    """Poll the feeds that are due until ``stop`` is set; each pass that polled a feed is
    passed to ``on_report``, a pass that could not run (another ingest holds the lock) to
    ``on_error``, and the next pass is tried when a feed is due."""
    every_s = poller.settings.every_s
    while not stop.is_set():
        try:
            report = poller.poll(force=False, stop=stop)
        except NewsbotError as e:
            on_error(e)
        else:
            if report.feeds:
                on_report(report)
        stop.wait(next_wait(poller, every_s))


class BackgroundWatcher:
    """The poll loop in a thread beside a server, with its own service over the same index
    (the server's service picks the new snapshots up); :meth:`stop` waits for the entry in
    progress."""

    def __init__(
        self, settings: Settings, feeds: FeedsSettings, embedder: Embedder | None = None
    ) -> None:
        self._poller = Poller(NewsService(settings, embedder), feeds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsbot-watch", daemon=True)
        self.passes = 0  # passes that polled a feed (for tests and logs)

    def start(self) -> BackgroundWatcher:
        """Bring the index up to date, then start polling; returns self.

        The index is built here, before the front end starts, so that the front end's own
        start-up check never races the first poll for the writer lock on a missing index.

        Raises:
            NewsbotError: the index cannot be built (as the front end would raise).
        """
        self._poller.service.ensure_index(progress=False)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            watch(self._poller, self._stop, self._report, self._error)
        except Exception:  # a bug must not pass silently, nor take the server down
            log.exception("the feed watcher stopped")
        finally:
            self._poller.close()

    def _report(self, report: PollReport) -> None:
        self.passes += 1
        for f in report.feeds:
            line = f"{f.name}: {f.status}"
            if f.error:
                log.warning("feed %s", f"{line}: {f.error}")
            else:
                log.info(
                    "feed %s, %d new, %d updated, %d copies", line, f.new, f.updated, f.duplicates
                )
        log.info("feeds polled; snapshot %s", report.snapshot)

    def _error(self, e: NewsbotError) -> None:
        log.warning("feed poll skipped: %s", e)

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the loop to stop after the entry in progress and wait; True when it ended."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()
