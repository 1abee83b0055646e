"""The short-answer reader: a span of the quoted sentences that answers the question, read by
the packaged MiniLM with trained LoRA adapters and a start/end head (bench/train_reader.py,
retrieval/answering/reader/README.md), run on onnxruntime (exported once, see
retrieval/reader_export.py). Torch is never imported here."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# The linear layers that carry LoRA updates (name suffixes in the BERT model).
LORA_TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
WEIGHTS = Path(__file__).with_name("reader") / "reader-lora.npz"
# Question and quoted sentences, in the model's word pieces (longer context is cut).
MAX_LEN = 192
# A short answer is at most this many word pieces.
MAX_ANSWER_TOKENS = 30
_STRIP = " \t\n,.;:!?\"'()[]“”‘’«»-–—"


def load_tokenizer(model_path: Path) -> Any:
    """The model's fast tokenizer, for question + context pairs, unpadded."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def encode_pair(tok: Any, question: str, context: str, max_len: int = MAX_LEN) -> Any:
    """[CLS] question [SEP] context [SEP], the context cut to fit ``max_len``."""
    tok.enable_truncation(max_length=max_len, strategy="only_second")
    return tok.encode(question, context)


def best_span(
    start: np.ndarray, end: np.ndarray, enc: Any, sentences: Sequence[str]
) -> tuple[str | None, float]:
    """The best span inside one sentence of the context and its probability against every
    allowed span and "no answer" ([CLS]); (None, p) when "no answer" wins."""
    context = " ".join(sentences)
    # Which sentence each context character belongs to (-1: the joining space).
    owner = np.full(len(context) + 1, -1)
    at = 0
    for i, s in enumerate(sentences):
        owner[at : at + len(s)] = i
        at += len(s) + 1
    seq = enc.sequence_ids
    offsets = enc.offsets
    idx = np.array([i for i, sid in enumerate(seq) if sid == 1 and offsets[i][1] > offsets[i][0]])
    if len(idx) == 0:
        return None, 0.0
    a = np.array([offsets[i][0] for i in idx])
    b = np.array([offsets[i][1] for i in idx])
    sent_a = owner[a]
    sent_b = owner[np.maximum(b - 1, 0)]
    scores = start[idx][:, None] + end[idx][None, :]
    n = len(idx)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ok = (jj >= ii) & (jj - ii < MAX_ANSWER_TOKENS) & (sent_a[:, None] == sent_b[None, :])
    ok &= sent_a[:, None] >= 0
    if not ok.any():
        return None, 0.0
    scores = np.where(ok, scores, -np.inf)
    null = float(start[0] + end[0])
    top = max(float(scores.max()), null)
    total = float(np.exp(scores[ok] - top).sum()) + float(np.exp(null - top))
    i, j = (int(x) for x in np.unravel_index(int(np.argmax(scores)), scores.shape))
    best = float(scores[i, j])
    if null >= best:
        return None, float(np.exp(null - top) / total)
    text = context[a[i] : b[j]].strip(_STRIP)
    return (text or None), float(np.exp(best - top) / total)


class SpanReader:
    """The reader on onnxruntime: one call per question, one thread, loaded on first use."""

    def __init__(
        self, model_path: Path, cache_dir: Path | None = None, weights: Path = WEIGHTS
    ) -> None:
        self.model_path = model_path
        self.weights = weights
        self.cache_dir = cache_dir
        self._session: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def ensure_loaded(self) -> None:
        """Export the merged model once (torch, into the verified cache) and open it."""
        with self._lock:
            if self._session is not None:
                return
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import onnxruntime as ort

            from retrieval.reader_export import ensure_reader_onnx

            file = ensure_reader_onnx(self.model_path, self.weights, self.cache_dir)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self._tok = load_tokenizer(self.model_path)
            self._session = ort.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )

    def read(self, question: str, sentences: Sequence[str]) -> tuple[str | None, float]:
        """The answer span of the sentences (an exact substring of one of them, or None)
        and the reader's confidence in it."""
        if not sentences:
            return None, 0.0
        start, end, enc = self.logits(question, sentences)
        return best_span(start, end, enc, sentences)

    def logits(self, question: str, sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray, Any]:
        """The start and end scores of each word piece and the encoding they index."""
        self.ensure_loaded()
        enc = encode_pair(self._tok, question, " ".join(sentences))
        ids = np.array([enc.ids], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
        }
        start, end = self._session.run(["start", "end"], feeds)
        return start[0], end[0], enc
