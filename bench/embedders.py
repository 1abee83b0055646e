"""Embedding backends side by side in one run: texts/s for torch, onnx fp32 and onnx int8 on
the same texts, and the cosine between their vectors.

Run from the repo root: `.venv/bin/python bench/embedders.py --texts 256`. The texts are
chunk-sized paragraphs of a corpus.jsonl (default: squad_dev_a), cut at 1,500 characters;
`--sentences` embeds their first sentences instead (question-sized inputs). The onnx
exports are made first (outside the timing) in the usual cache ($NEWSBOT_CACHE_DIR).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from retrieval.config import EmbeddingSettings
from retrieval.embeddings import Embedder, make_embedder

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "squad_dev_a" / "corpus.jsonl"
BACKENDS = (("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8"))


def load_texts(corpus: Path, n: int, sentences: bool) -> list[str]:
    """The first n texts of a corpus.jsonl, as paragraphs or first sentences."""
    texts = []
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            texts.append(re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0] if sentences else text)
            if len(texts) >= n:
                break
    return [t[:1500] for t in texts]


def main() -> None:
    """Time every backend on the same texts and compare their vectors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--sentences", action="store_true")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1, help="timed passes (best kept)")
    args = parser.parse_args()
    texts = load_texts(args.corpus, args.texts, args.sentences)
    chars = sum(len(t) for t in texts)
    embedders: dict[str, Embedder] = {}
    for backend, precision in BACKENDS:
        settings = EmbeddingSettings(
            backend=backend, precision=precision, batch_size=args.batch_size
        )
        t0 = time.perf_counter()
        emb = make_embedder(settings)
        emb.encode(texts[:4])  # first-call set-up is not throughput
        print(f"{backend} {precision}: loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        embedders[f"{backend}-{precision}"] = emb
    vectors: dict[str, np.ndarray] = {}
    print(f"\n{len(texts)} texts, {chars / len(texts):.0f} chars each on average\n")
    print("| backend | texts/s | KB/s | seconds |\n|---|---:|---:|---:|")
    for name, emb in embedders.items():
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            vectors[name] = emb.encode(texts)
            best = min(best, time.perf_counter() - t0)
        print(f"| {name} | {len(texts) / best:.1f} | {chars / best / 1000:.1f} | {best:.1f} |")
    ref = vectors["torch-fp32"]
    print("\n| vs torch-fp32 | min cosine | mean cosine | max abs diff |\n|---|---:|---:|---:|")
    for name, vecs in vectors.items():
        cos = (vecs * ref).sum(axis=1)
        diff = np.abs(vecs - ref).max()
        print(f"| {name} | {cos.min():.4f} | {cos.mean():.4f} | {diff:.2e} |")


if __name__ == "__main__":
    main()
