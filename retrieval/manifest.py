"""Snapshot manifests: what a snapshot lists (segments, their checksums and deletions), how a
change is recorded in it, when segments merge, and its checksum of itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from retrieval.segments import ArticleRow, Segment

FORMAT_VERSION = 2
MAX_SEGMENTS = 8
TIER_FACTOR = 4
# What the store names a snapshot or a segment: a UTC timestamp and 8 random hex digits.
NAME = re.compile(r"\d{8}T\d{12}-[0-9a-f]{8}")


@dataclass
class Catalog:
    """What the writer reads of the current snapshot: its live articles (without text),
    which segment holds each, the files it was built from — never a vector."""

    name: str
    manifest: dict[str, Any]
    articles: Mapping[str, ArticleRow]
    where: Mapping[str, str]  # article id -> segment name
    sizes: Mapping[str, tuple[int, int]]  # article id -> (chunks, sentences)
    files: dict[str, str]
    readings: dict[str, dict[str, Any]] = field(default_factory=dict)  # export -> its reading


@dataclass
class Change:
    """One publish: new articles as a segment, and what happens to indexed ones."""

    signature: dict[str, Any]  # the embedding and chunking the index is bound to
    files: dict[str, str]
    add: Segment | None = None
    delete: set[str] = field(default_factory=set)  # article ids whose rows go
    paths: dict[str, str] = field(default_factory=dict)  # article id -> its file now
    base: Catalog | None = None  # the snapshot it builds on; None starts afresh
    # The exports' readings the snapshot lists (None: the base's) and the new blobs among
    # them (readings.py).
    readings: dict[str, dict[str, Any]] | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)


def mark(entries: list[dict[str, Any]], change: Change) -> None:
    """Record the change's deletions and moves in the entries of the segments they touch."""
    base = change.base
    assert base is not None
    by_name = {e["name"]: e for e in entries}
    for aid in sorted(change.delete):
        e = by_name[base.where[aid]]
        e["deleted"].append(aid)
        e["paths"].pop(aid, None)
        n_chunks, n_sentences = base.sizes[aid]
        e["live"]["articles"] -= 1
        e["live"]["chunks"] -= n_chunks
        e["live"]["sentences"] -= n_sentences
    for aid, path in sorted(change.paths.items()):
        if aid not in change.delete:
            by_name[base.where[aid]]["paths"][aid] = path


def next_merge(entries: list[dict[str, Any]]) -> list[str]:
    """The segments to merge next, if there are more than MAX_SEGMENTS: segments fall in size
    tiers (powers of TIER_FACTOR in live chunks), and the lowest tiers that hold two segments
    are merged together, so a chunk is copied O(log N) times in all."""
    if len(entries) <= MAX_SEGMENTS:
        return []
    sizes = {e["name"]: e["live"]["chunks"] for e in entries}
    tier = {n: int(math.log(max(s, 1), TIER_FACTOR)) for n, s in sizes.items()}
    ranked = sorted(sizes, key=lambda n: (tier[n], sizes[n]))
    top = tier[ranked[1]]
    return [n for n in ranked if tier[n] <= top]


def checksum(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def new_name() -> str:
    # Microseconds, so that names sort by age even within one second (garbage collection
    # keeps the newest by name).
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
