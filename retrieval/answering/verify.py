"""Citation verification of model-written answers: code checks every cited sentence against
the chunk it cites, and nothing the model wrote reaches the user unchecked.

A sentence survives when the chunk it cites supports it: the content words it adds to the
question occur in one sentence of the chunk (or its article's title), and so do the words it
takes from the question; it is close in meaning to that sentence; every name, number, date,
quantifier and quotation in it occurs there too (or is the article's date); its words are
linked as that sentence links them: neighbouring terms stand close together, what it adds
stands next to words of the question, and a denial stands where the sentence has one; and,
when asked (``min_verbatim``), it is a near-quote of that sentence. A sentence that starts by
referring back ("This ...") must follow what it refers to. A sentence that only restates the
question, or talks about "the article" instead of the news, is dropped. A sentence its
citation does not support moves to the retrieved chunk that does, or is dropped; markers that
name no retrieved chunk are dropped. The survivors are renumbered 1..n and each citation
quotes, verbatim, the chunk's sentence that best supports what was said.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from retrieval.answer import Citation
from retrieval.answering.spans import DATE, NAME, NUMBER, date_parts
from retrieval.lexical import term_spans, terms
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.sentences import split_sentences

Embed = Callable[[list[str]], np.ndarray]

# A sentence is supported by a chunk when support = (lexical + cosine) / 2 reaches this and
# at least MIN_LEXICAL of what it adds to the question (idf-weighted) occurs in one sentence
# of the chunk. 0.7 (was 0.6) after reading what SmolLM2-135M got through. One sentence, not
# a sentence and its neighbours: "mortgage bankers, accountants and cost engineers" joined a
# list from two sentences into a claim neither makes. MIN_LEXICAL 0.85 (was 0.5): a model
# sentence may rephrase its chunk's sentence, not add to it ("the CJEU's duty is to ensure
# that the law is observed, and that the law is applied in the best interests of the EU").
SUPPORT_THRESHOLD = 0.7
MIN_LEXICAL = 0.85
# The words a sentence adds must also be linked as the chunk's sentence links them: of the
# pairs of neighbouring content terms in the sentence (pairs of two question terms aside),
# this share must stand within LINK_DISTANCE terms of each other in that sentence (0.85, was
# 0.7: "the principle treaties began with the Treaty of Rome", where they "began with common
# rules for coal and steel", and more complete institutions came "through the Treaty of Rome").
# "Eisner became president of Disney" is not what "Eisner left ABC to become president of
# Paramount Pictures (... later President of ABC's parent company, Disney)" says, though
# every word of it is there.
MIN_LINKED = 0.85
LINK_DISTANCE = 2
# The words a sentence takes from the question are claims too: this share of them (idf-
# weighted) must occur in the sentence that supports what it adds. "The name of Mongolia's
# largest airport is Ulaanbaatar" is not what "Mongolia's main international airport in
# Ulaanbaatar is named Chinggis Khaan International Airport" says. Chosen on the audited
# answers to SQuAD questions 1,001-2,000 (bench/audits/).
MIN_PREMISE = 0.85

# [1], [1, 2], [^1], [Article 1], [id=1], 【1】 ... (the number list is group 1).
_MARKER = re.compile(
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
_URL = re.compile(
    rf"(?:https?://|ftp://|www\.){_URL_TAIL}"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|int|io|co|uk|news|info|ru|de|fr|eu)\b"
    rf"(?:/{_URL_TAIL})?",
    re.IGNORECASE,
)
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]"
)
_REFUSAL = re.compile(
    r"\b(?:could\s*n[o']t|can\s*n[o']t|cannot|unable to|did\s*n[o']t|do\s*n[o']t)\s+find\b"
    r"|\b(?:articles?|texts?|sources?)\s+(?:do|does|did)\s*(?:n[o']t|not)\s+"
    r"(?:contain|mention|say|include|provide|specify|state)"
    r"|\bno (?:information|mention)\b|\bnot (?:mentioned|stated|specified) in\b",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_WORD_NUMBERS |= {"ninety": 90, "hundred": 100, "dozen": 12}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "hundred": 1e2}
# A sentence about the text rather than the news: "The article is about the Netherlands,
# which ...", "The article about the season saw ..." (SmolLM2's favourite non-answer).
_ABOUT_TEXT = re.compile(
    r"(?:the|this|that)\s+(?:article|text|passage|document)s?\b"
    r"(?!\s*(?:,|(?:says|said|states|stated|reports|reported|notes|noted|adds|added)\b))",
    re.IGNORECASE,
)
# How a model introduces what the text says; no claim of its own ("The article says that").
_FRAME = re.compile(
    r"^\s*(?:(?:the|this)\s+(?:article|text|passage|document)\s+(?:says|said|states|stated|"
    r"reports|reported|notes|noted|mentions|mentioned)(?:\s+that)?|according\s+to\s+the\s+"
    r"(?:article|text|passage)|the\s+answer\s+is)\s*[:,]?\s*",
    re.IGNORECASE,
)
# A sentence that starts by referring back: "This added momentum to proposals for reform".
_ANAPHOR = re.compile(
    r"(?:it|its|this|these|those|that|they|their|them|he|his|him|she|her|such)\b", re.IGNORECASE
)
_NEGATION = re.compile(r"\b(?:not|never|no|neither|nor|none|without)\b|n['’]t\b", re.IGNORECASE)
_DENIAL = "¬"
_NUMBER_TERMS = {t: str(v) for w, v in _WORD_NUMBERS.items() for t in terms(w)}
_QUOTED = re.compile(r"[\"“]([^\"“”]{3,}?)[\"”]")
# Words that say how many or how often, held to the text like numbers, each as often as the
# text has it: "agreed upon by all the world's governments" is not "by delegates from many of
# the world's governments", and "the most recent episode of most of ABC's programming" is not
# "the most recent episode of any ABC program".
_QUANTIFIER = re.compile(
    r"\b(?:all|every|each|always|only|entire|entirely|whole|none|nobody|nothing|most|many|few|"
    r"several|any)\b",
    re.IGNORECASE,
)
# What comes before a name that is part of another: "the Council of the European Union".
_OF_NAME = re.compile(r"\b[A-Z][\w'’\-]+\s+of\s+(?:the\s+)?$")
# How models refer to the text itself; no evidence either way.
_META = frozenset(
    terms("article articles text passage document mentions mentioned states stated reports noted")
)
# Verbs that only carry tense or mood: "shall be withdrawn" links what "will be withdrawn" does.
_AUXILIARIES = frozenset(terms("shall must might ought"))
# Number words too vague to hold a model to ("one of them", "thousands of people").
_VAGUE = {"one", "dozens", "hundreds", "thousands", "millions"}


@dataclass(frozen=True)
class Dropped:
    """A piece of model output that did not reach the user, and why."""

    text: str
    # unsupported | unlinked | premise | rephrased | uncited | number | referent |
    # no-answer | question | about-text | repeated | unfinished (cut off, or stops where its
    # chunk sentence leads into what the chunk does not hold)
    reason: str


@dataclass(frozen=True)
class Support:
    """How well one chunk supports one sentence."""

    score: float
    lexical: float
    cosine: float
    row: int  # the chunk's sentence (SearchIndex row) that supports it best
    facts_ok: bool  # every number, date and quotation of the sentence is in the chunk
    linked: float = 1.0  # share of the sentence's term pairs the chunk links (MIN_LINKED)
    premise: float = 1.0  # share of the question's words it uses that the chunk has (MIN_PREMISE)
    verbatim: float = 1.0  # share of its words that follow the chunk sentence in order

    @property
    def worded(self) -> bool:
        """Its words are the chunk sentence's (facts and links aside)."""
        return self.score >= SUPPORT_THRESHOLD and self.lexical >= MIN_LEXICAL

    @property
    def ok(self) -> bool:
        return (
            self.worded
            and self.facts_ok
            and self.linked >= MIN_LINKED
            and self.premise >= MIN_PREMISE
        )


@dataclass(frozen=True)
class KeptSentence:
    """A sentence that survived, with the hits (0-based positions) it now cites."""

    text: str
    cites: tuple[int, ...]
    support: tuple[float, ...]
    reattributed: bool
    rows: tuple[int, ...] = ()  # per cite: the chunk sentence (index row) that supports it


@dataclass
class Verification:
    """The verified answer, and what verification removed."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    kept: list[KeptSentence] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    unknown_markers: list[str] = field(default_factory=list)  # as written, e.g. "[7]"
    # Extra markers of a kept sentence that its other marker's chunk supports instead.
    unsupported_markers: list[str] = field(default_factory=list)
    removed_urls: list[str] = field(default_factory=list)
    refused: bool = False  # the model said the articles don't answer


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
    return f"[{inner}]" if _MARKER.fullmatch(f"[{inner}]") else inner


def verify(
    raw: str,
    hits: Sequence[Hit],
    index: SearchIndex,
    embed: Embed,
    question: str = "",
    min_verbatim: float = 0.0,
) -> Verification:
    """Check a model's answer against the hits it was given as [1]..[k].

    Args:
        raw: the model's output.
        hits: the chunks numbered 1..k in the prompt.
        index: the snapshot they come from (sentence offsets and vectors).
        embed: text -> unit vectors, with the model that embedded the index.
        question: what was asked; a sentence that only restates it is dropped.
        min_verbatim: the share of a sentence's words that must occur, in order, in the
            chunk sentence that supports it (``llm.min_verbatim``; 0 = any rephrasing the
            other checks pass).

    Returns:
        The surviving sentences with renumbered markers and their citations, and the record
        of what was dropped.
    """
    out = Verification()
    pieces = _sentences(clean_markup(raw))
    if not pieces:
        return out
    evidence = [_Evidence(index, h) for h in hits]
    # Numbers count here: "NATO expelled eight diplomats" answers "how many diplomats".
    asked = frozenset(terms(question)) if question else frozenset()
    bodies: list[tuple[str, list[int], str]] = []  # (checked body, valid cites, with URLs)
    for text in pieces:
        cites: list[int] = []
        for m in _MARKER.finditer(text):
            for n in _marker_numbers(m.group(1)):
                if 1 <= n <= len(hits):
                    cites.append(n - 1)
                else:
                    out.unknown_markers.append(f"[{n}]")
        written = _tidy(_MARKER.sub(" ", text))
        body = _tidy(_URL.sub(" ", written))
        if not body or not re.search(r"\w", body):
            out.removed_urls.extend(m.group(0) for m in _URL.finditer(written))
            continue
        if _REFUSAL.search(body):
            out.dropped.append(Dropped(body, "no-answer"))
            continue
        if body.endswith("?") or set(terms(body)) <= asked:
            out.dropped.append(Dropped(body, "question"))  # the question echoed, no answer
            continue
        if _ABOUT_TEXT.match(body):
            out.dropped.append(Dropped(body, "about-text"))  # "The article is about ..."
            continue
        if any(_same(body, b) for b, _, _ in bodies):
            out.dropped.append(Dropped(body, "repeated"))  # small models loop
            continue
        if text is pieces[-1] and _unfinished(text, cites):
            out.dropped.append(Dropped(body, "unfinished"))  # cut off by max_tokens
            continue
        bodies.append((body, list(dict.fromkeys(cites)), written))
    if not bodies:
        out.refused = any(d.reason == "no-answer" for d in out.dropped)
        return out
    vectors = embed([b for b, _, _ in bodies])
    for (body, cites, written), vec in zip(bodies, vectors, strict=True):
        supports = [ev.support(body, vec, asked) for ev in evidence]
        holds = [s.ok and s.verbatim >= min_verbatim for s in supports]
        good = [i for i in cites if holds[i]]
        out.unsupported_markers.extend(f"[{i + 1}]" for i in cites if i not in good and good)
        reattributed = False
        if not good:
            ranked = sorted(range(len(hits)), key=lambda i: -supports[i].score)
            best = next((i for i in ranked if holds[i]), None)
            if best is None:
                out.dropped.append(Dropped(body, _why(cites, supports)))
                out.removed_urls.extend(m.group(0) for m in _URL.finditer(written))
                continue
            good, reattributed = [best], bool(cites)
        if not _refers_as_in_chunk(body, good, supports, evidence, out.kept):
            out.dropped.append(Dropped(body, "referent"))
            continue
        if _breaks_off(body, evidence[good[0]].text_of(supports[good[0]].row)):
            out.dropped.append(Dropped(body, "unfinished"))  # "In a 1937 interview, he stated"
            continue
        allowed = {u for i in good if (u := hits[i].article.url)}
        shown, removed = _keep_urls(written, allowed)
        out.removed_urls.extend(removed)
        out.kept.append(
            KeptSentence(
                shown,
                tuple(good),
                tuple(supports[i].score for i in good),
                reattributed,
                tuple(supports[i].row for i in good),
            )
        )
        for i in good:
            evidence[i].note(supports[i])
    out.refused = not out.kept and any(d.reason == "no-answer" for d in out.dropped)
    _number(out, hits, evidence)
    return out


def _number(out: Verification, hits: Sequence[Hit], evidence: list[_Evidence]) -> None:
    """Renumber citations in order of first use and write the answer text."""
    numbers: dict[int, int] = {}
    parts = []
    for k in out.kept:
        for i in k.cites:
            if i not in numbers:
                numbers[i] = len(numbers) + 1
        markers = "".join(f"[{numbers[i]}]" for i in k.cites)
        parts.append(f"{k.text} {markers}")
    out.text = " ".join(parts)
    for i, n in sorted(numbers.items(), key=lambda kv: kv[1]):
        ev = evidence[i]
        out.citations.append(hits[i].citation(n, ev.quote(), ev.best.score if ev.best else 0.0))


def _refers_as_in_chunk(
    body: str,
    cites: list[int],
    supports: list[Support],
    evidence: list[_Evidence],
    kept: list[KeptSentence],
) -> bool:
    """A sentence that starts by referring back ("It", "This", "They") means what its
    chunk's sentence means only when that sentence starts the same way and the answer says,
    right before it, what the article says right before it: "This added momentum to
    proposals for government reform" after another sentence than the article's is about
    another thing."""
    lead = _ANAPHOR.match(body)
    if not lead:
        return True
    before = {row + 1 for k in kept[-1:] for row in k.rows}
    return any(
        supports[i].row in before
        and (m := _ANAPHOR.match(evidence[i].text_of(supports[i].row)))
        and m.group().casefold() == lead.group().casefold()
        for i in cites
    )


def _why(cites: list[int], supports: list[Support]) -> str:
    """Why no chunk supports a sentence: by the chunks it cites, if it cites any."""
    worded = [s for s in ([supports[i] for i in cites] or supports) if s.worded]
    if any(s.ok for s in worded):
        return "rephrased"  # every check passes, but it is not near enough a quote
    if any(not s.facts_ok for s in worded):
        return "number"  # supported in words, but a name, number or date is not in the chunk
    if any(s.linked >= MIN_LINKED for s in worded):
        return "premise"  # what it adds is there, but not the question's words it restates
    if worded:
        return "unlinked"  # the chunk's words, put together into another claim
    return "unsupported" if cites else "uncited"


def _marker_numbers(group: str) -> list[int]:
    nums = [int(x) for x in re.findall(r"\d+", group)]
    if len(nums) == 2 and re.search(r"[-–]", group) and 0 < nums[1] - nums[0] < 10:
        return list(range(nums[0], nums[1] + 1))
    return nums


def _sentences(text: str) -> list[str]:
    """Split into sentences; markers written after the full stop go with the sentence
    before ("... in 2014. [2] The ..." -> "... in 2014. [2]", "The ...")."""
    out: list[str] = []
    for a, b in split_sentences(text):
        s = text[a:b]
        lead = re.match(rf"(?:\s*{_MARKER.pattern})+", s, re.IGNORECASE)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            s = s[lead.end() :].strip()
        if s:
            out.append(s)
    return out


def _keep_urls(text: str, allowed: set[str]) -> tuple[str, list[str]]:
    """Remove every URL the model wrote except the cited articles' own (from metadata)."""
    removed: list[str] = []

    def sub(m: re.Match[str]) -> str:
        url = m.group(0)
        bare = url.rstrip(".,;:!?")
        if bare in allowed:
            return bare + url[len(bare) :]
        removed.append(url)
        return " "

    return _tidy(_URL.sub(sub, text)), removed


def _tidy(text: str) -> str:
    """Collapse white space, and close the gaps left before punctuation by removals."""
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    text = re.sub(r"\(\s*\)", "", text)
    return " ".join(text.split()).strip(" ,;:")


class _Facts:
    """The numbers, dates and verbatim text a sentence's facts are checked against."""

    def __init__(self, sentence: str, title: str, published: frozenset[tuple[str, int]]) -> None:
        self.sentence = sentence
        self.quantifiers = _quantifiers(sentence)
        text = f"{title}\n{sentence}"
        year = {p for p in published if p[0] == "y"}
        self.dates = [date_parts(m.group()) for m in DATE.finditer(text)]
        # "1 November" in an article of 2021 is 1 November 2021.
        self.dates = [d | year if not any(k == "y" for k, _ in d) else d for d in self.dates]
        if published:
            self.dates.append(published)
        self.plain = _plain(text)
        self.numbers = _numbers(text)
        for parts in self.dates:
            self.numbers |= {float(v) for k, v in parts if k in ("y", "d")}

    def hold(self, sentence: str) -> bool:
        """Every quotation, name, date, number and quantifier of ``sentence`` is in this
        text."""
        if _quantifiers(sentence) - self.quantifiers:
            return False
        # Names are facts too: "Foreign Minister Jens Stoltenberg" joins two true names
        # into a false one, and "Russia's Arctic region" invents one.
        for m in NAME.finditer(sentence):
            name = re.sub(r"['’]s$", "", m.group())
            if m.start() == 0 and " " not in name:
                continue  # a capitalised first word is no name on its own
            if _plain(name) not in self.plain or not self._stands_alone(name, sentence, m.start()):
                return False
        # Words in quotation marks are a quote: verbatim from the text, or not at all.
        for m in _QUOTED.finditer(sentence):
            quoted = _plain(m.group(1)).strip(" .,;:!?")
            if len(quoted.split()) >= 2 and quoted not in self.plain:
                return False
        date_spans = []
        for m in DATE.finditer(sentence):
            date_spans.append(m.span())
            parts = date_parts(m.group())
            if not parts:
                continue
            if not any(parts <= d for d in self.dates):
                # A bare year may still be a plain number in the text ("in 2014" / "2014").
                years = [float(v) for k, v in parts if k == "y"]
                if not (len(parts) == 1 and years and years[0] in self.numbers):
                    return False
        for m in NUMBER.finditer(sentence):
            if any(a <= m.start() < b for a, b in date_spans):
                continue
            value = _number_value(m.group())
            if value is not None and value not in self.numbers:
                return False
        return True

    def _stands_alone(self, name: str, sentence: str, at: int) -> bool:
        """``name`` (at ``at`` in ``sentence``) names in the text's sentence what it names
        in ``sentence``: "the European Union" is not "the Council of the European Union"."""
        name = re.sub(r"^(?:The|A|An)\s+", "", name)
        if _OF_NAME.search(sentence[:at]):
            return True  # the sentence names the whole too: "Voyage of the Damned"
        found = [m.start() for m in re.finditer(re.escape(name), self.sentence)]
        return not found or any(not _OF_NAME.search(self.sentence[:i]) for i in found)


class _Evidence:
    """One numbered hit, prepared for checking sentences against it.

    A sentence is checked against one sentence of the chunk (with the article's title), not
    the chunk as a whole, nor a sentence with its neighbours: a small model recombines the
    words and numbers of different sentences ("the second crisis began in March 1974",
    "mortgage bankers, accountants and cost engineers") into claims that no sentence makes.
    """

    def __init__(self, index: SearchIndex, hit: Hit) -> None:
        self.index = index
        self.hit = hit
        a = hit.article
        self.rows = index.sentences_of[hit.chunk.row]
        self.texts = [a.text[index.sentences[r].start : index.sentences[r].end] for r in self.rows]
        self.vectors = index.sentence_vectors[self.rows] if self.rows else None
        title = _words(a.title)
        self.sentence_terms = [title | _words(t) for t in self.texts]
        self.title_positions = _positions(a.title)
        self.published = date_parts(a.date) if a.date else frozenset()
        self._facts: dict[int, _Facts] = {}
        self._positions: dict[int, dict[str, list[int]]] = {}
        self.best: Support | None = None

    def support(
        self, sentence: str, vec: np.ndarray, asked: frozenset[str] = frozenset()
    ) -> Support:
        """How well this chunk supports ``sentence`` (whose embedding is ``vec``): by its
        best sentence, which must also hold the sentence's facts, links and the words it
        takes from the question (``asked``). Those words are no evidence of the rest: what
        the sentence adds to them must be there too."""
        words = _words(sentence)
        sterms = words - asked or words
        idf = self.index.idf
        weight = sum(idf(t) for t in sterms)
        if self.vectors is None or not self.rows:
            return Support(0.0, 0.0, 0.0, -1, False)
        cosines = self.vectors @ vec
        local = [
            sum(idf(t) for t in sterms & st) / weight if weight else 0.0
            for st in self.sentence_terms
        ]
        per_sentence = [0.5 * float(c) + 0.5 * lex for c, lex in zip(cosines, local, strict=True)]
        best = int(np.argmax(per_sentence))
        cosine = max(0.0, float(cosines.max()))
        lexical = local[best]
        score = 0.5 * lexical + 0.5 * cosine
        facts_ok = self._sentence_facts(best).hold(sentence)
        positions = [self.title_positions, self._sentence_positions(best)]
        linked = self._linked(sentence, asked, positions)
        premise = self._share(words & asked, self.sentence_terms[best])
        verbatim = share_in_order(_FRAME.sub("", sentence), self.texts[best])
        return Support(
            round(score, 4), lexical, cosine, self.rows[best], facts_ok, linked, premise, verbatim
        )

    def _share(self, part: set[str], whole: set[str]) -> float:
        """The idf-weighted share of ``part`` that ``whole`` holds (1.0 for nothing)."""
        weight = sum(self.index.idf(t) for t in part)
        return sum(self.index.idf(t) for t in part & whole) / weight if weight else 1.0

    @staticmethod
    def _linked(sentence: str, asked: frozenset[str], texts: list[dict[str, list[int]]]) -> float:
        """The share of the sentence's neighbouring term pairs that stand within
        LINK_DISTANCE terms of each other in one of ``texts`` (0.0 if a denial does not, or
        if what the sentence adds stands next to none of the question's words).

        A name or date of several words is one term ("Jens Stoltenberg", "18 October 2021"),
        so "ABC Circle Films" next to "2007" is not linked by "ABC Studios in February 2007".
        Only the sentence's terms that occur in ``texts`` are paired (new words are the
        lexical check's business), and pairs of two question terms are not counted: they link
        nothing new. When the sentence has words of the question and adds words that
        ``texts`` hold, one of its question terms must stand linked to one of those: "One
        criminal behavior that is hard to stop is civil disobedience" puts an answer to the
        question that its sentence does not link to it ("where the criminalized behavior is
        pure speech, civil disobedience can ..."). A denial ("did not", "never") is a term
        of its own that must stand where the text has one.
        """
        present = set().union(*texts)
        everything = _link_sequence(sentence)
        sequence = [(t, ts) for t, ts in everything if t == _DENIAL or t in present]
        asks = any(set(ts) <= asked for t, ts in everything if t != _DENIAL)
        adds = any(not set(ts) <= asked for t, ts in sequence if t != _DENIAL)
        linked = counted = 0
        anchored = False
        for (x, xs), (y, ys) in itertools.pairwise(sequence):
            denial = _DENIAL in (x, y)
            if not denial and (x == y or set(xs) | set(ys) <= asked):
                continue
            ok = any(
                x in pos
                and y in pos
                and any(0 < abs(i - j) <= LINK_DISTANCE for i in pos[x] for j in pos[y])
                for pos in texts
            )
            if denial and not ok:
                return 0.0
            counted += 1
            linked += ok
            anchored |= ok and not denial and (set(xs) <= asked) != (set(ys) <= asked)
        if asks and adds and not anchored:
            return 0.0
        return linked / counted if counted else 1.0

    def _sentence_positions(self, i: int) -> dict[str, list[int]]:
        """Where the terms of sentence ``i`` stand (see :func:`_positions`), computed once."""
        if i not in self._positions:
            self._positions[i] = _positions(self.texts[i])
        return self._positions[i]

    def _sentence_facts(self, i: int) -> _Facts:
        """The facts of sentence ``i`` (and the title): a claim's names, numbers and dates
        must come from one sentence, since a small model pairs one sentence's date with
        another's event ("oil dropped to $10 in 1979")."""
        if i not in self._facts:
            self._facts[i] = _Facts(self.texts[i], self.hit.article.title, self.published)
        return self._facts[i]

    def text_of(self, row: int) -> str:
        """The text of this chunk's sentence at SearchIndex row ``row``."""
        return self.texts[self.rows.index(row)]

    def note(self, s: Support) -> None:
        """Remember the best support this chunk gave to a kept sentence."""
        if self.best is None or s.score > self.best.score:
            self.best = s

    def quote(self) -> str:
        """The chunk's sentence that best supports what was said, verbatim."""
        if self.best is None or self.best.row < 0:
            return self.texts[0] if self.texts else self.hit.chunk.text
        return self.text_of(self.best.row)


@lru_cache(maxsize=4096)
def _link_sequence(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The text's terms in order, each with the content terms it stands for: a name of
    several words is one term ("u:jen stoltenberg"), and so is a date, however written
    ("d:d1 m11 y2021"); number words are digits ("eight" is "8"), denials are _DENIAL."""
    spans = [m.span() for m in NAME.finditer(text) if " " in m.group()]
    dates = {m.span(): date_parts(m.group()) for m in DATE.finditer(text)}
    spans += dates
    found = [
        (_NUMBER_TERMS.get(t, t), at)
        for t, at in term_spans(text)
        if t not in _META and t not in _AUXILIARIES
    ]
    found += [(_DENIAL, m.start()) for m in _NEGATION.finditer(text)]
    out: list[tuple[str, tuple[str, ...]]] = []
    unit_of: dict[int, int] = {}  # span number -> its place in out
    for t, at in sorted(found, key=lambda ta: ta[1]):
        span = next((i for i, (a, b) in enumerate(spans) if a <= at < b), None)
        if span is None:
            out.append((t, (t,)))
        elif span not in unit_of:
            unit_of[span] = len(out)
            out.append((t, (t,)))
        else:
            members = (*out[unit_of[span]][1], t)
            parts = dates.get(spans[span])
            key = _date_key(parts) if parts else "u:" + " ".join(members)
            out[unit_of[span]] = (key, members)
    return tuple(out)


def _date_key(parts: frozenset[tuple[str, int]] | Sequence[tuple[str, int]]) -> str:
    """One key for a date however it is written: "1 November 2021" is "November 1, 2021"."""
    return "d:" + " ".join(f"{k}{v}" for k, v in sorted(parts))


def _positions(text: str) -> dict[str, list[int]]:
    """Term -> where it stands among the text's terms (see :func:`_link_sequence`); a
    name's or date's words also stand where it does, and a date also stands for what it
    says in part ("November 2021" for "1 November 2021")."""
    out: dict[str, list[int]] = {}
    for i, (key, members) in enumerate(_link_sequence(text)):
        keys = {key, *members}
        if key.startswith("d:"):
            parts = [(p[0], int(p[1:])) for p in key[2:].split()]
            keys |= {_date_key(c) for n in (2, 3) for c in itertools.combinations(parts, n)}
        for t in keys:
            out.setdefault(t, []).append(i)
    return out


def share_in_order(sentence: str, text: str) -> float:
    """The share of ``sentence``'s words that occur in ``text`` in the same order (their
    longest common subsequence): 1.0 for a quote, however trimmed."""
    a = re.findall(r"\w+", sentence.casefold())
    b = re.findall(r"\w+", text.casefold())
    if not a:
        return 1.0
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal, row[0] = 0, 0
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1] / len(a)


def _quantifiers(text: str) -> Counter[str]:
    """The text's quantifiers ("all", "most", "only"), each with how often it occurs."""
    return Counter(q.casefold() for q in _QUANTIFIER.findall(text))


def _plain(text: str) -> str:
    """Case, quote marks and spacing normalised, for verbatim comparison."""
    text = text.casefold().translate(str.maketrans("’‘“”", "''\"\""))
    return " ".join(text.split())


def _words(text: str) -> set[str]:
    """Content terms without numbers (held to the stricter fact check) and without the
    words models use to talk about the text itself ("the article mentions")."""
    return {t for t in terms(text) if not t.isdigit() and t not in _WORD_NUMBERS and t not in _META}


def _unfinished(text: str, cites: list[int]) -> bool:
    """A long last sentence with no end and no marker: cut off by ``max_tokens``."""
    ended = re.search(r"[.!?…\"'”’)\]]$", text.strip())
    return not ended and not cites and len(text.split()) >= 8


def _breaks_off(body: str, source: str) -> bool:
    """``body`` stops where its chunk sentence ``source`` breaks off into what the chunk
    does not hold: "In a 1937 interview, he stated:" leads into a quotation, and says
    nothing on its own."""
    if not re.search(r"[:,;–—]\s*$", source):
        return False
    last = re.findall(r"\w+", body.casefold())[-1:]
    return bool(last) and last == re.findall(r"\w+", source.casefold())[-1:]


def _same(a: str, b: str) -> bool:
    """The same sentence again, or a cut-off start of one already written."""
    a, b = a.casefold().rstrip(" .!?…"), b.casefold().rstrip(" .!?…")
    return a == b or (len(a) >= 20 and b.startswith(a))


def _numbers(text: str) -> set[float]:
    out = set()
    for m in NUMBER.finditer(text):
        v = _number_value(m.group(), strict=False)
        if v is not None:
            out.add(v)
            # "5 million" also supports "5" said on its own, and "$12" supports "12".
            base = _number_value(m.group().split()[0], strict=False)
            if base is not None:
                out.add(base)
    return out


def _number_value(text: str, strict: bool = True) -> float | None:
    """The value a number mention denotes; None for vague words ("one", "thousands")."""
    t = text.lower().replace(",", "")
    t = re.sub(r"us\$|[$£€%]|per ?cent|percent", " ", t)
    words = t.split()
    if not words:
        return None
    head = words[0]
    if strict and head in _VAGUE and len(words) == 1:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", head):
        value = float(head)
    elif head in _WORD_NUMBERS:
        value = float(_WORD_NUMBERS[head])
    else:
        return None
    for w in words[1:]:
        value *= _SCALES.get(w, 1.0)
    return value
