"""Read one file of the articles folder into articles, whatever state the file is in.

``read_file`` never raises for bad content: a file that holds no article comes back with a
one-line ``skipped`` reason, and anything odd about one that does comes back as warnings.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from retrieval.articles import Article, strip_invisible
from retrieval.loaders import html, jsonl, markdown, text
from retrieval.loaders.decode import Loaded, NotAnArticleError, decode_bytes
from retrieval.scan import OUTSIDE, inside, open_regular, opened_path

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ArticleLoader",
    "FileResult",
    "Loaded",
    "NotAnArticleError",
    "read_file",
]

_MB = 1024 * 1024
# UTF-16 and UTF-32 files cannot be split into lines as bytes: they are read whole.
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)


class ArticleLoader(Protocol):
    """One file format; each format module (``text``, ``markdown``, ...) is one."""

    def load(self, text: str, doc_id: str, path: Path) -> Loaded:
        """Turn a decoded file into articles, or raise NotAnArticleError with the reason."""
        ...


# trafilatura is imported inside the HTML loader only, so plain-text ingest never pays for it.
_LOADERS: dict[str, ArticleLoader] = {
    ".txt": text,
    ".md": markdown,
    ".markdown": markdown,
    ".jsonl": jsonl,
    ".html": html,
    ".htm": html,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


@dataclass
class FileResult:
    """What reading one file gave: its articles, or why it was skipped, and any warnings."""

    path: Path
    articles: list[Article]
    skipped: str | None = None
    warnings: list[str] = field(default_factory=list)
    invisible_stripped: int = 0
    sha256: str = ""


def _not_an_article(path: Path) -> str | None:
    """The skip reason a file's name alone gives, if any."""
    name = path.name.upper()
    if name.split(".")[0] == "README" or name.startswith(("LICENSE", "LICENCE")):
        return "not an article (README/LICENSE)"
    suffix = path.suffix.lower()
    if not suffix:
        return "unsupported file type (no suffix)"
    if suffix not in _LOADERS:
        return f"unsupported file type {suffix!r}"
    return None


def _too_big(size: int, max_bytes: int) -> str:
    return (
        f"file is {size / _MB:.1f} MB, over the {max_bytes / _MB:.1f} MB limit (ingest.max_file_mb)"
    )


def _article_id(path: Path, root: Path) -> str:
    """The path below root without its suffix, with / separators: stable across ingests."""
    rel = Path(path.name) if path == root else path.relative_to(root)
    return rel.with_suffix("").as_posix()


def _read_jsonl(f: BinaryIO, path: Path, root: Path, max_bytes: int) -> FileResult:
    """A JSONL file streamed line by line, each record under ``max_bytes``."""
    stream = jsonl.Stream(f, _article_id(path, root), path, max_bytes)
    try:
        articles = list(stream)
    except NotAnArticleError as e:
        return FileResult(path, [], str(e), [], 0, "")
    loaded = stream.loaded
    warnings = list(loaded.warnings)
    if not articles:
        reason = "no valid records" if stream.any_text else "empty file"
        return FileResult(path, [], reason, warnings, 0, stream.sha256)
    if n := loaded.invisible:
        warnings.append(f"stripped {n} invisible character{'s' if n != 1 else ''}")
    return FileResult(path, articles, None, warnings, loaded.invisible, stream.sha256)


def _sha256(f: BinaryIO) -> str:
    h = hashlib.sha256()
    while block := f.read(1 << 20):
        h.update(block)
    return h.hexdigest()


def read_file(
    path: Path,
    root: Path,
    max_bytes: int,
    *,
    within: Sequence[Path] = (),
    recall: Callable[[str], FileResult | None] | None = None,
) -> FileResult:
    """Read one file into articles; bad content becomes a skip reason or warnings, never raises.

    Args:
        path: The file, inside ``root`` (or ``root`` itself); it may be a link.
        root: The articles folder; article ids are paths relative to it.
        max_bytes: Files larger than this are skipped unread.
        within: The folders the file must really lie in once opened (default: ``root``);
            a link that leads elsewhere is skipped unread.
        recall: given the file's SHA-256, what reading these bytes gave before (then the
            file is not parsed), or None (see readings.py).

    Returns:
        The file's articles, or ``skipped`` with a one-line reason.
    """
    if reason := _not_an_article(path):
        return FileResult(path, [], reason)
    try:
        f, info = open_regular(path)
        with f:
            # Checked on the open file, not the name: a link swapped after the folder was
            # scanned must still not lead out of it.
            if not inside(opened_path(f, path), [r.resolve() for r in (within or [root])]):
                return FileResult(path, [], OUTSIDE)
            head = f.read(4)
            f.seek(0)
            if path.suffix.lower() == ".jsonl" and not head.startswith(_WIDE_BOMS):
                if recall is not None and (known := recall(_sha256(f))) is not None:
                    return known
                f.seek(0)
                # An export holds many articles: the cap applies to each, not to the file.
                return _read_jsonl(f, path, root, max_bytes)
            if info.st_size > max_bytes:
                return FileResult(path, [], _too_big(info.st_size, max_bytes))
            data = f.read(max_bytes + 1)  # the file may have grown since fstat()
    except (OSError, RuntimeError) as e:  # RuntimeError: a link loop, before Python 3.13
        return FileResult(path, [], str(e))
    if len(data) > max_bytes:
        return FileResult(path, [], _too_big(len(data), max_bytes))
    digest = hashlib.sha256(data).hexdigest()
    if recall is not None and (known := recall(digest)) is not None:
        return known
    warnings: list[str] = []
    try:
        decoded, warnings = decode_bytes(data)
        if not strip_invisible(decoded)[0].strip():
            raise NotAnArticleError("empty file")
        loaded = _LOADERS[path.suffix.lower()].load(decoded, _article_id(path, root), path)
    except NotAnArticleError as e:
        return FileResult(path, [], str(e), [*warnings, *e.warnings], 0, digest)
    warnings += loaded.warnings
    if n := loaded.invisible:
        warnings.append(f"stripped {n} invisible character{'s' if n != 1 else ''}")
    return FileResult(path, loaded.articles, None, warnings, loaded.invisible, digest)
