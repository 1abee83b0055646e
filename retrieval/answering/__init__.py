"""Answer backends behind one seam: each turns retrieved chunks into a cited Answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

from retrieval.answer import Answer, StreamEvent
from retrieval.config import Settings, answer_for
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.sessions import Turn

if TYPE_CHECKING:
    from retrieval.embeddings import Embedder


class Answerer(Protocol):
    """Makes follow-ups standalone, and answers from the hits with verified citations."""

    def condense(self, question: str, history: list[Turn]) -> str:
        """The question made self-contained using the conversation so far."""
        ...

    def answer(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> Answer:
        """A cited answer to the (standalone) question, or an abstention; ``asked``: the
        reader's own words, when the question was made standalone from them."""
        ...

    def astream(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Tokens as they come, then the final verified Answer."""
        ...


def make_answerer(
    settings: Settings, index: SearchIndex, embedder: Embedder | None = None
) -> Answerer:
    """The configured answer backend (``answer.backend``).

    Args:
        settings: the whole configuration (answer and llm sections).
        index: the snapshot answers are drawn from.
        embedder: the model that embedded the index; LLM backends embed the model's
            sentences with it to verify citations (default: the configured one, shared).

    Raises:
        ConfigError: the backend's extra is not installed, or its model cannot be loaded.
    """
    match settings.answer.backend:
        case "extractive":
            from retrieval.answering.extractive import ExtractiveAnswerer

            encode = embedder.encode if embedder is not None else None
            return ExtractiveAnswerer(index, answer_for(settings), encode=encode)
        case "llamacpp" | "openai" | "ollama":
            from retrieval.answering.generative import LLMAnswerer
            from retrieval.llm import make_chat_model, token_counter

            if embedder is None:
                from retrieval.embeddings import make_embedder

                embedder = make_embedder(settings.embedding)
            model = make_chat_model(settings)
            return LLMAnswerer(index, settings, model, embedder.encode, token_counter(model))
        case other:
            from retrieval.errors import ConfigError

            raise ConfigError(f"answer.backend: {other!r} is not a known backend")
