"""A feed server on 127.0.0.1 for tests and benches: canned routes (conditional GETs with
ETag and Last-Modified), a log of every request, and when each was answered."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data" / "feeds"
LAST_MODIFIED = "Mon, 03 Apr 2023 10:00:00 GMT"


@dataclass
class Route:
    """A canned response; ``etag`` and Last-Modified make it conditional."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    conditional: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class FeedServer:
    """Serves routes on 127.0.0.1 and logs (path, status, request headers) of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, int, dict[str, str]]] = []
        self.answered: list[tuple[str, float]] = []  # (path, time.monotonic()) of each answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = server.routes.get(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if route is None:
                    return self._send(404, b"not found", "text/plain", {}, headers)
                if route.delay_s:
                    time.sleep(route.delay_s)
                extra = dict(route.headers)
                if route.conditional and route.status == 200:
                    etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                    extra.update({"ETag": etag, "Last-Modified": LAST_MODIFIED})
                    if headers.get("if-none-match") == etag:
                        return self._send(304, b"", route.content_type, extra, headers)
                return self._send(route.status, route.body, route.content_type, extra, headers)

            def _send(
                self, status: int, body: bytes, ctype: str, extra: dict[str, str], req: dict
            ) -> None:
                server.log.append((self.path, status, req))
                server.answered.append((self.path, time.monotonic()))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in extra.items():
                    self.send_header(k, v)
                if "Content-Length" not in extra and "Transfer-Encoding" not in extra:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """The full URL of a path."""
        return self.base + path

    def put(self, path: str, route: Route) -> None:
        """Serve a route (replacing any)."""
        self.routes[path] = route

    def put_file(self, path: str, name: str, content_type: str = "") -> None:
        """Serve a test data file, with HOST replaced by this server's host."""
        body = (DATA / name).read_bytes().replace(b"http://HOST", self.base.encode())
        kind = content_type or (
            "application/xml" if name.endswith(".xml") else "text/html; charset=utf-8"
        )
        self.put(path, Route(body, kind))

    def statuses(self, path: str) -> list[int]:
        """The statuses sent for a path, in order."""
        return [s for p, s, _ in self.log if p == path]


@contextlib.contextmanager
def serving(server: FeedServer | None = None) -> Iterator[FeedServer]:
    """Run a feed server in a daemon thread until the block ends."""
    s = server or FeedServer()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
