"""bench/synth_qa.py: cloze-translated questions from parsed sentences, answer spans that
point at the answer in their context, seeded output, and the reader's held-out SQuAD
articles never read."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "synth_qa.py"
spec = importlib.util.spec_from_file_location("synth_qa", BENCH)
assert spec is not None and spec.loader is not None
synth_qa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(synth_qa)


@pytest.fixture(scope="module")
def nlp() -> Any:
    return synth_qa.load_nlp()


def questions(nlp: Any, text: str) -> dict[str, str | None]:
    sent = next(iter(nlp(text).sents))
    return {
        span.text: synth_qa.cloze_question(span, label) for span, label in synth_qa.candidates(sent)
    }


def test_object_answers_move_to_the_front_with_do_support(nlp: Any) -> None:
    qs = questions(nlp, "The company hired 300 engineers in Berlin last year.")
    assert qs["300"] == "How many engineers did the company hire in Berlin last year?"
    assert qs["Berlin"] == "Where did the company hire 300 engineers last year?"
    assert qs["last year"] == "When did the company hire 300 engineers in Berlin?"


def test_a_subject_answer_is_replaced_in_place(nlp: Any) -> None:
    qs = questions(nlp, "Marco Rubio said he will make a decision in the next few weeks.")
    assert qs["Marco Rubio"] == "Who said he will make a decision in the next few weeks?"


def test_an_auxiliary_is_inverted(nlp: Any) -> None:
    qs = questions(nlp, "Apple was founded by Steve Jobs in 1976.")
    assert qs["1976"] == "When was Apple founded by Steve Jobs?"


def test_pairs_point_at_the_answer_and_are_seeded(nlp: Any) -> None:
    text = (
        "The council met in Leeds on Monday. It approved a budget of 40 million pounds. "
        "The mayor, Jane Smith, said the vote was close. Opponents plan to appeal in March."
    )
    doc = nlp(text)
    first = list(synth_qa.pairs(doc, random.Random(3), 2, 0.5))
    again = list(synth_qa.pairs(nlp(text), random.Random(3), 2, 0.5))
    assert first == again and first
    for ex in first:
        assert ex["question"].endswith("?")
        if ex["answer"] is not None:
            a, b = ex["answer"]
            assert ex["context"][a:b].strip()
            assert ex["context"][a:b] in text


def test_the_held_out_squad_articles_are_never_read(tmp_path: Path) -> None:
    src = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "squad-dev-00-000", "text": "held out"},
        {"id": "squad-dev-22-004", "text": "held out too"},
        {"id": "squad-dev-24-000", "text": "training text"},
        {"id": "mhr-1", "text": "news"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert list(synth_qa.texts([src])) == ["training text", "news"]
