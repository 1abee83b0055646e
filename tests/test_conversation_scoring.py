"""`newsbot eval` scores conversation turns by what they ask: a yes/no turn by its opening
yes or no, an unanswerable turn by saying the articles don't say, the rest by containment."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.answer import Answer
from retrieval.evaluation import (
    Question,
    TurnOutcome,
    conversation_scores,
    load_conversations,
    turn_is_right,
)
from retrieval.prompts import NO_ANSWER, NOT_STATED


def _answer(text: str, abstained: bool = False) -> Answer:
    return Answer(question="q", standalone_question="q", text=text, abstained=abstained)


def _q(kind: str, answers: list[str], answerable: bool = True) -> Question:
    return Question("c/1", "q?", answers, ["a"], answerable, kind=kind)


def test_a_yes_no_turn_is_right_only_when_the_answer_opens_with_the_right_word() -> None:
    no = _q("yesno", ["no"])
    # "no" occurs inside "not" and "known": containment would call these right.
    assert not turn_is_right(no, _answer("It is not known who was there [1]"))
    assert not turn_is_right(no, _answer("Yes, he did [1]"))
    assert turn_is_right(no, _answer("No, he did not. He stayed home [1]"))
    assert turn_is_right(_q("yesno", ["yes"]), _answer("Yes. He feels confident [1]"))
    assert not turn_is_right(_q("yesno", ["yes"]), _answer(f"{NOT_STATED} He said [1]"))


def test_an_unanswerable_turn_is_right_only_when_the_bot_says_the_articles_dont_say() -> None:
    q = _q("unanswerable", [], answerable=False)
    assert turn_is_right(q, _answer(NO_ANSWER, abstained=True))
    assert turn_is_right(q, _answer(f"{NOT_STATED} The report said only this [1]"))
    assert not turn_is_right(q, _answer("In 1952 [1]"))


def test_a_text_turn_is_scored_by_containment_but_never_when_abstained() -> None:
    q = _q("text", ["Tuesday"])
    assert turn_is_right(q, _answer("Tuesday [1]\n\nHe released it on Tuesday [1]"))
    assert not turn_is_right(q, _answer("On Monday [1]"))
    assert not turn_is_right(q, _answer(f"{NOT_STATED} It came out on Tuesday [1]"))


def test_conversation_scores_report_turn_abstention_and_yes_no_accuracy() -> None:
    turns = [
        (_q("text", ["Tuesday"]), _answer("Tuesday [1]")),
        (_q("yesno", ["yes"]), _answer("Yes, he did [1]")),
        (_q("yesno", ["no"]), _answer(NO_ANSWER, abstained=True)),
        (_q("unanswerable", [], answerable=False), _answer(NO_ANSWER, abstained=True)),
        (_q("text", ["Paris"]), _answer("In London [1]")),
    ]
    outcomes = [
        TurnOutcome(q, i, a, turn_is_right(q, a)) for i, (q, a) in enumerate(turns, start=1)
    ]
    scores = conversation_scores(outcomes)
    assert scores["conversations"] == 1 and scores["turns"] == 5
    assert scores["conversation_accuracy"] == 0.6
    assert scores["followup_accuracy"] == 0.5
    assert scores["yesno_accuracy"] == 0.5
    assert scores["turn_abstention"] == 1.0
    assert scores["false_turn_abstention"] == 0.25


def test_conversations_keep_kind_and_answerable_and_take_a_slice(tmp_path: Path) -> None:
    path = tmp_path / "conversations.jsonl"
    rows = [
        {
            "id": f"c{n}",
            "evidence_ids": [f"a{n}"],
            "turns": [
                {"question": "Who?", "answers": ["Ann"], "kind": "text"},
                {"question": "Is it?", "answers": [], "answerable": False, "kind": "unanswerable"},
            ],
        }
        for n in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    convs = load_conversations(path, limit=1, offset=1)
    assert len(convs) == 1
    first, second = convs[0]
    assert first.id == "c1/1" and first.kind == "text" and first.evidence_ids == ["a1"]
    assert second.kind == "unanswerable" and not second.answerable
    assert len(load_conversations(path)) == 3
