"""Model text as plain sentences: markup removed, citation markers and URLs found."""

from __future__ import annotations

import html
import re

from retrieval.sentences import split_sentences

# [1], [1, 2], [^1], [Article 1], [id=1], 【1】 ... (the number list is group 1).
MARKER = re.compile(
    r"[\[【]\s*(?:\^|article|source|doc(?:ument)?|id)?\s*[=:#]?\s*\"?"
    r"(\d{1,3}(?:\s*[,;&]\s*\^?\d{1,3}|\s*(?:and|-|–)\s*\d{1,3})*)\"?\s*[\]】]",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<!--.*?(?:-->|$)|</?[A-Za-z][^<>]*>?|<![^>]*>", re.DOTALL)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`+|~~)(?=\S)(.+?)(?<=\S)\1")
_MD_LINE = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]*|[-*•+][ \t]+|\d{1,2}[.)][ \t]+)", re.M)
_URL_TAIL = r"""(?:[^\s<>"'\])]*[^\s<>"'\]).,;:!?])?"""
URL = re.compile(
    rf"(?:https?://|ftp://|www\.){_URL_TAIL}"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|int|io|co|uk|news|info|ru|de|fr|eu)\b"
    rf"(?:/{_URL_TAIL})?",
    re.IGNORECASE,
)
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)


def clean_markup(text: str) -> str:
    """Model text as plain text: entities decoded, HTML and Markdown markup removed."""
    text = _INVISIBLE.sub("", html.unescape(text))
    text = _SCRIPT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(_unlink, text)
    for _ in range(2):
        text = _MD_EMPHASIS.sub(r"\2", text)
    text = _MD_LINE.sub("", text)
    return text.replace("<", " ").replace(">", " ")


def _unlink(m: re.Match[str]) -> str:
    """A Markdown link as its words; "[1](https://...)" stays a marker."""
    inner = m.group(1)
    return f"[{inner}]" if MARKER.fullmatch(f"[{inner}]") else inner


def marker_numbers(group: str) -> list[int]:
    """The numbers a marker names: "1, 2" and "1-3" (a short range) alike."""
    nums = [int(x) for x in re.findall(r"\d+", group)]
    if len(nums) == 2 and re.search(r"[-–]", group) and 0 < nums[1] - nums[0] < 10:
        return list(range(nums[0], nums[1] + 1))
    return nums


def model_sentences(text: str) -> list[str]:
    """Split into sentences; markers written after the full stop go with the sentence
    before ("... in 2014. [2] The ..." -> "... in 2014. [2]", "The ...")."""
    out: list[str] = []
    for a, b in split_sentences(text):
        s = text[a:b]
        lead = re.match(rf"(?:\s*{MARKER.pattern})+", s, re.IGNORECASE)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            s = s[lead.end() :].strip()
        if s:
            out.append(s)
    return out


def keep_urls(text: str, allowed: set[str]) -> tuple[str, list[str]]:
    """Remove every URL the model wrote except the cited articles' own (from metadata)."""
    removed: list[str] = []

    def sub(m: re.Match[str]) -> str:
        url = m.group(0)
        bare = url.rstrip(".,;:!?")
        if bare in allowed:
            return bare + url[len(bare) :]
        removed.append(url)
        return " "

    return tidy(URL.sub(sub, text)), removed


def tidy(text: str) -> str:
    """Collapse white space, and close the gaps left before punctuation by removals."""
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"\(\s*\)", "", text)
    return " ".join(text.split()).strip(" ,;:")
