"""The trained short-answer reader: spans come from one quoted sentence, "no answer" is an
answer, the shipped weights load without pickle, and the exported graph is verified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from retrieval import checksums
from retrieval.answering.reader import WEIGHTS, SpanReader, best_span
from retrieval.answering.shorts import MIN_CONFIDENCE, default_span_reader, short_answer
from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path
from retrieval.reader_export import ensure_reader_onnx, load_weights

CASES = Path(__file__).parent / "data" / "short_answers" / "cases.jsonl"


@dataclass
class _Encoding:
    """The fields of a tokenizers Encoding that best_span reads."""

    sequence_ids: list[int | None]
    offsets: list[tuple[int, int]]


def _words(sentences: list[str]) -> _Encoding:
    """[CLS] q [SEP] then one 'word piece' per word of the joined sentences."""
    context = " ".join(sentences)
    seq: list[int | None] = [None, 0, None]
    offsets = [(0, 0), (0, 1), (0, 0)]
    at = 0
    for word in context.split(" "):
        seq.append(1)
        offsets.append((at, at + len(word)))
        at += len(word) + 1
    return _Encoding(seq, offsets)


def test_a_span_never_crosses_sentences_and_is_stripped() -> None:
    sentences = ["Staff left on Monday.", "Lavrov announced it."]
    enc = _words(sentences)
    n = len(enc.offsets)
    start = np.full(n, -5.0)
    end = np.full(n, -5.0)
    start[6] = 6.0  # "Monday."
    end[7] = 6.0  # "Lavrov" (the next sentence): no span may join them
    end[6] = 3.0
    text, confidence = best_span(start, end, enc, sentences)
    assert text == "Monday"
    assert any(text in s for s in sentences) and 0.0 < confidence < 1.0


def test_no_answer_wins_when_cls_scores_highest() -> None:
    sentences = ["The mission closes in November."]
    enc = _words(sentences)
    start = np.zeros(len(enc.offsets))
    end = np.zeros(len(enc.offsets))
    start[0] = end[0] = 8.0
    text, confidence = best_span(start, end, enc, sentences)
    assert text is None and confidence > 0.9


def test_the_shipped_weights_are_small_and_load_without_pickle(tmp_path: Path) -> None:
    assert WEIGHTS.stat().st_size < 2_000_000
    shipped = load_weights(WEIGHTS)
    assert shipped["head.weight"].shape == (2, 384)
    assert any(k.endswith("attention.self.query.lora_a") for k in shipped)
    assert all(v.dtype == np.float32 for v in shipped.values())  # as read: float32
    pickled = tmp_path / "bad.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError):
        load_weights(pickled)


@pytest.fixture(scope="module")
def span_reader() -> SpanReader:
    """The process's reader (exported once into the shared model cache)."""
    reader = default_span_reader()
    reader.ensure_loaded()
    return reader


def test_the_reader_only_returns_text_of_a_quoted_sentence(span_reader: SpanReader) -> None:
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    read = 0
    for case in cases:
        span, _ = span_reader.read(case["question"], case["evidence"])
        if span is not None:
            read += 1
            assert any(span in s for s in case["evidence"]), (case["question"], span)
    assert read >= len(cases) // 2


def test_the_reader_finds_the_seed_answers(span_reader: SpanReader) -> None:
    sentence = "The accreditation of its employees shall be withdrawn on November 1, 2021."
    span, confidence = span_reader.read("When is the accreditation withdrawn?", [sentence])
    assert span == "November 1, 2021" and confidence > 0.2


def test_the_reader_abstains_without_the_answer(span_reader: SpanReader) -> None:
    sentences = [
        "The accreditation of its employees shall be withdrawn on November 1, 2021.",
        "NATO expelled eight Russian diplomats from the country's mission.",
    ]
    question = "Which team won the football world cup final in Berlin?"
    span, confidence = span_reader.read(question, sentences)
    assert span is None or confidence < MIN_CONFIDENCE
    assert short_answer("other", sentences, question, span_reader) is None


@pytest.mark.slow
def test_the_export_is_verified_and_redone_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = resolve_model_path(DEFAULT_MODEL)
    first = ensure_reader_onnx(model, WEIGHTS, tmp_path)
    meta = json.loads(first.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["bytes"] == first.stat().st_size
    assert not list(first.parent.glob(".tmp-*"))  # written under a temporary name, renamed

    def no_export(*args: object) -> None:
        raise AssertionError("a verified export is never redone")

    monkeypatch.setattr("retrieval.reader_export._export", no_export)
    assert ensure_reader_onnx(model, WEIGHTS, tmp_path) == first
    monkeypatch.undo()
    with first.open("r+b") as f:  # damaged on disk: exported again, never served
        f.seek(100)
        f.write(b"\0\0\0\0")
    again = ensure_reader_onnx(model, WEIGHTS, tmp_path)
    redone = json.loads(again.with_suffix(".json").read_text(encoding="utf-8"))
    assert checksums.digest_file(again, "sha256") == redone["sha256"]
    reader = SpanReader(model, cache_dir=tmp_path)
    assert reader.read("When is it withdrawn?", ["It is withdrawn on November 1, 2021."])[0]
