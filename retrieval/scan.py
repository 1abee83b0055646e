"""Which entries of the docs folders ingest may read, and how to open one without hanging.

A docs folder is not trusted: anyone who can drop a file in it could drop a symbolic link to
``/etc/passwd`` or a ``.env``, a FIFO that blocks a reader forever, or a link to
``/dev/zero`` that never ends. So every entry is resolved before anything is opened. A link
is followed only when its target is a regular file inside one of the folders being ingested
(and not in a hidden folder or the index); links to folders are never descended into (what
they hold is read where it lies, or not at all). Everything refused is listed with a one-line
reason, so ingest can report it; nothing refused is ever opened.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

OUTSIDE = "link points outside the docs folders"
NOT_REGULAR = "not a regular file"


@dataclass(frozen=True)
class ScanEntry:
    """One entry found under the ingest paths.

    ``root`` is the folder article ids are relative to (None: the path does not exist);
    ``problem`` is why the entry is not read, or None when it may be.
    """

    path: Path
    root: Path | None
    problem: str | None = None


class NotRegularFileError(OSError):
    """A FIFO, device, socket or folder where an article file was expected."""

    def __init__(self) -> None:
        super().__init__(NOT_REGULAR)


def scan_entries(
    paths: Iterable[Path], index_dir: Path, *, docs: Iterable[Path] = ()
) -> list[ScanEntry]:
    """Every entry under ``paths`` (folders or files), sorted, each with its problem if any.

    The paths themselves are the operator's choice and are resolved (a docs folder may be a
    link); below them, hidden folders and the index are left out and nothing else is. Links
    may point into ``paths`` or into ``docs`` (the configured docs folders: so that ingesting
    part of them follows the same links as ingesting all of them).
    """
    index_dir = index_dir.resolve()
    roots: list[Path] = []
    entries: list[ScanEntry] = []
    for p in paths:
        try:
            p = p.resolve()
        except (OSError, RuntimeError):  # a link loop (RuntimeError before Python 3.13)
            entries.append(ScanEntry(p, None, "symlink loop"))
            continue
        roots.append(p)
    allowed = [*roots, *_resolved(docs)]
    for p in roots:
        if p.is_dir():
            for f, problem in sorted(_walk(p, index_dir)):
                entries.append(ScanEntry(f, p, problem or _problem(f, allowed, index_dir)))
        elif p.exists():
            entries.append(ScanEntry(p, p.parent, _problem(p, allowed, index_dir)))
        else:
            entries.append(ScanEntry(p, None, "no such file or folder"))
    return entries


def scan(paths: Iterable[Path], index_dir: Path) -> list[tuple[Path, Path | None]]:
    """Entries under the given paths as ``(file, root)``, sorted; root None means there is
    nothing to read there: the path is missing, or the entry is refused (see ``scan_entries``)."""
    return [(e.path, None if e.problem else e.root) for e in scan_entries(paths, index_dir)]


def _resolved(paths: Iterable[Path]) -> list[Path]:
    out = []
    for p in paths:
        try:
            out.append(p.resolve())
        except (OSError, RuntimeError):  # a loop: nothing can lie inside it
            continue
    return out


def _walk(root: Path, index_dir: Path) -> Iterator[tuple[Path, str | None]]:
    """Every entry below root that is not a real folder; links are listed, never followed."""
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as it:
                found = list(it)
        except OSError as e:
            yield folder, f"cannot list the folder: {e.strerror}"
            continue
        for d in found:
            path = Path(d.path)
            try:
                is_folder = d.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if not is_folder:
                yield path, None
            # Dot folders (the index itself, .git) hold no articles; dotfiles are reported.
            elif not d.name.startswith(".") and path != index_dir:
                folders.append(path)


def _problem(path: Path, roots: Sequence[Path], index_dir: Path) -> str | None:
    """Why ``path`` must not be opened, or None. Only metadata is read, never content."""
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        # Such a name cannot be stored in the index (SQLite text is UTF-8) nor shown as is.
        return "file name is not valid UTF-8"
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except FileNotFoundError:
            return "link points to nothing"
        except RuntimeError:
            return "symlink loop"
        except OSError as e:
            return "symlink loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
        if where := _outside(target, roots, index_dir):
            return where
    try:
        mode = path.stat().st_mode
    except OSError as e:
        return e.strerror or str(e)
    if stat.S_ISDIR(mode):
        return "link to a folder: not followed"
    return None if stat.S_ISREG(mode) else NOT_REGULAR


def _outside(target: Path, roots: Sequence[Path], index_dir: Path) -> str | None:
    """Why a link's (resolved) target is out of bounds, or None when it is in a docs folder."""
    if target == index_dir or target.is_relative_to(index_dir):
        return OUTSIDE
    for root in roots:
        if target == root:
            return None
        if target.is_relative_to(root):
            if any(part.startswith(".") for part in target.relative_to(root).parts[:-1]):
                return "link points into a hidden folder"
            return None
    return OUTSIDE


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """True when ``path`` is one of ``roots`` or lies below one."""
    return any(path == r or path.is_relative_to(r) for r in roots)


def open_regular(path: Path) -> tuple[BinaryIO, os.stat_result]:
    """Open a regular file for reading, with its stat; never blocks on a FIFO or device.

    Raises:
        NotRegularFileError: ``path`` is (or links to) anything but a regular file.
        OSError: it cannot be opened.
    """
    if not stat.S_ISREG(path.stat().st_mode):
        raise NotRegularFileError
    # The entry may have been swapped for a FIFO since: O_NONBLOCK makes that open return at
    # once (a regular file ignores the flag), and fstat tells what was actually opened.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError
        return os.fdopen(fd, "rb"), info
    except BaseException:
        os.close(fd)
        raise


def opened_path(f: BinaryIO, path: Path) -> Path:
    """Where the open file really is: from /proc on Linux, else ``path`` resolved (racy)."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{f.fileno()}"))
    except OSError:
        return path.resolve()


def fingerprint(path: Path, max_bytes: int) -> str:
    """What the manifest records of a file: its SHA-256, its size when too large to read, or
    "" when it is not a regular file or cannot be read."""
    try:
        f, info = open_regular(path)
        with f:
            if info.st_size > max_bytes:
                return f"unread:{info.st_size}"
            h = hashlib.sha256()
            left = max_bytes + 1  # bounded, even for a file that keeps growing
            while left > 0 and (block := f.read(min(1 << 20, left))):
                h.update(block)
                left -= len(block)
    except OSError:
        return ""
    return h.hexdigest() if left > 0 else f"unread:{max_bytes + 1}"
