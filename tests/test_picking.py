"""Short answers picked from the quoted evidence by how the question's words hold a typed
span in place, and none when no candidate clearly leads (tests/data/short_answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.answering.kinds import answer_in_kind, ask_kind

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "short_answers" / "cases.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", CASES, ids=[c["behaviour"] for c in CASES])
def test_short_answer_in_kind(case: dict) -> None:
    question = case["question"]
    assert answer_in_kind(ask_kind(question), case["evidence"], question) == case["short"]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        # A capitalised "Who" after a name is part of the name.
        ("What Doctor Who story from 1970 is on Blu-ray?", "other"),
        ("Who played the Doctor in Doctor Who in 2005?", "who"),
        # The question word at the end asks, whatever the first word is.
        ("Any subcontractor has a direct contract with who?", "who"),
        ("Is it Paris or London?", "other"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert ask_kind(question) == kind
