"""A story's headline is its outlet's one-line account of it, and often the only place a fact
is said: a feed item or an abstract keeps a few of the story's sentences, and "Palo Alto in
advanced talks to buy Talon and Dig in a $1B security sweep" heads a text that never names
the buyer. The extractive answerer scores a headline as one more sentence of its story
(:meth:`~retrieval.answering.extractive.ExtractiveAnswerer.features`) and quotes it, cited
to the story, when it answers best."""

from __future__ import annotations

import html
import re

from retrieval.lexical import terms

# The index row a headline candidate carries: it is no sentence of the article's text.
HEADLINE_ROW = -1

# A headline states something: this many words at least, and this many lower-case content
# words among them. A label ("1973 oil crisis", "Intergovernmental Panel on Climate Change",
# an encyclopedia's page name) names a topic and states nothing.
MIN_WORDS = 5
MIN_LOWER_CONTENT = 2

# A headline that asks, or reads like an explainer or a guide, at its start or after a colon
# or dash ("Why Mozilla is betting on ...", "What's at stake in ...", "Rankings Week 14: Who to
# start"), promises what its text tells: it answers nothing itself.
_ASKS = re.compile(
    r"(?:^|[:;—–|]|\s-\s)\W*(?:why|what|how|who|when|where|which|is|are|can|could|should|"
    r"will|does|do|did)\b",
    re.IGNORECASE,
)


def _roundup(title: str) -> bool:
    """A newsletter's headline that lists several stories ("OpenAI hosts a dev day,
    TechCrunch reviews the M3 iMac, and Bumble gets a new CEO"): its words come from
    different stories, so no question is answered by how they stand together."""
    return title.count(",") >= 2 and ", and " in title


def _label_list(title: str) -> bool:
    """A live blog's, a tracker's or a preview's label, which lists what the page holds
    ("Bears vs. Vikings live score, updates, highlights from NFL ...", "Live updates on
    news, rumors, signings and trades", "odds, props, predictions"): a lower-case word
    alone between two commas, and a word of such pages. Names so listed ("Initech, Globex,
    Umbrella face a probe") are who a headline is about, and a list of what a story is
    about ("over content risks, moderation, transparency") is no page's label."""
    return _LISTED.search(title) is not None and _PAGE_WORDS.search(title) is not None


_LISTED = re.compile(r",\s*[a-z][\w'’-]*\s*,")
_PAGE_WORDS = re.compile(
    r"\b(?:live|updates|highlights|tracker|odds|predictions|preview|lineups|how to watch|"
    r"where to watch)\b",
    re.IGNORECASE,
)


# What a shortened title ends with ("… mission in response to the…").
_CUT = re.compile(r"(?:\s*(?:…|\.\.\.)\s*)$")


def headline(title: str | None, text: str) -> str | None:
    """``title`` when it reads as a headline that the story's text does not repeat, else None.

    A question, an explainer's title, a roundup of several stories or a live blog's label
    is none. A title the
    loader took from the text's first words, or one the text says word for word, adds
    nothing the text's own sentences don't.
    """
    if not title:
        return None
    # Feeds often carry a title HTML-escaped ("Hamas&#039; surprise attack"): its "039" is
    # no number, and the outlet wrote an apostrophe.
    title = html.unescape(title)
    said = title.split()
    if len(said) < MIN_WORDS:
        return None
    lower = [w for w in said if w[:1].islower() and terms(w)]
    if len(lower) < MIN_LOWER_CONTENT:
        return None
    if _ASKS.search(title) or "?" in title or _roundup(title) or _label_list(title):
        return None
    core = " ".join(_CUT.sub("", title).split()).lower()
    if core and core in " ".join(text.split()).lower():
        return None
    return title.strip()


def quoted(text: str) -> str:
    """How an answer quotes a headline among the story's sentences: in quotation marks, since
    it ends without the full stop a sentence has."""
    return f"“{text}”"
