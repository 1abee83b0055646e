"""Sessions keep their own history; follow-ups become standalone questions."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from retrieval.answer import Citation
from retrieval.condense import needs_context, standalone_question
from retrieval.errors import SessionStoreError
from retrieval.service import NewsService
from retrieval.sessions import SQLiteConversationStore, Turn
from tests.conftest import SEED_SET

CONVERSATIONS = [json.loads(line) for line in (SEED_SET / "conversations.jsonl").open()]


def _turn(q: str) -> Turn:
    return Turn(question=q, standalone=q, answer="a")


def test_store_keeps_last_turns_per_session(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "s.sqlite", max_turns=3)
    for i in range(5):
        store.append("a", _turn(f"qa{i}"))
    store.append("b", _turn("qb0"))
    assert [t.question for t in store.history("a")] == ["qa2", "qa3", "qa4"]
    assert [t.question for t in store.history("b")] == ["qb0"]
    store.reset("a")
    assert store.history("a") == [] and len(store.history("b")) == 1


def test_store_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    cited = [Citation(n=1, article_id="a", title="T", quote="Q.", chunk_id="a#0", score=0.5)]
    SQLiteConversationStore(path).append("x", Turn("q", "q", "a", "s", cited))
    assert SQLiteConversationStore(path).history("x") == [Turn("q", "q", "a", "s", cited)]


def test_store_is_thread_safe(tmp_path: Path) -> None:
    store = SQLiteConversationStore(tmp_path / "s.sqlite", max_turns=100)

    def worker(sid: str) -> None:
        for i in range(20):
            store.append(sid, _turn(f"{sid}-{i}"))

    threads = [threading.Thread(target=worker, args=(f"s{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(8):
        assert [t.question for t in store.history(f"s{n}")] == [f"s{n}-{i}" for i in range(20)]


def test_stores_opening_one_new_file_at_once_all_open(tmp_path: Path) -> None:
    # Each store adds the columns a new file's table lacks; two at once once both added
    # one, and the second failed with "duplicate column name" (a 503 over HTTP).
    errors: list[BaseException] = []
    for n in range(15):
        path = tmp_path / f"s{n}.sqlite"
        start = threading.Barrier(6)

        def open_store(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                SQLiteConversationStore(path)
            except BaseException as e:  # collected: a thread's exception is otherwise lost
                errors.append(e)

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    columns = {
        r[1] for r in sqlite3.connect(tmp_path / "s0.sqlite").execute("PRAGMA table_info(turns)")
    }
    assert {"time", "focus"} <= columns


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("And when does that take effect?", True),
        ("What did he decide on 6 October?", True),
        ("When did the 1973 oil crisis begin?", False),
        ("Why?", True),
        ("Anything else?", True),
        ("Anyone else?", True),
        ("Did anyone else appeal?", True),
    ],
)
def test_needs_context(question: str, expected: bool) -> None:
    assert needs_context(question) is expected


def test_pronoun_is_resolved_to_the_previous_person() -> None:
    history = [_turn("Who is Jens Stoltenberg?")]
    assert (
        standalone_question("What did he decide on 6 October?", history)
        == "What did Jens Stoltenberg decide on 6 October?"
    )


def test_topic_is_carried_into_a_short_follow_up() -> None:
    history = [_turn("Why did Russia suspend its mission to NATO?")]
    rewritten = standalone_question("And when does that take effect?", history)
    assert rewritten.startswith("When does that take effect?")
    for word in ("Russia", "NATO", "mission"):
        assert word in rewritten


def test_standalone_question_is_left_alone() -> None:
    history = [_turn("Who is Jens Stoltenberg?")]
    q = "When did NATO decide to suspend civilian and military cooperation with Russia?"
    assert standalone_question(q, history) == q


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c["id"] for c in CONVERSATIONS])
def test_seed_conversations(seed_service: NewsService, conv: dict) -> None:
    session = f"test-{conv['id']}"
    seed_service.reset(session)
    for turn in conv["turns"]:
        answer = seed_service.ask(turn["question"], session_id=session)
        assert any(a.lower() in answer.text.lower() for a in turn["answers"]), answer
    assert len(seed_service.sessions.history(session)) == len(conv["turns"])


def test_sessions_do_not_share_history(seed_service: NewsService) -> None:
    seed_service.ask("Who is Jens Stoltenberg?", session_id="alice")
    seed_service.ask("Why did Russia suspend its mission to NATO?", session_id="bob")
    answer = seed_service.ask("What did he decide on 6 October?", session_id="alice")
    assert answer.standalone_question == "What did Jens Stoltenberg decide on 6 October?"
    assert seed_service.last_turn("bob").question == "Why did Russia suspend its mission to NATO?"


def test_an_unusable_session_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "sessions.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SessionStoreError, match=r"sessions\.sqlite cannot be used"):
        SQLiteConversationStore(bad).history("s")


def test_a_locked_session_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite"
    store = SQLiteConversationStore(path)
    store._con.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SessionStoreError, match="locked"):
            store.append("s", Turn("q", "q", "a"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.append("s", Turn("q", "q", "a"))  # usable again once the lock is gone
    assert [t.question for t in store.history("s")] == ["q"]
