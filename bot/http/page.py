"""The web chat page: ``GET /`` and its few static assets, public, under a strict CSP.

The files ship in the package (``bot/http/web``) and are read once, when the app is made;
only the names listed here are served, so no request path ever reaches the file system.
The page talks to the JSON API with the key the user typed (kept in session storage), and
inserts article and model text as text only, which the CSP backs up: no inline script, no
other origin, no framing.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Response

from bot.http.problems import ApiProblem

ASSET_PREFIX = "/web/"
"""Where the page's assets are served (public, like ``/``)."""

_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    "Cross-Origin-Opener-Policy": "same-origin",
    # Not cached: a new version of the page and its script always arrive together.
    "Cache-Control": "no-cache",
}


def read_assets() -> dict[str, bytes]:
    """The page's files, by name, read from the installed package."""
    web = files("bot.http").joinpath("web")
    return {name: web.joinpath(name).read_bytes() for name in _TYPES}


def page_weight() -> int:
    """Bytes of the page and all its assets, uncompressed (the target is 100 KB)."""
    return sum(len(body) for body in read_assets().values())


def make_router() -> APIRouter:
    """Routes for ``/`` and ``/web/{name}``, serving the files read now."""
    assets = read_assets()
    router = APIRouter(include_in_schema=False)

    def respond(name: str) -> Response:
        return Response(assets[name], media_type=_TYPES[name], headers=SECURITY_HEADERS)

    @router.get("/")
    async def index() -> Response:
        """The chat page."""
        return respond("index.html")

    @router.get(ASSET_PREFIX + "{name}")
    async def asset(name: str) -> Response:
        """One of the page's assets."""
        if name not in assets or name == "index.html":
            raise ApiProblem(404, "not_found", "no such file")
        return respond(name)

    return router
