"""The one service object every front end talks to: ``ask`` a question, get an ``Answer``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.answer import Answer, FinalEvent, StreamEvent
from retrieval.answering import Answerer, make_answerer
from retrieval.config import Settings
from retrieval.embeddings import Embedder, make_embedder
from retrieval.errors import IndexMissingError, InputError
from retrieval.ingest import (
    IngestReport,
    check_signature,
    fingerprint,
    in_scope,
    index_signature,
    ingest,
    scan,
)
from retrieval.retriever import Hit, HybridRetriever
from retrieval.search_index import Filters, SearchIndex
from retrieval.sessions import ConversationStore, SQLiteConversationStore, Turn
from retrieval.store import IndexStore


@dataclass(frozen=True)
class _Loaded:
    """A snapshot with everything built on it; swapped as a whole on reload."""

    index: SearchIndex
    retriever: HybridRetriever
    answerer: Answerer


@dataclass(frozen=True)
class _Prepared:
    """A question made standalone, embedded and retrieved for; ready to answer."""

    loaded: _Loaded
    question: str
    session_id: str | None
    history: list[Turn]
    standalone: str
    qvec: np.ndarray
    hits: list[Hit]
    top: list[Hit]
    t0: float
    timings: dict[str, float]


class NewsService:
    """Ingest, retrieval and answering over one index folder."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self.store = IndexStore(settings.index_dir)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._sessions: ConversationStore | None = None

    @property
    def sessions(self) -> ConversationStore:
        """The conversation store, opened on first use."""
        if self._sessions is None:
            cfg = self.settings.sessions
            path = ":memory:" if cfg.path == ":memory:" else self.settings.resolve(cfg.path)
            self._sessions = SQLiteConversationStore(path, cfg.max_turns)
        return self._sessions

    def reset(self, session_id: str) -> None:
        """Forget a conversation."""
        self.sessions.reset(session_id)

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use."""
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedding)
        return self._embedder

    # --- index lifecycle -------------------------------------------------------------

    def ingest(
        self, paths: Sequence[Path] | None = None, *, rebuild: bool = False, progress: bool = True
    ) -> IngestReport:
        """Bring the index up to date with the articles and load the result."""
        report = ingest(self.settings, self.embedder, paths, rebuild=rebuild, progress=progress)
        self.reload()
        return report

    def is_stale(self) -> bool:
        """True when a configured article file was added, changed or removed since the
        current snapshot (or there is none)."""
        try:
            manifest = self.store.read_manifest()
        except IndexMissingError:
            return True
        roots = [p.resolve() for p in self.settings.docs_paths]
        indexed = {p: h for p, h in manifest.get("files", {}).items() if in_scope(p, roots)}
        max_bytes = int(self.settings.ingest.max_file_mb * 1024 * 1024)
        present = {
            str(f): fingerprint(f, max_bytes)
            for f, root in scan(roots, self.store.root)
            if root is not None
        }
        return indexed != present

    def ensure_index(self, progress: bool = True) -> IngestReport | None:
        """Build or update the index when it is missing or stale; load it."""
        report = None
        if self.is_stale():
            report = self.ingest(progress=progress)
        elif self._loaded is None:
            self.reload()
        return report

    def reload(self) -> bool:
        """Load the current snapshot if it is not the one in use; True when swapped."""
        name = self.store.current_name()
        if name is None:
            raise IndexMissingError(
                f"no index at {self.store.root}; run `newsbot ingest` to build it"
            )
        if self._loaded is not None and self._loaded.index.name == name:
            return False
        with self._lock:
            data = self.store.load(name)
            check_signature(data.manifest, index_signature(self.settings, self.embedder))
            index = SearchIndex(data)
            retriever = HybridRetriever(
                index=index, embedder=self.embedder, settings=self.settings.retrieval
            )
            answerer = make_answerer(self.settings, index, self.embedder)
            self._loaded = _Loaded(index, retriever, answerer)
        return True

    def _current(self) -> _Loaded:
        if self._loaded is None:
            self.reload()
        assert self._loaded is not None
        return self._loaded

    @property
    def retriever(self) -> HybridRetriever:
        """The LangChain retriever over the current snapshot."""
        return self._current().retriever

    # --- answering -------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question from the articles, with citations.

        Args:
            question: what the user asked.
            session_id: the conversation it belongs to; a follow-up is made standalone
                with that conversation's previous turn, and the turn is recorded.
            k: chunks to retrieve (default: configured).
            filters: date range and sources.

        Returns:
            The answer; ``abstained`` when the articles don't contain it.

        Raises:
            InputError: the question is empty or too long.
        """
        return self.ask_with_hits(question, session_id=session_id, k=k, filters=filters)[0]

    def ask_with_hits(
        self,
        question: str,
        *,
        session_id: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        depth: int = 0,
    ) -> tuple[Answer, list[Hit]]:
        """Like :meth:`ask`, also returning the ranked hits (at least ``depth`` of them,
        for evaluation); the answer uses the first ``k``."""
        p = self._prepare(question, session_id, k, filters, depth)
        t = time.perf_counter()
        answer = p.loaded.answerer.answer(p.standalone, p.qvec, p.top, p.history)
        return self._finish(p, answer, t), p.hits

    async def astream(
        self,
        question: str,
        *,
        session_id: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Answer as a stream of events: text as it is produced, then the final Answer.

        Retrieval, answering and recording the turn run in threads so the event loop stays
        free; the extractive backend has no tokens to stream and yields the final answer
        alone.
        """
        p = await asyncio.to_thread(self._prepare, question, session_id, k, filters, 0)
        t = time.perf_counter()
        async for event in p.loaded.answerer.astream(p.standalone, p.qvec, p.top, p.history):
            if isinstance(event, FinalEvent):
                # Recording the turn writes SQLite: off the event loop, like retrieval.
                yield FinalEvent(await asyncio.to_thread(self._finish, p, event.answer, t))
                return
            yield event

    def _prepare(
        self,
        question: str,
        session_id: str | None,
        k: int | None,
        filters: Filters | None,
        depth: int,
    ) -> _Prepared:
        """Validate, make the question standalone, embed it and retrieve."""
        question = " ".join(question.split())
        if not question:
            raise InputError("the question is empty")
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise InputError(f"the question is {len(question)} characters; the limit is {limit}")
        loaded = self._current()  # one snapshot for the whole answer, even across a reload
        t0 = time.perf_counter()
        history = self.sessions.history(session_id) if session_id else []
        standalone = loaded.answerer.condense(question, history)
        qvec = self.embedder.encode([standalone])[0]
        t1 = time.perf_counter()
        k = k or self.settings.retrieval.k
        hits = loaded.retriever.search(standalone, qvec=qvec, k=max(k, depth), filters=filters)
        t2 = time.perf_counter()
        timings = {"embed": _ms(t1 - t0), "retrieve": _ms(t2 - t1)}
        return _Prepared(
            loaded, question, session_id, history, standalone, qvec, hits, hits[:k], t0, timings
        )

    def _finish(self, p: _Prepared, answer: Answer, t_answer: float) -> Answer:
        """Stamp the answer with its question and timings, and record the turn."""
        t3 = time.perf_counter()
        answer.question, answer.standalone_question = p.question, p.standalone
        answer.timings = {**p.timings, "answer": _ms(t3 - t_answer), "total": _ms(t3 - p.t0)}
        if p.session_id:
            self.sessions.append(p.session_id, _turn(answer))
        return answer

    def last_turn(self, session_id: str) -> Turn | None:
        """The session's most recent turn (for /sources), or None."""
        history = self.sessions.history(session_id)
        return history[-1] if history else None

    def stats(self) -> dict[str, Any]:
        """Articles, chunks, date range, sources and snapshot of the current index."""
        loaded = self._current()
        arts = loaded.index.articles.values()
        dates = sorted(a.date for a in arts if a.date)
        sources: dict[str, int] = {}
        for a in arts:
            sources[a.source or "(unknown)"] = sources.get(a.source or "(unknown)", 0) + 1
        manifest = loaded.index.data.manifest
        return {
            "snapshot": loaded.index.name,
            "created": manifest.get("created"),
            "index_dir": str(self.store.root),
            "embedding_model": manifest["embedding"]["model"],
            "articles": len(loaded.index.articles),
            "chunks": len(loaded.index.chunks),
            "sentences": len(loaded.index.sentences),
            "undated_articles": sum(1 for a in arts if not a.date),
            "date_range": [dates[0], dates[-1]] if dates else None,
            "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def _turn(answer: Answer) -> Turn:
    return Turn(
        question=answer.question,
        standalone=answer.standalone_question,
        answer=answer.text,
        short_answer=answer.short_answer,
        citations=[c.model_dump() for c in answer.citations],
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
