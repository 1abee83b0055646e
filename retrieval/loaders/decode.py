"""Bytes → text policy, and the small contract every format loader shares.

A file is refused rather than guessed at: binary content, a broken UTF-8 or UTF-16 file and
bytes that are not text in any encoding we know are skipped with a reason the user can act on.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from retrieval.articles import Article, normalize_text, strip_invisible
from retrieval.errors import NewsbotError

# Checked before anything else: these formats get misnamed .txt and some hold no NUL byte
# early on. Only signatures odd enough never to start real prose (media formats that share
# short ASCII tags are left to the NUL check).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh91AY&SY", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "ELF executable"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O binary"),
    (b"\xcf\xfa\xed\xfe", "Mach-O binary"),
    (b"\x00asm", "WebAssembly module"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Microsoft Office document"),
)
# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
# One well-formed multi-byte UTF-8 sequence (no overlongs, no surrogates).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_C0_C1 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CP1252_WARNING = "decoded as Windows-1252 (not UTF-8)"
_RESAVE = "re-save the file as UTF-8"


class NotAnArticleError(NewsbotError):
    """A file holds no article; the message is the one-line skip reason. Never escapes read_file."""

    def __init__(self, reason: str, warnings: list[str] | None = None) -> None:
        super().__init__(reason)
        # What went wrong on the way (e.g. each broken JSONL line) still reaches the report.
        self.warnings = warnings or []


@dataclass
class Loaded:
    """What a format loader returns: articles, file-level warnings, invisible characters removed."""

    articles: list[Article]
    warnings: list[str] = field(default_factory=list)
    invisible: int = 0


def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Decode a file's bytes to text and warnings, or raise NotAnArticleError with the reason."""
    if data[:1] == b"{" and b"\x00" not in data:
        # A JSON Lines record (read once per line): no magic number or BOM starts with "{".
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError:
            pass  # what is wrong with it is said below
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise NotAnArticleError(f"binary file ({kind})")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), []
            except UnicodeDecodeError as e:
                raise NotAnArticleError(f"invalid {name} at byte {e.start}; {_RESAVE}") from e
    if b"\x00" in data:
        raise NotAnArticleError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as e:
        # Real UTF-8 text with one bad byte is a damaged file; reading it as cp1252 would turn
        # every accent in it into mojibake.
        if _UTF8_MULTIBYTE.search(data):
            raise NotAnArticleError(f"invalid UTF-8 at byte {e.start}; {_RESAVE}") from e
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as e:
        # The 5 bytes cp1252 leaves undefined are C1 controls in latin-1, which the control
        # check below would reject anyway: the fallback can never succeed, so stop here.
        raise NotAnArticleError("not text in a known encoding") from e
    if _C0_C1.search(text):
        raise NotAnArticleError("not text in a known encoding")
    return text, [CP1252_WARNING]


def clean(text: str) -> tuple[str, int]:
    """Strip invisible characters and normalise; return the text and how many were removed."""
    stripped, n = strip_invisible(text)
    return normalize_text(stripped), n


def http_url(value: str) -> str | None:
    """Return the URL when it is an absolute http(s) URL, else None."""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        return None
    return value


def quote(value: str, limit: int = 60) -> str:
    """Quote untrusted text for a one-line warning, shortened."""
    value = " ".join(value.split())
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
