"""API keys: who is calling, decided before any body is read or any retrieval runs.

Keys come from ``http.api_keys`` (read) and ``http.admin_keys`` (read and add articles). A
presented key is compared, in constant time, against every configured key: the digests are
compared, so neither the key's content nor its length leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.http.problems import ApiProblem
from retrieval.config import HttpSettings
from retrieval.errors import ConfigError

log = logging.getLogger("newsbot.http")

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"})
ADMIN_ROUTES = frozenset({("POST", "/v1/articles")})
PRINCIPAL_KEY = "newsbot.principal"


class Role(Enum):
    """What a route needs."""

    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``id`` names the key (never the key itself)."""

    id: str
    admin: bool


ANONYMOUS = Principal("anonymous", admin=True)


def required_role(method: str, path: str) -> Role | None:
    """The role a request needs; None for the public probes and docs."""
    if path in PUBLIC_PATHS or path.startswith("/docs/"):
        return None
    if (method, path.rstrip("/") or "/") in ADMIN_ROUTES:
        return Role.ADMIN
    return Role.READ


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    """The configured keys, as digests, each with the principal it authenticates."""

    def __init__(self, http: HttpSettings) -> None:
        self.auth_disabled = http.auth_disabled
        entries: list[tuple[bytes, Principal]] = []
        for i, secret in enumerate(http.admin_keys):
            entries.append((_digest(secret.get_secret_value()), Principal(f"admin-{i}", True)))
        for i, secret in enumerate(http.api_keys):
            entries.append((_digest(secret.get_secret_value()), Principal(f"key-{i}", False)))
        self._entries = entries
        check_keys(http)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a presented key, or None; the time taken does not depend on it."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:  # no early exit
            if hmac.compare_digest(presented, digest) and (found is None or principal.admin):
                found = principal
        return found


def check_keys(http: HttpSettings) -> None:
    """Refuse to serve without keys unless auth is explicitly disabled; refuse blank keys."""
    keys = [k.get_secret_value() for k in [*http.api_keys, *http.admin_keys]]
    if any(not k.strip() for k in keys):
        raise ConfigError("http.api_keys / http.admin_keys: a key is empty")
    if not keys and not http.auth_disabled:
        raise ConfigError(
            "http: no API keys are configured; set "
            "NEWSBOT_HTTP__API_KEYS='[\"a-long-random-key\"]' (and NEWSBOT_HTTP__ADMIN_KEYS "
            "for adding articles), or set http.auth_disabled: true to serve without keys on a "
            "loopback address only"
        )
    short = sum(1 for k in keys if len(k) < 16)
    if short:
        log.warning("%d API key(s) are shorter than 16 characters; use long random keys", short)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(http: HttpSettings, host: str) -> None:
    """Refuse to bind to a non-loopback address with auth disabled."""
    if http.auth_disabled and not is_loopback(host):
        raise ConfigError(
            f"http.auth_disabled is true, so the server only binds to a loopback address "
            f"(127.0.0.1, ::1, localhost), not {host!r}; configure API keys to serve on {host}"
        )


# --- dependencies: the check itself ran in the guard middleware, before the body was read;
# these document the security scheme in OpenAPI and hand the principal to the handler.

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer KEY` with a key from http.api_keys or http.admin_keys.",
)


def _principal(request: Request, role: Role) -> Principal:
    principal = request.scope.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise ApiProblem(401, "unauthorized", "missing or wrong API key", _CHALLENGE)
    if role is Role.ADMIN and not principal.admin:
        raise ApiProblem(403, "forbidden", "this needs an admin key")
    return principal


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="newsbot"'}


def _read(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _principal(request, Role.READ)


def _admin(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _principal(request, Role.ADMIN)


ReadAccess = Annotated[Principal, Depends(_read)]
"""The caller, holding at least a read key."""

AdminAccess = Annotated[Principal, Depends(_admin)]
"""The caller, holding an admin key."""


def session_key(principal: Principal, session_id: str) -> str:
    """The conversation store key: sessions are private to the key that created them."""
    return f"http:{principal.id}:{session_id}"
