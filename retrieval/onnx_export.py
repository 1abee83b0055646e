"""Export the local sentence-transformers model to ONNX once, into a verified cache.

The export needs torch and transformers and runs only when the cache holds no good copy (on
the first ingest or question with ``embedding.backend: onnx``); afterwards the ONNX backend
loads the cached file with onnxruntime alone. Nothing is downloaded: the graph is traced
from the packaged weights.

Layout: ``<cache>/onnx/<key>/model-<precision>.onnx`` with ``model-<precision>.json`` beside
it (SHA-256 and size of the .onnx). ``<key>`` hashes the source folder's file names, sizes
and modification times with the exporter's version, so a changed model exports anew. Each
file is written under a temporary name, fsynced and renamed; the .json is renamed last, so
a file without its .json is an unfinished export and is never loaded. A file whose checksum
disagrees is exported again, never served. ``model-<precision>-opt-ort<version>.onnx`` is
the same graph as onnxruntime optimises it, saved once per onnxruntime version (what the
backend loads). A BERT model's graph is exported with its attention, layer norms and GELU fused
into onnxruntime's transformer operators (same vectors at fp32, and int8 can quantise the
fused attention).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from retrieval import checksums
from retrieval.errors import ConfigError

EXPORT_VERSION = 4  # bump when the export or the quantisation recipe changes
PRECISIONS = ("fp32", "int8")
CACHE_ENV = "NEWSBOT_CACHE_DIR"


def cache_root() -> Path:
    """Where exported models are kept: $NEWSBOT_CACHE_DIR, else the XDG cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "newsbot"


def model_key(model_path: Path) -> str:
    """A cheap identity of the source model folder (no hashing of the 90 MB weights)."""
    h = hashlib.sha256(f"newsbot-onnx-export-{EXPORT_VERSION}".encode())
    for f in sorted(p for p in model_path.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(model_path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def ensure_onnx(
    model_path: Path, precision: str, root: Path | None = None, *, optimized: bool = False
) -> Path:
    """The verified ONNX file of ``model_path`` at ``precision``, exported first if needed.

    ``optimized``: the graph as onnxruntime optimises it when a session opens (fused
    attention and layer norms), saved once for this onnxruntime version, so that a session
    opens without optimising (a cold `newsbot ask` saves that time) and computes the same."""
    if precision not in PRECISIONS:
        raise ConfigError(f"embedding.precision: {precision!r} is not one of {PRECISIONS}")
    name = f"{precision}-opt-ort{_ort_version()}" if optimized else precision
    folder = (root or cache_root()) / "onnx" / model_key(model_path)

    def build() -> Path:
        plain = verified(folder, "fp32")
        if plain is None:
            plain = publish(folder, "fp32", model_path, lambda tmp: _export(model_path, tmp))
        if precision != "fp32":
            fp32 = plain
            plain = verified(folder, precision) or publish(
                folder, precision, model_path, lambda tmp: _quantize(fp32, tmp)
            )
        if not optimized:
            return plain
        return publish(folder, name, model_path, lambda tmp: _optimize(plain, tmp))

    return locked_export(folder, name, build)


def locked_export(folder: Path, name: str, build: Callable[[], Path]) -> Path:
    """The verified ``model-<name>.onnx`` of the folder, else what ``build()`` publishes,
    run under the folder's lock (after looking again: another process may have finished
    meanwhile)."""
    found = verified(folder, name)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with export_lock(folder):
        return verified(folder, name) or build()


def verified(folder: Path, precision: str) -> Path | None:
    """``model-<precision>.onnx`` in the folder when its .json vouches for it, else None."""
    onnx_file = folder / f"model-{precision}.onnx"
    try:
        meta = json.loads((folder / f"model-{precision}.json").read_text(encoding="utf-8"))
        if (
            onnx_file.stat().st_size != meta["bytes"]
            or checksums.digest_file(onnx_file, "sha256") != meta["sha256"]
        ):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return onnx_file


def publish(folder: Path, precision: str, model_path: Path, make: Any) -> Path:
    """Write ``model-<precision>.onnx`` with ``make(tmp)`` under a temporary name, then
    rename it and its checksummed .json (last) into place."""
    tmp = folder / f".tmp-{uuid.uuid4().hex}.onnx"
    final = folder / f"model-{precision}.onnx"
    try:
        make(tmp)
        meta = {
            "sha256": checksums.digest_file(tmp, "sha256"),
            "bytes": tmp.stat().st_size,
            "precision": precision,
            "source": str(model_path),
            "export_version": EXPORT_VERSION,
        }
        _fsync(tmp)
        tmp.replace(final)
        meta_tmp = folder / f".tmp-{uuid.uuid4().hex}.json"
        meta_tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _fsync(meta_tmp)
        meta_tmp.replace(folder / f"model-{precision}.json")
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def _export(model_path: Path, dest: Path) -> None:
    """Trace the transformer with mean pooling and L2 normalisation inside the graph; the
    word-piece vectors are a second output."""
    pooling = model_path / "1_Pooling" / "config.json"
    if pooling.exists():
        cfg = json.loads(pooling.read_text(encoding="utf-8"))
        if not cfg.get("pooling_mode_mean_tokens"):
            raise ConfigError(
                "embedding.backend: onnx supports mean-pooling models only; use backend: torch"
            )
    try:
        import torch
        import transformers
        from transformers import AutoModel
    except ImportError:
        raise ConfigError(
            "embedding.backend: onnx exports the model once with torch and transformers, "
            "which are not installed; pip install torch==2.13.0 sentence-transformers (the "
            "CPU build, as the README installs it)"
        ) from None

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]
            # sentence-transformers' mean pooling and Normalize module, in the graph.
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            summed = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            # The word-piece vectors too: sentences are pooled from their chunk's pass.
            return torch.nn.functional.normalize(summed, p=2.0, dim=1), out

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # no "Loading weights" bar in `newsbot ask`
    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    model.eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    # The tracer warns about shape checks that are constant for an encoder; not actionable.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(dest),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding", "tokens"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "embedding": {0: "batch"},
                "tokens": {0: "batch", 1: "seq"},
            },
            opset_version=17,
            dynamo=False,
        )
    fuse(model_path, dest)


def fuse(model_path: Path, graph: Path) -> None:
    """Rewrite a BERT graph in place with onnxruntime's fused transformer operators
    (Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization).

    Measured on 256 squad_dev_a chunks (bench/README.md, session 13): fp32 vectors equal
    the unfused graph's within 3e-6 per word piece, 1.2x less CPU; int8 quantised after
    fusing (the attention too) 1.3x less than int8 quantised before it."""
    try:
        config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        return  # the fusions are written for BERT's graph; other models run unfused
    from onnxruntime.transformers.optimizer import optimize_model

    fused = optimize_model(
        str(graph),
        model_type="bert",
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
        opt_level=0,
    )
    fused.save_model_to_file(str(graph))


def _quantize(fp32: Path, dest: Path) -> None:
    """Dynamic int8 quantisation of the weights (activations are quantised per batch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Measured on 128 SQuAD paragraphs and questions, cosine to the fp32 vectors: the
    # default (per tensor, every op) min 0.920 / mean 0.962; one scale per output channel,
    # MatMul only, min 0.992 / mean 0.995. Signed weights (session 13): 1.3x less CPU than
    # unsigned ones on this CPU's int8 dot products (AVX-512 VNNI), cosines a hair lower on
    # short texts (questions min 0.988 vs 0.990, mean 0.9946 vs 0.9947); the fused
    # Attention's projections are quantised too.
    quantize_dynamic(
        str(fp32),
        str(dest),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"],
        # Fused operators are outside ONNX's shape inference: their outputs are float (1).
        extra_options={"DefaultTensorType": 1},
    )


# Extended, not all: the layout rewrites "all" adds are for convolutions and tie the saved
# graph to this CPU; for this encoder both compute the same vectors.
def _optimize(source: Path, dest: Path) -> None:
    """Save the graph as onnxruntime optimises it at session start."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(dest)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def _ort_version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)


@contextlib.contextmanager
def export_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's export lock: one process exports, the others wait for it."""
    fd = os.open(folder / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits: a concurrent export finishes first
        yield
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    with path.open("rb+") as f:
        os.fsync(f.fileno())
