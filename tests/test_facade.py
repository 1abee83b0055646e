"""The one service facade: conversations passed in or stored, one question check with typed
errors, typed citations of the last turn, snapshot reloads, answering while an ingest runs,
and adding articles as a library operation with one rule for ids and duplicates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from retrieval import adding
from retrieval import service as service_module
from retrieval.answer import Citation
from retrieval.embeddings import Embedder
from retrieval.errors import (
    ArticleConflictError,
    EmptyQuestionError,
    IngestLockedError,
    QuestionTooLongError,
)
from retrieval.service import NewsService
from retrieval.sessions import Turn

SEED_ID = "2021-10-19-russia-nato-mission"
ZORBLAT = {
    "id": "zorblat-budget",
    "title": "Zorblat council approves budget",
    "date": "2024-05-01",
    "source": "Example News",
    "text": "The Zorblat council approved a budget of 42 million euros on Tuesday.",
}


@pytest.fixture
def service(fresh_seed_service: NewsService) -> NewsService:
    return fresh_seed_service


# --- one question check ----------------------------------------------------------------


def test_the_question_check_raises_typed_errors(seed_service: NewsService) -> None:
    with pytest.raises(EmptyQuestionError):
        seed_service.ask(" \n\t ")
    limit = seed_service.settings.answer.max_question_chars
    with pytest.raises(QuestionTooLongError) as e:
        seed_service.ask("x" * (limit + 1))
    assert (e.value.length, e.value.limit) == (limit + 1, limit)
    assert seed_service.check_question("  When   is it? ") == "When is it?"


# --- conversations: stored or passed in -------------------------------------------------


def test_a_passed_history_makes_the_follow_up_standalone(seed_service: NewsService) -> None:
    history = [Turn("Who is Jens Stoltenberg?", "", "The NATO Secretary-General.")]
    answer = seed_service.ask("What did he decide on 6 October?", history=history)
    assert "Jens Stoltenberg" in answer.standalone_question
    assert any(w in answer.text for w in ("withdraw", "accreditation", "eight"))


def test_a_passed_history_is_bounded_before_condensing(seed_service: NewsService) -> None:
    limit = seed_service.settings.answer.max_question_chars
    huge = "NATO Russia mission " * 5_000  # 100 kB, as a chat client may resend
    answer = seed_service.ask("And why?", history=[Turn(huge, "", huge)])
    assert len(answer.standalone_question) <= limit


def test_session_and_history_are_exclusive(seed_service: NewsService) -> None:
    with pytest.raises(ValueError):
        seed_service.ask("Why?", session_id="s", history=[])


def test_a_turn_is_recorded_only_when_asked_to(seed_service: NewsService) -> None:
    seed_service.reset("rec")
    answer = seed_service.ask(
        "When is the accreditation withdrawn?", session_id="rec", record=False
    )
    assert seed_service.last_turn("rec") is None
    seed_service.remember("rec", answer)
    turn = seed_service.last_turn("rec")
    assert turn is not None and turn.question == "When is the accreditation withdrawn?"


def test_last_turn_has_typed_citations_and_drops_damaged_ones(tmp_path: Path) -> None:
    from retrieval.sessions import SQLiteConversationStore

    path = tmp_path / "sessions.sqlite"
    store = SQLiteConversationStore(path)
    good = Citation(
        n=1, article_id="a", title="T", quote="Q.", chunk_id="a#0", score=0.5, date="2021-01-01"
    )
    store.append("s", Turn("q", "q", "a [1]", None, [good]))
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO turns (session_id, created, question, standalone, answer, short_answer, "
        "citations) VALUES ('s', 0, 'q2', 'q2', 'b', NULL, ?)",
        ('[{"n": "not a number"}, ' + good.model_dump_json() + "]",),
    )
    con.commit()
    con.close()
    turns = SQLiteConversationStore(path).history("s")
    assert turns[0].citations == [good]
    assert turns[1].citations == [good]  # the damaged one is left out, the good one kept


# --- snapshots published elsewhere ------------------------------------------------------


def test_a_snapshot_published_by_another_process_is_used_without_a_restart(
    service: NewsService, seed_docs: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "_RELOAD_CHECK_S", 0.0)
    question = "When did the Plonk bridge reopen?"
    assert service.ask(question).abstained
    (seed_docs / "plonk.txt").write_text(
        "date 2022-02-02\nThe Plonk bridge reopened on 2 February 2022 after 17 months of "
        "repairs.\n",
        encoding="utf-8",
    )
    NewsService(service.settings, embedder).ingest(progress=False)  # like `newsbot ingest`
    answer = service.ask(question)
    assert not answer.abstained and answer.citations[0].article_id == "plonk"


def test_while_an_ingest_runs_the_current_snapshot_answers(
    service: NewsService, seed_docs: Path, embedder: Embedder
) -> None:
    (seed_docs / "new.txt").write_text("date 2022-01-01\nSomething new happened.\n", "utf-8")
    fresh = NewsService(service.settings, embedder)  # like a new `newsbot ask` process
    assert fresh.is_stale()
    with fresh.store.writer_lock():  # like `newsbot ingest` running meanwhile
        report = fresh.ensure_index(progress=False)
        assert report is not None and "being updated" in report.notice
        answer = fresh.ask("When is the accreditation withdrawn?")
    assert answer.short_answer == "November 1, 2021"


def test_the_cli_answers_while_an_ingest_runs(
    service: NewsService, seed_docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    (seed_docs / "new.txt").write_text("date 2022-01-01\nSomething new happened.\n", "utf-8")
    config = seed_docs.parent / "config.yaml"
    config.write_text(
        f"paths:\n  docs: [{seed_docs}]\n  index_dir: {service.settings.index_dir}\n", "utf-8"
    )
    with service.store.writer_lock():
        code = main(["--config", str(config), "ask", "When is the accreditation withdrawn?"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "November 1, 2021" in out
    assert "being updated" in err


# --- adding articles --------------------------------------------------------------------


def test_added_articles_are_written_to_added_and_answerable(
    service: NewsService, seed_docs: Path
) -> None:
    report = service.add_articles([ZORBLAT])
    [f] = report.files
    assert f.status == "indexed" and f.article_ids == ["zorblat-budget"]
    assert Path(f.path).parent == seed_docs / "added"
    answer = service.ask("What budget did the Zorblat council approve?")
    assert "42 million" in answer.text
    assert not service.is_stale()  # the folder is the source of truth


def test_an_added_article_may_not_take_a_curated_id(service: NewsService, seed_docs: Path) -> None:
    snapshot = service.store.current_name()
    with pytest.raises(ArticleConflictError, match=SEED_ID):
        service.add_articles([{**ZORBLAT, "id": SEED_ID}])
    assert not (seed_docs / "added").exists() or not any((seed_docs / "added").iterdir())
    assert service.store.current_name() == snapshot
    assert service.ask("When is the accreditation withdrawn?").short_answer == "November 1, 2021"


def test_a_full_ingest_keeps_the_curated_article_whatever_the_file_names(
    service: NewsService, seed_docs: Path
) -> None:
    # An added file that takes the seed's id (put there by hand) sorts before it or after it.
    added = seed_docs / "added"
    added.mkdir()
    for name in ("0-first.jsonl", "z-last.jsonl"):
        (added / name).write_bytes(adding.jsonl_bytes({**ZORBLAT, "id": SEED_ID}))
        report = service.ingest(progress=False)
        clash = next(f for f in report.files if f.path.endswith(name))
        assert clash.status == "skipped" and SEED_ID in clash.warnings[0]
        assert service.ask("When is the accreditation withdrawn?").short_answer == (
            "November 1, 2021"
        )
        (added / name).unlink()


def test_identical_text_under_two_ids_gets_one_verdict_on_both_paths(
    service: NewsService,
) -> None:
    first = service.add_articles([ZORBLAT])
    assert first.files[0].status == "indexed"
    second = service.add_articles([{**ZORBLAT, "id": "zorblat-copy"}])
    assert second.files[0].status == "duplicate", second.files[0]
    assert "zorblat-budget" in second.files[0].detail
    full = service.ingest(progress=False)
    verdicts = {Path(f.path).name: f.status for f in full.files}
    assert verdicts[adding.file_name("zorblat-copy")] == "duplicate"
    assert verdicts[adding.file_name("zorblat-budget")] == "unchanged"
    assert "zorblat-budget" in service.retriever.index.articles


def test_a_symlinked_added_folder_is_refused(
    service: NewsService, seed_docs: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (seed_docs / "added").symlink_to(outside)
    with pytest.raises(ArticleConflictError, match="symbolic link"):
        service.add_articles([ZORBLAT])
    assert list(outside.iterdir()) == []


def test_a_failed_ingest_puts_the_added_files_back(
    service: NewsService, seed_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.add_articles([ZORBLAT])
    path = seed_docs / "added" / adding.file_name("zorblat-budget")
    before = path.read_bytes()
    snapshot = service.store.current_name()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(service_module, "ingest", crash)
    with pytest.raises(OSError):
        service.add_articles([{**ZORBLAT, "text": "Changed text."}, {"id": "new", "text": "N."}])
    assert path.read_bytes() == before
    assert not (seed_docs / "added" / adding.file_name("new")).exists()
    assert service.store.current_name() == snapshot


def test_adding_while_another_ingest_writes_changes_nothing(
    service: NewsService, seed_docs: Path
) -> None:
    with service.store.writer_lock(), pytest.raises(IngestLockedError):
        service.add_articles([ZORBLAT])
    assert not (seed_docs / "added").exists() or not any((seed_docs / "added").iterdir())
