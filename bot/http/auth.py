"""API keys: who is calling, decided before any body is read or any retrieval runs.

Keys come from ``http.api_keys`` (read) and ``http.admin_keys`` (read and add articles). A
presented key is compared, in constant time, against every configured key: the digests are
compared, so neither the key's content nor its length leaks through timing.

A caller's identity (``Principal.id``) is derived from the key itself, never from its place
in the lists: an HMAC-SHA256 of the key under a server secret kept next to the sessions
database (with postgres, in the database, so that every replica derives the same).
Reordering, adding or removing keys never hands one key's conversations to another, and the
identity (stored in session keys, used for rate limits) does not reveal the key, nor lets
anyone test guesses against it without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.http.problems import ApiProblem
from retrieval.backend import shared_secret
from retrieval.config import HttpSettings, Settings
from retrieval.durable import fsync_dir
from retrieval.errors import ConfigError

log = logging.getLogger("newsbot.http")

PUBLIC_PATHS = frozenset({"/", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc"})
PUBLIC_PREFIXES = ("/docs/", "/web/")  # the docs' and the chat page's assets
ADMIN_ROUTES = frozenset({("POST", "/v1/articles")})
PRINCIPAL_KEY = "newsbot.principal"
MAX_KEY_CHARS = 4096  # a longer presented key is refused unread; a configured one, at start-up
OWNER_SECRET_SUFFIX = ".owner-key"  # next to the sessions database: sessions.sqlite.owner-key
_SECRET_BYTES = 32


class Role(Enum):
    """What a route needs."""

    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``id`` is derived from the key (never the key itself)."""

    id: str
    admin: bool


ANONYMOUS = Principal("anonymous", admin=True)


def required_role(method: str, path: str) -> Role | None:
    """The role a request needs; None for the public probes, docs and the web page."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if (method, path.rstrip("/") or "/") in ADMIN_ROUTES:
        return Role.ADMIN
    return Role.READ


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_id(secret: bytes, key: str) -> str:
    """The identity of a key: stable while the secret is, unrelated to its list position."""
    mac = hmac.new(secret, key.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "key-" + mac.hexdigest()[:32]  # 128 bits: no two configured keys collide


class KeyRing:
    """The configured keys, as digests, each with the principal it authenticates.

    Args:
        http: the keys, checked here (and only here) by :func:`check_keys`.
        secret: gives the server secret identities are derived with; called only when there
            are keys (see :func:`owner_secret`).
    """

    def __init__(self, http: HttpSettings, secret: Callable[[], bytes]) -> None:
        check_keys(http)  # before the secret: a refused configuration creates no file
        self.auth_disabled = http.auth_disabled
        entries: list[tuple[bytes, Principal]] = []
        if not http.auth_disabled and (http.api_keys or http.admin_keys):
            server_secret = secret()
            for admin, keys in ((True, http.admin_keys), (False, http.api_keys)):
                for configured in keys:
                    key = configured.get_secret_value()
                    entries.append((_digest(key), Principal(key_id(server_secret, key), admin)))
        self._entries = entries

    @classmethod
    def from_settings(cls, settings: Settings, store: Any = None) -> KeyRing:
        """The key ring of ``settings.http``: its secret kept in the database every replica
        shares (postgres ``store``), else next to the sessions database."""
        return cls(settings.http, lambda: replica_secret(settings, store))

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a presented key, or None; the time taken does not depend on it."""
        presented = _digest(token)
        found: Principal | None = None
        for digest, principal in self._entries:  # no early exit
            if hmac.compare_digest(presented, digest) and (found is None or principal.admin):
                found = principal
        return found


def check_keys(http: HttpSettings) -> None:
    """Refuse to serve without keys unless auth is explicitly disabled; refuse keys that
    could never authenticate (blank, outer whitespace, outside printable ASCII, too long)."""
    named = [
        (f"http.{field}[{i}]", secret.get_secret_value())
        for field, keys in (("api_keys", http.api_keys), ("admin_keys", http.admin_keys))
        for i, secret in enumerate(keys)
    ]
    for name, key in named:  # the messages name the key's place, never the key
        problem = _unusable(key)
        if problem:
            raise ConfigError(f"{name}: {problem}; no client could ever send it")
    if not named and not http.auth_disabled:
        raise ConfigError(
            "http: no API keys are configured; set "
            "NEWSBOT_HTTP__API_KEYS='[\"a-long-random-key\"]' (and NEWSBOT_HTTP__ADMIN_KEYS "
            "for adding articles), or set http.auth_disabled: true to serve without keys on a "
            "loopback address only"
        )
    short = sum(1 for _, k in named if len(k) < 16)
    if short:
        log.warning("%d API key(s) are shorter than 16 characters; use long random keys", short)


def _unusable(key: str) -> str | None:
    """Why a configured key can never match what a client sends, or None."""
    if not key.strip():
        return "the key is empty"
    if key != key.strip():
        # The guard strips the presented token, as HTTP strips header values.
        return "the key starts or ends with whitespace"
    if not all(" " <= c <= "~" for c in key):
        # Header values arrive as bytes read as Latin-1: only printable ASCII is the same
        # on both sides.
        return "the key holds characters outside printable ASCII (letters, digits, -._~+/=)"
    if len(key) > MAX_KEY_CHARS:
        return f"the key is longer than {MAX_KEY_CHARS} characters"
    return None


def replica_secret(settings: Settings, store: Any = None) -> bytes:
    """The key-identity secret: in the database when replicas share one (so that a key is
    the same caller, with the same conversations and rate limit, on every replica), else
    :func:`owner_secret`'s file."""
    shared = shared_secret(store, "http-key-identity", _SECRET_BYTES) if store else None
    return shared if shared is not None else owner_secret(settings)


def owner_secret(settings: Settings) -> bytes:
    """The server secret key identities are derived with, stable across restarts.

    Kept in ``<sessions.path>.owner-key`` (mode 0600), made on first use; with an in-memory
    sessions store (nothing survives a restart anyway) a fresh secret per process.

    Raises:
        ConfigError: the file cannot be read or made, or does not hold a secret.
    """
    if settings.sessions.path == ":memory:":
        return secrets.token_bytes(_SECRET_BYTES)
    db = settings.resolve(settings.sessions.path)
    path = db.with_name(db.name + OWNER_SECRET_SUFFIX)
    try:
        if not path.exists():
            _create_secret(path)
        text = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(
            f"the HTTP key-identity secret {path} cannot be used: {e} (it lives next to "
            "sessions.path; the folder must be writable on the first start)"
        ) from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != _SECRET_BYTES:
        raise ConfigError(
            f"{path} does not hold a key-identity secret ({2 * _SECRET_BYTES} hex digits); "
            "delete it to make a new one (HTTP conversations made so far are then orphaned)"
        )
    if stat.S_IMODE(mode) & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    return secret


def _create_secret(path: Path) -> None:
    """Write a new secret atomically: a complete file appears under ``path``, or none; when
    two servers start at once, the first link wins and both read the same secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(_SECRET_BYTES) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if it exists: never replaces a secret in use
        except FileExistsError:
            return
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


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
    """The conversation store key: sessions are private to the key that created them
    (``principal.id`` is derived from the key, so they follow the key, not its position)."""
    return f"http:{principal.id}:{session_id}"
