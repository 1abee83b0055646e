"""The two embedding backends: onnx (fp32 and int8) against torch, and the onnx query path."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.config import EmbeddingSettings, load_settings
from retrieval.embeddings import Embedder, make_embedder
from retrieval.errors import ConfigError
from retrieval.ingest import index_signature
from retrieval.onnx_embedder import OnnxEmbedder
from retrieval.onnx_export import ensure_onnx
from retrieval.service import NewsService
from tests.conftest import SEED, run_probe

pytestmark = pytest.mark.slow  # the session exports the model once (torch tracing)

TEXTS = [
    "Russia suspended its mission to NATO.",
    "Who leads the alliance?",
    "x",
    "Ünïcödé — “quotes”, emoji 🙂 and 2021-10-19 dates.",
    # Longer than the model's 256 word pieces: both backends truncate the same way.
    "The alliance expelled eight members of the Russian mission last week. " * 40,
    SEED.read_text(encoding="utf-8")[:1500],
]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The torch backend: the reference the onnx backend (the default) is held to."""
    return make_embedder(EmbeddingSettings(backend="torch"))


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache of exported models, filled once per session."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_fp32(onnx_cache: Path) -> OnnxEmbedder:
    """The onnx backend at fp32 (exported into the private cache now)."""
    made = OnnxEmbedder(EmbeddingSettings(backend="onnx", precision="fp32"), onnx_cache)
    made.ensure_loaded()
    return made


@pytest.fixture(scope="session")
def onnx_int8(onnx_cache: Path, onnx_fp32: OnnxEmbedder) -> OnnxEmbedder:
    """The onnx backend at int8 (quantised from the fp32 export)."""
    made = OnnxEmbedder(EmbeddingSettings(backend="onnx", precision="int8"), onnx_cache)
    made.ensure_loaded()
    return made


def test_onnx_fp32_vectors_equal_torch(embedder: Embedder, onnx_fp32: OnnxEmbedder) -> None:
    torch_vecs = embedder.encode(TEXTS)
    onnx_vecs = onnx_fp32.encode(TEXTS)
    assert onnx_vecs.dtype == np.float32 and onnx_vecs.shape == torch_vecs.shape
    assert np.abs(onnx_vecs - torch_vecs).max() < 1e-5
    assert np.allclose(np.linalg.norm(onnx_vecs, axis=1), 1.0, atol=1e-5)


def test_onnx_int8_vectors_stay_close(onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder) -> None:
    cos = (onnx_fp32.encode(TEXTS) * onnx_int8.encode(TEXTS)).sum(axis=1)
    # The lowest is "x", one word piece padded in a batch of long texts (activations are
    # quantised per batch): 0.979 with signed int8 weights, 0.987 when embedded alone.
    assert cos.min() >= 0.975, cos
    assert cos.mean() >= 0.99, cos


@pytest.mark.parametrize(
    ("precision", "attention"), [("fp32", "Attention"), ("int8", "QAttention")]
)
def test_bert_graph_runs_fused_transformer_operators(
    precision: str, attention: str, onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder
) -> None:
    """MiniLM is exported with onnxruntime's fused attention and layer norms (int8 quantises
    the fused attention); the vectors are held to torch's by the tests above."""
    import onnx

    made = onnx_fp32 if precision == "fp32" else onnx_int8
    assert made.file is not None
    ops = {n.op_type for n in onnx.load(str(made.file), load_external_data=False).graph.node}
    assert {attention, "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops, ops


def test_backends_count_and_truncate_alike(
    embedder: Embedder, onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder
) -> None:
    for other in (onnx_fp32, onnx_int8):
        assert (other.dim, other.max_seq_length) == (embedder.dim, embedder.max_seq_length)
        assert other.count_tokens_batch(TEXTS) == embedder.count_tokens_batch(TEXTS)
        assert [other.count_tokens(t) for t in TEXTS] == embedder.count_tokens_batch(TEXTS)
        assert other.truncate(TEXTS[4], 30) == embedder.truncate(TEXTS[4], 30)
    assert onnx_fp32.encode([]).shape == (0, embedder.dim)


def test_index_signature_binds_int8_but_not_the_backend(
    embedder: Embedder, onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder, tmp_path: Path
) -> None:
    empty = tmp_path / "config.yaml"
    empty.write_text("{}\n", encoding="utf-8")
    settings = load_settings(empty)
    torch_sig = index_signature(settings, embedder)
    # Same vectors, same signature: an index built with torch serves the onnx backend.
    assert index_signature(settings, onnx_fp32) == torch_sig
    assert index_signature(settings, onnx_int8)["embedding"] == {
        **torch_sig["embedding"],
        "precision": "int8",
    }


def test_torch_backend_refuses_int8() -> None:
    with pytest.raises(ConfigError, match="backend: onnx"):
        make_embedder(EmbeddingSettings(backend="torch", precision="int8"))


def test_altered_cached_model_is_never_served(onnx_cache: Path, onnx_int8: OnnxEmbedder) -> None:
    cache = onnx_cache.parent / "altered-cache"
    shutil.copytree(onnx_cache, cache)
    [int8] = cache.glob("onnx/*/model-int8.onnx")
    good = int8.read_bytes()
    data = bytearray(good)
    data[len(data) // 2] ^= 0xFF
    int8.write_bytes(bytes(data))
    # Re-quantised from the (verified) fp32 export: the flipped byte is gone.
    path = ensure_onnx(onnx_int8.path, "int8", cache)
    assert path.read_bytes() != bytes(data)
    # An export that never got its checksum file is unfinished: never loaded either.
    (path.parent / "model-int8.json").unlink()
    path.write_bytes(b"half an export")
    assert ensure_onnx(onnx_int8.path, "int8", cache).read_bytes() != b"half an export"


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_saved_optimised_graph_computes_what_the_optimiser_would(
    precision: str, onnx_fp32: OnnxEmbedder, onnx_int8: OnnxEmbedder, onnx_cache: Path
) -> None:
    import onnxruntime as ort

    made = onnx_fp32 if precision == "fp32" else onnx_int8
    assert made.file is not None and f"model-{precision}-opt-ort" in made.file.name
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    plain = ort.InferenceSession(
        str(ensure_onnx(made.path, precision, onnx_cache)),
        options,
        providers=["CPUExecutionProvider"],
    )
    feeds, _ = made._feeds(TEXTS)
    for output in ("embedding", "tokens"):
        want = plain.run([output], feeds)[0]
        assert np.abs(made._session.run([output], feeds)[0] - want).max() < 1e-6


def test_onnx_ask_never_imports_torch(
    embedder: Embedder, onnx_int8: OnnxEmbedder, onnx_cache: Path, tmp_path: Path
) -> None:
    """A cold `newsbot ask` with the onnx backend loads neither torch nor
    sentence-transformers (the export is cached)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "paths:\n  docs: [docs]\n  index_dir: index\n"
        "embedding:\n  backend: onnx\n  precision: int8\n",
        encoding="utf-8",
    )
    NewsService(load_settings(cfg), onnx_int8).ingest(progress=False)
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules if m in "
        "('torch', 'sentence_transformers', 'transformers')), file=sys.stderr))\n"
        "sys.argv = ['newsbot', '--config', sys.argv[1], 'ask', 'Why did Russia suspend its "
        "NATO mission?']\n"
        "runpy.run_module('bot.cli', run_name='__main__')\n"
    )
    done = run_probe(probe, cfg, NEWSBOT_CACHE_DIR=str(onnx_cache))
    assert done.returncode == 0, done.stderr
    assert "NATO" in done.stdout
    assert "LOADED []" in done.stderr, done.stderr


POOLED_TEXT = (
    "Russia suspends NATO mission\n"
    "Russia will suspend its mission to NATO. The accreditation is withdrawn on November 1."
)
POOLED_SPANS = [(29, 69), (70, len(POOLED_TEXT)), (5000, 5010)]


def test_one_pass_gives_the_text_vector_and_its_sentences(
    embedder: Embedder, onnx_fp32: OnnxEmbedder
) -> None:
    whole, spans = embedder.encode_spans([POOLED_TEXT], [POOLED_SPANS])
    assert float(whole[0] @ embedder.encode([POOLED_TEXT])[0]) > 0.9999
    assert np.allclose(np.linalg.norm(spans[0][:2], axis=1), 1.0, atol=1e-5)
    # A sentence's pooled vector is closer to its own embedding than to the other's.
    own = embedder.encode([POOLED_TEXT[29:69], POOLED_TEXT[70:]])
    sims = spans[0][:2] @ own.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]
    assert np.isnan(spans[0][2]).all()  # a span outside the model's input has no vector
    # The onnx backend pools the same word pieces the same way.
    o_whole, o_spans = onnx_fp32.encode_spans([POOLED_TEXT], [POOLED_SPANS])
    assert np.abs(o_whole - whole).max() < 1e-5
    assert np.abs(o_spans[0][:2] - spans[0][:2]).max() < 1e-5


def test_pooled_sentences_embed_only_the_chunks_and_bind_the_index(
    make_settings: Any, seed_docs: Path
) -> None:
    from retrieval.errors import NewsbotError

    settings = make_settings([seed_docs], embedding={"sentences": "pooled"})
    embedder = make_embedder(settings.embedding)
    service = NewsService(settings, embedder)
    report = service.ingest(progress=False)
    stats = service.stats()
    assert report.embedded == stats["chunks"] < stats["sentences"]
    answer = service.ask("When is the accreditation withdrawn?")
    assert "November 1, 2021" in answer.text and answer.citations
    assert index_signature(settings, embedder)["embedding"]["sentences"] == "pooled"
    # An index with pooled sentence vectors is refused by a reader that embeds them alone.
    own = NewsService(make_settings([seed_docs]), embedder)
    with pytest.raises(NewsbotError, match="rebuild"):
        own.ingest(progress=False)
