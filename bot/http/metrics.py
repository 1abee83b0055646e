"""Prometheus metrics, in a registry of the app's own (so several apps can coexist)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retrieval.answer import Answer

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Requests and latencies by route and status, answers, abstentions, index size."""

    def __init__(self, index_stats: Callable[[], dict[str, Any] | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "newsbot_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "newsbot_http_request_duration_seconds",
            "Time from request to the end of the response, by route, method and status.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "newsbot_answers",
            "Answers given, by endpoint (answer, chat).",
            ["endpoint"],
            registry=self.registry,
        )
        self.abstentions = Counter(
            "newsbot_abstentions",
            "Answers that abstained (the articles don't say), by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.registry.register(_IndexCollector(index_stats))

    def observe_answer(self, answer: Answer, endpoint: str) -> None:
        """Count one answer (and whether it abstained)."""
        self.answers.labels(endpoint).inc()
        if answer.abstained:
            self.abstentions.labels(endpoint).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class _IndexCollector(Collector):
    """Index size, read from the loaded snapshot at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, Any] | None]) -> None:
        self._stats = stats

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats()
        if stats is None:
            return
        for name in ("articles", "chunks"):
            yield GaugeMetricFamily(
                f"newsbot_index_{name}", f"{name.capitalize()} in the loaded index.", stats[name]
            )
        info = GaugeMetricFamily(
            "newsbot_index_snapshot_info", "The loaded index snapshot.", labels=["snapshot"]
        )
        info.add_metric([stats["snapshot"]], 1)
        yield info


CLIENT_CLOSED = "499"
"""The status counted when the client left before any response (nginx's convention): a
body cut off mid-way is the client's doing, not a server error."""


class MetricsMiddleware:
    """Times every request and counts it under its route template (not its raw path).

    A request that ends with no response started is counted as 500, unless the client had
    disconnected: then as 499.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: int | None = None
        disconnected = False

        async def recording_receive() -> Message:
            nonlocal disconnected
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            unanswered = CLIENT_CLOSED if disconnected else "500"
            route, method = self._route(scope), scope["method"]
            labels = (route, method, unanswered if status is None else str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)

    def _route(self, scope: Scope) -> str:
        routed = scope.get("route")  # set by the router; absent when the guard answered
        if routed is not None and hasattr(routed, "path"):
            return str(routed.path)
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return str(getattr(route, "path", "other"))
            if match is Match.PARTIAL and partial is None:
                partial = str(getattr(route, "path", "other"))
        return partial or "unmatched"
