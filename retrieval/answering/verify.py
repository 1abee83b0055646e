"""Citation verification of model-written answers: code checks every cited sentence against
the chunk it cites, and nothing the model wrote reaches the user unchecked.

Each sentence runs through the table of named checks (retrieval/answering/checks.py): first
the sentence-stage checks (a refusal, an echoed question, talk about "the article", a
repeat, a cut-off end); then, against each chunk, the support-stage checks on the chunk
sentence that supports it best (its words and meaning, then its quotations, names, dates,
numbers, quantifiers, denials and roles, then how its words are linked, the question's
premise, and, when asked, near-quoting); then the context-stage checks (a "This ..." that
refers to what precedes it, a sentence that stops where its chunk breaks off). A sentence
its citation does not support moves to the retrieved chunk that does, or is dropped with
the first check it failed as its reason; markers that name no retrieved chunk are dropped.
The survivors are renumbered 1..n and each citation quotes, verbatim, the chunk's sentence
that best supports what was said.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.answer import Citation
from retrieval.answering.checks import ANAPHOR, ORDER, CheckName, breaks_off, sentence_failure
from retrieval.answering.evidence import Evidence, Support
from retrieval.answering.markup import (
    MARKER,
    URL,
    clean_markup,
    keep_urls,
    marker_numbers,
    model_sentences,
    tidy,
)
from retrieval.answering.similar import Embed, WordMatcher
from retrieval.config import VerifySettings
from retrieval.lexical import terms
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex

__all__ = ["Dropped", "Embed", "KeptSentence", "Verification", "clean_markup", "verify"]


@dataclass(frozen=True)
class Dropped:
    """A piece of model output that did not reach the user, and the check that dropped it."""

    text: str
    reason: CheckName


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


@dataclass(frozen=True)
class _Body:
    """A sentence past the sentence-stage checks: what is checked, its valid cites, and
    the text shown (URLs still in)."""

    text: str
    cites: list[int]
    written: str


def verify(
    raw: str,
    hits: Sequence[Hit],
    index: SearchIndex,
    embed: Embed,
    question: str = "",
    min_verbatim: float = 0.0,
    settings: VerifySettings | None = None,
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
        settings: the checks' thresholds (default: :class:`VerifySettings`' defaults).

    Returns:
        The surviving sentences with renumbered markers and their citations, and the record
        of what was dropped.
    """
    out = Verification()
    # Numbers count here: "NATO expelled eight diplomats" answers "how many diplomats".
    asked = frozenset(terms(question)) if question else frozenset()
    bodies = _screen(model_sentences(clean_markup(raw)), len(hits), asked, out)
    if bodies:
        checks = settings or VerifySettings()
        if checks.judge == "auto":  # decided per backend by the caller; alone, the strict one
            checks = checks.model_copy(update={"judge": "links"})
        matcher = WordMatcher(embed, checks.synonym_similarity)
        evidence = [Evidence(index, h, checks, matcher) for h in hits]
        vectors = embed([b.text for b in bodies])
        for body, vec in zip(bodies, vectors, strict=True):
            _judge(body, vec, asked, hits, evidence, min_verbatim, out)
        _number(out, hits, evidence)
    out.refused = not out.kept and any(d.reason == "no_answer" for d in out.dropped)
    return out


def _screen(
    pieces: list[str], n_hits: int, asked: frozenset[str], out: Verification
) -> list[_Body]:
    """The sentences that pass the sentence-stage checks, with their valid cites; the
    others are recorded as dropped, and unknown markers as such."""
    bodies: list[_Body] = []
    for text in pieces:
        cites: list[int] = []
        for m in MARKER.finditer(text):
            for n in marker_numbers(m.group(1)):
                if 1 <= n <= n_hits:
                    cites.append(n - 1)
                else:
                    out.unknown_markers.append(f"[{n}]")
        written = tidy(MARKER.sub(" ", text))
        body = tidy(URL.sub(" ", written))
        if not body or not re.search(r"\w", body):
            out.removed_urls.extend(m.group(0) for m in URL.finditer(written))
            continue
        before = [b.text for b in bodies]
        last_uncited = text is pieces[-1] and not cites
        failed = sentence_failure(body, text, set(terms(body)), asked, before, last_uncited)
        if failed:
            out.dropped.append(Dropped(body, failed))
            continue
        bodies.append(_Body(body, list(dict.fromkeys(cites)), written))
    return bodies


def _judge(
    body: _Body,
    vec: np.ndarray,
    asked: frozenset[str],
    hits: Sequence[Hit],
    evidence: list[Evidence],
    min_verbatim: float,
    out: Verification,
) -> None:
    """Keep ``body`` with the chunks that support it (its own, else the best other), or
    record the first check it failed."""
    supports = [ev.support(body.text, vec, asked) for ev in evidence]
    failures = [s.with_verbatim(min_verbatim) for s in supports]
    good = [i for i in body.cites if failures[i] is None]
    out.unsupported_markers.extend(f"[{i + 1}]" for i in body.cites if i not in good and good)
    reattributed = False
    if not good:
        ranked = sorted(range(len(hits)), key=lambda i: -supports[i].score)
        best = next((i for i in ranked if failures[i] is None), None)
        if best is None:
            out.dropped.append(Dropped(body.text, _reason(body.cites, supports, failures)))
            out.removed_urls.extend(m.group(0) for m in URL.finditer(body.written))
            return
        good, reattributed = [best], bool(body.cites)
    if not _refers_as_in_chunk(body.text, good, supports, evidence, out.kept):
        out.dropped.append(Dropped(body.text, "referent"))
        return
    if breaks_off(body.text, evidence[good[0]].text_of(supports[good[0]].row)):
        out.dropped.append(Dropped(body.text, "breaks_off"))
        return
    allowed = {u for i in good if (u := hits[i].article.url)}
    shown, removed = keep_urls(body.written, allowed)
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


def _reason(
    cites: list[int], supports: list[Support], failures: list[CheckName | None]
) -> CheckName:
    """Why no chunk holds a sentence: the first check failed by the chunk that came
    closest to holding it, among those it cites (all chunks when it cites none; then a
    sentence no chunk even words is "uncited")."""
    pool = cites or list(range(len(supports)))
    if not pool:
        return "uncited"
    closest = max(pool, key=lambda i: (_rank(failures[i]), supports[i].score))
    failed = failures[closest] or "unsupported"
    if not cites and failed == "unsupported":
        return "uncited"
    return failed


def _rank(failed: CheckName | None) -> int:
    return ORDER[failed] if failed else len(ORDER)


def _number(out: Verification, hits: Sequence[Hit], evidence: list[Evidence]) -> None:
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
    evidence: list[Evidence],
    kept: list[KeptSentence],
) -> bool:
    """A sentence that starts by referring back ("It", "This", "They") means what its
    chunk's sentence means only when that sentence starts the same way and the answer says,
    right before it, what the article says right before it."""
    lead = ANAPHOR.match(body)
    if not lead:
        return True
    before = {row + 1 for k in kept[-1:] for row in k.rows}
    return any(
        supports[i].row in before
        and (m := ANAPHOR.match(evidence[i].text_of(supports[i].row)))
        and m.group().casefold() == lead.group().casefold()
        for i in cites
    )
