"""The ONNX Runtime backend: the same model and tokenizer as the torch backend, run without
importing torch or sentence-transformers once the model is exported (see onnx_export)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import EmbeddingSettings
from retrieval.embeddings import Embedder, model_shape
from retrieval.errors import ConfigError
from retrieval.onnx_export import ensure_onnx


class OnnxEmbedder(Embedder):
    """An exported sentence-transformers model (mean pooling, unit vectors) on onnxruntime,
    exported (once) and loaded on the first text to embed."""

    backend = "onnx"

    def __init__(self, settings: EmbeddingSettings, cache_dir: Path | None = None) -> None:
        super().__init__(settings)
        tokenizer_file = self.path / "tokenizer.json"
        if not tokenizer_file.exists():
            raise ConfigError(
                f"embedding.backend: onnx needs {tokenizer_file} (a fast tokenizer); "
                "use backend: torch for this model"
            )
        self.precision = settings.precision
        shape = model_shape(self.path)
        if shape is None:
            raise ConfigError(f"embedding.model: {self.path} reports no embedding dimension")
        self.max_seq_length, self.dim = shape
        self._cache_dir = cache_dir
        self.file: Path | None = None

    def _load(self) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        # Optimised once into the cache (onnx_export): opening it skips the optimiser.
        self.file = ensure_onnx(self.path, self.precision, self._cache_dir, optimized=True)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        # Each model call on one thread, and as many batches at once as there are threads:
        # an operator split over threads waits for the slowest of them (on cores that other
        # work shares, often a thread the OS paused) and hands off work at every operator, and
        # one question's short input gains nothing from a second thread (bench/README.md,
        # session 15). The session runs concurrent calls safely.
        options.intra_op_num_threads = 1
        self.workers = self.threads or _cores()
        self._session = ort.InferenceSession(
            str(self.file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        # The encoding tokenizer truncates to the model's input, as sentence-transformers
        # does, and pads each batch to its longest text (tokenizer.json pads to a fixed 128).
        tokenizer: Any = Tokenizer.from_str(self._tokenizer_json())
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad = tokenizer.padding or {}
        tokenizer.enable_padding(
            pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]")
        )
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self.ensure_loaded()
        self.calls += len(texts)
        batches = self._batches(texts)
        bar: Any = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(batches), desc="Batches", unit="batch")

        def run(idx: np.ndarray) -> None:
            feeds, _ = self._feeds([texts[i] for i in idx])
            out[idx] = self._session.run(["embedding"], feeds)[0]
            if bar is not None:
                bar.update(1)

        self._each_batch(run, batches)
        if bar is not None:
            bar.close()
        return out

    def _hidden(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        feeds, encs = self._feeds(texts)
        hidden = self._session.run(["tokens"], feeds)[0]
        offsets = np.array([e.offsets for e in encs], dtype=np.int64).reshape(len(encs), -1, 2)
        return hidden, np.array([e.attention_mask for e in encs]), offsets

    def _feeds(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], list[Any]]:
        encs = self._tokenizer.encode_batch(list(texts))
        feeds = {
            "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
        }
        return {k: v for k, v in feeds.items() if k in self._inputs}, encs


def _cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
