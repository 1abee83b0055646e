"""A vague question whose article ranks below the first k is answered from a deeper search
when a sentence there holds its words, instead of abstaining on the first k."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.retriever import Hit
from retrieval.service import NewsService

COWBOY = """title: A man in a cowboy hat
date: 2013-04-20

A man in a cowboy hat led the injured runner to safety. The man, a local volunteer, \
said the man next to him was a stranger. Every man at the finish line helped.
"""
SHOES = """title: Iraqi journalist freed
date: 2009-09-15

The Iraqi journalist who was jailed after throwing his shoes at President Bush was \
freed on Tuesday. The man said he was beaten in custody.
"""


class CowboyFirst:
    """A retriever that ranks the cowboy story first, as a weak ranking of a vague
    question would (a fake over the real one)."""

    def __init__(self, real: object) -> None:
        self.real = real

    def search(self, question: str, **kwargs: object) -> list[Hit]:
        k = kwargs.pop("k", None)
        hits = self.real.search(question, k=99, **kwargs)  # type: ignore[attr-defined]
        hits.sort(key=lambda h: "cowboy" not in h.article.id)
        return [replace(h, rank=i) for i, h in enumerate(hits[:k], 1)]

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_a_declined_question_is_answered_from_a_deeper_search(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "2013-04-20-cowboy.txt").write_text(COWBOY, encoding="utf-8")
    (docs / "2009-09-15-shoes.txt").write_text(SHOES, encoding="utf-8")
    service = NewsService(make_settings([docs], retrieval={"k": 1}), embedder)
    service.ingest(progress=False)
    loaded = service._current()
    service._loaded = replace(loaded, retriever=CowboyFirst(loaded.retriever))  # type: ignore[arg-type]
    answer = service.ask("What did the man throw?", time_aware=False)
    assert not answer.abstained
    assert answer.citations[0].article_id == "2009-09-15-shoes"
    assert "throwing his shoes" in answer.text
    # A question the deeper search does not answer either is still declined.
    assert service.ask("What is the population of Baghdad?", time_aware=False).abstained
