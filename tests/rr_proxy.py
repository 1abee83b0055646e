"""A round-robin HTTP proxy over replicas on 127.0.0.1, for the replica tests and
bench/pg_replicas.py: each request goes to the next replica; on a connection error (refused,
reset, closed early) it is retried on the one after."""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 50 clients connect at once (the default backlog is 5)


class RoundRobinProxy:
    """Forwards each request to the next replica; on a connection error, to the one after."""

    _HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})

    def __init__(self, upstreams: list[int], timeout: float = 120) -> None:
        self.upstreams = upstreams  # ports on 127.0.0.1
        self.timeout = timeout  # seconds an upstream may take to answer
        self._turn = itertools.count()
        self.retried = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy.forward(self)

            def do_POST(self) -> None:
                proxy.forward(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        """Send the request to the replicas in turn until one answers (502 if none does)."""
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in self._HOP}
        first = next(self._turn)
        for attempt in range(len(self.upstreams)):
            i = (first + attempt) % len(self.upstreams)
            conn = http.client.HTTPConnection("127.0.0.1", self.upstreams[i], timeout=self.timeout)
            try:
                conn.request(handler.command, handler.path, body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):  # refused, reset, closed early
                with self._lock:
                    self.retried += 1
                continue
            finally:
                conn.close()
            handler.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in self._HOP:
                    handler.send_header(k, v)
            handler.send_header("X-Replica", str(i))
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_error(502, "no replica answered")

    def start(self) -> RoundRobinProxy:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RoundRobinProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the cluster ---------------------------------------------------------------------------
