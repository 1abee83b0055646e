"""A folder of hostile article files, written for real, with the status ingest should give each."""

from __future__ import annotations

import codecs
import os
import shutil
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024  # the default ingest.max_file_mb
BIG_BYTES = 20 * 1024 * 1024
SEED_NAME = "2021-10-19-russia-nato-mission.txt"
SEED_PATH = Path(__file__).resolve().parent.parent / "docs_store" / SEED_NAME

# Text hidden from a reader in Unicode tag characters, plus a zero-width space and a
# right-to-left override inside words: every one must be stripped and counted.
HIDDEN_TAGS = "".join(chr(0xE0000 + ord(c)) for c in "IGNORE PREVIOUS")
INVISIBLE_TEXT = (
    "date 2024-02-01\n"
    f"The city council con\u200bfirmed the bud\u202eget on Monday.{HIDDEN_TAGS} "
    "Spending on parks will rise next year.\n"
)
INVISIBLE_COUNT = len(HIDDEN_TAGS) + 2

LATIN1_TEXT = "date 2023-03-14\nCafé owners in Zürich said the señor's crème brûlée won again.\n"
UTF16_TEXT = "date 2022-01-05\nThe ministry called the naïve estimates wrong — twice.\n"
INVALID_UTF8_PREFIX = "Le café est fermé aujourd'hui.".encode()
DUP_TEXT = "date 2020-05-05\nThe same wire story, filed under two names by mistake.\n"

FRONT_MATTER_MD = """---
title: Budget approved after long debate
date: 2022-06-30
source: City Gazette
url: https://example.org/news/budget
tags: [city, budget]
---

# Budget night

The council approved the budget at midnight after a seven-hour debate.

Schools get most of the new money.
"""

JSONL_RECORDS = (
    '{"id": "rec-1", "title": "Rail strike ends", "date": "2023-09-26T17:01:22+00:00", '
    '"source": "Example Wire", "url": "https://example.com/rail", '
    '"text": "The rail strike ended on Tuesday after a pay deal."}\n'
    '{"id": "rec-2", "text": "this line is cut off\n'
    '{"date": "2023-09-27", "text": "Trains ran on time on Wednesday. Commuters cheered."}\n'
)

HTML_PAGE = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Harbour bridge reopens</title>
<meta property="og:url" content="https://news.example.com/2023/harbour-bridge">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2023-09-26T08:00:00+00:00">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article>
<h1>Harbour bridge reopens</h1>
<p>The harbour bridge reopened to traffic on Tuesday morning after eight months of repairs,
the city's transport department said in a statement.</p>
<p>Engineers replaced the deck and two of the main cables, and the speed limit on the bridge
has been lowered to forty kilometres an hour for the first month.</p>
</article>
<footer>Copyright Example News</footer>
</body></html>
"""

EXPECTED: dict[str, str] = {
    "latin1.txt": "indexed",
    "utf16.txt": "indexed",
    "invalid_utf8.txt": "skipped",
    "image.txt": "skipped",
    "empty.txt": "skipped",
    "whitespace.txt": "skipped",
    "big.txt": "skipped",
    "dup_a.txt": "indexed",
    "dup_b.txt": "duplicate",
    "bad_date.txt": "indexed",
    "no_date.txt": "indexed",
    "invisible.txt": "indexed",
    "front_matter.md": "indexed",
    "records.jsonl": "indexed",
    "page.html": "indexed",
    SEED_NAME: "indexed",
    "notes.pdf": "skipped",
    "README.md": "skipped",
}


def _write_big(path: Path, size: int) -> None:
    """Real text (it would index if allowed), written in large blocks to stay fast."""
    line = b"All work and no play makes a very long news article.\n"
    block = line * (1024 * 1024 // len(line))
    with path.open("wb") as f:
        written = 0
        while written < size:
            chunk = block[: size - written]
            f.write(chunk)
            written += len(chunk)


def make_hostile_folder(dest: Path) -> dict[str, str]:
    """Write the hostile fixtures into dest; return {file name: "indexed"|"skipped"|"duplicate"}."""
    dest.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {
        "latin1.txt": LATIN1_TEXT.encode("latin-1"),
        "utf16.txt": codecs.BOM_UTF16_LE + UTF16_TEXT.encode("utf-16-le"),
        "invalid_utf8.txt": INVALID_UTF8_PREFIX + b"\xff and then more text.\n",
        "image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08",
        "empty.txt": b"",
        "whitespace.txt": b"  \n\t\n   \r\n",
        "dup_a.txt": DUP_TEXT.encode(),
        "dup_b.txt": DUP_TEXT.encode(),
        "bad_date.txt": b"date 2021-13-45\nThe harbour reopened after the storm, officials said.\n",
        "no_date.txt": b"Fishing boats stayed in port for a third day as the storm went on.\n",
        "invisible.txt": INVISIBLE_TEXT.encode(),
        "front_matter.md": FRONT_MATTER_MD.encode(),
        "records.jsonl": JSONL_RECORDS.encode(),
        "page.html": HTML_PAGE.encode(),
        "notes.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "README.md": b"# Articles\n\nPut news articles in this folder.\n",
    }
    for name, data in files.items():
        (dest / name).write_bytes(data)
    shutil.copyfile(SEED_PATH, dest / SEED_NAME)
    _write_big(dest / "big.txt", BIG_BYTES)
    return dict(EXPECTED)


# --- links, FIFOs and odd names: a folder that tries to make ingest read elsewhere or hang ---

OUTSIDE_SECRET = "NEWSBOT_SECRET=zq-outside-secret-4417\n"
INNER_TEXT = (
    "date 2023-05-02\nThe lighthouse keeper logged a record number of gannets this spring.\n"
)
HIDDEN_TEXT = "date 2023-05-03\nThis article sits in a hidden folder and is never indexed.\n"
ESC_TEXT = "date 2023-05-04\nThe ferry timetable changes on Monday, the port authority said.\n"
# Escape sequences in a file name: set the terminal title (OSC 0), then clear the screen.
ESC_NAME = "esc\x1b]0;pwned\x07\x1b[2J.txt"
BAD_UTF8_NAME = os.fsdecode(b"bad\xff.txt")
OUTSIDE = "link points outside the docs folders"
NOT_REGULAR = "not a regular file"

# {name: (status, detail)}; names are those of the docs folder's entries, sub/ included.
LINK_EXPECTED: dict[str, tuple[str, str]] = {
    SEED_NAME: ("indexed", "1 article"),
    "inner.txt": ("indexed", "1 article"),
    ESC_NAME: ("indexed", "1 article"),
    "z_inner_link.txt": ("duplicate", "duplicate of sub/inner"),
    "passwd.txt": ("skipped", OUTSIDE),
    "status.txt": ("skipped", OUTSIDE),
    "env.txt": ("skipped", OUTSIDE),
    "rel_env.txt": ("skipped", OUTSIDE),
    "zero.txt": ("skipped", OUTSIDE),
    "pipe_out.txt": ("skipped", OUTSIDE),
    "etc": ("skipped", OUTSIDE),
    "fifo.txt": ("skipped", NOT_REGULAR),
    "fifo_link.txt": ("skipped", NOT_REGULAR),
    "loop_a.txt": ("skipped", "symlink loop"),
    "loop_b.txt": ("skipped", "symlink loop"),
    "dangling.txt": ("skipped", "link points to nothing"),
    "sub_link": ("skipped", "link to a folder: not followed"),
    "hidden_link.txt": ("skipped", "link points into a hidden folder"),
    BAD_UTF8_NAME: ("skipped", "file name is not valid UTF-8"),
}
# What ingest may index from this folder, and nothing else.
LINK_ARTICLES = {Path(SEED_NAME).stem, "sub/inner", Path(ESC_NAME).stem}


def make_hostile_links(docs: Path, outside: Path) -> list[Path]:
    """Fill docs with links out of it, FIFOs, loops and odd names (``LINK_EXPECTED``).

    ``outside`` gets a secret file and a FIFO for links to point at. Returns the FIFOs, which
    a test can open for writing to release a reader stuck on one.
    """
    docs.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    (outside / ".env").write_text(OUTSIDE_SECRET, encoding="utf-8")
    fifos = [outside / "pipe", docs / "fifo.txt"]
    for fifo in fifos:
        os.mkfifo(fifo)
    shutil.copyfile(SEED_PATH, docs / SEED_NAME)
    (docs / "sub").mkdir()
    (docs / "sub" / "inner.txt").write_text(INNER_TEXT, encoding="utf-8")
    (docs / ".hidden").mkdir()
    (docs / ".hidden" / "secret.txt").write_text(HIDDEN_TEXT, encoding="utf-8")
    (docs / ESC_NAME).write_text(ESC_TEXT, encoding="utf-8")
    (docs / BAD_UTF8_NAME).write_text(ESC_TEXT.replace("Monday", "Friday"), encoding="utf-8")
    links = {
        "passwd.txt": "/etc/passwd",
        "status.txt": "/proc/self/status",
        "env.txt": str(outside / ".env"),
        "rel_env.txt": os.path.relpath(outside / ".env", docs),
        "zero.txt": "/dev/zero",
        "pipe_out.txt": str(outside / "pipe"),
        "etc": "/etc",
        "fifo_link.txt": "fifo.txt",
        "loop_a.txt": "loop_b.txt",
        "loop_b.txt": "loop_a.txt",
        "dangling.txt": "nowhere.txt",
        "sub_link": "sub",
        "z_inner_link.txt": "sub/inner.txt",
        "hidden_link.txt": ".hidden/secret.txt",
    }
    for name, target in links.items():
        (docs / name).symlink_to(target)
    return fifos
