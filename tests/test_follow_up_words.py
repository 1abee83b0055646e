"""A rewritten follow-up is answered, inside the conversation's article, by the sentence its
reader's own words match, not the one the carried-in topic names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from retrieval.service import NewsService

STORY = Path(__file__).parent / "data" / "conversation" / "2024-03-04-award.txt"


def test_a_follow_up_is_answered_by_the_sentence_its_own_words_match(
    service_over: Callable[[str, str], NewsService],
) -> None:
    service = service_over(STORY.name, STORY.read_text(encoding="utf-8"))
    first = service.ask("Who won the best actress award on Sunday?", session_id="s")
    assert "Amara Okafor" in first.citations[0].quote
    city = service.ask("What city did she grow up in?", session_id="s")
    # Made standalone with the first question's topic, which names the first sentence...
    assert city.standalone_question != city.question
    # ... but the reader asked where she grew up.
    assert "Accra" in city.citations[0].quote
    why = service.ask("Why did her parents send her away?", session_id="s")
    assert "to study music" in why.citations[0].quote
