"""Citation verification on real chunks of the seed article: what a model writes reaches the
user only when the chunk it cites supports it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from retrieval.answering.verify import Verification, clean_markup, verify
from retrieval.retriever import Hit
from retrieval.service import NewsService

Q = "How many Russian diplomats did NATO expel?"


@pytest.fixture
def hits(seed_service: NewsService) -> list[Hit]:
    return seed_service.retriever.search(Q, k=3)


def check(seed_service: NewsService, hits: list[Hit], raw: str) -> Verification:
    v = verify(raw, hits, seed_service._current().index, seed_service.embedder.encode)
    # Invariants of every verified answer.
    chunk_text = {h.chunk.id: h.chunk.text for h in hits}
    assert [c.n for c in v.citations] == list(range(1, len(v.citations) + 1))
    for c in v.citations:
        assert c.chunk_id in chunk_text, "citations name retrieved chunks only"
        assert c.quote in chunk_text[c.chunk_id] or c.quote in hits[0].article.text
        assert f"[{c.n}]" in v.text
        assert 0.0 <= c.score <= 1.0
    for n in range(len(v.citations) + 1, 20):
        assert f"[{n}]" not in v.text
    return v


def chunk_with(hits: list[Hit], needle: str) -> int:
    """1-based number of the first hit whose chunk holds ``needle``."""
    return next(i for i, h in enumerate(hits, 1) if needle in h.chunk.text)


def asking(
    service: NewsService, question: str, needle: str
) -> tuple[int, Callable[..., Verification]]:
    """The number of the chunk holding ``needle`` among the hits for ``question``, and
    verification of a model's text against those hits, for that question."""
    hits = service.retriever.search(question, k=5)
    index, encode = service._current().index, service.embedder.encode

    def verified(raw: str, **options: Any) -> Verification:
        return verify(raw, hits, index, encode, question, **options)

    return chunk_with(hits, needle), verified


def test_supported_sentence_is_kept_with_a_verbatim_quote(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    v = check(seed_service, hits, f"NATO expelled eight Russian diplomats [{n}].")
    assert v.text == "NATO expelled eight Russian diplomats. [1]"
    assert not v.dropped
    assert "expelling eight Russian diplomats" in v.citations[0].quote
    assert v.citations[0].chunk_id == hits[n - 1].chunk.id


def test_unknown_markers_are_dropped(seed_service: NewsService, hits: list[Hit]) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    v = check(seed_service, hits, f"NATO expelled eight Russian diplomats [{n}][7]. [0] [42]")
    assert v.unknown_markers == ["[7]", "[0]", "[42]"]
    assert v.text == "NATO expelled eight Russian diplomats. [1]"


def test_a_changed_number_is_dropped(seed_service: NewsService, hits: list[Hit]) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    v = check(
        seed_service,
        hits,
        f"NATO expelled nine Russian diplomats [{n}]. NATO expelled 12 Russian diplomats [{n}].",
    )
    assert v.text == "" and v.citations == []
    assert len(v.dropped) == 2


def test_digits_and_number_words_are_the_same_number(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    v = check(seed_service, hits, f"NATO expelled 8 Russian diplomats [{n}].")
    assert v.text == "NATO expelled 8 Russian diplomats. [1]"


def test_dates_take_the_article_year(seed_service: NewsService) -> None:
    hits = seed_service.retriever.search("When did Lavrov speak about the accreditation?", k=5)
    n = chunk_with(hits, "said on 18 October")
    said = "Sergei Lavrov said on 18 October {} that the staff at NATO's mission in Moscow"
    stripped = " would be stripped of their accreditation"
    ok = check(seed_service, hits, said.format("2021") + f"{stripped} [{n}].")
    assert ok.kept, ok.dropped
    wrong = check(seed_service, hits, said.format("2020") + f"{stripped} [{n}].")
    assert not wrong.kept and wrong.dropped[0].reason == "date"


def test_misattributed_sentence_moves_to_the_supporting_chunk(
    seed_service: NewsService,
) -> None:
    hits = seed_service.retriever.search("When is the accreditation withdrawn?", k=5)
    right = chunk_with(hits, "shall be withdrawn on November 1, 2021")
    wrong = next(
        i for i in range(1, len(hits) + 1) if "November 1, 2021" not in hits[i - 1].chunk.text
    )
    v = check(
        seed_service,
        hits,
        f"The accreditation of its employees shall be withdrawn on November 1, 2021 [{wrong}].",
    )
    assert [k.reattributed for k in v.kept] == [True]
    assert v.citations[0].chunk_id == hits[right - 1].chunk.id


def test_unsupported_and_uncited_sentences_are_dropped(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    v = check(seed_service, hits, "The moon is made of cheese [1]. Sure, happy to help!")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["unsupported", "uncited"]


def test_true_words_joined_into_a_false_claim_are_dropped(seed_service: NewsService) -> None:
    # Every word is in the chunk ("... is NATO Secretary-General Jens Stoltenberg's decision
    # of 6 October, withdrawing the accreditation of eight members of the Russian Permanent
    # Mission ..."), but not linked as the claim links them.
    question = "Whose accreditation was withdrawn?"
    hits = seed_service.retriever.search(question, k=5)
    n = chunk_with(hits, "Stoltenberg’s decision of 6 October")
    claim = (
        "The Kremlin is withdrawing the accreditation of NATO Secretary-General Jens Stoltenberg"
    )
    raw = f"{claim} [{n}]."
    v = verify(raw, hits, seed_service._current().index, seed_service.embedder.encode, question)
    assert v.kept == [] and [d.reason for d in v.dropped] == ["unlinked"]


def test_a_claim_joined_from_two_sentences_is_dropped(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    # Lavrov's staff "at NATO's mission in Moscow" are one sentence; that the alliance
    # "could interact with Moscow through its embassy in Brussels" is the next one.
    n = chunk_with(hits, "through its embassy in Brussels")
    claim = "The country's staff at the mission in Moscow could interact through the embassy"
    v = check(seed_service, hits, f"{claim} in Brussels [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["unsupported"]


def test_an_answer_its_sentence_does_not_link_to_the_question_is_dropped(
    seed_service: NewsService,
) -> None:
    # The chunk names NATO, and talks of the alliance, but of nothing "hard to stop": the
    # claim pins the question's premise on a name from the text.
    question = "Which alliance was hard to stop?"
    hits = seed_service.retriever.search(question, k=5)
    raw = "The alliance that was hard to stop was the North Atlantic Treaty Organization [1]."
    v = verify(raw, hits, seed_service._current().index, seed_service.embedder.encode, question)
    assert v.kept == [] and [d.reason for d in v.dropped] == ["unlinked"]
    # A date written another way still stands where the sentence has it.
    question = "When is the accreditation withdrawn?"
    hits = seed_service.retriever.search(question, k=5)
    n = chunk_with(hits, "shall be withdrawn on November 1, 2021")
    raw = f"The accreditation is withdrawn on 1 November 2021 [{n}]."
    v = verify(raw, hits, seed_service._current().index, seed_service.embedder.encode, question)
    assert v.text == "The accreditation is withdrawn on 1 November 2021. [1]"


def test_a_premise_the_chunk_does_not_state_is_dropped(seed_service: NewsService) -> None:
    # "The name of Mongolia's largest airport is Ulaanbaatar", from "Mongolia's main
    # international airport in Ulaanbaatar is named Chinggis Khaan International Airport":
    # the words a claim takes from the question are claims too, and its sentence must state
    # them.
    n, verified = asking(
        seed_service,
        "Which is the largest mission in Brussels?",
        "Permanent Mission in Brussels has been previously reduced",
    )
    v = verified(f"The largest mission in Brussels is Russia's Permanent Mission [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["premise"]
    # What the sentence does state stands.
    claim = "Russia's Permanent Mission is in Brussels"
    assert verified(f"{claim} [{n}].").text == f"{claim}. [1]"


def test_a_name_inside_another_name_is_not_that_name(
    service_over: Callable[[str, str], NewsService],
) -> None:
    # The Council of the European Union is not the European Union, which the title names.
    service = service_over(
        "eu.txt",
        "title: European Union law\n\nWhile the Commission has a monopoly on initiating "
        "legislation, the European Parliament and the Council of the European Union have "
        "powers of amendment and veto during the legislative process.\n",
    )
    n, verified = asking(
        service, "Which entities have powers of amendment and veto?", "powers of amendment"
    )
    v = verified(f"The European Union has powers of amendment and veto [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["name"]
    claim = "The Council of the European Union has powers of amendment and veto"
    assert verified(f"{claim} [{n}].").text == f"{claim}. [1]"


def test_a_sentence_that_refers_back_needs_what_it_refers_to(seed_service: NewsService) -> None:
    # "This added momentum to proposals for government reform", after a sentence on another
    # party than the chunk's "This" (the schools losing their accreditation).
    n, verified = asking(
        seed_service,
        "Can the alliance interact with Moscow?",
        "could interact with Moscow through its embassy in Brussels",
    )
    referring = (
        "It also added that the intergovernmental military alliance including 28 European "
        "countries and 2 North American countries, could interact with Moscow through its "
        "embassy in Brussels if required"
    )
    v = verified(f"{referring} [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["referent"]
    # After the sentence it follows in the article, "It" is Lavrov's statement again.
    before = (
        "Russian Foreign Minister Sergei Lavrov said on 18 October that the country's staff at "
        "NATO's mission in Moscow would be stripped of their accreditation from 1 November"
    )
    v = verified(f"{before} [{n}]. {referring} [{n}].")
    assert v.text == f"{before}. {referring}. [1]".replace(". It", ". [1] It", 1)
    # A pronoun the model put in place of the chunk's subject refers to nothing checked.
    claim = "It is not interested in an equal dialogue or joint efforts"
    v = verified(f"{before} [{n}]. {claim} [{n}].")
    assert [d.reason for d in v.dropped] == ["referent"]


def test_near_quotes_only_when_asked(seed_service: NewsService) -> None:
    # llm.min_verbatim: the share of a sentence's words that must follow its chunk sentence in
    # order. Rephrasings that every other check passes are dropped; trimmed quotes stand.
    n, verified = asking(
        seed_service, "When is the accreditation withdrawn?", "shall be withdrawn on November 1"
    )
    rephrased = f"The accreditation is withdrawn on 1 November 2021 [{n}]."
    assert verified(rephrased).kept
    v = verified(rephrased, min_verbatim=0.9)
    assert v.kept == [] and [d.reason for d in v.dropped] == ["rephrased"]
    quoted = (
        "The article says the accreditation of its employees shall be withdrawn on "
        f"November 1, 2021 [{n}]."
    )
    assert verified(quoted, min_verbatim=0.9).text == quoted.replace(f" [{n}].", ". [1]")


def test_a_quantifier_the_sentence_lacks_is_dropped(seed_service: NewsService) -> None:
    # "the SPM must be agreed upon by all the world's governments", where the text says it
    # is agreed upon by delegates from many of them.
    n, verified = asking(
        seed_service,
        "Which countries does the alliance include?",
        "including 28 European countries",
    )
    claim = (
        "The military alliance includes all 28 European countries and 2 North American countries"
    )
    v = verified(f"{claim} [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["quantifier"]
    assert verified(f"{claim.replace('all ', '')} [{n}].").kept


def test_a_quantifier_counts_as_often_as_the_chunk_has_it(seed_service: NewsService) -> None:
    # "the most recent episode of most of ABC's programming", where the text says "the most
    # recent episode of any ABC program": the second "most" is the model's.
    n, verified = asking(
        seed_service, "What cooperation did the alliance suspend in 2014?", "nearly all forms"
    )
    claim = (
        "The alliance on 1 April 2014 decided to suspend nearly all forms of civilian and "
        "military cooperation between Russia and NATO"
    )
    assert verified(f"{claim} [{n}].").kept
    changed = claim.replace("and military", "and all military")
    v = verified(f"{changed} [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["quantifier"]


def test_a_denial_the_chunk_does_not_make_is_dropped(seed_service: NewsService) -> None:
    question = "Did Russia suspend its NATO mission?"
    hits = seed_service.retriever.search(question, k=5)
    n = chunk_with(hits, "Russia has suspended its North Atlantic Treaty Organization")
    v = check(seed_service, hits, f"Russia has not suspended its NATO mission [{n}].")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["negation"]
    v = check(seed_service, hits, f"Russia has suspended its NATO mission [{n}].")
    assert v.text == "Russia has suspended its NATO mission. [1]"


def test_sentences_about_the_article_are_no_answer(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    v = check(
        seed_service, hits, f"The article is about NATO expelling eight Russian diplomats [{n}]."
    )
    assert v.kept == [] and [d.reason for d in v.dropped] == ["about_text"]
    # Reporting what the article says is an answer, checked like any other.
    v = check(seed_service, hits, f"The article says NATO expelled eight Russian diplomats [{n}].")
    assert v.text == "The article says NATO expelled eight Russian diplomats. [1]"


def test_citations_are_renumbered_in_order_of_first_use(seed_service: NewsService) -> None:
    hits = seed_service.retriever.search("Why did Russia suspend its mission to NATO?", k=5)
    a = chunk_with(hits, "expelling eight Russian diplomats")
    b = chunk_with(hits, "shall be withdrawn on November 1, 2021")
    raw = (
        f"The accreditation of its employees shall be withdrawn on November 1, 2021 [{b}]. "
        f"NATO expelled eight Russian diplomats [{a}]. "
        f"The employees will have their accreditation withdrawn on November 1, 2021 [{b}]."
    )
    v = check(seed_service, hits, raw)
    assert [c.chunk_id for c in v.citations] == [hits[b - 1].chunk.id, hits[a - 1].chunk.id]
    assert v.text.count("[1]") == 2 and v.text.count("[2]") == 1


def test_marker_forms(seed_service: NewsService, hits: list[Hit]) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    for form in (f"[{n}]", f"[^{n}]", f"[Article {n}]", f"[id={n}]", f"【{n}】"):
        v = check(seed_service, hits, f"NATO expelled eight Russian diplomats {form}.")
        assert v.text == "NATO expelled eight Russian diplomats. [1]", form
    # A marker written after the full stop belongs to the sentence before it.
    v = check(seed_service, hits, f"NATO expelled eight Russian diplomats. [{n}]")
    assert v.text == "NATO expelled eight Russian diplomats. [1]"


def test_markup_is_removed(seed_service: NewsService, hits: list[Hit]) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    raw = (
        "<script>alert('x')</script>## Answer\n"
        f"- <b>NATO</b> expelled **eight** Russian `diplomats` [{n}](https://evil.example/x).\n"
        "&lt;img src=x onerror=alert(1)&gt;"
    )
    v = check(seed_service, hits, raw)
    assert v.text == "NATO expelled eight Russian diplomats. [1]"
    for bad in ("<", ">", "script", "alert", "**", "`", "#", "evil", "http"):
        assert bad not in v.text


def test_urls_come_only_from_article_metadata(seed_service: NewsService, hits: list[Hit]) -> None:
    url = "https://news.example.org/russia-nato"
    article = dataclasses.replace(hits[0].article, url=url)
    hits = [dataclasses.replace(h, article=article) for h in hits]
    n = chunk_with(hits, "expelling eight Russian diplomats")
    raw = (
        f"NATO expelled eight Russian diplomats, see https://evil.example.com/steal?x=1 [{n}]. "
        f"The men were undeclared Russian intelligence officers ({url}) [{n}]."
    )
    v = check(seed_service, hits, raw)
    assert "evil" not in v.text and v.removed_urls == ["https://evil.example.com/steal?x=1"]
    assert url in v.text and v.citations[0].url == url


def test_the_sentinel_is_a_refusal(seed_service: NewsService, hits: list[Hit]) -> None:
    v = check(seed_service, hits, "I couldn't find that in the articles.")
    assert v.refused and v.kept == []
    n = chunk_with(hits, "expelling eight Russian diplomats")
    mixed = check(
        seed_service,
        hits,
        f"NATO expelled eight Russian diplomats [{n}]. The articles do not mention their names.",
    )
    assert not mixed.refused and mixed.text == "NATO expelled eight Russian diplomats. [1]"


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("<p>Hello <i>world</i></p>", "Hello world"),
        ("[the BBC](https://bbc.example) said", "the BBC said"),
        ("![x](https://t.example/p.png)", "x"),
        ("a \u202eb\u200b c", "a b c"),
        ("1 < 2 and 3 > 2", "1 2 and 3 2"),
    ],
)
def test_clean_markup(raw: str, plain: str) -> None:
    assert " ".join(clean_markup(raw).split()) == plain


def test_repeats_and_unsupported_extra_markers_are_dropped(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    n = chunk_with(hits, "expelling eight Russian diplomats")
    other = next(i for i in range(1, len(hits) + 1) if i != n)
    s = f"NATO expelled eight Russian diplomats [{n}][{other}]."
    cut = "NATO expelled eight Russian diplomats from the country’s mission saying that they"
    v = check(seed_service, hits, f"{s} {s}\n{s} {cut}")
    assert v.text == "NATO expelled eight Russian diplomats. [1]"
    assert [d.reason for d in v.dropped] == ["repeated", "repeated", "unfinished"]
    assert v.unsupported_markers == [f"[{other}]"]


def test_quotations_must_be_verbatim(seed_service: NewsService, hits: list[Hit]) -> None:
    n = chunk_with(hits, "undeclared Russian intelligence officers")
    said = "A NATO official said that the men were {} [{}]."
    ok = check(seed_service, hits, said.format("“undeclared Russian intelligence officers”", n))
    assert ok.kept, ok.dropped
    altered = check(seed_service, hits, said.format('"unwelcome Russian intelligence officers"', n))
    assert not altered.kept


def test_an_echoed_question_is_no_answer(seed_service: NewsService, hits: list[Hit]) -> None:
    v = check(seed_service, hits, "How many Russian diplomats did NATO expel? [1]")
    assert not v.kept and [d.reason for d in v.dropped] == ["question"]


@pytest.mark.parametrize(
    "claim",
    [
        # Two true names joined into a false one (Lavrov is the foreign minister).
        "Russian Foreign Minister Jens Stoltenberg withdrew the accreditation of eight members "
        "of the Russian Permanent Mission to NATO",
        # An invented place beside true facts.
        "NATO expelled eight Russian diplomats from Russia's Arctic mission",
    ],
)
def test_a_name_not_in_the_cited_sentence_is_dropped(
    seed_service: NewsService, hits: list[Hit], claim: str
) -> None:
    n = chunk_with(hits, "Jens Stoltenberg’s decision")
    v = check(seed_service, hits, f"{claim} [{n}].")
    assert v.kept == [] and v.text == ""


def test_names_as_the_sentence_writes_them_are_kept(
    seed_service: NewsService, hits: list[Hit]
) -> None:
    n = chunk_with(hits, "Jens Stoltenberg’s decision")
    claim = "NATO Secretary-General Jens Stoltenberg's decision was withdrawing the accreditation"
    v = check(
        seed_service, hits, f"{claim} of eight members of the Russian Permanent Mission [{n}]."
    )
    assert len(v.kept) == 1, v.dropped


def test_a_sentence_that_stops_where_its_chunk_breaks_off_is_dropped(
    service_over: Callable[[str, str], NewsService],
) -> None:
    # SQuAD's "Tesla stated," ends a paragraph; its quotation is the next one. A model that
    # copies the lead-in says nothing, however verbatim.
    service = service_over(
        "2021-11-02-pigeons.txt",
        "date 2021-11-02 Near the end of his life, the inventor fed the pigeons in the park "
        "every day. In a 1937 interview, he stated:\n\n"
        '"I have been feeding pigeons, thousands of them, for years."\n',
    )
    n, verified = asking(service, "What did the inventor say in the interview?", "1937")
    v = verified(f"In a 1937 interview, he stated [{n}]")
    assert v.kept == [] and [d.reason for d in v.dropped] == ["breaks_off"]
    fed = "Near the end of his life, the inventor fed the pigeons in the park every day"
    assert verified(f"{fed} [{n}]. In a 1937 interview, he stated [{n}]").text == f"{fed}. [1]"


def test_claim_judging_keeps_a_change_of_voice_and_names_what_it_drops(
    seed_service: NewsService,
) -> None:
    # verify.judge: claim, for models that rephrase: what a sentence claims is held to its
    # chunk sentence, not how its words are linked.
    claim = seed_service.settings.verify.model_copy(update={"judge": "claim"})
    n, verified = asking(seed_service, Q, "expelling eight Russian diplomats")
    v = verified(f"Eight Russian diplomats were expelled by NATO [{n}].", settings=claim)
    assert v.text == "Eight Russian diplomats were expelled by NATO. [1]", v.dropped
    for wrong, reason in (
        ("NATO did not expel eight Russian diplomats", "negation"),
        ("NATO expelled nine Russian diplomats", "number"),
        ("NATO expelled all eight Russian diplomats", "quantifier"),
    ):
        v = verified(f"{wrong} [{n}].", settings=claim)
        assert [d.reason for d in v.dropped] == [reason], wrong


def test_claim_judging_keeps_synonyms_and_summaries_and_drops_swapped_roles(
    seed_service: NewsService,
) -> None:
    # verify.judge: claim: a word the chunk sentence lacks counts when the embedding model
    # puts it close to one of its words; a sentence joining two of the chunk's sentences
    # holds when each clause holds in one; parties that trade roles make another claim.
    claim = seed_service.settings.verify.model_copy(update={"judge": "claim"})
    question = "Why did Russia suspend its NATO mission?"
    n, verified = asking(seed_service, question, "expelling eight Russian diplomats")
    synonym = (
        "Moscow's reaction came in the backdrop of NATO expelling eight Russian diplomats from "
        "the nation's mission"
    )
    assert verified(f"{synonym} [{n}].", settings=claim).kept, synonym
    summary = (
        "Moscow's reaction came in the backdrop of NATO expelling eight Russian diplomats, "
        "and a NATO official said that the men were undeclared Russian intelligence officers"
    )
    assert verified(f"{summary} [{n}].", settings=claim).kept, summary
    n, verified = asking(seed_service, "What did Russia do?", "suspended its North Atlantic")
    swapped = "NATO has suspended its Russia mission in response to the expulsion"
    v = verified(f"{swapped} [{n}].", settings=claim)
    assert [d.reason for d in v.dropped] == ["role"], v
