"""`newsbot eval`: score retrieval, answers, citations and abstention on a dataset folder
(``corpus.jsonl`` + ``questions.jsonl``), by the rules of shared/eval/README.md."""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import string
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.answer import Answer
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.prompts import NOT_STATED
from retrieval.retriever import Hit
from retrieval.service import NewsService


@dataclass
class Question:
    """One evaluation question."""

    id: str
    question: str
    answers: list[str]
    evidence_ids: list[str]
    answerable: bool
    asked_on: dt.date | None = None
    # [since, until] as ISO dates (None: open), the publication window the question denotes.
    window: tuple[str | None, str | None] | None = None
    kind: str | None = None
    # Conflicting evidence (ramdocs): every group must appear; wrong answers must not be
    # asserted unless the answer's conflict shows them as the older or disputed value.
    answers_all: list[list[str]] = field(default_factory=list)
    all_answers_required: bool = False
    wrong_answers: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """How the system did on one question."""

    question: Question
    ranked_ids: list[str]
    answer: Answer
    retrieved_chunks: frozenset[str] | None = None  # the chunk ids retrieved for it


@dataclass
class Report:
    """Aggregated scores; ``as_json`` gives the keys `newsbot eval --json` prints."""

    outcomes: list[Outcome] = field(default_factory=list)
    threshold: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return summarize(self.outcomes, self.threshold)


def load_questions(path: Path, limit: int | None = None, offset: int = 0) -> list[Question]:
    """Read questions.jsonl: the first ``limit`` questions (all: None) after skipping
    ``offset`` of them (a held-out slice: ``offset=1000, limit=500`` is questions 1,001-1,500)."""
    out = []
    skipped = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            if skipped < offset:
                skipped += 1
                continue
            r = json.loads(line)
            out.append(
                Question(
                    id=str(r["id"]),
                    question=r["question"],
                    answers=list(r.get("answers") or []),
                    evidence_ids=list(r.get("evidence_ids") or []),
                    answerable=bool(r.get("answerable", True)),
                    asked_on=dt.date.fromisoformat(r["asked_on"]) if r.get("asked_on") else None,
                    window=tuple(r["window"]) if r.get("window") else None,
                    kind=r.get("kind"),
                    answers_all=[list(g) for g in r.get("answers_all") or []],
                    all_answers_required=bool(r.get("all_answers_required", False)),
                    wrong_answers=list(r.get("wrong_answers") or []),
                )
            )
            if limit and len(out) >= limit:
                break
    return out


def normalize(text: str) -> str:
    """Lower-case and collapse white space (the containment rule)."""
    return " ".join(text.lower().split())


def contains_answer(text: str, answers: list[str]) -> bool:
    """True when one acceptable answer occurs in the text (RGB's rule)."""
    t = normalize(text)
    return any(normalize(a) in t for a in answers if a.strip())


def _squad_norm(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_em_f1(prediction: str, answers: list[str]) -> tuple[float, float]:
    """SQuAD's exact match and token F1 against the best acceptable answer."""
    pred = _squad_norm(prediction).split()
    em = f1 = 0.0
    for a in answers:
        gold = _squad_norm(a).split()
        em = max(em, float(pred == gold))
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            p, r = common / len(pred), common / len(gold)
            f1 = max(f1, 2 * p * r / (p + r))
    return em, f1


def ranked_article_ids(hits: list[Hit]) -> list[str]:
    """Article ids of ranked chunks, first occurrence kept."""
    seen: list[str] = []
    for h in hits:
        if h.article.id not in seen:
            seen.append(h.article.id)
    return seen


def summarize(outcomes: list[Outcome], threshold: float) -> dict[str, Any]:
    """The metrics at a given abstention threshold (answers below it count as abstained)."""
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]

    def abstained(o: Outcome) -> bool:
        # An answer without a confidence (a timeline, "which came first": shaped from dates,
        # not scored on the answerer's scale) stands unless it abstained itself.
        confidence = o.answer.confidence
        return o.answer.abstained or (confidence is not None and confidence < threshold)

    def hit_at(k: int) -> float | None:
        if not answerable:
            return None
        hits = sum(any(i in o.question.evidence_ids for i in o.ranked_ids[:k]) for o in answerable)
        return hits / len(answerable)

    mrr = [
        next(
            (1 / r for r, i in enumerate(o.ranked_ids[:10], 1) if i in o.question.evidence_ids), 0.0
        )
        for o in answerable
    ]
    answered = [o for o in answerable if not abstained(o)]
    cited = [c for o in answered for c in o.answer.citations]
    good = sum(
        c.article_id in o.question.evidence_ids for o in answered for c in o.answer.citations
    )
    shorts = [
        squad_em_f1(o.answer.short_answer, o.question.answers)
        for o in answered
        if o.answer.short_answer and o.question.answers
    ]
    latencies = sorted(o.answer.timings.get("total", 0.0) for o in outcomes)
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "hit@1": _round(hit_at(1)),
        "hit@5": _round(hit_at(5)),
        "mrr@10": _round(statistics.fmean(mrr) if mrr else None),
        "containment": _round(
            sum(contains_answer(_scored_text(o), o.question.answers) for o in answered)
            / len(answerable)
            if answerable
            else None
        ),
        "citation_precision": _round(good / len(cited) if cited else None),
        # Citations of chunks that were not retrieved for the question: always 0 by design.
        "outside_citations": sum(
            c.chunk_id not in o.retrieved_chunks
            for o in outcomes
            if o.retrieved_chunks is not None  # unknown (an outcome built by hand)
            for c in o.answer.citations
        ),
        "abstention": _round(
            sum(abstained(o) for o in unanswerable) / len(unanswerable) if unanswerable else None
        ),
        "false_abstention": _round(
            (len(answerable) - len(answered)) / len(answerable) if answerable else None
        ),
        "short_answer_rate": _round(len(shorts) / len(answerable) if answerable else None),
        "short_answer_em": _round(statistics.fmean(s[0] for s in shorts) if shorts else None),
        "short_answer_f1": _round(statistics.fmean(s[1] for s in shorts) if shorts else None),
        "latency_p50_ms": _round(_percentile(latencies, 50), 2),
        "latency_p95_ms": _round(_percentile(latencies, 95), 2),
        **_model_scores(outcomes, abstained),
        **_verification_counts(outcomes),
        **_conflict_scores(outcomes, abstained),
        **_time_scores(outcomes, abstained),
    }


def _scored_text(o: Outcome) -> str:
    """What containment is scored on: for "which came first" the option the answer says
    came first, its short answer: the text names both (time_dev's scoring note); without
    a short answer nothing is scored."""
    if o.question.kind == "order":
        return o.answer.short_answer or ""
    return o.answer.text


def _in_window(date: str | None, window: tuple[str | None, str | None]) -> bool:
    if not date:
        return False
    day = date[:10]
    since, until = window
    return (since is None or since <= day) and (until is None or day <= until)


def _time_scores(outcomes: list[Outcome], abstained: Callable[[Outcome], bool]) -> dict[str, Any]:
    """Datasets with asked-on dates: window accuracy, citations inside the window and after
    the question, and containment / abstention per kind (empty otherwise)."""
    dated = [o for o in outcomes if o.question.asked_on is not None]
    if not dated:
        return {}
    windowed = [o for o in dated if o.question.window is not None]
    right_window = sum(
        o.answer.window is not None
        and (o.answer.window.since, o.answer.window.until) == o.question.window
        for o in windowed
    )
    # The evidence an answer rests on: an abstention's pointer to the nearest coverage
    # outside the window is no claim about the window, so it is not counted there.
    inside = [
        _in_window(c.date, o.question.window)
        for o in windowed
        if not abstained(o)
        for c in o.answer.citations
        if o.question.window is not None
    ]
    future = sum(
        1
        for o in dated
        for c in o.answer.citations
        if o.question.asked_on is not None
        and c.date
        and c.date[:10] > o.question.asked_on.isoformat()
    )
    by_kind: dict[str, Any] = {}
    for kind in sorted({o.question.kind or "none" for o in dated}):
        group = [o for o in dated if (o.question.kind or "none") == kind]
        answerable = [o for o in group if o.question.answerable]
        unanswerable = [o for o in group if not o.question.answerable]
        row: dict[str, Any] = {
            "n": len(group),
            "containment": _round(
                sum(
                    not abstained(o) and contains_answer(_scored_text(o), o.question.answers)
                    for o in answerable
                )
                / len(answerable)
                if answerable
                else None
            ),
            "abstention": _round(
                sum(abstained(o) for o in unanswerable) / len(unanswerable)
                if unanswerable
                else None
            ),
        }
        groups = [o for o in answerable if o.question.answers_all]
        if groups:
            row["groups_covered"] = _round(
                statistics.fmean(
                    sum(contains_answer(o.answer.text, g) for g in o.question.answers_all)
                    / len(o.question.answers_all)
                    if not abstained(o)
                    else 0.0
                    for o in groups
                )
            )
        by_kind[kind] = row
    empty = [o for o in dated if not o.question.answerable and o.question.window is not None]
    return {
        "window_accuracy": _round(right_window / len(windowed) if windowed else None),
        "in_window_citations": _round(statistics.fmean(inside) if inside else None),
        "future_citations": future,
        "empty_window_nearest_named": _round(
            sum(abstained(o) and bool(o.answer.citations) for o in empty) / len(empty)
            if empty
            else None
        ),
        "by_kind": by_kind,
    }


def _conflict_scores(
    outcomes: list[Outcome], abstained: Callable[[Outcome], bool]
) -> dict[str, Any]:
    """Conflicting evidence: every valid answer given, no wrong one asserted, conflicts shown."""

    def text(o: Outcome) -> str:
        return "" if abstained(o) else o.answer.text

    needs_all = [o for o in outcomes if o.question.all_answers_required and o.question.answers_all]
    with_wrong = [o for o in outcomes if o.question.wrong_answers]
    return {
        "all_answers_rate": _round(
            sum(all(contains_answer(text(o), g) for g in o.question.answers_all) for o in needs_all)
            / len(needs_all)
            if needs_all
            else None
        ),
        "wrong_answer_rate": _round(
            sum(misled(o.answer, text(o), o.question.wrong_answers) for o in with_wrong)
            / len(with_wrong)
            if with_wrong
            else None
        ),
        "conflict_rate": _round(
            sum(o.answer.conflict is not None and not abstained(o) for o in outcomes)
            / len(outcomes)
            if outcomes
            else None
        ),
    }


def misled(answer: Answer, text: str, wrong_answers: list[str]) -> bool:
    """Whether the text asserts a wrong answer: contains it, and the answer's conflict does
    not present it as the older or disputed value."""
    flagged = [
        v.value
        for v in (answer.conflict.values if answer.conflict else [])
        if v.role in ("older", "disputed")
    ]
    return any(
        contains_answer(text, [w]) and not any(_names(v, w) for v in flagged)
        for w in wrong_answers
        if w.strip()
    )


def _names(value: str, wrong: str) -> bool:
    """Whether a flagged value names the wrong answer: contains it, or is its core (most of
    its words: "Anchorage" for "Anchorage, Alaska")."""
    if contains_answer(value, [wrong]):
        return True
    v, w = set(_squad_norm(value).split()), set(_squad_norm(wrong).split())
    return bool(v) and v <= w and 2 * len(v) >= len(w)


def _model_scores(outcomes: list[Outcome], abstained: Callable[[Outcome], bool]) -> dict[str, Any]:
    """LLM backends: how much of what the model wrote reached the user (empty otherwise)."""
    written = sum(o.answer.model_sentences for o in outcomes)
    if not written:
        return {}
    by_model = [o for o in outcomes if not abstained(o) and o.answer.written_by == "model"]
    model_answered = [o for o in by_model if o.question.answerable]
    answered = sum(not abstained(o) for o in outcomes)
    return {
        "model_answer_rate": _round(len(by_model) / answered if answered else None),
        "model_sentences": written,
        "dropped_share": _round(sum(o.answer.dropped for o in outcomes) / written),
        "containment_model_written": _round(
            sum(contains_answer(o.answer.text, o.question.answers) for o in model_answered)
            / len(model_answered)
            if model_answered
            else None
        ),
    }


def _verification_counts(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """LLM backends: how many model sentences each check dropped, and how many answers each
    gate sent back to the extractive answer (both empty for the extractive backend)."""
    dropped = Counter(r for o in outcomes for r in o.answer.drop_reasons)
    fallbacks = Counter(o.answer.fallback for o in outcomes if o.answer.fallback)
    return {
        "dropped_by_reason": dict(sorted(dropped.items())),
        "fallbacks": dict(sorted(fallbacks.items())),
    }


def tradeoff(outcomes: list[Outcome], thresholds: list[float]) -> list[dict[str, Any]]:
    """Abstention against false abstention (and answer quality) over thresholds."""
    rows = []
    for t in thresholds:
        s = summarize(outcomes, t)
        rows.append(
            {
                "threshold": t,
                "abstention": s["abstention"],
                "false_abstention": s["false_abstention"],
                "containment": s["containment"],
                "citation_precision": s["citation_precision"],
            }
        )
    return rows


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def run_questions(
    service: NewsService,
    questions: list[Question],
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[Outcome]:
    """Ask every question; yield how each went."""
    for i, q in enumerate(questions, 1):
        # A question without an asked-on date is asked as before: no window, no date filter.
        answer, hits, searched = service.ask_traced(
            q.question, depth=10, as_of=q.asked_on, time_aware=q.asked_on is not None
        )
        retrieved = frozenset(h.chunk.id for h in searched)
        yield Outcome(q, ranked_article_ids(hits), answer, retrieved)
        if on_progress:
            on_progress(i)


def load_conversations(
    path: Path, limit: int | None = None, offset: int = 0
) -> list[list[Question]]:
    """Read conversations.jsonl: each conversation a list of turns (question, answers, and
    the turn's ``kind`` and ``answerable`` where the set gives them); ``limit`` and ``offset``
    take a slice of the conversations as :func:`load_questions` does of the questions."""
    convs = []
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    for line in lines[offset : offset + limit if limit else None]:
        r = json.loads(line)
        convs.append(
            [
                Question(
                    f"{r['id']}/{i}",
                    t["question"],
                    list(t.get("answers") or []),
                    list(t.get("evidence_ids") or r.get("evidence_ids") or []),
                    bool(t.get("answerable", True)),
                    kind=t.get("kind"),
                )
                for i, t in enumerate(r["turns"], 1)
            ]
        )
    return convs


@dataclass
class TurnOutcome:
    """How the system did on one turn of a conversation."""

    question: Question
    turn: int  # 1 for the opening question
    answer: Answer
    right: bool


_YES_NO = re.compile(r"\W*(yes|no)\b", re.IGNORECASE)


def says_not_stated(answer: Answer) -> bool:
    """The answer says the articles don't say: an abstention, or a yes/no answer that
    opens with "The articles don't say"."""
    return answer.abstained or normalize(answer.text).startswith(normalize(NOT_STATED).rstrip("."))


def turn_is_right(q: Question, answer: Answer) -> bool:
    """A yes/no turn is right when the answer opens with the right yes or no; an
    unanswerable one when the answer says the articles don't say; any other when the answer
    (not an abstention) contains one of the acceptable answers."""
    if not q.answerable:
        return says_not_stated(answer)
    if says_not_stated(answer):
        return False
    if q.kind == "yesno":
        m = _YES_NO.match(answer.text)
        gold = {a.strip().lower() for a in q.answers}
        return m is not None and m.group(1).lower() in gold
    return contains_answer(answer.text, q.answers)


def run_conversations(
    service: NewsService,
    conversations: list[list[Question]],
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[TurnOutcome]:
    """Ask each conversation's turns in one fresh session; yield how each turn went."""
    for n, turns in enumerate(conversations):
        session = f"eval-conversation-{n}-{uuid.uuid4().hex[:8]}"
        try:
            for i, q in enumerate(turns, 1):
                answer = service.ask(q.question, session_id=session, time_aware=False)
                yield TurnOutcome(q, i, answer, turn_is_right(q, answer))
        finally:
            service.reset(session)
        if on_progress:
            on_progress(n + 1)


def conversation_scores(outcomes: list[TurnOutcome]) -> dict[str, Any]:
    """Turn accuracy over all turns and over follow-ups, yes/no accuracy, and abstention on
    unanswerable turns (``turn_abstention``) and answerable ones (``false_turn_abstention``)."""

    def share(flags: list[bool]) -> float | None:
        return _round(statistics.fmean(flags) if flags else None)

    answerable = [o for o in outcomes if o.question.answerable]
    return {
        "conversations": sum(o.turn == 1 for o in outcomes),
        "turns": len(outcomes),
        "conversation_accuracy": share([o.right for o in outcomes]),
        "followup_accuracy": share([o.right for o in outcomes if o.turn > 1]),
        "yesno_accuracy": share([o.right for o in answerable if o.question.kind == "yesno"]),
        "turn_abstention": share(
            [says_not_stated(o.answer) for o in outcomes if not o.question.answerable]
        ),
        "false_turn_abstention": share([says_not_stated(o.answer) for o in answerable]),
    }


def score_conversations(
    service: NewsService, conversations: list[list[Question]]
) -> dict[str, Any]:
    """Ask each conversation's turns in one fresh session and score them
    (:func:`turn_is_right`, :func:`conversation_scores`)."""
    return conversation_scores(list(run_conversations(service, conversations)))


def eval_service(
    settings: Settings, dataset: Path, embedder: Embedder, workdir: Path | None = None
) -> tuple[NewsService, tempfile.TemporaryDirectory[str] | None]:
    """A service over the dataset's corpus in a temporary index, or over the configured
    articles when the dataset has no corpus.jsonl (the seed set's corpus is the seed)."""
    corpus = dataset / "corpus.jsonl"
    if not corpus.exists():
        return NewsService(settings, embedder), None
    tmp = tempfile.TemporaryDirectory(prefix="newsbot-eval-", dir=workdir)
    paths = settings.paths.model_copy(update={"docs": [str(corpus)], "index_dir": tmp.name})
    return NewsService(settings.model_copy(update={"paths": paths}), embedder), tmp


def refuse_empty_corpus(articles: int, source: str) -> None:
    """Refuse to score an index of no article: every question would abstain.

    Raises:
        InputError: ``source`` (the dataset's corpus, or the configured article folders)
            gave no article.
    """
    if articles == 0:
        raise InputError(
            f"{source} gave no article to index (see the ingest report above); "
            "refusing to score an empty index"
        )
