"""Polite HTTP fetching: timeouts, a size cap, few redirects, conditional GET, a pause
between requests to one host, and robots.txt."""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from retrieval.feeds.settings import FeedsSettings

MAX_REDIRECTS = 5


class FetchError(Exception):
    """A fetch that gave nothing usable; the message is one line, safe to show."""


@dataclass
class Fetched:
    """A response: status 200 with its body, or 304 (not modified) with none."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional request."""
        return self.status == 304


class Fetcher:
    """One HTTP client for a poll pass; remembers each host's robots.txt and last request."""

    def __init__(
        self,
        settings: FeedsSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._last: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.requests = 0  # counted for reports and tests
        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(settings.timeout_s),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
        )

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET ``url`` (conditionally when ``etag``/``last_modified`` are known).

        Raises:
            FetchError: disallowed by robots.txt, unreachable, timed out, too many
                redirects, an HTTP error status, or a body over ``max_bytes``.
        """
        if self.settings.respect_robots and not self.allowed(url):
            raise FetchError(f"robots.txt of {_host(url)} disallows {url}")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._get(url, headers)

    def allowed(self, url: str) -> bool:
        """True when the host's robots.txt lets our user agent fetch ``url``."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        rp = self._robots[origin]
        return rp is None or rp.can_fetch(self.settings.user_agent, url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        """The host's robots.txt; None (everything allowed) when it has none or it fails."""
        rp = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            got = self._get(origin + "/robots.txt", {})
        except FetchError as e:
            # As robotparser does: 401/403 mean "keep out", anything else means no rules.
            if " 401 " in str(e) or " 403 " in str(e):
                rp.parse(["User-agent: *", "Disallow: /"])
                return rp
            return None
        rp.parse(got.body.decode("utf-8", "replace").splitlines())
        return rp

    def _get(self, url: str, headers: dict[str, str]) -> Fetched:
        self._pause(url)
        self.requests += 1
        cap = self.settings.max_bytes
        try:
            with self._client.stream("GET", url, headers=headers) as r:
                if r.status_code == 304:
                    return _fetched(r, b"")
                if r.status_code >= 400:
                    raise FetchError(f"HTTP {r.status_code} {r.reason_phrase} from {url}")
                if r.status_code != 200:
                    raise FetchError(f"unexpected HTTP {r.status_code} from {url}")
                declared = r.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise FetchError(f"body of {url} is {int(declared)} bytes, over {cap}")
                chunks: list[bytes] = []
                size = 0
                # Counted as it arrives (decompressed, so a gzip bomb is cut too), never
                # trusting Content-Length.
                for chunk in r.iter_bytes():
                    size += len(chunk)
                    if size > cap or r.num_bytes_downloaded > cap:
                        raise FetchError(f"body of {url} is over {cap} bytes: not read")
                    chunks.append(chunk)
                return _fetched(r, b"".join(chunks))
        except httpx.TooManyRedirects:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.settings.timeout_s:g}s: {url}") from None
        except httpx.DecodingError as e:
            raise FetchError(f"undecodable body from {url}: {e}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise FetchError(f"cannot fetch {url}: {type(e).__name__}: {e}") from None

    def _pause(self, url: str) -> None:
        """Wait out the per-host delay since the last request to this host."""
        host = _host(url)
        last = self._last.get(host)
        if last is not None:
            wait = self.settings.per_host_delay_s - (time.monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        self._last[host] = time.monotonic()


def _fetched(r: httpx.Response, body: bytes) -> Fetched:
    return Fetched(
        url=str(r.url),
        status=r.status_code,
        body=body,
        content_type=r.headers.get("content-type", ""),
        etag=r.headers.get("etag"),
        last_modified=r.headers.get("last-modified"),
        headers=dict(r.headers),
    )


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
