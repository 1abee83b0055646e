"""Which entry is which: guid, else canonical URL, else content hash."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say where a click came from, never which article it is.
_TRACKING = {
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga",
    "ref", "ref_src", "cmpid", "ncid", "soc_src", "soc_trk", "ocid", "sr_share", "smid",
}  # fmt: skip


def absolute_http_url(link: str | None, base: str) -> str | None:
    """``link`` resolved against ``base`` when it is an http(s) URL; None otherwise
    (``javascript:``, ``mailto:``, empty)."""
    if not link or not link.strip():
        return None
    url = urljoin(base, link.strip())
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def canonical_url(url: str) -> str:
    """The URL with scheme and host lower-cased, default port, tracking parameters and
    fragment dropped, and the remaining parameters sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(sorted(query)), ""))


def entry_identity(guid: str | None, url: str | None, content: str) -> str:
    """An entry's identity: ``guid:...``, else ``url:<canonical>``, else ``hash:<sha256>``."""
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if url:
        return "url:" + canonical_url(url)
    return "hash:" + hashlib.sha256(" ".join(content.split()).encode()).hexdigest()


def article_id(feed_name: str, identity: str) -> str:
    """The stable article id of an entry: one per feed and identity."""
    return f"feed-{feed_name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
