"""Answer / no-answer policies for the short-answer reader over bench/reader_signals.py's
output: the reader's confidence alone (what the answerer does today), and a tiny logistic
regression (numpy only) over general signals that predicts whether the reader's span is
exactly right. Policies are fitted and their thresholds chosen on one signals file (the
validation articles); ``--apply`` reports the chosen policy on another (held out) once.
Rules first, the reader where they give none (retrieval/answering/shorts.py).

    .venv/bin/python bench/reader_policy.py /tmp/r/sig-val.json [--apply /tmp/r/sig-held.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

KINDS = ("who", "how_many", "where", "other", "when")
# The lowest threshold whose exact match reaches this is chosen (the target of issue 20).
TARGET_EM = 0.70
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "conf": ("conf",),
    "conf+edges": ("conf", "p_start", "p_end", "mass"),
    "conf+span": ("conf", "log_words", "in_question", "sentence0", "entity", "chunk"),
    "conf+kind": ("conf", *(f"kind_{k}" for k in KINDS)),
    "all": (
        "conf",
        "p_start",
        "p_end",
        "mass",
        "log_words",
        "in_question",
        "sentence0",
        "entity",
        "chunk",
        *(f"kind_{k}" for k in KINDS),
    ),
}


def features(row: dict, names: tuple[str, ...]) -> list[float]:
    """The named signals of a row with a span (probabilities as log-odds)."""
    extra = {
        "log_words": math.log(row["words"] + 1),
        "sentence0": float(row["sentence"] == 0),
        **{f"kind_{k}": float(row["kind"] == k) for k in KINDS},
    }
    out = []
    for name in names:
        v = extra[name] if name in extra else float(row[name])
        if name in ("conf", "p_start", "p_end", "mass"):
            v = min(max(v, 1e-4), 1 - 1e-4)
            v = math.log(v / (1 - v))
        out.append(v)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 500) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    reg = np.eye(x.shape[1]) * l2
    reg[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + reg @ w
        hess = x.T @ (x * (p * (1 - p))[:, None]) + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def candidates(rows: list[dict]) -> list[dict]:
    """The rows where the reader's span would be the short answer if the policy takes it."""
    return [r for r in rows if not r["abstained"] and not r["rule_short"] and r.get("span")]


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


def disagrees(row: dict) -> bool:
    """Whether the reader read a span that shares no word with the rules' short answer."""
    return bool(row.get("span")) and not _words(row["span"]) & _words(row["rule_short"])


def outcome(
    rows: list[dict], take: Callable[[dict], bool], veto: bool = False
) -> tuple[float, float]:
    """Short-answer rate and exact match of rules first, then the spans ``take`` accepts;
    with ``veto``, a rule answer the reader disagrees with is dropped (no short answer)."""
    ems = [
        r["rule_em"]
        for r in rows
        if not r["abstained"] and r["rule_short"] and not (veto and disagrees(r))
    ]
    ems += [r["em"] for r in candidates(rows) if take(r)]
    return len(ems) / len(rows), (sum(ems) / len(ems) if ems else 0.0)


def scorer(rows: list[dict], names: tuple[str, ...]) -> Callable[[dict], float]:
    """A row -> probability-of-exact scorer fitted on the rows' candidates."""
    if names == ("conf",):
        return lambda r: r["conf"]
    cand = candidates(rows)
    x = np.array([features(r, names) for r in cand])
    mu, sd = x.mean(0), x.std(0) + 1e-9
    w = fit_logistic((x - mu) / sd, np.array([r["em"] for r in cand], dtype=float))
    return lambda r: float(
        1 / (1 + np.exp(-((np.array(features(r, names)) - mu) / sd) @ w[:-1] - w[-1]))
    )


def above(score: Callable[[dict], float], t: float) -> Callable[[dict], bool]:
    """The policy that takes a span when its score reaches ``t``."""
    return lambda r: score(r) >= t


def choose(rows: list[dict], score: Callable[[dict], float], veto: bool = False) -> float:
    """The lowest threshold (of the candidates' own scores) whose EM reaches TARGET_EM."""
    for t in sorted({round(score(r), 4) for r in candidates(rows)}):
        if outcome(rows, above(score, t), veto)[1] >= TARGET_EM:
            return t
    return 1.0


def by_article_cv(
    rows: list[dict], names: tuple[str, ...], article: Callable[[dict], int], veto: bool = False
) -> tuple:
    """Leave-one-article-out: fit and choose on the others, apply to the left-out article;
    the pooled rate / EM over all articles."""
    pooled: list[dict] = []
    taken: set[int] = set()
    for a in sorted({article(r) for r in rows}):
        fit_rows = [r for r in rows if article(r) != a]
        score = scorer(fit_rows, names)
        t = choose(fit_rows, score, veto)
        test = [r for r in rows if article(r) == a]
        pooled += test
        taken |= {r["n"] for r in candidates(test) if score(r) >= t}
    return outcome(pooled, lambda r: r["n"] in taken, veto)


def oof_scores(rows: list[dict], names: tuple[str, ...], article: Callable[[dict], int]) -> dict:
    """Each candidate's score from a scorer fitted without its article (out of sample)."""
    out: dict[int, float] = {}
    for a in sorted({article(r) for r in rows}):
        score = scorer([r for r in rows if article(r) != a], names)
        out |= {r["n"]: score(r) for r in candidates(rows) if article(r) == a}
    return out


def em_at_rates(rows: list[dict], scores: dict, veto: bool, rates=(0.45, 0.5, 0.55)) -> str:
    """Exact match where the rate first reaches each of ``rates`` (sweeping the threshold)."""
    out = []
    ts = sorted(set(scores.values()), reverse=True)
    for want in rates:
        got = next(
            (
                outcome(rows, lambda r, t=t: scores.get(r["n"], -1) >= t, veto)
                for t in ts
                if outcome(rows, lambda r, t=t: scores.get(r["n"], -1) >= t, veto)[0] >= want
            ),
            (0.0, 0.0),
        )
        out.append(f"EM@{want:.2f} {got[1]:.3f}")
    return " ".join(out)


def reader_alone(rows: list[dict], rates=(0.3, 0.5)) -> str:
    """Exact match of the reader's own spans, most confident first (no rules), at a share of
    all the rows, and over every span it gives."""
    spans = sorted((r for r in rows if r.get("span")), key=lambda r: -r["conf"])
    out = [
        f"EM@{want:.2f} {np.mean([r['em'] for r in spans[: round(want * len(rows))]]):.3f}"
        for want in rates
        if round(want * len(rows)) <= len(spans)
    ]
    out.append(f"all {len(spans) / len(rows):.3f}/{np.mean([r['em'] for r in spans]):.3f}")
    return " ".join(out)


def agreeing(rows: list[dict], other: list[dict]) -> list[dict]:
    """The rows with a span only where a second reader read the same span, and the mean of
    the two confidences (an ensemble's agreement; twice the reading time)."""
    by_n = {r["n"]: r for r in other}
    out = []
    for r in rows:
        o = by_n[r["n"]]
        if r.get("span") and o.get("span") != r["span"]:
            r = r | {"span": None}
        elif r.get("span"):
            r = r | {"conf": (r["conf"] + o["conf"]) / 2}
        out.append(r)
    return out


def main() -> None:
    """Print each policy's validation curve point, cross-validated point and held-out point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("fit", type=Path, help="signals to fit and choose on (validation)")
    p.add_argument("--apply", type=Path, help="signals to report the chosen policies on, once")
    p.add_argument("--articles", type=Path, help="quoted.jsonl, for leave-one-article-out")
    p.add_argument(
        "--agree",
        nargs=2,
        type=Path,
        metavar=("FIT", "APPLY"),
        help="a second reader's signals on the same rows: take only spans both read",
    )
    p.add_argument(
        "--sets",
        nargs="+",
        choices=sorted(FEATURE_SETS),
        default=list(FEATURE_SETS),
        help="the policies to fit (conf alone needs only span, conf and em in the signals)",
    )
    args = p.parse_args()
    rows = json.loads(args.fit.read_text())
    held = json.loads(args.apply.read_text()) if args.apply else None
    if args.agree:
        rows = agreeing(rows, json.loads(args.agree[0].read_text()))
        held = held and agreeing(held, json.loads(args.agree[1].read_text()))
    art: dict[int, int] = {}
    if args.articles:
        for line in args.articles.open(encoding="utf-8"):
            r = json.loads(line)
            art[r["n"]] = int(r["evidence_ids"][0].split("-")[2])
    print(f"rules alone: fit {outcome(rows, lambda r: False)}")
    for t in (0.3, 0.4, 0.49, 0.6):
        line = f"conf >= {t}: fit {fmt(outcome(rows, lambda r, t=t: r['conf'] >= t))}"
        if held:
            line += f"  apply {fmt(outcome(held, lambda r, t=t: r['conf'] >= t))}"
        print(line)
    for label, part in (("fit", rows), ("apply", held)):
        if part:
            conf = {r["n"]: r["conf"] for r in candidates(part)}
            print(f"conf, {label}: {em_at_rates(part, conf, False, (0.4, 0.45, 0.5))}")
            print(f"reader alone, {label}: {reader_alone(part)}")
    sets = {name: FEATURE_SETS[name] for name in args.sets}
    for (name, names), veto in itertools.product(sets.items(), (False, True)):
        score = scorer(rows, names)
        t = choose(rows, score, veto)
        line = f"{name:11} veto {veto:d} t={t:.3f} fit {fmt(outcome(rows, above(score, t), veto))}"
        if art:
            line += f"  cv {fmt(by_article_cv(rows, names, lambda r: art[r['n']], veto))}"
            oof = oof_scores(rows, names, lambda r: art[r["n"]])
            line += f"  oof {em_at_rates(rows, oof, veto)}"
        if held:
            line += f"  apply {fmt(outcome(held, above(score, t), veto))}"
        print(line)


def fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:.3f}/{pair[1]:.3f}"


if __name__ == "__main__":
    main()
