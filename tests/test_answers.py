"""Answers are grounded: every citation names a retrieved chunk and quotes it verbatim."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from langchain_core.documents import Document

from retrieval.answering.extractive import FEATURES, Candidate, ExtractiveAnswerer
from retrieval.config import AnswerSettings, Settings
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.prompts import NO_ANSWER
from retrieval.search_index import Filters
from retrieval.service import NewsService
from retrieval.spans import fits_tense, question_type, short_answer
from tests.conftest import SEED_SET

SEED_ID = "2021-10-19-russia-nato-mission"
SEED_QUESTIONS = [json.loads(line) for line in (SEED_SET / "questions.jsonl").open()]


@pytest.mark.parametrize("q", SEED_QUESTIONS, ids=[q["id"] for q in SEED_QUESTIONS])
def test_seed_questions(seed_service: NewsService, q: dict) -> None:
    answer, hits = seed_service.ask_with_hits(q["question"])
    retrieved = {h.chunk.id: h for h in hits}
    if not q["answerable"]:
        assert answer.abstained and answer.citations == [] and answer.text == NO_ANSWER
        return
    assert not answer.abstained
    assert any(a.lower() in answer.text.lower() for a in q["answers"]), answer.text
    assert answer.citations
    for c in answer.citations:
        assert c.chunk_id in retrieved, "a citation must name a chunk retrieved for the question"
        assert c.quote in retrieved[c.chunk_id].chunk.text
        assert (c.article_id, c.date) == (SEED_ID, "2021-10-19")
        assert f"[{c.n}]" in answer.text
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_every_sentence_of_the_answer_is_cited(seed_service: NewsService) -> None:
    answer, hits = seed_service.ask_with_hits("Why did Russia suspend its mission to NATO?")
    chunks = {h.chunk.id: h.chunk.text for h in hits}
    body = answer.text.split("\n\n")[-1]
    for n, quote in {c.n: c.quote for c in answer.citations}.items():
        assert f"{quote} [{n}]" in body
    # One citation per chunk: each sentence carries the number of the chunk it is from.
    cited = {c.n: c.chunk_id for c in answer.citations}
    assert len(set(cited.values())) == len(cited)
    sentences = re.findall(r"(.+?) \[(\d+)\](?: |$)", body)
    assert len(sentences) >= len(cited)
    for sentence, n in sentences:
        assert sentence in chunks[cited[int(n)]]


def test_question_limits(seed_service: NewsService) -> None:
    with pytest.raises(InputError, match="empty"):
        seed_service.ask(" \n ")
    limit = seed_service.settings.answer.max_question_chars
    with pytest.raises(InputError, match="limit"):
        seed_service.ask("why " * limit)


def test_date_filter_excludes_everything(seed_service: NewsService) -> None:
    answer = seed_service.ask(
        "When is the accreditation withdrawn?", filters=Filters(since=dt.date(2022, 1, 1))
    )
    assert answer.abstained and answer.citations == []


def test_date_filter_including_the_article(seed_service: NewsService) -> None:
    f = Filters(since=dt.date(2021, 10, 1), until=dt.date(2021, 10, 31))
    answer = seed_service.ask("When is the accreditation withdrawn?", filters=f)
    assert not answer.abstained
    assert answer.citations[0].article_id == SEED_ID


def test_source_filter(seed_service: NewsService) -> None:
    answer = seed_service.ask(
        "When is the accreditation withdrawn?", filters=Filters(sources=("BBC",))
    )
    assert answer.abstained  # the seed article has no source


def test_langchain_retriever_seam(seed_service: NewsService) -> None:
    docs = seed_service.retriever.invoke("Who is Jens Stoltenberg?", k=2)
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    meta = docs[0].metadata
    assert meta["article_id"] == SEED_ID and meta["rank"] == 1
    # Cosine on unit vectors: a real similarity in [-1, 1], not LangChain's L2-based score.
    assert -1.0 <= meta["dense_score"] <= 1.0
    assert "Stoltenberg" in docs[0].page_content


def test_dense_scores_are_cosines(seed_service: NewsService) -> None:
    embedder = seed_service.embedder
    hits = seed_service.retriever.search("NATO expelled eight Russian diplomats", k=3)
    q = embedder.encode(["NATO expelled eight Russian diplomats"])[0]
    for h in hits:
        v = embedder.encode([f"{embedder.truncate(h.article.title, 24)}\n{h.chunk.text}"])[0]
        assert h.dense == pytest.approx(float(v @ q), abs=1e-4)


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        (
            "The accreditation of its employees shall be withdrawn on November 1, 2021.",
            "When is the accreditation withdrawn?",
            "November 1, 2021",
        ),
        (
            "NATO expelling eight Russian diplomats from the country's mission.",
            "How many Russian diplomats did NATO expel?",
            "eight",
        ),
        (
            "Russian Foreign Minister Sergei Lavrov said on 18 October that staff would leave.",
            "Who is the Russian foreign minister quoted in the article?",
            "Sergei Lavrov",
        ),
        ("It happened in 2014 and again in 2015.", "When did it happen?", None),
    ],
)
def test_short_answers(sentence: str, question: str, expected: str | None) -> None:
    assert short_answer(sentence, question, question_type(question)) == expected


def test_answers_never_invent_urls(seed_service: NewsService) -> None:
    answer = seed_service.ask("When is the accreditation withdrawn?")
    assert all(c.url is None for c in answer.citations)  # the seed article has no url
    assert "http" not in answer.text


@pytest.mark.parametrize(
    ("date", "question", "published", "fits"),
    [
        ("1 November", "When does that take effect?", "2021-10-19", True),
        ("2014", "When does that take effect?", "2021-10-19", False),
        ("April 2014", "When will the mission close?", "2021-10-19", False),
        ("2014", "When did NATO suspend cooperation?", "2021-10-19", True),
        ("November 2021", "When did NATO suspend cooperation?", "2021-10-19", False),
        ("2014", "When does that take effect?", None, True),
        ("2014", "In what year was it founded?", "2021-10-19", True),
    ],
)
def test_a_when_question_s_tense_rules_out_dates(
    date: str, question: str, published: str | None, fits: bool
) -> None:
    assert fits_tense(date, question, published) is fits


def test_eval_summary_reports_model_shares_only_for_llm_answers() -> None:
    from retrieval.answer import Answer
    from retrieval.evaluation import Outcome, Question, summarize

    q = Question(
        id="q", question="How many?", answers=["eight"], evidence_ids=["a"], answerable=True
    )
    quoted = Answer(question="q", standalone_question="q", text="eight [1]", confidence=9.0)
    assert "dropped_share" not in summarize([Outcome(q, ["a"], quoted)], 5.0)
    written = quoted.model_copy(update={"written_by": "model", "model_sentences": 4, "dropped": 1})
    fallback = quoted.model_copy(update={"model_sentences": 2, "dropped": 2})
    result = summarize([Outcome(q, ["a"], written), Outcome(q, ["a"], fallback)], 5.0)
    assert result["model_answer_rate"] == 0.5 and result["model_sentences"] == 6
    assert result["dropped_share"] == 0.5 and result["containment_model_written"] == 1.0


def test_eval_counts_citations_of_chunks_not_retrieved_for_the_question() -> None:
    from retrieval.answer import Answer, Citation
    from retrieval.evaluation import Outcome, Question, summarize

    q = Question(id="q", question="When?", answers=["1 May"], evidence_ids=["a"], answerable=True)
    cite = Citation(n=1, article_id="a", chunk_id="a#0", title="A", quote="On 1 May.", score=1.0)
    answer = Answer(question="q", standalone_question="q", text="1 May [1]", citations=[cite])
    assert summarize([Outcome(q, ["a"], answer, frozenset({"a#0"}))], 0.0)["outside_citations"] == 0
    assert summarize([Outcome(q, ["a"], answer, frozenset({"a#1"}))], 0.0)["outside_citations"] == 1
    # Nothing retrieved at all, yet cited: outside too.
    assert summarize([Outcome(q, ["a"], answer, frozenset())], 0.0)["outside_citations"] == 1


def test_eval_reads_a_slice_of_the_questions() -> None:
    from retrieval.evaluation import load_questions

    path = SEED_SET / "questions.jsonl"
    every = load_questions(path)
    assert [q.id for q in load_questions(path, limit=3, offset=2)] == [q.id for q in every[2:5]]
    assert load_questions(path, offset=len(every)) == []


def test_sentences_of_one_chunk_share_its_citation(seed_service: NewsService) -> None:
    question = "Why did Russia suspend its mission to NATO?"
    answerer = seed_service._current().answerer
    index = answerer.index
    qvec = seed_service.embedder.encode([question])[0]
    hits = seed_service.retriever.search(question, qvec=qvec)
    hit = hits[0]
    rows = index.sentences_of[hit.chunk.row][:2]
    texts = [hit.article.text[index.sentences[r].start : index.sentences[r].end] for r in rows]
    feats = (0.5,) * len(FEATURES)
    cands = [
        Candidate(hit, r, t, 20.0 - i, feats)
        for i, (r, t) in enumerate(zip(rows, texts, strict=True))
    ]
    answer = answerer.compose(question, cands)
    assert [c.chunk_id for c in answer.citations] == [hit.chunk.id]
    assert answer.citations[0].quote == texts[0]  # the best sentence
    assert answer.text.split("\n\n")[-1] == f"{texts[0]} [1] {texts[1]} [1]"


def test_a_yes_no_answer_quotes_the_sentence_that_settles_it(seed_service: NewsService) -> None:
    """A close runner-up of the best article that denies what the question asks is read
    and quoted (in the last quote's place), though the best three only tell what happened."""
    question = "Is NATO interested in an equal dialogue with Russia?"
    answerer = seed_service._current().answerer
    index = answerer.index
    qvec = seed_service.embedder.encode([question])[0]
    sentences = {}
    for hit in seed_service.retriever.search(question, qvec=qvec):
        for r in index.sentences_of[hit.chunk.row]:
            s = index.sentences[r]
            sentences.setdefault(hit.article.text[s.start : s.end], (hit, r))
    starts = (
        "Russia has suspended",
        "In a statement published",
        "Moscow’s reaction",
        "The Russian Foreign Ministry said",
    )
    picked = [next(t for t in sentences if t.startswith(p)) for p in starts]
    assert "not interested in an equal dialogue" in picked[-1]
    feats = (0.5,) * len(FEATURES)
    cands = [Candidate(*sentences[t], t, 20.0 - 0.1 * i, feats) for i, t in enumerate(picked)]
    answer = answerer.compose(question, cands)
    assert answer.short_answer == "No"
    body = answer.text.split("\n\n")[-1]
    assert answerer.settings.max_sentences == 3
    assert body.count(" [") == 3
    assert picked[-1] in body and picked[2] not in body


def test_a_short_answer_cites_a_chunk_that_holds_it(seed_service: NewsService) -> None:
    questions = [
        *(q["question"] for q in SEED_QUESTIONS if q["answerable"]),
        "Who announced that Russia would suspend its NATO mission?",
        "How many staff can Russia's mission have now?",
    ]
    checked = 0
    for question in questions:
        answer, hits = seed_service.ask_with_hits(question)
        if not answer.short_answer:
            continue
        chunks = {h.chunk.id: h.chunk.text for h in hits}
        lead = re.fullmatch(r".+ \[(\d+)\]", answer.text.split("\n\n")[0])
        assert lead is not None, answer.text
        cited = next(c for c in answer.citations if c.n == int(lead.group(1)))
        assert answer.short_answer.lower() in chunks[cited.chunk_id].lower(), question
        checked += 1
    assert checked >= 3


def test_an_index_of_no_articles_abstains(
    make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> None:
    # An empty docs folder publishes an index of no segments: a question abstains, it does
    # not fail inside the sentence ranker.
    (tmp_path / "docs").mkdir()
    service = NewsService(make_settings(), embedder)
    service.ingest(progress=False)
    for time_aware in (True, False):
        answer = service.ask("When is the accreditation withdrawn?", time_aware=time_aware)
        assert answer.abstained and answer.citations == []


def test_a_sentence_two_overlapping_chunks_cut_apart_is_quoted_once() -> None:
    story = SimpleNamespace(article=SimpleNamespace(id="hill"))
    whole = "-- After missing last week's game, Hill now needs 153 yards per game."
    cut = f"152.67 {whole}"
    other = "He leads the league in receiving yards."
    cands = [
        Candidate(story, i, text, 10.0 - i, (0.5,))  # type: ignore[arg-type]
        for i, text in enumerate([whole, cut, other])
    ]
    answerer = ExtractiveAnswerer(SimpleNamespace(), AnswerSettings())  # type: ignore[arg-type]
    assert [c.text for c in answerer.select(cands)] == [whole, other]
