"""What reading an export gave, kept with the index: an unchanged JSONL file is not parsed again.

Reading a large export (JSON, cleaning every field, hashing every article) was most of an
ingest that finds nothing new. So for each JSONL file read, the index keeps a *reading*: the
loader's own outcome (skip reason, warnings, invisible characters stripped) and, in file
order, each article's id and content hash. The next ingest hashes the file (SHA-256, ~30 ms
for 10 MB: the content is the truth, an mtime is not) and, when the file, its path, its
articles folder, the size cap and this reader's version are what the reading was made from,
takes the articles from the reading instead of parsing the file. The loader is a function of
those inputs, so what ingest decides from a reading (ownership of shared ids and texts, the
report) is what it decides from the file: the report says the same on every run, a broken
record included. An article a reading gives that has to be (re-)embedded needs its text: its
file is then parsed as before (see ``ingest``).

Each reading is a JSON blob in ``readings/`` (never pickle), written before the manifest that
lists it (path -> blob name, size, checksum), and verified against that entry before it is
used; a missing or damaged one is ignored (the file is parsed). Blobs no kept snapshot lists
are collected with the segments.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from retrieval.articles import Article
from retrieval.durable import fsync_dir, fsync_file
from retrieval.loaders import FileResult

# Bump when a loader's output changes for the same bytes (ids, cleaning, warnings, what an
# article's content hash covers): every kept reading is then ignored and files are parsed.
READER_VERSION = 1
FOLDER = "readings"
_NAME = re.compile(r"[0-9a-f]{32}")  # what key() gives


def key(sha256: str, path: Path, root: Path, max_bytes: int) -> str:
    """The name of a reading: everything the loader's output depends on."""
    inputs = json.dumps([READER_VERSION, sha256, str(path), str(root), max_bytes])
    return hashlib.sha256(inputs.encode("utf-8")).hexdigest()[:32]


def recalled(article: Article) -> bool:
    """True for an article taken from a reading: id, path and content hash, no text (a
    loader never gives an article without text)."""
    return not article.text


def encode(result: FileResult) -> bytes:
    """A file's reading as JSON."""
    body = {
        "skipped": result.skipped,
        "warnings": result.warnings,
        "invisible": result.invisible_stripped,
        "articles": [[a.id, a.content_hash] for a in result.articles],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes, path: Path, sha256: str) -> FileResult:
    """The file's result as its reading recorded it; articles without text."""
    body = json.loads(data)
    where = str(path)
    articles = []
    for aid, content_hash in body["articles"]:
        # Built without __init__ (40,000 of them per export): the fields a frozen Article
        # has, and its cached content hash.
        a = object.__new__(Article)
        a.__dict__.update(
            id=aid, title="", text="", date=None, source=None, url=None, path=where,
            warnings=(), content_hash=content_hash,
        )  # fmt: skip
        articles.append(a)
    return FileResult(
        path, articles, body["skipped"], list(body["warnings"]), int(body["invisible"]), sha256
    )


def entry_of(data: bytes, name: str) -> dict[str, Any]:
    """The manifest's entry for a reading blob."""
    return {"name": name, "bytes": len(data), "xxh3_128": xxhash.xxh3_128_hexdigest(data)}


def load(folder: Path, entry: Mapping[str, Any]) -> bytes | None:
    """A reading blob's bytes, or None when it is missing or does not match its entry."""
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # never a path elsewhere
        return None
    try:
        data = (folder / name).read_bytes()
    except OSError:
        return None
    if len(data) != entry.get("bytes") or xxhash.xxh3_128_hexdigest(data) != entry.get("xxh3_128"):
        return None
    return data


def write(folder: Path, blobs: Mapping[str, bytes]) -> None:
    """Write new reading blobs durably (temporary name, fsync, rename), before the manifest
    that lists them."""
    if not blobs:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in blobs.items():
        tmp = folder / f".tmp-{name}"
        tmp.write_bytes(data)
        fsync_file(tmp)
        tmp.replace(folder / name)
    fsync_dir(folder)


def collect(folder: Path, used: set[str]) -> None:
    """Drop the blobs (and unfinished temporaries) no kept snapshot lists."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name not in used:
            with contextlib.suppress(OSError):
                os.unlink(p)


@dataclass
class Readings:
    """The readings an ingest may use (the current manifest's) and the ones it will list."""

    folder: Path
    old: Mapping[str, Mapping[str, Any]]
    max_bytes: int
    keeping: bool = True  # False: the store keeps no readings (none are made)
    parse: set[str] = field(default_factory=set)  # files to parse whatever their reading
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def start(self, outside: Callable[[str], bool]) -> None:
        """Begin a pass: keep the entries of the files this ingest does not read."""
        self.entries = {p: dict(e) for p, e in self.old.items() if outside(p)}
        self.blobs = {}

    def recall(self, path: Path, root: Path) -> Callable[[str], FileResult | None] | None:
        """For read_file: the file's result from its reading, given the file's SHA-256; None
        when it has no reading to use (the file is not hashed twice then)."""
        entry = self.old.get(str(path))
        if entry is None or str(path) in self.parse:
            return None

        def recall(sha256: str) -> FileResult | None:
            if entry.get("name") != key(sha256, path, root, self.max_bytes):
                return None
            data = load(self.folder, entry)
            if data is None:
                return None
            try:
                result = decode(data, path, sha256)
            except (ValueError, KeyError, TypeError):
                return None
            self.entries[str(path)] = dict(entry)
            return result

        return recall

    def keep(self, path: Path, root: Path, result: FileResult) -> None:
        """Record the reading of a file just parsed (an export with a hash)."""
        if not self.keeping or path.suffix.lower() != ".jsonl" or not result.sha256:
            return
        if str(path) in self.entries:  # recalled: its entry is carried over
            return
        name = key(result.sha256, path, root, self.max_bytes)
        data = encode(result)
        self.entries[str(path)] = entry_of(data, name)
        self.blobs[name] = data
