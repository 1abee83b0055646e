"""Loaders: every file format, every hostile file, on real files in tmp_path."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.articles import parse_date
from retrieval.loaders import SUPPORTED_SUFFIXES, FileResult, read_file
from retrieval.loaders.decode import NotAnArticleError, clean, decode_bytes
from tests.hostile import (
    INVISIBLE_COUNT,
    MAX_BYTES,
    SEED_NAME,
    SEED_PATH,
    make_hostile_folder,
)

SEED_TITLE = (
    "Russia has suspended its North Atlantic Treaty Organization (NATO) mission in response to the…"
)


def load(tmp_path: Path, name: str, data: bytes | str, max_bytes: int = MAX_BYTES) -> FileResult:
    """Write one file under tmp_path and read it back."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return read_file(path, tmp_path, max_bytes)


def one(result: FileResult) -> None:
    """Assert the file gave exactly one article."""
    assert result.skipped is None, result.skipped
    assert len(result.articles) == 1


# --- the hostile folder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FileResult]]:
    root = tmp_path_factory.mktemp("hostile")
    expected = make_hostile_folder(root)
    return root, {name: read_file(root / name, root, MAX_BYTES) for name in expected}


def test_hostile_statuses(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    root, results = hostile
    expected = make_hostile_folder(root)
    got = {name: "skipped" if r.skipped else "indexed" for name, r in results.items()}
    # Duplicates are the ingest layer's call: the loader returns both copies.
    assert got == {n: "indexed" if s == "duplicate" else s for n, s in expected.items()}
    assert sorted(p.name for p in root.iterdir()) == sorted(expected)
    for r in results.values():
        assert (r.skipped is None) == bool(r.articles)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("invalid_utf8.txt", "invalid UTF-8 at byte 32; re-save the file as UTF-8"),
        ("image.txt", "binary file (PNG image)"),
        ("empty.txt", "empty file"),
        ("whitespace.txt", "empty file"),
        ("big.txt", "file is 20.0 MB, over the 5.0 MB limit (ingest.max_file_mb)"),
        ("notes.pdf", "unsupported file type '.pdf'"),
        ("README.md", "not an article (README/LICENSE)"),
    ],
)
def test_hostile_skips(hostile: tuple[Path, dict[str, FileResult]], name: str, reason: str) -> None:
    result = hostile[1][name]
    assert result.skipped == reason
    assert result.articles == []
    assert result.invisible_stripped == 0


def test_hostile_sha256_only_for_files_read(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    results = hostile[1]
    assert results["big.txt"].sha256 == ""
    assert results["notes.pdf"].sha256 == ""
    assert len(results["image.txt"].sha256) == 64
    assert results["dup_a.txt"].sha256 == results["dup_b.txt"].sha256


def test_hostile_latin1(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["latin1.txt"]
    one(result)
    assert result.warnings == ["decoded as Windows-1252 (not UTF-8)"]
    article = result.articles[0]
    assert article.date == "2023-03-14"
    assert article.text == "Café owners in Zürich said the señor's crème brûlée won again."


def test_hostile_utf16(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["utf16.txt"]
    one(result)
    assert result.warnings == []
    assert result.articles[0].date == "2022-01-05"
    assert result.articles[0].text == "The ministry called the naïve estimates wrong — twice."


def test_hostile_duplicates_have_one_content_hash(
    hostile: tuple[Path, dict[str, FileResult]],
) -> None:
    a, b = hostile[1]["dup_a.txt"].articles[0], hostile[1]["dup_b.txt"].articles[0]
    assert (a.id, b.id) == ("dup_a", "dup_b")
    assert a.content_hash == b.content_hash


def test_hostile_dates(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    bad = hostile[1]["bad_date.txt"]
    one(bad)
    assert bad.warnings == [
        "malformed date header 'date 2021-13-45' in bad_date.txt: indexed without a date"
    ]
    assert bad.articles[0].date is None
    assert bad.articles[0].text == "The harbour reopened after the storm, officials said."
    assert bad.articles[0].warnings == tuple(bad.warnings)
    missing = hostile[1]["no_date.txt"]
    one(missing)
    assert missing.warnings == []
    assert missing.articles[0].date is None


def test_hostile_invisible(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["invisible.txt"]
    one(result)
    assert INVISIBLE_COUNT == 17
    assert result.invisible_stripped == INVISIBLE_COUNT
    assert result.warnings == ["stripped 17 invisible characters"]
    assert result.articles[0].text == (
        "The city council confirmed the budget on Monday. Spending on parks will rise next year."
    )


def test_hostile_markdown(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["front_matter.md"]
    one(result)
    a = result.articles[0]
    assert (a.id, a.title, a.date, a.source, a.url) == (
        "front_matter",
        "Budget approved after long debate",
        "2022-06-30",
        "City Gazette",
        "https://example.org/news/budget",
    )
    # With a title key the heading is body text, kept as written.
    assert a.text.startswith("# Budget night\n\nThe council approved the budget at midnight")
    assert result.warnings == []


def test_hostile_jsonl(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["records.jsonl"]
    assert result.skipped is None
    assert result.warnings == ["line 2: invalid JSON, record skipped"]
    first, second = result.articles
    assert (first.id, first.title, first.date, first.source, first.url) == (
        "rec-1",
        "Rail strike ends",
        "2023-09-26",
        "Example Wire",
        "https://example.com/rail",
    )
    assert (second.id, second.title, second.date) == (
        "records#3",
        "Trains ran on time on Wednesday.",
        "2023-09-27",
    )


def test_hostile_html(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1]["page.html"]
    one(result)
    a = result.articles[0]
    assert (a.id, a.title, a.date, a.source, a.url) == (
        "page",
        "Harbour bridge reopens",
        "2023-09-26",
        "Example News",
        "https://news.example.com/2023/harbour-bridge",
    )
    assert a.text.startswith("The harbour bridge reopened to traffic on Tuesday morning")
    assert "Home" not in a.text and "Copyright" not in a.text


def test_seed_article(hostile: tuple[Path, dict[str, FileResult]]) -> None:
    result = hostile[1][SEED_NAME]
    one(result)
    a = result.articles[0]
    assert a.id == "2021-10-19-russia-nato-mission"
    assert a.date == "2021-10-19"
    assert a.text.startswith("Russia has suspended its North Atlantic Treaty Organization")
    assert a.title == SEED_TITLE
    assert a.path == str(hostile[0] / SEED_NAME)
    assert result.warnings == []
    assert SEED_PATH.read_bytes() == (hostile[0] / SEED_NAME).read_bytes()


# --- names, sizes and read errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("readme.txt", "not an article (README/LICENSE)"),
        ("README", "not an article (README/LICENSE)"),
        ("LICENSE", "not an article (README/LICENSE)"),
        ("License.md", "not an article (README/LICENSE)"),
        ("notes", "unsupported file type (no suffix)"),
        ("scan.PDF", "unsupported file type '.pdf'"),
        ("data.json", "unsupported file type '.json'"),
    ],
)
def test_names_that_are_not_articles(tmp_path: Path, name: str, reason: str) -> None:
    assert load(tmp_path, name, "Plenty of text here.").skipped == reason


def test_ids_and_suffixes(tmp_path: Path) -> None:
    assert sorted(SUPPORTED_SUFFIXES) == sorted(
        {".txt", ".md", ".markdown", ".jsonl", ".html", ".htm"}
    )
    assert load(tmp_path, "sub/a.md", "Body.").articles[0].id == "sub/a"
    assert load(tmp_path, "UPPER.TXT", "Body.").articles[0].id == "UPPER"
    assert load(tmp_path, "x/v1.2.txt", "Body.").articles[0].id == "x/v1.2"
    single = tmp_path / "solo.txt"
    single.write_text("Alone.")
    assert read_file(single, single, MAX_BYTES).articles[0].id == "solo"


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    result = load(tmp_path, "a.txt", "x" * 2000, max_bytes=1000)
    assert result.skipped == "file is 0.0 MB, over the 0.0 MB limit (ingest.max_file_mb)"
    assert load(tmp_path, "b.txt", "x" * 1000, max_bytes=1000).skipped is None


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    assert read_file(tmp_path / "folder.txt", tmp_path, MAX_BYTES).skipped == "not a regular file"
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone.txt")
    result = read_file(tmp_path / "dangling.txt", tmp_path, MAX_BYTES)
    assert result.skipped is not None and "No such file or directory" in result.skipped
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.txt"
        locked.write_text("Secret.")
        locked.chmod(0)
        result = read_file(locked, tmp_path, MAX_BYTES)
        assert result.skipped is not None and "Permission denied" in result.skipped


# --- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xd8\xff\xe0 jfif", "binary file (JPEG image)"),
        (b"GIF89a....", "binary file (GIF image)"),
        (b"PK\x03\x04 zip", "binary file (ZIP archive)"),
        (b"\x1f\x8b\x08 gz", "binary file (gzip archive)"),
        (b"\x7fELF\x02\x01", "binary file (ELF executable)"),
        (b"%PDF-1.7 misnamed", "binary file (PDF document)"),
        (b"plain\x00text", "binary file (contains NUL bytes)"),
        (codecs.BOM_UTF16_LE + b"A\x00B", "invalid UTF-16 at byte 4; re-save the file as UTF-8"),
        (codecs.BOM_UTF8 + b"ok \xff", "invalid UTF-8 at byte 3; re-save the file as UTF-8"),
        (b"caf\xc3\xa9 then \xc3", "invalid UTF-8 at byte 11; re-save the file as UTF-8"),
        (b"caf\xe9 bell \x07", "not text in a known encoding"),
        (b"undefined \x81 byte", "not text in a known encoding"),
    ],
)
def test_decode_refuses(data: bytes, reason: str) -> None:
    with pytest.raises(NotAnArticleError) as err:
        decode_bytes(data)
    assert str(err.value) == reason


@pytest.mark.parametrize(
    ("data", "text", "warnings"),
    [
        (b"plain ascii", "plain ascii", []),
        ("caf\u00e9".encode(), "café", []),
        (codecs.BOM_UTF8 + "café".encode(), "café", []),
        ("café".encode("utf-16"), "café", []),
        (codecs.BOM_UTF16_BE + "café".encode("utf-16-be"), "café", []),
        ("café".encode("utf-32"), "café", []),
        (b"\x93quoted\x94 caf\xe9", "“quoted” café", ["decoded as Windows-1252 (not UTF-8)"]),
    ],
)
def test_decode_accepts(data: bytes, text: str, warnings: list[str]) -> None:
    assert decode_bytes(data) == (text, warnings)


def test_control_characters_in_utf8_are_stripped_and_counted(tmp_path: Path) -> None:
    result = load(tmp_path, "c.txt", "Line\x0bone\x1b and \u2066two\u2069.\r\nNext\rline.")
    one(result)
    assert result.articles[0].text == "Lineone and two.\nNext\nline."
    assert result.invisible_stripped == 4
    assert result.warnings == ["stripped 4 invisible characters"]
    assert load(tmp_path, "d.txt", "a\u200bb").warnings == ["stripped 1 invisible character"]


def test_only_invisible_characters_is_empty(tmp_path: Path) -> None:
    assert load(tmp_path, "e.txt", "\u200b\u200b\n\ufeff").skipped == "empty file"


# --- plain text headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "date", "text", "warning"),
    [
        ("date 2021-10-19\n\nBody.", "2021-10-19", "Body.", None),
        ("   DATE: 2021-10-19\nBody.", "2021-10-19", "Body.", None),
        ("date: 2021-10-19 Body on the line.", "2021-10-19", "Body on the line.", None),
        ("date 2021-10-19T08:00:00Z Body.", "2021-10-19", "Body.", None),
        ("date 2021-13-45 Body.", None, "Body.", "'date 2021-13-45'"),
        ("date: yesterday\nBody.", None, "Body.", "'date: yesterday'"),
        ("Date 19/10/2021\nBody.", None, "Body.", "'Date 19/10/2021'"),
        ("date: Sun, 27 Nov 2022 10:00:00 GMT\nBody.", "2022-11-27", "Body.", None),
        ("date: November 27, 2022\nBody.", "2022-11-27", "Body.", None),
        ("date: 27 Nov 2022\nBody.", "2022-11-27", "Body.", None),
        ("date: 2022/11/27\nBody.", "2022-11-27", "Body.", None),
        ("date 2022/11/27 Body on the line.", "2022-11-27", "Body on the line.", None),
        ("date: 2022-11-27T23:30:00-05:00\nBody.", "2022-11-28", "Body.", None),
        ("date: Mon, 27 Nov 2022\nBody.", None, "Body.", "'date: Mon, 27 Nov 2022'"),
        ("Date palms grow in 2021-10-19 heat.", None, "Date palms grow in 2021-10-19 heat.", None),
        ("Date 2021 was hard.", None, "Date 2021 was hard.", None),
        ("Body first.\ndate 2021-10-19", None, "Body first.\ndate 2021-10-19", None),
    ],
)
def test_text_date_header(
    tmp_path: Path, content: str, date: str | None, text: str, warning: str | None
) -> None:
    result = load(tmp_path, "a.txt", content)
    one(result)
    assert (result.articles[0].date, result.articles[0].text) == (date, text)
    if warning is None:
        assert result.warnings == []
    else:
        assert result.warnings == [
            f"malformed date header {warning} in a.txt: indexed without a date"
        ]


def test_text_never_guesses_a_date(tmp_path: Path) -> None:
    result = load(tmp_path, "2021-10-19-story.txt", "On 2021-10-19 the mission closed.")
    assert result.articles[0].date is None


def test_text_all_headers(tmp_path: Path) -> None:
    content = (
        "Title: Talks collapse\nsource: Wire\nURL: https://example.com/t\ndate 2020-02-02\n\n"
        "The talks collapsed.\n\nMore later."
    )
    a = load(tmp_path, "t.txt", content).articles[0]
    assert (a.title, a.source, a.url, a.date) == (
        "Talks collapse",
        "Wire",
        "https://example.com/t",
        "2020-02-02",
    )
    assert a.text == "The talks collapsed.\n\nMore later."


def test_text_bad_url_and_header_only(tmp_path: Path) -> None:
    result = load(tmp_path, "u.txt", "url: javascript:alert(1)\nBody text.")
    assert result.articles[0].url is None
    assert result.warnings == ["url header 'javascript:alert(1)' is not an http(s) URL: dropped"]
    assert load(tmp_path, "h.txt", "title: Only\ndate 2020-01-01\n").skipped == (
        "no article text (only header lines)"
    )


def test_text_long_first_sentence_title(tmp_path: Path) -> None:
    a = load(tmp_path, "l.txt", "word " * 40 + "end. Second.").articles[0]
    assert a.title.endswith("…") and len(a.title) <= 101


# --- markdown -----------------------------------------------------------------------------


def test_markdown_heading_is_title(tmp_path: Path) -> None:
    content = "---\ndate: 2021-10-19T10:00:00Z\nauthor: x\n---\n\n# Big news #\n\nThe body.\n"
    result = load(tmp_path, "h.markdown", content)
    a = result.articles[0]
    assert (a.title, a.date, a.text, a.source) == ("Big news", "2021-10-19", "The body.", None)
    assert result.warnings == []
    b = load(tmp_path, "n.md", "## Not level one\n\nText **bold**.").articles[0]
    assert (b.title, b.text) == ("## Not level one", "## Not level one\n\nText **bold**.")


@pytest.mark.parametrize(
    ("content", "warning"),
    [
        ("---\ntitle: [unclosed\n---\nBody.", "malformed YAML front matter (line 2)"),
        ("---\n- a list\n---\nBody.", "front matter is not a key: value mapping"),
        ("---\ntitle: never closed\nBody.", "front matter has no closing '---'"),
    ],
)
def test_markdown_broken_front_matter_is_text(tmp_path: Path, content: str, warning: str) -> None:
    result = load(tmp_path, "m.md", content)
    one(result)
    a = result.articles[0]
    assert a.text == content.strip()
    assert (a.date, a.source, a.url) == (None, None, None)
    assert len(result.warnings) == 1 and result.warnings[0].startswith(warning)


def test_markdown_bad_values(tmp_path: Path) -> None:
    content = "---\ntitle: 2021\ndate: 2021-13-45\nurl: ftp://x.org/a\nsource: [a, b]\n---\nBody."
    result = load(tmp_path, "v.md", content)
    a = result.articles[0]
    assert (a.title, a.date, a.url, a.source) == ("2021", None, None, None)
    assert result.warnings == [
        "front matter 'source' is not text: ignored",
        "front matter url 'ftp://x.org/a' is not an http(s) URL: dropped",
        "malformed date '2021-13-45' in the front matter of v.md: indexed without a date",
    ]
    assert load(tmp_path, "e.md", "---\ntitle: T\n---\n# Heading\n").skipped is None
    assert load(tmp_path, "f.md", "---\ntitle: T\n---\n\n").skipped == (
        "no article text (only front matter or a heading)"
    )


# --- JSON lines ---------------------------------------------------------------------------


def test_jsonl_bad_records(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "a", "text": "First.", "url": "file:///etc/passwd"}),
        "",
        "[1, 2]",
        json.dumps({"id": "b", "text": "   "}),
        json.dumps({"id": "a", "text": "Again."}),
        json.dumps({"id": 7, "text": "Numeric id.", "date": "26 Sep 2023", "title": None}),
        json.dumps({"text": "No id.\u2028Same line.", "x": {"y": 1}}, ensure_ascii=False),
        json.dumps({"id": "z", "text": "Leap.", "date": "2023-02-29"}),
    ]
    result = load(tmp_path, "c/r.jsonl", "\r\n".join(lines))
    assert [a.id for a in result.articles] == ["a", "7", "c/r#7", "z"]
    assert result.articles[0].url is None
    assert result.articles[1].date == "2023-09-26"
    assert result.articles[3].date is None
    assert result.articles[1].title == "Numeric id."
    assert result.warnings == [
        "line 1: url 'file:///etc/passwd' is not an http(s) URL: dropped",
        "line 3: not a JSON object, record skipped",
        "line 4: no non-empty string 'text', record skipped",
        "line 5: duplicate id 'a' in this file, record skipped",
        "line 8: malformed date '2023-02-29' in r.jsonl: indexed without a date",
    ]


def test_jsonl_no_valid_records(tmp_path: Path) -> None:
    result = load(tmp_path, "bad.jsonl", '{"title": "no text"}\nnot json\n')
    assert result.skipped == "no valid records"
    assert result.warnings == [
        "line 1: no non-empty string 'text', record skipped",
        "line 2: invalid JSON, record skipped",
    ]


def test_jsonl_invisible_counted_per_record(tmp_path: Path) -> None:
    data = json.dumps({"id": "x\u200b", "title": "T\u202e", "text": "a\u200bb"}) + "\n"
    result = load(tmp_path, "i.jsonl", data)
    assert result.articles[0].id == "x" and result.invisible_stripped == 3


# --- HTML ---------------------------------------------------------------------------------

PARAS = (
    "<p>The council voted on Tuesday to approve the new budget for the coming fiscal year, "
    "which includes funding for schools and roads.</p><p>Opponents said the plan did not go "
    "far enough on the housing shortage in the region, and promised to keep fighting.</p>"
)


def test_html_takes_no_date_from_the_text_or_url(tmp_path: Path) -> None:
    page = (
        '<html><head><title>Vote</title><link rel="canonical" '
        'href="https://ex.com/2022/05/01/vote.html"></head><body><article>'
        f"<p>Published on 2022-05-01.</p>{PARAS}</article></body></html>"
    )
    result = load(tmp_path, "v.htm", page)
    one(result)
    assert result.articles[0].date is None
    assert result.articles[0].url == "https://ex.com/2022/05/01/vote.html"


def test_html_metadata_date_forms(tmp_path: Path) -> None:
    ld = '{"@graph": [{"@type": "NewsArticle", "datePublished": "2020-03-04T05:06:07Z"}]}'
    page = (
        f'<html><head><script type="application/ld+json">{ld}</script></head>'
        f"<body><article>{PARAS}</article></body></html>"
    )
    assert load(tmp_path, "ld.html", page).articles[0].date == "2020-03-04"
    page = (
        '<html><head><meta name="date" content="Tue, 26 Sep 2023">'
        '<meta property="og:url" content="javascript:alert(1)">'
        f"</head><body><article>{PARAS}</article></body></html>"
    )
    result = load(tmp_path, "rfc.html", page)
    assert (result.articles[0].date, result.articles[0].url) == ("2023-09-26", None)
    assert result.warnings == []
    result = load(tmp_path, "wd.html", page.replace("Tue, 26", "Wed, 26"))
    assert result.articles[0].date is None
    assert result.warnings == [
        "malformed page date 'Wed, 26 Sep 2023' in wd.html: indexed without a date"
    ]
    assert result.articles[0].title.startswith("The council voted on Tuesday")


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>Nothing</title><script>var a = 1;</script></head><body></body></html>",
        "<html><body><p>   </p></body></html>",
        "<!-- only a comment -->",
    ],
)
def test_html_without_text(tmp_path: Path, page: str) -> None:
    assert load(tmp_path, "n.html", page).skipped == "no article text found in the HTML"


# --- properties ---------------------------------------------------------------------------


# NUL is excluded: UTF-8 text holding one is refused as binary, by design.
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00")))
def test_utf8_round_trips(text: str) -> None:
    try:
        decoded, warnings = decode_bytes(text.encode("utf-8"))
    except NotAnArticleError as e:
        # Text that happens to begin with a file signature such as "%PDF-".
        assert str(e).startswith("binary file (")
        return
    assert warnings == []
    assert clean(decoded)[0] == clean(text)[0]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".txt", ".md", ".jsonl"]))
def test_read_file_never_raises_on_random_bytes(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    result = read_file(path, tmp_path, MAX_BYTES)
    assert (result.skipped is None) == bool(result.articles)
    assert result.skipped is None or "\n" not in result.skipped
    assert all(a.text.strip() and a.title for a in result.articles)


# --- article dates as feeds and exports write them -------------------------------------------


@pytest.mark.parametrize(
    ("value", "date"),
    [
        ("2022-11-27", "2022-11-27"),
        ("2022-11-27T10:00:00", "2022-11-27"),
        ("2022-11-27 23:59", "2022-11-27"),
        ("2022-11-27T10:00:00Z", "2022-11-27"),
        ("2022-11-27T23:30:00-05:00", "2022-11-28"),  # the UTC date of a zoned timestamp
        ("2022-11-27T01:30:00.123+1100", "2022-11-26"),
        ("2022/11/27", "2022-11-27"),
        ("2022/11/27 10:00:00", "2022-11-27"),
        ("Sun, 27 Nov 2022 10:00:00 GMT", "2022-11-27"),
        ("Sun, 27 Nov 2022 22:00:00 -0500", "2022-11-28"),
        ("27 Nov 2022 10:00 +0000", "2022-11-27"),
        ("November 27, 2022", "2022-11-27"),
        ("Nov. 27, 2022", "2022-11-27"),
        ("Sunday, November 27th 2022", "2022-11-27"),
        ("November 27, 2022 at 10:00 PM EST", "2022-11-28"),
        ("27 Nov 2022", "2022-11-27"),
        ("27 November 2022", "2022-11-27"),
        ("2024-02-29", "2024-02-29"),
        # Never guessed: impossible, ambiguous, contradictory or not dates at all.
        ("2023-02-29", None),
        ("2021-13-45", None),
        ("11/12/2022", None),
        ("19/10/2021", None),
        ("Mon, 27 Nov 2022 10:00:00 GMT", None),
        ("2022-11-27T25:00:00Z", None),
        ("2022-11-27T10:00:00+15:00", None),
        ("2022-11-27T", None),
        ("27 Foo 2022", None),
        ("yesterday", None),
        ("", None),
        (20221127, None),
        (None, None),
    ],
)
def test_parse_date_forms(value: object, date: str | None) -> None:
    assert parse_date(value) == date


def test_jsonl_export_dates_like_2022_11_27(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": f"n{i}",
                "title": f"Story {i}",
                "date": f"2022/11/{i:02d}",
                "text": f"Story number {i}.",
            }
        )
        for i in range(1, 29)
    ]
    lines.append(json.dumps({"id": "bad", "text": "Undated.", "date": "2022/11/31"}))
    result = load(tmp_path, "export.jsonl", "\n".join(lines))
    dates = {a.id: a.date for a in result.articles}
    assert dates["n1"] == "2022-11-01" and dates["n27"] == "2022-11-27"
    assert sum(d is not None for d in dates.values()) == 28
    assert dates["bad"] is None
    assert result.warnings == [
        "line 29: malformed date '2022/11/31' in export.jsonl: indexed without a date"
    ]


def test_markdown_front_matter_rfc_2822_date(tmp_path: Path) -> None:
    content = "---\ndate: Sun, 27 Nov 2022 23:00:00 -0300\n---\nBody."
    result = load(tmp_path, "m.md", content)
    assert (result.articles[0].date, result.warnings) == ("2022-11-28", [])
