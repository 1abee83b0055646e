"""Scoring and timing shared by the bench commands: article-level hit@k and MRR@10 by the
rules of shared/eval/README.md, and warm per-query latency percentiles."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from retrieval.evaluation import Question

WARMUP = 5


def first_ids(ids: Iterable[str]) -> list[str]:
    """Corpus ids of ranked chunks, first occurrence kept."""
    return list(dict.fromkeys(ids))


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (as `newsbot eval` computes its latencies)."""
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def cpu_s() -> float:
    """CPU seconds this process has used so far, every thread's, user and system. Beside a
    wall time: other processes on a shared machine stretch the wall, much less the CPU."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


Call = Callable[[str], Any]
ToIds = Callable[[Any], list[str]] | None


def timed_runs(
    questions: Sequence[Question], calls: dict[str, tuple[Call, ToIds]]
) -> dict[str, tuple[list[list[str]], list[float]]]:
    """Ask every question of every pipeline, interleaved (question by question, so that load
    from other processes falls on all pipelines alike), after a few discarded warm-up calls.

    Returns, per pipeline, the ranked corpus ids (empty when it has no ``to_ids``) and the wall
    time of each call in ms; mapping results to ids is not timed.
    """
    for q in questions[:WARMUP]:
        for call, _ in calls.values():
            call(q.question)
    out: dict[str, tuple[list[list[str]], list[float]]] = {name: ([], []) for name in calls}
    for i, q in enumerate(questions, 1):
        for name, (call, to_ids) in calls.items():
            t0 = time.perf_counter()
            result = call(q.question)
            out[name][1].append((time.perf_counter() - t0) * 1000)
            if to_ids is not None:
                out[name][0].append(to_ids(result))
        if i % 100 == 0 or i == len(questions):
            print(f"  {i}/{len(questions)} questions", file=sys.stderr, flush=True)
    return out


def score(questions: Sequence[Question], ranked: Sequence[list[str]]) -> dict[str, float]:
    """hit@1, hit@5 and MRR@10 over distinct ranked corpus ids (answerable questions only)."""
    pairs = [(q, r) for q, r in zip(questions, ranked, strict=True) if q.answerable]
    if not pairs:
        return {"hit@1": float("nan"), "hit@5": float("nan"), "mrr@10": float("nan")}

    def hit(k: int) -> float:
        return statistics.fmean(any(i in q.evidence_ids for i in r[:k]) for q, r in pairs)

    mrr = statistics.fmean(
        next((1 / n for n, i in enumerate(r[:10], 1) if i in q.evidence_ids), 0.0) for q, r in pairs
    )
    return {"hit@1": hit(1), "hit@5": hit(5), "mrr@10": mrr}


def latency(ms: Sequence[float], prefix: str = "") -> dict[str, float]:
    """p50 and p95 of per-query wall times."""
    return {f"{prefix}p50_ms": percentile(ms, 50), f"{prefix}p95_ms": percentile(ms, 95)}
