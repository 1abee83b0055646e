"""The two LangChain baselines newsbot is measured against, built as the tutorials build them:
RecursiveCharacterTextSplitter(1000, 200) + all-MiniLM-L6-v2 + FAISS, and LangChain's
EnsembleRetriever of BM25 and that FAISS retriever with equal weights."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _measure import cpu_s

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
K = 10


@dataclass
class Built:
    """A baseline index and what it took to build it."""

    search: Any  # str -> list[Document], best first
    chunks: int
    ingest_s: float
    ingest_cpu_s: float  # the process's CPU seconds (every thread) over the same span
    parts: dict[str, float]  # seconds per stage


def load_corpus(path: Path) -> list[Any]:
    """One LangChain Document per corpus record: its text, with the corpus id as metadata."""
    from langchain_core.documents import Document

    docs = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                docs.append(Document(page_content=r["text"], metadata={"id": str(r["id"])}))
    return docs


def load_embeddings(model_path: str) -> Any:
    """all-MiniLM-L6-v2 through langchain_huggingface, from the local folder only."""
    import transformers
    from langchain_huggingface import HuggingFaceEmbeddings

    transformers.logging.disable_progress_bar()
    return HuggingFaceEmbeddings(model_name=model_path)


def build_tutorial(docs: list[Any], embeddings: Any) -> tuple[Built, list[Any], Any]:
    """Split, embed and index the corpus; return the pipeline, its chunks and FAISS store."""
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    t0, cpu0 = time.perf_counter(), cpu_s()
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents(docs)
    t1 = time.perf_counter()
    store = FAISS.from_documents(chunks, embeddings)
    t2 = time.perf_counter()
    built = Built(
        search=lambda q: store.similarity_search(q, k=K),
        chunks=len(chunks),
        ingest_s=t2 - t0,
        ingest_cpu_s=cpu_s() - cpu0,
        parts={"split_s": t1 - t0, "embed_and_index_s": t2 - t1},
    )
    return built, chunks, store


def build_ensemble(tutorial: Built, chunks: list[Any], store: Any) -> Built:
    """BM25 (k=10) and the tutorial's FAISS retriever (k=10), fused with equal weights.

    Its ingest time is the tutorial's plus the BM25 build, since it needs both indexes.
    """
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever

    t0, cpu0 = time.perf_counter(), cpu_s()
    bm25 = BM25Retriever.from_documents(chunks, k=K)
    t1, cpu1 = time.perf_counter(), cpu_s()
    ensemble = EnsembleRetriever(
        retrievers=[bm25, store.as_retriever(search_kwargs={"k": K})], weights=[0.5, 0.5]
    )
    # The fused list holds up to 2k chunks; keep k, as every other pipeline returns k.
    return Built(
        search=lambda q: ensemble.invoke(q)[:K],
        chunks=len(chunks),
        ingest_s=tutorial.ingest_s + (t1 - t0),
        ingest_cpu_s=tutorial.ingest_cpu_s + (cpu1 - cpu0),
        parts={**tutorial.parts, "bm25_s": t1 - t0},
    )
