"""The one service object every front end talks to: ``ask`` a question, get an ``Answer``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval import adding, focus, outlets, when
from retrieval.answer import Answer, AnswerWindow, FinalEvent, StreamEvent
from retrieval.answering import Answerer, make_answerer, timely
from retrieval.answering.extractive import ExtractiveAnswerer
from retrieval.answering.kinds import needs_parser
from retrieval.answering.parse import default_reader
from retrieval.answering.shorts import default_span_reader, reads_span
from retrieval.backend import (
    make_conversation_store,
    make_store,
    open_index,
    shared_stories,
)
from retrieval.condense import needs_context, standalone_question
from retrieval.config import Settings, answer_for, retrieval_for
from retrieval.embeddings import Embedder, make_embedder
from retrieval.errors import (
    ArticleConflictError,
    EmptyQuestionError,
    IndexMissingError,
    IngestLockedError,
    NewsbotError,
    QuestionTooLongError,
)
from retrieval.feeds.collapse import StoryMap, also_carried, collapse, state_file
from retrieval.ingest import (
    FileReport,
    IngestReport,
    check_signature,
    fingerprint,
    in_scope,
    index_signature,
    ingest,
    scan,
)
from retrieval.lexical import terms
from retrieval.retriever import Hit, HybridRetriever
from retrieval.search_index import Filters, SearchIndex
from retrieval.sessions import ConversationStore, Turn
from retrieval.timeparse import Reading, TimeIntent, Window

if TYPE_CHECKING:
    from retrieval.follows.service import Follows

log = logging.getLogger(__name__)

# How often answering looks for a snapshot published by another process (a cheap file read).
_RELOAD_CHECK_S = 1.0
# "Latest": the on-topic articles among this many times k hits, newest first, are answered
# from alone, at most this many of them, before the usual answer over all hits.
_LATEST_POOL = 2
_LATEST_TRIES = 3
# "What's the latest?": how many of the newest stories, and how many chunks of a day's
# articles are searched for their openings.
_DIGEST = 3
_OPENING_DEPTH = 50
# A client-sent conversation's answers are cut to this many characters before condensing.
_MAX_HISTORY_ANSWER_CHARS = 4000
# When collapsing copies left fewer than k hits, search again this many hits deeper per hit
# removed, at most _COLLAPSE_TRIES searches in all. The first search asks for k alone: each
# hit costs (its exact cosines), and most questions find no copies among their first k.
_COLLAPSE_DEPTH = 3
_COLLAPSE_TRIES = 3


class ChatService(Protocol):
    """What the conversational front ends (the REPL, Telegram) need from the service."""

    def astream(
        self, question: str, *, session_id: str | None = None, as_of: dt.date | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Tokens as they come, then the final verified answer (asked on ``as_of``, default
        today)."""
        ...

    def reset(self, session_id: str) -> None:
        """Forget a conversation."""
        ...

    def last_turn(self, session_id: str) -> Turn | None:
        """The conversation's most recent turn, with typed citations, or None."""
        ...

    def stats(self) -> dict[str, Any]:
        """Articles, date range and sources of the index."""
        ...


@dataclass(frozen=True)
class _Loaded:
    """A snapshot with everything built on it; swapped as a whole on reload."""

    index: SearchIndex
    retriever: HybridRetriever
    answerer: Answerer


# How many times deeper a declined question searches again (see NewsService._deeper).
_DEEPER = 3


@dataclass(frozen=True)
class _Prepared:
    """A question made standalone, embedded and retrieved for; ready to answer."""

    loaded: _Loaded
    question: str
    session_id: str | None
    history: list[Turn]
    record: bool
    standalone: str
    qvec: np.ndarray
    hits: list[Hit]
    top: list[Hit]
    t0: float
    timings: dict[str, float]
    plan: when.TimePlan | None = None
    # Hits of the searches an answer shaped by time made besides the first (deeper, or
    # outside the window for the nearest coverage): they too were retrieved for it.
    searched: list[Hit] = field(default_factory=list)
    # The articles' support in the conversation once this question is counted (focus.support).
    support: tuple[tuple[str, float], ...] = ()
    # The article that took the conversation's focus over at this question, if one did.
    lead: str | None = None
    # The outlets the question named (or a follow-up kept): only their articles are searched.
    outlets: tuple[str, ...] = ()


class NewsService:
    """Ingest, retrieval and answering over one index folder."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self.store = make_store(settings)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        self._sessions: ConversationStore | None = None
        self._checked = 0.0  # when answering last looked for a newer snapshot
        self._failed: str | None = None  # a snapshot that failed to load, logged once
        self._stories = StoryMap()  # copies of one story (from the feed state), collapsed
        self._stories_key: object = None
        self._follows: Follows | None = None

    @property
    def sessions(self) -> ConversationStore:
        """The conversation store, opened on first use."""
        if self._sessions is None:
            self._sessions = make_conversation_store(self.settings, self.store)
        return self._sessions

    @property
    def follows(self) -> Follows:
        """Topics chats follow and their alerts, in the sessions' database (opened on first
        use)."""
        if self._follows is None:
            from retrieval.backend import make_follow_store
            from retrieval.follows.service import Follows

            store = make_follow_store(self.settings, self.store)
            self._follows = Follows(self, store, self.settings.follows)
        return self._follows

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
        if getattr(self.store, "shared", False):
            # A database that replicas share is updated by its one worker (`newsbot ingest`,
            # `newsbot watch`), never by a replica whose article folder differs or is empty.
            return self.store.current_name() is None
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

    def warm_up(self) -> None:
        """Pay the one-off costs before the first question: the model's first encode, the
        short-answer parser's load (~1.5 s, else paid by the first who/what question) and the
        short-answer reader's (exported once with torch, then opened on onnxruntime)."""
        self.embedder.encode(["warm up"])
        default_reader()
        if self.settings.answer.backend == "extractive" and self.settings.answer.reader == "on":
            default_span_reader().ensure_loaded()

    def read_ahead(self, question: str) -> None:
        """Load the short-answer parser on another thread while the index loads and the
        question is searched, when the question is of a kind whose short answer is parsed: a
        one-question process (``newsbot ask``) then pays less of its ~1.2 s load. The
        short-answer reader opens the same way for the questions it reads."""
        if needs_parser(question):
            threading.Thread(target=_load_parser, name="parser-load").start()
        answer = self.settings.answer
        if answer.backend == "extractive" and answer.reader == "on" and reads_span(question):
            threading.Thread(target=_load_span_reader, name="reader-load").start()

    def ensure_index(self, progress: bool = True) -> IngestReport | None:
        """Build or update the index when it is missing or stale; load it."""
        if not self.is_stale():
            if self._loaded is None:
                self.reload()
            return None
        try:
            return self.ingest(progress=progress)
        except IngestLockedError:
            # Another process is writing the next snapshot: answer from the current one.
            if self.store.current_name() is None:
                raise
            self.reload()
            name = self._current().index.name
            return self._report_of_current(
                [],
                f"the index is being updated by another ingest; answering from snapshot {name}",
            )

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
            index = open_index(self.store, name)
            check_signature(index.data.manifest, index_signature(self.settings, self.embedder))
            retriever = HybridRetriever(
                index=index, embedder=self.embedder, settings=retrieval_for(self.settings)
            )
            answerer = make_answerer(self.settings, index, self.embedder)
            self._loaded = _Loaded(index, retriever, answerer)
        return True

    def refresh(self) -> bool:
        """Load a snapshot another process published, if any; True when swapped.

        Never blocks on a reload already under way. A snapshot that fails to load is logged
        once, and the one in use keeps serving.
        """
        if self._loaded is None:
            return self.reload()
        if not self._lock.acquire(blocking=False):
            return False
        self._lock.release()
        try:
            swapped = self.reload()
        except NewsbotError as e:
            name = self.store.current_name()
            if name != self._failed:
                log.error("cannot load index snapshot %s (still serving the old): %s", name, e)
                self._failed = name
            return False
        if swapped:
            log.info("loaded index snapshot %s", self._loaded.index.name if self._loaded else "")
        return swapped

    def _current(self) -> _Loaded:
        """The snapshot to answer from, picking up one published since (checked each second)."""
        now = time.monotonic()
        if self._loaded is None:
            self.reload()
            self.refresh_stories()
        elif now - self._checked >= _RELOAD_CHECK_S:
            self._checked = now
            self.refresh()
            self.refresh_stories()
        assert self._loaded is not None
        return self._loaded

    def refresh_stories(self) -> bool:
        """Reload the story map when the feed state changed (two stats; with postgres, the
        published map's revision); True when it did."""
        shared = shared_stories(self.store, self._stories_key)
        if shared is not None:
            self._stories_key, stories = shared
            if stories is None:
                return False
            self._stories = stories
            return True
        path = state_file(self.settings.docs_paths)
        key = None if path is None else tuple(_stat(p) for p in (path, Path(f"{path}-wal")))
        if key == self._stories_key:
            return False
        self._stories_key = key
        self._stories = StoryMap.load(path)
        return True

    def _search(
        self, loaded: _Loaded, question: str, qvec: np.ndarray, k: int, filters: Filters | None
    ) -> list[Hit]:
        """The retriever's top ``k`` hits with copies of one story collapsed to one article,
        searching deeper when collapsing left fewer than ``k``."""
        stories = self._stories
        if not stories:
            return loaded.retriever.search(question, qvec=qvec, k=k, filters=filters)
        want = k
        for _ in range(_COLLAPSE_TRIES):
            hits = loaded.retriever.search(question, qvec=qvec, k=want, filters=filters)
            kept = collapse(hits, stories)
            if len(kept) >= k or len(hits) < want:
                break
            want += _COLLAPSE_DEPTH * (len(hits) - len(kept))
        if kept[:k] == hits[:k]:
            return hits[:k]  # nothing collapsed among the first k
        return [replace(h, rank=rank) for rank, h in enumerate(kept[:k], start=1)]

    @property
    def retriever(self) -> HybridRetriever:
        """The LangChain retriever over the current snapshot."""
        return self._current().retriever

    # --- answering -------------------------------------------------------------------

    def check_question(self, question: str) -> str:
        """The question with its white space collapsed, checked before anything is searched.

        Raises:
            EmptyQuestionError: nothing visible is left.
            QuestionTooLongError: longer than ``answer.max_question_chars``.
        """
        return check_question(question, self.settings.answer.max_question_chars)

    def ask(
        self,
        question: str,
        *,
        session_id: str | None = None,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        record: bool = True,
        as_of: dt.date | None = None,
        time_aware: bool = True,
    ) -> Answer:
        """Answer a question from the articles, with citations.

        Args:
            question: what the user asked.
            session_id: the stored conversation it belongs to; a follow-up is made
                standalone with its earlier turns, and (with ``record``) the turn is
                recorded.
            history: the conversation so far, when the caller keeps it (an OpenAI-style
                ``messages`` list) instead of a ``session_id``; bounded like a stored one.
            k: chunks to retrieve (default: configured).
            filters: date range and sources.
            record: record the turn in the session now; a front end that may still fail to
                deliver the answer passes False and calls :meth:`remember` once delivered.
            as_of: the day the question is asked (default: today). Nothing published after
                it is retrieved, and the question's time expression ("last week") is
                resolved against it: a publication window is a hard filter that fails
                closed, naming the nearest coverage outside it.
            time_aware: False reads no time expression and filters on no date (evaluation
                sets without an asked-on date).

        Returns:
            The answer; ``abstained`` when the articles don't contain it.

        Raises:
            EmptyQuestionError, QuestionTooLongError: the question is empty or too long.
        """
        return self.ask_with_hits(
            question,
            session_id=session_id,
            history=history,
            k=k,
            filters=filters,
            record=record,
            as_of=as_of,
            time_aware=time_aware,
        )[0]

    def ask_with_hits(
        self,
        question: str,
        *,
        session_id: str | None = None,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        record: bool = True,
        depth: int = 0,
        as_of: dt.date | None = None,
        time_aware: bool = True,
    ) -> tuple[Answer, list[Hit]]:
        """Like :meth:`ask`, also returning the ranked hits (at least ``depth`` of them,
        for evaluation); the answer uses the first ``k``."""
        answer, hits, _ = self.ask_traced(
            question,
            session_id=session_id,
            history=history,
            k=k,
            filters=filters,
            record=record,
            depth=depth,
            as_of=as_of,
            time_aware=time_aware,
        )
        return answer, hits

    def ask_traced(
        self,
        question: str,
        *,
        session_id: str | None = None,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        record: bool = True,
        depth: int = 0,
        as_of: dt.date | None = None,
        time_aware: bool = True,
    ) -> tuple[Answer, list[Hit], list[Hit]]:
        """Like :meth:`ask_with_hits`, also returning every hit retrieved for the question:
        the ranked ones and those of the further searches a time-shaped answer made."""
        p = self._prepare(
            question, session_id, history, k, filters, record, depth, as_of, time_aware
        )
        t = time.perf_counter()
        answer = self._shaped(p)
        if answer is None:
            answer = p.loaded.answerer.answer(p.standalone, p.qvec, p.top, p.history, p.question)
            answer = self._deeper(p, answer)
            answer = self._fail_closed(p, answer)
        return self._finish(p, answer, t), p.hits, [*p.hits, *p.searched]

    def _deeper(self, p: _Prepared, answer: Answer) -> Answer:
        """A question the extractive answerer declined although its evidence scored above
        the threshold (a short question whose words the best sentences lack: "What did the
        man throw?") is answered from a search ``_DEEPER`` times as deep, when a sentence
        there holds its words. A vague question often ranks its article below the first
        ``k``; a follow-up kept with its story is not sent elsewhere."""
        threshold = answer_for(self.settings).threshold
        if (
            not answer.abstained
            or answer.confidence is None
            or answer.confidence < threshold
            or not isinstance(p.loaded.answerer, ExtractiveAnswerer)
            or any(a is not b for a, b in zip(p.top, p.hits, strict=False))
        ):
            return answer
        filters = p.plan.filters if p.plan is not None else None
        hits = self._search_more(
            p, p.standalone, p.qvec, _DEEPER * len(p.top), filters or Filters()
        )
        again = p.loaded.answerer.answer(p.standalone, p.qvec, hits, p.history, p.question)
        return answer if again.abstained else again

    async def astream(
        self,
        question: str,
        *,
        session_id: str | None = None,
        history: Sequence[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        record: bool = True,
        as_of: dt.date | None = None,
        time_aware: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        """Answer as a stream of events: text as it is produced, then the final Answer.

        Arguments as for :meth:`ask`. Retrieval, answering and recording the turn run in
        threads so the event loop stays free; the extractive backend has no tokens to
        stream and yields the final answer alone.
        """
        p = await asyncio.to_thread(
            self._prepare, question, session_id, history, k, filters, record, 0, as_of, time_aware
        )
        t = time.perf_counter()
        shaped = await asyncio.to_thread(self._shaped, p)
        if shaped is not None:
            yield FinalEvent(await asyncio.to_thread(self._finish, p, shaped, t))
            return
        async for event in p.loaded.answerer.astream(
            p.standalone, p.qvec, p.top, p.history, p.question
        ):
            if isinstance(event, FinalEvent):
                # The fallback searches and recording the turn block: off the event loop.
                answer = await asyncio.to_thread(self._deeper, p, event.answer)
                answer = await asyncio.to_thread(self._fail_closed, p, answer)
                yield FinalEvent(await asyncio.to_thread(self._finish, p, answer, t))
                return
            yield event

    def _prepare(
        self,
        question: str,
        session_id: str | None,
        history: Sequence[Turn] | None,
        k: int | None,
        filters: Filters | None,
        record: bool,
        depth: int,
        as_of: dt.date | None = None,
        time_aware: bool = True,
    ) -> _Prepared:
        """Validate, read the question's time, make it standalone, embed it and retrieve."""
        if session_id is not None and history is not None:
            raise ValueError("pass a session_id or a history, not both")
        question = self.check_question(question)
        loaded = self._current()  # one snapshot for the whole answer, even across a reload
        t0 = time.perf_counter()
        turns = self.sessions.history(session_id) if session_id else self._bounded(history or [])
        plan = None
        asked = question
        named = None if filters and filters.sources else _outlets(question, turns, loaded)
        if named is not None:
            asked = named.text
            filters = replace(filters or Filters(), sources=named.sources)
        if time_aware:
            # Only a follow-up ("And the week before?", "Who won?") keeps the conversation's
            # window; a question that stands on its own starts without one.
            previous = _previous_intent(turns) if needs_context(question) else None
            plan = when.plan(asked, as_of or dt.date.today(), previous, filters)
            filters = plan.filters
            # A publication window is a filter, not words to match: "last week" is taken
            # out. An event's date is in the text it is recounted in: "in 2014" stays.
            asked = asked if plan.words_kept else (plan.intent.text or asked)
        standalone = loaded.answerer.condense(asked, turns)
        if len(standalone) > self.settings.answer.max_question_chars:
            standalone = asked  # a condensed question never outgrows the question cap
        qvec = self.embedder.encode([standalone])[0]
        t1 = time.perf_counter()
        k = k or self.settings.retrieval.k
        fetch = max(k, depth, when.depth(k, plan) if plan else 0)
        hits = self._search(loaded, standalone, qvec, fetch, filters)
        if plan is not None:
            hits = when.rerank(hits, plan)
        top = hits[:k]
        # A follow-up stays with the article(s) the conversation is about: the one its
        # questions have matched best so far, when that is clearly not the one it was on.
        about = focus.current(turns)
        support = about.support
        if session_id is not None or turns:
            evidence = self._evidence(loaded, asked, standalone, qvec, hits, filters)
            support = focus.support(about, evidence, asked)
        # Only a question that added evidence can hand the focus over.
        lead = focus.leader(about, support) if support != about.support else None
        if lead is not None:
            about = focus.Focus((lead,), (), support)
            led = loaded.index.articles.get(lead)
            handed = focus.handed_over(turns, lead, led.text if led is not None else None)
            taken = self._reread(loaded, asked, handed, fetch, filters)
            if taken is not None:
                standalone, qvec, hits = taken
                hits = when.rerank(hits, plan) if plan is not None else hits
                top = hits[:k]
        if about.articles:
            within = replace(filters or Filters(), articles=about.articles)
            near = loaded.retriever.search(standalone, qvec=qvec, k=k, filters=within)
            if focus.stays(question, about, near, hits, loaded.index):
                top = near
        t2 = time.perf_counter()
        timings = {"embed": _ms(t1 - t0), "retrieve": _ms(t2 - t1)}
        return _Prepared(
            loaded,
            question,
            session_id,
            turns,
            record,
            standalone,
            qvec,
            hits,
            top,
            t0,
            timings,
            plan,
            support=support,
            lead=lead,
            outlets=named.sources if named is not None else (),
        )

    def _evidence(
        self,
        loaded: _Loaded,
        asked: str,
        standalone: str,
        qvec: np.ndarray,
        hits: list[Hit],
        filters: Filters | None,
    ) -> list[Hit]:
        """The hits for the reader's own words, as deep as the focus's support counts them:
        a question condensed with the focus's names finds the focus article whether or not
        the conversation is about it, so the support is judged without them."""
        depth = focus.EVIDENCE_DEPTH
        if asked == standalone and len(hits) >= depth:
            return hits[:depth]
        vec = qvec if asked == standalone else self.embedder.encode([asked])[0]
        return self._search(loaded, asked, vec, depth, filters)

    def _reread(
        self, loaded: _Loaded, asked: str, turns: list[Turn], k: int, filters: Filters | None
    ) -> tuple[str, np.ndarray, list[Hit]] | None:
        """The question made standalone again once another article took the focus over
        (``turns`` handed over to it), embedded and searched; None when it outgrows the
        question cap."""
        standalone = loaded.answerer.condense(asked, turns)
        if len(standalone) > self.settings.answer.max_question_chars:
            return None
        qvec = self.embedder.encode([standalone])[0]
        return standalone, qvec, self._search(loaded, standalone, qvec, k, filters)

    def _bounded(self, history: Sequence[Turn]) -> list[Turn]:
        """A caller's conversation, bounded as a stored one is: the last ``max_turns``
        turns, each question within the question cap, each answer cut, and each turn made
        standalone in its own context when the caller did not say."""
        limit = self.settings.answer.max_question_chars
        turns: list[Turn] = []
        for t in list(history)[-self.settings.sessions.max_turns :]:
            question = " ".join(t.question.split())[:limit]
            standalone = " ".join(t.standalone.split())[:limit]
            turns.append(
                replace(
                    t,
                    question=question,
                    standalone=standalone or standalone_question(question, turns)[:limit],
                    answer=t.answer[:_MAX_HISTORY_ANSWER_CHARS],
                )
            )
        return turns

    def _shaped(self, p: _Prepared) -> Answer | None:
        """An answer whose shape time decides (a timeline, which came first), or None."""
        plan = p.plan
        if plan is None:
            return None
        index = p.loaded.index
        if plan.intent.order:
            options = timely.order_options(plan.intent.text)
            if options is not None:
                found = [self._best_for(p, option) for option in options[:2]]
                answer = timely.order(index, p.standalone, options, found)
                if answer is not None:
                    return answer
        if p.outlets and timely.asks_what_was_reported(p.standalone):
            # "What did Polygon report?": its news, as "What's the latest from Polygon?".
            return self._newest_day(p)
        if plan.intent.latest and not plan.timeline:
            answer = self._latest(p)
            if answer is not None:
                return answer
        if plan.timeline:
            subject = timely.topic(plan.intent.text)
            hits = p.hits
            if len(hits) < when.RERANK_DEPTH * len(p.top):
                hits = self._search_more(
                    p, p.standalone, p.qvec, when.RERANK_DEPTH * len(p.top) or 1, plan.filters
                )
            answer = timely.timeline(index, p.standalone, p.qvec, hits, subject)
            if answer is not None:
                return answer
            opening = timely.no_coverage(subject, plan.intent.expression or "")
            if plan.window is None:
                return timely.empty_window(p.standalone, "", None, None, None, opening)
            # The nearest coverage of the subject, before or after the window, is named.
            wider = self._search_more(
                p, p.standalone, p.qvec, when.RERANK_DEPTH * len(p.top) or 1, plan.widened()
            )
            nearest = timely.nearest_on_topic(
                index, p.standalone, p.qvec, wider, subject, plan.window
            )
            return timely.empty_window(
                p.standalone,
                when.window_phrase(plan.window),
                nearest,
                plan.window.since,
                plan.window.until,
                no_coverage=opening,
            )
        return None

    def _latest(self, p: _Prepared) -> Answer | None:
        """The newest supporting article: on-topic articles among the best hits, newest
        first, each answered from alone until one answers; for "what's the latest on X"
        the newest one's closest sentences. None: answer as usual."""
        index = p.loaded.index
        topic = timely.latest_topic(p.plan.intent.text if p.plan else p.standalone)
        if p.plan is not None and timely.is_news_request(p.standalone):
            return self._newest_day(p)
        pool = p.hits[: _LATEST_POOL * len(p.top)]
        newest: dict[str, list[Hit]] = {}
        for h in pool:
            if h.article.id in newest or timely.on_topic(index, h, topic):
                newest.setdefault(h.article.id, []).append(h)
        if not newest:
            return None
        # The newest story about it, not the newest that mentions it in passing.
        stories = [hs for hs in newest.values() if timely.about(hs[0], topic)] or newest.values()
        order = sorted(stories, key=lambda hs: hs[0].article.date or "", reverse=True)
        if timely.is_overview(p.plan.intent.text if p.plan else p.standalone):
            return timely.newest_report(index, p.standalone, p.qvec, order[0])
        for hits in order[:_LATEST_TRIES]:
            answer = p.loaded.answerer.answer(p.standalone, p.qvec, hits, p.history, p.question)
            if not answer.abstained:
                return answer
        return None

    def _newest_day(self, p: _Prepared) -> Answer | None:
        """ "What's the latest?", "What's the latest from TechCrunch?": no topic, so the
        report is the newest articles the filters let through, newest first, each by its
        opening (at most ``_DIGEST`` of them, a day at a time back from the newest)."""
        assert p.plan is not None
        filters = p.plan.filters
        stories: dict[str, list[Hit]] = {}
        while len(stories) < _DIGEST:
            day = p.loaded.index.newest(filters)
            if day is None:
                break
            newest = dt.date.fromisoformat(day[:10])
            that_day = replace(filters, since=newest)
            for h in self._search_more(p, p.standalone, p.qvec, _OPENING_DEPTH, that_day):
                stories.setdefault(h.article.id, []).append(h)
            filters = replace(filters, until=newest - dt.timedelta(days=1))
        if not stories:
            return None
        order = sorted(stories.values(), key=lambda hs: hs[0].article.date or "", reverse=True)
        return timely.openings(p.loaded.index, p.standalone, order[:_DIGEST])

    def _best_for(self, p: _Prepared, text: str) -> tuple[Hit, np.ndarray] | None:
        """The best hit for one option of a "which came first" question, up to asked_on."""
        assert p.plan is not None
        vec = self.embedder.encode([text])[0]
        hits = self._search_more(p, text, vec, 1, p.plan.filters)
        return (hits[0], vec) if hits else None

    def _search_more(
        self, p: _Prepared, text: str, qvec: np.ndarray, k: int, filters: Filters
    ) -> list[Hit]:
        """Another search for the same question, remembered with it."""
        hits = self._search(p.loaded, text, qvec, k, filters)
        p.searched.extend(hits)
        return hits

    def _fail_closed(self, p: _Prepared, answer: Answer) -> Answer:
        """A window with nothing that answers says so, naming the nearest coverage outside
        it; nothing before asked_on says there is nothing to answer from."""
        plan = p.plan
        if plan is None or not answer.abstained:
            return answer
        if plan.event and plan.window is not None:
            subject = timely.topic(plan.intent.text)
            report = timely.event_report(
                p.loaded.index, p.standalone, p.qvec, p.top, plan.window, subject
            )
            return report or answer
        if plan.publication:
            return self._nearest(p, None)
        mask = p.loaded.index.mask(plan.filters)
        if mask is not None and not mask.any() and plan.filters.until is not None:
            day = plan.filters.until
            text = (
                f"There is no article published on or before {day.day} {day:%B %Y} to answer from."
            )
            return answer.model_copy(update={"text": text})
        return answer

    def _nearest(self, p: _Prepared, opening: str | None) -> Answer:
        """The empty-window answer with the nearest coverage outside the window (up to
        asked_on), found by answering again without the window."""
        assert p.plan is not None and p.plan.window is not None
        plan = p.plan
        window = plan.window
        assert window is not None
        hits = self._search_more(p, p.standalone, p.qvec, len(p.top) or 1, plan.widened())
        nearest = (
            p.loaded.answerer.answer(p.standalone, p.qvec, hits, p.history, p.question)
            if hits
            else None
        )
        return timely.empty_window(
            p.standalone,
            when.window_phrase(window),
            nearest,
            window.since,
            window.until,
            no_coverage=opening,
        )

    def _finish(self, p: _Prepared, answer: Answer, t_answer: float) -> Answer:
        """Stamp the answer with its question, dates and timings, and record the turn."""
        t3 = time.perf_counter()
        if p.plan is not None:
            dates = [c.date[:10] for c in answer.citations if c.date]
            answer.as_of = max(dates) if dates else None
            answer.asked_on = p.plan.asked_on.isoformat()
            w = p.plan.window
            answer.window = (
                AnswerWindow(
                    since=w.since.isoformat() if w.since else None,
                    until=w.until.isoformat() if w.until else None,
                    reading=p.plan.intent.reading,
                )
                if w is not None
                else None
            )
        if self._stories:
            until = p.plan.asked_on.isoformat() if p.plan is not None else None
            articles = p.loaded.index.articles
            for c in answer.citations:
                c.also = also_carried(c.article_id, self._stories, articles, until)
        answer.question, answer.standalone_question = p.question, p.standalone
        answer.outlets = list(p.outlets)
        answer.timings = {**p.timings, "answer": _ms(t3 - t_answer), "total": _ms(t3 - p.t0)}
        if p.session_id and p.record:
            self.remember(p.session_id, answer, p.support, p.lead)
        return answer

    def remember(
        self,
        session_id: str,
        answer: Answer,
        support: tuple[tuple[str, float], ...] | None = None,
        lead: str | None = None,
    ) -> None:
        """Record an answered turn in a session (once the answer reached its reader), with
        the conversation's focus after it; ``support``: the articles' support with this
        question counted (None: the earlier support stands); ``lead``: the article that
        took the focus over at this question (it keeps it even if the answer abstained)."""
        before = focus.current(self.sessions.history(session_id))
        articles = self._current().index.articles
        if lead is not None and (led := articles.get(lead)) is not None:
            before = focus.Focus((lead,), tuple(focus.cast_of(led.text)), before.support)
        cited = articles.get(answer.citations[0].article_id) if answer.citations else None
        after = focus.after(answer, before, cited.text if cited is not None else None, support)
        turn = replace(
            _turn(answer),
            articles=after.articles,
            entities=after.entities,
            support=after.support,
        )
        self.sessions.append(session_id, turn)

    def last_turn(self, session_id: str) -> Turn | None:
        """The session's most recent turn (for /sources), or None."""
        history = self.sessions.history(session_id)
        return history[-1] if history else None

    # --- adding articles ---------------------------------------------------------------

    def add_articles(self, records: Sequence[Mapping[str, Any]]) -> IngestReport:
        """Add articles (``{id?, title?, date?, source?, url?, text}``) and index them.

        They are written to ``added/`` in the first docs folder, so that the folder stays
        the source of truth, and indexed incrementally under the writer lock: when the
        ingest fails, the files are put back as they were and nothing has changed. A record
        that would not be indexed is reported as skipped and not written.

        Raises:
            InputError: a record is malformed.
            ArticleConflictError: an id belongs to an article from another file than
                ``added/`` (nothing is written), or ``added/`` is unusable.
            IngestLockedError: another ingest is writing (nothing is written).
        """
        drafts = [adding.draft(r) for r in records]
        folder = adding.added_folder(self.settings.docs_paths)
        skipped = [
            FileReport(
                str(folder / d.file_name), "skipped", f"not written: {d.skipped}", d.warnings
            )
            for d in drafts
            if d.skipped
        ]
        usable = list({d.id: d for d in drafts if not d.skipped}.values())  # last one wins
        with self.store.writer_lock():
            self._check_ids(usable, folder)
            if not usable:
                report = self._report_of_current(skipped)
            else:
                with adding.written(folder, usable) as paths:
                    report = ingest(
                        self.settings, self.embedder, paths, progress=False, locked=True
                    )
                notes = {str(folder / d.file_name): d.warnings for d in usable}
                for f in report.files:
                    f.warnings[:0] = notes.get(f.path, [])
                report.files += skipped
        if report.published:
            self.reload()
        return report

    def _check_ids(self, drafts: Sequence[adding.Draft], folder: Path) -> None:
        """Refuse ids that an article from outside ``added/`` already has."""
        if self.store.current_name() is None:
            return
        self.refresh()  # under the writer lock: the snapshot cannot change meanwhile
        articles = self._current().index.articles
        added = folder.resolve()
        taken = [
            f"{d.id!r} ({Path(a.path).name})"
            for d in drafts
            if (a := articles.get(d.id)) is not None and not Path(a.path).is_relative_to(added)
        ]
        if taken:
            raise ArticleConflictError(
                "these ids belong to articles that did not come from added/, and an added "
                f"article may not replace them: {', '.join(taken)}; choose another id"
            )

    def _report_of_current(self, files: list[FileReport], notice: str = "") -> IngestReport:
        """A report of nothing ingested: the current snapshot's counts and these files."""
        with contextlib.suppress(IndexMissingError):
            index = self._current().index
            return IngestReport(
                files, index.name, False, len(index.articles), len(index.chunks), 0, 0, notice
            )
        return IngestReport(files, None, False, 0, 0, 0, 0, notice)

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


def check_question(question: str, limit: int) -> str:
    """The question with its white space collapsed, if it is neither empty nor too long.

    Raises:
        EmptyQuestionError: nothing visible is left.
        QuestionTooLongError: longer than ``limit`` characters.
    """
    question = " ".join(question.split())
    if not question:
        raise EmptyQuestionError("the question is empty")
    if len(question) > limit:
        raise QuestionTooLongError(len(question), limit)
    return question


def _turn(answer: Answer) -> Turn:
    w = answer.window
    return Turn(
        question=answer.question,
        standalone=answer.standalone_question,
        answer=answer.text,
        short_answer=answer.short_answer,
        citations=list(answer.citations),
        window=(w.since, w.until) if w is not None else None,
        reading=w.reading if w is not None else None,
        outlets=tuple(answer.outlets),
    )


def _outlets(question: str, turns: Sequence[Turn], loaded: _Loaded) -> outlets.Named | None:
    """The outlets to answer from: those the question names as reporters ("What did The
    Verge say about ...?"); for a follow-up, the ones it names at all ("And TechCrunch?"),
    else the conversation's ("And Google?" stays with The Verge)."""
    sources = loaded.index.sources
    named = outlets.named(question, sources)
    if named is not None or not turns or not needs_context(question):
        return named
    named = outlets.named(question, sources, framed=False)
    if named is None:
        return outlets.Named(turns[-1].outlets, question) if turns[-1].outlets else None
    if not terms(named.text) and turns[-1].standalone:
        # "And TechCrunch?", "And from Engadget?": the last question, of other outlets.
        return outlets.Named(named.sources, turns[-1].standalone)
    return named


def _previous_intent(turns: Sequence[Turn]) -> TimeIntent | None:
    """The last turn's window as an intent a follow-up keeps or shifts; None without one."""
    if not turns or turns[-1].window is None:
        return None
    since, until = turns[-1].window
    try:
        window = Window(
            dt.date.fromisoformat(since) if since else None,
            dt.date.fromisoformat(until) if until else None,
        )
    except ValueError:
        return None
    reading: Reading = "event" if turns[-1].reading == "event" else "publication"
    return TimeIntent(window, reading, None, False, False, turns[-1].standalone)


def _stat(path: Path) -> tuple[int, int] | None:
    """A file's (mtime, size), or None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _load_parser() -> None:
    """Load the short-answer parser ahead of its first question; a failure is left for that
    question to raise (default_reader tries again)."""
    with contextlib.suppress(Exception):
        default_reader()


def _load_span_reader() -> None:
    """Open the short-answer reader ahead of its first question; a failure is left for
    that question to report."""
    with contextlib.suppress(Exception):
        default_span_reader().ensure_loaded()
