"""Telegram HTML rendering and splitting: properties over random and adversarial text."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("telegram")

from bot.telegram import handlers, render, texts
from retrieval.answer import Answer, Citation
from tests.fake_bot_api import HtmlError, parse_telegram_html, utf16_len

# --- the validator itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    "markup",
    [
        "plain",
        "<b>bold</b> &amp; <i>it &lt;x&gt;</i> &quot;q&quot; &#128512; &#x1F600;",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
        '<pre><code class="language-python">x = 1</code></pre>',
        "<blockquote>quote</blockquote><blockquote expandable>more</blockquote>",
        "<b>bold <i>and italic</i></b>",
    ],
)
def test_validator_accepts_telegram_html(markup: str) -> None:
    parse_telegram_html(markup)


@pytest.mark.parametrize(
    "markup",
    [
        "<script>x</script>",
        "<b>unclosed",
        "</b>",
        "<b><i>crossed</b></i>",
        "a < b",
        "a > b",
        "AT&T",
        "&nbsp;",
        "&#0;",
        "&#xD800;",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="https://x" onclick="y">x</a>',
        "<a>no href</a>",
        '<a href="https://a"><a href="https://b">x</a></a>',
        '<span class="other">x</span>',
        "<code><b>x</b></code>",
        "<blockquote><blockquote>x</blockquote></blockquote>",
        "<b class='x'>x</b>",
    ],
)
def test_validator_rejects_what_telegram_rejects(markup: str) -> None:
    with pytest.raises(HtmlError):
        parse_telegram_html(markup)


# --- plain-text splitting ----------------------------------------------------------------

ALPHABET = st.one_of(
    st.characters(codec="utf-8"),  # anything encodable (no lone surrogates)
    st.sampled_from(list("  \n\n.!?…。 ")),  # boundaries, often
    st.sampled_from(["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "𝔘", "𠜎", "\u200d", "\ufe0f", "\u0301"]),
    st.sampled_from(list("שלום עולם مرحبا بالعالم \u200f\u202e")),  # RTL and bidi controls
    st.sampled_from(list("<>&\"'")),
)
PIECE = st.lists(ALPHABET, max_size=120).map("".join)
PIECES = st.lists(st.tuples(PIECE, st.integers(1, 600)), max_size=12)


@st.composite
def long_texts(draw: st.DrawFn) -> str:
    """Text up to 50,000 characters, built from repeated random pieces."""
    return "".join(piece * n for piece, n in draw(PIECES))[:50_000]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_texts(), st.sampled_from([4096, 4096, 200, 17]))
def test_split_text_parts_fit_and_join_to_the_original(text: str, limit: int) -> None:
    parts = render.split_text(text, limit)
    assert "".join(parts) == text
    assert all(0 < utf16_len(p) <= limit for p in parts)
    # a part never ends on a high surrogate, i.e. a pair is never split
    assert all(
        not (
            "\ud800"
            <= p.encode("utf-16-le", "surrogatepass")[-2:].decode("utf-16-le", "surrogatepass")
            <= "\udbff"
        )
        for p in parts
        if p
    )


def test_split_prefers_paragraphs_then_sentences() -> None:
    para = "First sentence here. Second one follows! "
    text = (para * 80).strip() + "\n\n" + "Next paragraph. " * 100
    assert [p[-2:] for p in render.split_text(text, 4096)] == ["\n\n", ". "]
    long = "".join(f"Sentence number {i} is here. " for i in range(400))
    parts = render.split_text(long, 4096)
    assert len(parts) == 3 and all(p.endswith("here. ") for p in parts)


def test_split_never_tears_an_emoji_sequence() -> None:
    family = "👨‍👩‍👧"  # man ZWJ woman ZWJ girl: 8 UTF-16 units, one visible character
    parts = render.split_text(family * 1000, 4096)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.startswith("👨") and p.endswith("👧") for p in parts)


def test_utf16_len_counts_like_telegram() -> None:
    assert render.utf16_len("a😀𝔘é") == utf16_len("a😀𝔘é") == 6


# --- rendering ---------------------------------------------------------------------------


def _answer(text: str, citations: list[Citation] | None = None, abstained: bool = False) -> Answer:
    return Answer(
        question="q",
        standalone_question="q",
        text=text,
        citations=citations or [],
        abstained=abstained,
    )


def _cite(n: int = 1, **kw: object) -> Citation:
    base: dict[str, object] = {
        "n": n,
        "article_id": "a",
        "title": "Title",
        "date": "2021-10-19",
        "source": "Wire",
        "url": "https://example.org/a",
        "quote": "A quote.",
        "chunk_id": "a#0",
        "score": 1.0,
    }
    base.update(kw)
    return Citation.model_validate(base)


def test_answer_html_lists_sources_with_links() -> None:
    parts = render.answer_html(_answer("Stoltenberg decided. [1]", [_cite()]))
    assert parts == [
        "Stoltenberg decided. [1]\n\n<b>Sources</b>\n"
        '1. <a href="https://example.org/a">Title</a> — Wire, 2021-10-19'
    ]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "ftp://example.org/x",
        "https://user:pw@example.org/",
        "https://exa mple.org/",
        "https:///nohost",
        "//example.org/x",
        "https://example.org/" + "a" * 2000,
        "https://example.org:99999/",
        None,
        "",
    ],
)
def test_unsafe_urls_are_never_linked(url: str | None) -> None:
    parts = render.answer_html(_answer("Text [1]", [_cite(url=url)]))
    assert "<a " not in parts[0]
    parse_telegram_html(parts[0])


def test_href_is_escaped() -> None:
    parts = render.answer_html(_answer("T [1]", [_cite(url='https://e.org/?a=1&b="2"')]))
    assert 'href="https://e.org/?a=1&amp;b=&quot;2&quot;"' in parts[0]
    parse_telegram_html(parts[0])


def test_abstention_has_no_sources() -> None:
    parts = render.answer_html(_answer("I couldn't find that.", [_cite()], abstained=True))
    assert parts == ["I couldn't find that."]


def test_long_answers_split_into_valid_messages() -> None:
    text = "\n\n".join(f"Paragraph {i} & <more> " + "word " * 300 for i in range(40))
    parts = render.answer_html(_answer(text, [_cite(n) for n in range(1, 6)]), max_parts=None)
    assert len(parts) > 5
    for part in parts:
        assert utf16_len(part) <= 4096
        parse_telegram_html(part)
    read = "".join(parse_telegram_html(p) for p in parts)
    assert read.count("Paragraph") == 40 and "<more>" in read


def test_too_many_parts_are_cut_with_a_note() -> None:
    parts = render.answer_html(_answer("x " * 60_000))
    assert len(parts) == render.MAX_PARTS
    assert parts[-1] == render.TRUNCATED


def test_html_to_plain_keeps_link_targets() -> None:
    markup = '<b>S</b> <a href="https://e.org/?a=1&amp;b=2">T &amp; U</a>'
    assert render.html_to_plain(markup) == "S T & U (https://e.org/?a=1&b=2)"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_texts())
def test_rendered_random_answers_are_valid_in_every_part(text: str) -> None:
    parts = render.answer_html(_answer(text, [_cite(title=text[:300])]), max_parts=None)
    for part in parts:
        assert utf16_len(part) <= 4096
        parse_telegram_html(part)
    read = "".join(parse_telegram_html(p) for p in parts)
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", read).startswith(squeeze.sub("", text))


# --- 1,000 adversarial answers -------------------------------------------------------------

NASTY = [
    "<script>alert(1)</script>",
    "<b>unbalanced",
    "</i></b>",
    "<a href='javascript:alert(1)'>click</a>",
    '<a href="https://evil.example/">[1]</a>',
    '[1]</a><a href="https://evil.example">',
    "&amp;",
    "&",
    "&#0;",
    "&#xD800;",
    "&nbsp;",
    "&lt;b&gt;",
    "<",
    ">",
    "<<>>",
    '"',
    "'",
    "<pre><code>",
    "<tg-spoiler>",
    '<span class="tg-spoiler">',
    "<blockquote>",
    "\u202e\u200f",
    "😀👨‍👩‍👧🇫🇷",
    "https://example.org/" + "x" * 5000,
    "https://example.org/?q=" + "&a=<b>" * 500,
    "[1] [2] [99] [x] [<b>1</b>]",
    "\n\n\n",
    " ",
    "\x00\x01\x1b[31m",
    'Sources:\n1. <a href="https://x">fake citation</a>',
]


def _adversarial(rng: random.Random) -> Answer:
    def nasty(n: int) -> str:
        return "".join(
            rng.choice(NASTY) + rng.choice(["", " ", "\n", "\n\n", "word. "]) for _ in range(n)
        )

    n_cites = rng.randint(0, 6)
    urls = [
        None,
        "",
        "https://example.org/a?b=1&c=2",
        "javascript:alert(1)",
        "https://example.org/" + "y" * rng.randint(0, 3000),
        nasty(1),
        'https://e.org/"x',
    ]
    cites = [
        _cite(
            n=i + 1,
            title=nasty(rng.randint(0, 4)),
            source=rng.choice([None, nasty(1), "A & B <News>"]),
            date=rng.choice([None, "2021-10-19", nasty(1)]),
            url=rng.choice(urls),
            quote=nasty(rng.randint(0, 5)),
        )
        for i in range(n_cites)
    ]
    text = nasty(rng.randint(0, 40))
    if rng.random() < 0.05:
        text = (nasty(1) * rng.randint(10, 2000))[:100_000]  # very long answers too
    return _answer(text, cites, abstained=rng.random() < 0.1)


@pytest.mark.slow
def test_a_thousand_adversarial_answers_render_to_valid_telegram_html() -> None:
    rng = random.Random(20211019)
    for _ in range(1000):
        answer = _adversarial(rng)
        outputs = [
            render.answer_html(answer),
            render.sources_html(answer.citations),
            *(render.quote_html(c) for c in answer.citations),
        ]
        for parts in outputs:
            assert 1 <= len(parts) <= render.MAX_PARTS
            for part in parts:
                assert utf16_len(part) <= 4096, answer
                text = parse_telegram_html(part)  # raises on anything Telegram would refuse
                assert text.strip()
                for m in re.finditer(r'<a href="([^"]*)">', part):
                    assert m.group(1).startswith(("https://example.org/", "https://e.org/"))


def test_preview_text_fits_one_message() -> None:
    assert render.preview_text("short ") == "short"
    long = render.preview_text("😀" * 5000)
    assert utf16_len(long) <= 4096 and long.endswith(" …")


def test_the_bots_own_texts_are_valid_telegram_html() -> None:
    values = {"user_id": 1, "limit": 2, "seconds": 3, "length": 4, "reason": "r", "n": 1}
    values |= {"articles": "3 articles", "dates": "", "sources": "", "group_hint": ""}
    values |= {"topic": "NATO &amp; Russia", "id": 7, "lines": "7. NATO", "at": "07:30"}
    values |= {"tz": "Europe/Berlin"}
    for name in dir(texts):
        if name.isupper():
            parse_telegram_html(getattr(texts, name).format(**values, mention="@b"))
    for stats in (None, {"articles": 1, "date_range": ["2021-10-19"] * 2, "sources": {"<A&B>": 1}}):
        for group in (False, True):
            parse_telegram_html(handlers.help_html(stats, "some_bot", group))
