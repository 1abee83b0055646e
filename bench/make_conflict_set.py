"""A synthetic update / disagreement / paraphrase set from shared/eval/multihop_sample, and its
score. For articles with a sentence holding a count, three folders are written, each the base
articles plus one variant per base:

- ``update/``: a later article (two days on, same outlet) saying the count was revised;
- ``disagreement/``: a same-day article from another outlet giving a different count;
- ``paraphrase/``: a same-day article from another outlet giving the same count in other words.

Each folder has ``corpus.jsonl`` and ``questions.jsonl`` (the count's sentence turned into a
"how many" question, with ``old``/``new`` values). Scoring asks each question over its folder:
updates must lead with the newer value, disagreements must show both, paraphrases must not be
flagged.

    python bench/make_conflict_set.py --out /tmp/conflict_set --n 60
    python bench/make_conflict_set.py --out /tmp/conflict_set --score
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.answering.slots import number_value  # noqa: E402

SOURCE = ROOT.parent / "shared" / "eval" / "multihop_sample"
_COUNT = re.compile(r"(?<![\d.,$£€])\b(\d{1,3}(?:,\d{3})+|\d{2,})\b(?![.,]?\d|%| percent)")
_MONTH_BEFORE = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Week|No\.|number)\s*$",
    re.IGNORECASE,
)
_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def in_words(n: int) -> str:
    """1-99 in words ("thirty-three")."""
    if n < 20:
        return _WORDS[n]
    tens, unit = divmod(n, 10)
    return _TENS[tens] + (f"-{_WORDS[unit]}" if unit else "")


def pick(text: str) -> tuple[str, re.Match[str]] | None:
    """A sentence with one count (not a year) that makes a question of its own."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        if not 60 <= len(sentence) <= 260 or "?" in sentence or "“" in sentence:
            continue
        counts = [
            m
            for m in _COUNT.finditer(sentence)
            if not re.fullmatch(r"(19|20)\d\d", m[1])
            and not _MONTH_BEFORE.search(sentence[: m.start()])
        ]
        if len(counts) == 1 and not re.search(r"\b(19|20)\d\d\b", sentence):
            return sentence.strip(), counts[0]
    return None


def shifted(date: str | None, days: int) -> str | None:
    """The ISO date ``days`` later."""
    if not date:
        return None
    return (dt.date.fromisoformat(date[:10]) + dt.timedelta(days=days)).isoformat()


def make(out: Path, n: int, seed: int) -> None:
    """Write the three folders."""
    corpus = [json.loads(line) for line in (SOURCE / "corpus.jsonl").open(encoding="utf-8")]
    random.Random(seed).shuffle(corpus)
    chosen = []
    for art in corpus:
        found = pick(art["text"])
        if found and art.get("date"):
            chosen.append((art, *found))
        if len(chosen) >= n:
            break
    for kind in ("update", "disagreement", "paraphrase"):
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        docs, questions = [], []
        for i, (art, sentence, m) in enumerate(chosen):
            old = m[1]
            value = int(old.replace(",", ""))
            new_n = value + max(2, round(value * 0.25))
            new = f"{new_n:,}" if "," in old else str(new_n)
            base = {k: art[k] for k in ("id", "title", "date", "source", "url")}
            docs.append({**base, "text": sentence})
            variant = {"id": f"{art['id']}-{kind}", "url": None}
            if kind == "update":
                text = sentence[: m.start(1)] + new + sentence[m.end(1) :]
                text = f"{text} The figure was revised from {old}."
                variant |= {
                    "title": f"Update: {art['title']}",
                    "date": shifted(art["date"], 2),
                    "source": art["source"],
                }
            elif kind == "disagreement":
                text = sentence[: m.start(1)] + new + sentence[m.end(1) :]
                variant |= {"title": art["title"], "date": art["date"][:10], "source": "Wire X"}
            else:
                same = in_words(value) if value < 100 else f"{value:,}" if "," not in old else old
                text = sentence[: m.start(1)] + same + sentence[m.end(1) :]
                text = f"According to Wire X, {text[0].lower()}{text[1:]}"
                variant |= {"title": art["title"], "date": art["date"][:10], "source": "Wire X"}
            docs.append({**variant, "text": text})
            question = sentence[: m.start(1)] + "how many" + sentence[m.end(1) :]
            question = question.rstrip(" .") + "?"
            questions.append(
                {
                    "id": f"{kind}-{i}",
                    "question": question,
                    "answers": [new if kind != "paraphrase" else old],
                    "evidence_ids": [variant["id"]],
                    "answerable": True,
                    "kind": kind,
                    "old": old,
                    "new": new if kind != "paraphrase" else old,
                }
            )
        for name, rows in (("corpus", docs), ("questions", questions)):
            with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
    print(f"{len(chosen)} bases -> {out}", file=sys.stderr)


def _mentions(text: str, value: str) -> int:
    """Where a count first appears in the text (-1: not at all), in digits or words."""
    want = number_value(value)
    for m in re.finditer(r"\d[\d,]*|[a-z]+(?:-[a-z]+)?", text.lower()):
        if number_value(m.group()) == want:
            return m.start()
    return -1


def score(out: Path) -> dict[str, float]:
    """Ask every question over its folder; the three rates the issue sets targets for."""
    from retrieval.config import load_settings
    from retrieval.embeddings import make_embedder
    from retrieval.service import NewsService

    base = load_settings(ROOT / "config.yaml")
    embedder = make_embedder(base.embedding)
    result: dict[str, float] = {}
    for kind in ("update", "disagreement", "paraphrase"):
        folder = out / kind
        questions = [json.loads(line) for line in (folder / "questions.jsonl").open()]
        with tempfile.TemporaryDirectory() as tmp:
            paths = base.paths.model_copy(
                update={"docs": [str(folder / "corpus.jsonl")], "index_dir": tmp}
            )
            service = NewsService(base.model_copy(update={"paths": paths}), embedder)
            service.ingest(progress=False)
            ok = 0
            for q in questions:
                # Asked as `newsbot eval` asks a question without an asked-on day: the
                # questions are sentences of 2023 news, whose "on Friday" or "this year"
                # asked today would name a window of today's year that holds no article.
                a = service.ask(q["question"], time_aware=False)
                first = a.text.split("\n\n")[0]
                if kind == "update":
                    at_new, at_old = _mentions(first, q["new"]), _mentions(first, q["old"])
                    ok += at_new >= 0 and (at_old < 0 or at_new < at_old)
                elif kind == "disagreement":
                    both = _mentions(a.text, q["new"]) >= 0 and _mentions(a.text, q["old"]) >= 0
                    ok += both and a.conflict is not None
                else:
                    ok += a.conflict is not None
            key = {
                "update": "update_newer_leads",
                "disagreement": "disagreement_both_shown",
                "paraphrase": "paraphrase_flagged",
            }[kind]
            result[key] = round(ok / len(questions), 4)
            result[f"{kind}_questions"] = len(questions)
    return result


def main() -> None:
    """Make the set, or score it."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("/tmp/conflict_set"))
    p.add_argument("--n", type=int, default=60, help="base articles")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--score", action="store_true", help="score the set already made")
    args = p.parse_args()
    if args.score:
        print(json.dumps(score(args.out), indent=2))
    else:
        make(args.out, args.n, args.seed)


if __name__ == "__main__":
    main()
