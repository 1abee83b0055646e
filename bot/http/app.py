"""The app factory: one FastAPI app over one NewsService.

The embedding model and the index load in the lifespan (never at import); a watcher picks
up snapshots published by `newsbot ingest` while the server runs. Middleware, outermost
first: metrics (every response counted, errors included), CORS (only when origins are
configured), then the guard (back-off after wrong keys, keys, rate limit, body cap) ahead
of routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from bot.http import articles, follows, guard, openai_compat, page, routes, webhooks
from bot.http.auth import KeyRing
from bot.http.limits import make_limiter
from bot.http.metrics import MetricsMiddleware
from bot.http.openapi import install_openapi
from bot.http.problems import install_problem_handlers
from bot.http.state import AppState
from retrieval.config import Settings
from retrieval.errors import NewsbotError
from retrieval.service import NewsService

log = logging.getLogger("newsbot.http")

DESCRIPTION = """\
Ask questions about news articles; every answer cites the article, date, source and the
quoted sentence it rests on, or says plainly that the articles don't say.

**Keys.** Send `Authorization: Bearer KEY` with a key from `http.api_keys` (read) or
`http.admin_keys` (read, and add articles). `/healthz`, `/readyz` and these docs need none.
After repeated wrong keys from one address, that address gets 429 (with Retry-After)
whatever key it sends, until it has waited. Conversations belong to the key that made them.

**Errors** are RFC 9457 `application/problem+json`: `{type, title, status, detail,
instance, code}`. Limits: a per-key rate limit (429 with Retry-After), a body cap (413),
a question length cap (422), a per-request deadline (504).

**OpenAI clients** work unchanged against `/v1` with model `newsbot`: the answer text
carries [n] markers, and the response an extra `citations` field.
"""

TAGS = [
    {"name": "answers", "description": "Questions, answers with citations, conversations."},
    {"name": "articles", "description": "What is indexed; adding articles (admin key)."},
    {"name": "openai", "description": "OpenAI-compatible chat completions and models."},
    {
        "name": "follows",
        "description": "Topics you follow and their alerts (polled, or POSTed to your webhook).",
    },
    {"name": "probes", "description": "Liveness, readiness and Prometheus metrics."},
]


def create_app(
    service: NewsService, settings: Settings | None = None, *, reload_interval: float = 1.0
) -> FastAPI:
    """Build the HTTP app around a service (nothing heavy happens until the lifespan).

    Args:
        service: the service every endpoint calls.
        settings: the configuration (default: the service's).
        reload_interval: seconds between checks for a newly published index snapshot.

    Raises:
        ConfigError: no API keys while auth is not explicitly disabled, a key no client
            could send (blank, outer whitespace, not printable ASCII), or the key-identity
            secret next to the sessions database cannot be read or made.
    """
    settings = settings or service.settings
    http = settings.http
    store = getattr(service, "store", None)  # with postgres, replicas share keys' limits
    keys = KeyRing.from_settings(settings, store)
    limiter = make_limiter(store, http.rate_limit_per_minute, "http")
    state = AppState(service, settings, keys, limiter)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(_warm_up, service)
        except NewsbotError as e:
            state.startup_error = e
            raise
        state.started = True
        watcher = asyncio.create_task(state.watch_snapshots(reload_interval))
        try:
            async with webhooks.delivering(state):
                yield
        finally:
            state.begin_drain()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(
        title="newsbot",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.newsbot = state
    install_problem_handlers(app)
    app.include_router(routes.router)
    app.include_router(articles.router)
    app.include_router(follows.router)
    app.include_router(webhooks.router)
    webhooks.document(app)
    app.include_router(openai_compat.router)
    page_router = page.make_router()  # the web chat page at /
    app.include_router(page_router)
    app.add_middleware(
        guard.GuardMiddleware,
        keys=state.keys,
        limiter=state.limiter,
        http=http,
        # Read when the app is made (until a config field exists for it).
        failures=make_limiter(store, http.auth_failures_per_minute, "http-wrong-keys"),
    )
    if http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=http.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Session-Id"],
            max_age=600,
        )
    state.routes = [
        *routes.router.routes,
        *articles.router.routes,
        *follows.router.routes,
        *webhooks.router.routes,
        *openai_compat.router.routes,
        *page_router.routes,
    ]
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, routes=state.routes)
    install_openapi(app, settings)
    return app


def _warm_up(service: NewsService) -> None:
    """Load the model and the index (building or updating it when stale; while another
    ingest writes, the current snapshot serves and the watcher loads the next)."""
    report = service.ensure_index(progress=False)
    if report is not None and report.notice:
        log.warning("%s", report.notice)
    service.warm_up()


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "0"
