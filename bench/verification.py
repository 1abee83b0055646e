"""Verification benchmark: does citation verification accept faithful rewrites of a chunk's
sentence and reject unfaithful edits of it?

From evidence sentences of ../shared/eval/squad_dev_a and ../shared/eval/multihop_sample it
generates, by rules and a fixed seed, faithful rewrites (a moved phrase, a change of voice,
synonyms, two sentences of one chunk joined) and unfaithful edits (a changed number, date or
name; a negation added or dropped; subject and object swapped; "all"/"every" added; a claim
from another chunk). Each is written as a model would, "<claim> [1].", citing the chunk the
sentence comes from, and verified against that one chunk. It reports, per kind, the share
accepted (faithful) or rejected (unfaithful), for today's rules (the whole ``retrieval``
package of the baseline commit, loaded under another name: its links judge with near-quotes,
as llamacpp runs it, and its claim judge) and the current ones, side by side in one run.

Items are split by article (a CRC32 of its id) into "tune", the half the checks may be
tuned on, and "held_out", only ever scored; each split's synonym items use only its half of
the synonym table. Every number is reported per split and for both.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/verification.py --json out.json
    HF_HUB_OFFLINE=1 .venv/bin/python bench/verification.py --only new_claim --examples ex.jsonl

Limits: the rewrites are rule-made, so they are cleaner and more uniform than a model's
(one edit each, grammatical, no hedging), and the faithful kinds only exercise what the
rules can generate; a score here bounds what the checks can tell apart, not a model's
acceptance rate.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import io
import itertools
import json
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from retrieval.answering.markup import MARKER, tidy  # noqa: E402
from retrieval.answering.verify import verify  # noqa: E402
from retrieval.config import load_settings  # noqa: E402
from retrieval.embeddings import make_embedder  # noqa: E402
from retrieval.retriever import Hit  # noqa: E402
from retrieval.service import NewsService  # noqa: E402
from retrieval.spans import DATE, NAME, NUMBER  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
SETS = ("squad_dev_a", "multihop_sample")
FAITHFUL = ("reorder", "voice", "synonym", "summary")
UNFAITHFUL = (
    "number",
    "date",
    "name",
    "negation_added",
    "negation_dropped",
    "swap",
    "quantifier",
    "other_chunk",
)
SYNONYMS = {
    "began": "started",
    "begin": "start",
    "largest": "biggest",
    "large": "big",
    "important": "significant",
    "built": "constructed",
    "used": "utilized",
    "received": "obtained",
    "located": "situated",
    "famous": "well-known",
    "created": "made",
    "approximately": "about",
    "major": "main",
    "wrote": "authored",
    "founded": "established",
    "purchased": "bought",
    "showed": "demonstrated",
    "decided": "chose",
    "allowed": "permitted",
    "needed": "required",
    "often": "frequently",
    "small": "little",
    "quickly": "rapidly",
    "main": "principal",
    "said": "stated",
    "company": "firm",
    "however": "but",
    "known as": "called",
    "currently": "now",
    "around": "about",
    "help": "assist",
    "buy": "purchase",
    "destroyed": "demolished",
    "country": "nation",
    "students": "pupils",
    "children": "kids",
    "ancient": "old",
    "modern": "contemporary",
    "died": "perished",
    "moved": "relocated",
    "led": "headed",
    "considered": "regarded",
    "produced": "made",
    "provide": "supply",
    "provided": "supplied",
    "includes": "contains",
    "included": "contained",
    "government": "administration",
    "war": "conflict",
    "fought": "battled",
    "significant": "considerable",
    "primarily": "mainly",
    "mostly": "largely",
    "later": "afterwards",
    "eventually": "ultimately",
    "originally": "initially",
    "reached": "attained",
    "increased": "grew",
    "developed": "devised",
    "opened": "inaugurated",
    "replaced": "superseded",
    "removed": "eliminated",
    "supported": "backed",
    "discovered": "found",
    "claimed": "asserted",
    "believed": "thought",
    "described": "characterized",
    "popular": "well-liked",
    "wealthy": "rich",
    "difficult": "hard",
    "powerful": "strong",
    "region": "area",
    "building": "structure",
    "buildings": "structures",
    "leader": "head",
    "tried": "attempted",
    "remained": "stayed",
    "completed": "finished",
    "caused": "brought about",
    "area": "zone",
    "returned": "came back",
    "called": "named",
    "similar": "comparable",
    "increase": "rise",
    "produce": "make",
    "city": "town",
    "shows": "demonstrates",
    "areas": "regions",
    "ruled": "governed",
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()
_LEAD = re.compile(
    r"^((?:In|On|At|During|After|Before|By|Since|Following|According to|Under|From|As of|"
    r"Between|Throughout|Within)\b[^,]{2,60}),\s+(.+)$"
)
_TAIL_YEAR = re.compile(r"^(.+?)\s+(in \d{4})$")
_ACTIVE = re.compile(
    r"^((?:The |the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*) ([a-z]+ed) ((?:the |a |an )?[\w'’ -]+?)"
    r"((?: in | on | at | for | to | with | during | after | from |, ).*)?$"
)
_PASSIVE = re.compile(
    r"^(.+?) (?:was|were) ([a-z]+ed) by ((?:the )?[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)*)(.*)$"
)
_AUX = re.compile(r"\b(is|was|are|were|has|had|have|can|will|would|could|did|does|do)\b (?!not\b)")
_NEG = re.compile(r"\s+(?:not|never)\b|n[’']t\b")


@dataclass
class Item:
    """One claim to verify against one chunk, and whether it is faithful to it."""

    kind: str
    faithful: bool
    claim: str
    source: str
    hit: Hit


def _body(sentence: str) -> str:
    return sentence.strip().rstrip(".!?").strip()


def _names(text: str) -> list[re.Match[str]]:
    dates = [m.span() for m in DATE.finditer(text)]
    return [
        m
        for m in NAME.finditer(text)
        if m.start() > 0 and not any(a <= m.start() < b for a, b in dates) and len(m.group()) > 2
    ]


def reorder(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """A leading phrase moved to the end, or a trailing "in 1990" to the front."""
    if m := _LEAD.match(s):
        lead = m.group(1)
        lead = lead[0].lower() + lead[1:]
        rest = m.group(2)
        return rest[0].upper() + rest[1:] + " " + lead
    if m := _TAIL_YEAR.match(s):
        head = m.group(1)
        if NAME.match(head) and head.split()[0] not in ("The", "A", "An", "It", "This"):
            return f"{m.group(2)[0].upper()}{m.group(2)[1:]}, {head}"
        return f"{m.group(2)[0].upper()}{m.group(2)[1:]}, {head[0].lower()}{head[1:]}"
    return None


def voice(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """Active to passive ("X founded Y" -> "Y was founded by X"), or passive to active."""
    if m := _PASSIVE.match(s):
        obj, verb, agent, rest = m.groups()
        obj = obj[0].lower() + obj[1:] if obj.split()[0] in ("The", "A", "An") else obj
        return f"{agent[0].upper()}{agent[1:]} {verb} {obj}{rest}"
    if m := _ACTIVE.match(s):
        subj, verb, obj, rest = m.groups()
        if len(obj.split()) > 6 or verb in ("used", "need"):
            return None
        subj = subj[0].lower() + subj[1:] if subj.startswith("The ") else subj
        return f"{obj[0].upper()}{obj[1:]} was {verb} by {subj}{rest or ''}"
    return None


def synonym(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """One or two words replaced by synonyms, from the half of the table that belongs to the
    sentence's split (the other half is never seen while tuning on it)."""
    table = [w for w in SYNONYMS if split_of(w) == ctx["split"]]
    present = [w for w in table if re.search(rf"\b{w}\b", s)]
    if not present:
        return None
    out = s
    for w in rng.sample(present, min(2, len(present))):
        out = re.sub(rf"\b{w}\b", SYNONYMS[w], out, count=1)
    return out


def summary(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """The sentence and the next one of its chunk joined into one."""
    nxt = ctx.get("next")
    if not nxt or len(nxt.split()) > 30:
        return None
    first = nxt.split()[0]
    # A first word stays capitalised only when the chunk capitalises it mid-sentence too.
    named = re.search(rf"[\w,;] {re.escape(first)}\b", ctx["chunk"])
    second = nxt if named else nxt[0].lower() + nxt[1:]
    if re.match(r"(?:it|its|this|these|they|he|she|his|her|their)\b", second, re.I):
        return None
    return f"{s}, and {_body(second)}"


def number(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """A number (not a year) changed."""
    dates = [m.span() for m in DATE.finditer(s)]
    for m in NUMBER.finditer(s):
        digits = re.search(r"\d+(?:\.\d+)?", m.group())
        if not digits or any(a <= m.start() < b for a, b in dates):
            continue
        value = float(digits.group().replace(",", ""))
        new = value * 2 + 1 if value < 1000 else value + 1000
        text = str(int(new)) if new.is_integer() else f"{new:.1f}"
        start = m.start() + digits.start()
        return s[:start] + text + s[start + len(digits.group()) :]
    return None


def date(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """A year or a month changed."""
    for m in DATE.finditer(s):
        month = next((mo for mo in MONTHS if mo in m.group()), None)
        if month:
            other = MONTHS[(MONTHS.index(month) + rng.randint(1, 11)) % 12]
            return s[: m.start()] + m.group().replace(month, other) + s[m.end() :]
        year = re.search(r"\d{4}", m.group())
        if year:
            start = m.start() + year.start()
            changed = str(int(year.group()) + rng.choice((-3, -2, -1, 1, 2, 3)))
            return s[:start] + changed + s[start + 4 :]
    return None


def name(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """A name replaced by a name from another article."""
    mine = _names(s)
    others = [n for n in ctx["other_names"] if n.casefold() not in ctx["chunk"].casefold()]
    if not mine or not others:
        return None
    m = rng.choice(mine)
    return s[: m.start()] + rng.choice(others) + s[m.end() :]


def negation_added(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """ "not" added after an auxiliary ("was founded" -> "was not founded")."""
    if _NEG.search(s):
        return None
    m = _AUX.search(s)
    return s[: m.end()] + "not " + s[m.end() :] if m else None


def negation_dropped(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """The sentence's denial left out."""
    m = _NEG.search(s)
    if not m:
        return None
    return s[: m.start()] + s[m.end() :]


def swap(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """Two names, with words other than "and" / "or" between them, exchanged."""
    names = _names(s) + ([NAME.match(s)] if NAME.match(s) else [])
    names = sorted({m.start(): m for m in names if m}.values(), key=lambda m: m.start())
    for a, b in itertools.pairwise(names):
        between = s[a.end() : b.start()]
        words = [w for w in re.findall(r"[a-z]+", between) if w not in ("and", "or", "the")]
        if a.group().casefold() == b.group().casefold() or not words or len(between) > 60:
            continue
        if a.group().split()[0] in ("The", "A", "An", "In", "On", "At", "By"):
            continue
        return s[: a.start()] + b.group() + between + a.group() + s[b.end() :]
    return None


def quantifier(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """ "all" or "every" added where the sentence has neither."""
    if re.search(r"\b(?:all|every)\b", s, re.I):
        return None
    if m := re.search(r"\bthe (?=[a-z]+s\b)", s):
        return s[: m.start()] + "all the " + s[m.end() :]
    if m := re.search(r"\b(?:a|an) (?=[a-z]+\b)", s[1:]):
        return s[: m.start() + 1] + "every " + s[m.end() + 1 :]
    return None


def other_chunk(s: str, rng: random.Random, ctx: dict[str, Any]) -> str | None:
    """A sentence of another article, cited to this chunk."""
    return _body(ctx["foreign"])


EDITS: dict[str, Callable[[str, random.Random, dict[str, Any]], str | None]] = {
    "reorder": reorder,
    "voice": voice,
    "synonym": synonym,
    "summary": summary,
    "number": number,
    "date": date,
    "name": name,
    "negation_added": negation_added,
    "negation_dropped": negation_dropped,
    "swap": swap,
    "quantifier": quantifier,
    "other_chunk": other_chunk,
}


def load_articles(per_set: int) -> list[dict[str, Any]]:
    """The first ``per_set`` articles of each dataset's corpus."""
    out = []
    for name_ in SETS:
        with (SHARED / name_ / "corpus.jsonl").open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= per_set:
                    break
                out.append(json.loads(line))
    return out


def build_items(service: NewsService, want: int, seed: int) -> tuple[list[Item], dict[str, int]]:
    """Evidence sentences (8-40 words) of the indexed chunks, and every edit that applies to
    each; returns the items and how many evidence sentences they come from, per split."""
    rng = random.Random(seed)
    index = service._current().index
    sentences: list[tuple[str, str | None, Hit]] = []
    seen_articles: dict[str, list[str]] = defaultdict(list)
    for hit in _all_hits(service):
        rows = index.sentences_of[hit.chunk.row]
        texts = [hit.article.text[index.sentences[r].start : index.sentences[r].end] for r in rows]
        for i, t in enumerate(texts):
            t = " ".join(t.split())
            if (
                8 <= len(t.split()) <= 40
                and t.endswith(".")
                and t not in seen_articles[hit.article.id]
            ):
                nxt = " ".join(texts[i + 1].split()) if i + 1 < len(texts) else None
                sentences.append((t, nxt, hit))
                seen_articles[hit.article.id].append(t)
    rng.shuffle(sentences)
    sentences = sentences[:want]
    all_names = sorted({m.group() for s, _, _ in sentences for m in _names(s)})
    items: list[Item] = []
    for k, (s, nxt, hit) in enumerate(sentences):
        foreign = next(
            t for t, _, h in sentences[k + 1 :] + sentences[:k] if h.article.id != hit.article.id
        )
        ctx = {
            "next": nxt,
            "chunk": hit.chunk.text + " " + hit.article.title,
            "other_names": rng.sample(all_names, min(40, len(all_names))),
            "foreign": foreign,
            "split": split_of(hit.article.id),
        }
        for kind, edit in EDITS.items():
            claim = edit(_body(s), rng, ctx)
            if claim and claim != _body(s):
                items.append(Item(kind, kind in FAITHFUL, claim, s, hit))
    per_split = {k: sum(split_of(h.article.id) == k for _, _, h in sentences) for k in SPLITS}
    return items, per_split | {"all": len(sentences)}


def _all_hits(service: NewsService) -> list[Hit]:
    """One hit per chunk of the index, in index order."""
    index = service._current().index
    return [
        Hit(chunk, index.articles[chunk.article_id], 1, 1.0, None, None, None)
        for chunk in index.chunks
    ]


# Today's rules: main before this session's changes to the claim judge (issue 15).
BASELINE = "00b2c1d"
SPLITS = ("tune", "held_out")


def split_of(article_id: str) -> str:
    """Which half an article's items fall in, fixed by its id: the checks are tuned on
    "tune" and reported on "held_out" too."""
    return SPLITS[zlib.crc32(article_id.encode("utf-8")) % 2]


def baseline_verify(rev: str = BASELINE) -> tuple[Callable[..., Any], Any]:
    """The baseline's verify() and its verify settings (None before there were any), loaded
    from the whole ``retrieval`` package at ``rev`` under another name, so that today's
    rules run next to the current ones in one process."""
    tar = subprocess.run(
        ["git", "archive", rev, "retrieval"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    tmp = Path(tempfile.mkdtemp(prefix="newsbot-baseline-"))
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(tmp, filter="data")
    package = "retrieval_at_" + re.sub(r"\W", "_", rev)
    (tmp / "retrieval").rename(tmp / package)
    for path in (tmp / package).rglob("*.py"):
        src = path.read_text(encoding="utf-8")
        src = re.sub(r"^(\s*)(from|import) retrieval\b", rf"\1\2 {package}", src, flags=re.M)
        path.write_text(src, encoding="utf-8")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    sys.path.insert(0, str(tmp))
    verify_module = importlib.import_module(f"{package}.answering.verify")
    config = importlib.import_module(f"{package}.config")
    settings_class = getattr(config, "VerifySettings", None)
    return verify_module.verify, settings_class() if settings_class else None


def run(
    items: list[Item],
    service: NewsService,
    verdicts: list[dict[str, Any]] | None = None,
    baseline: str = BASELINE,
    only: list[str] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Per split, rule set and kind, the share judged right (faithful kept, unfaithful
    dropped); each item's verdicts are appended to ``verdicts`` when given. ``only``
    names the rule sets to run (default: all)."""
    index = service._current().index
    embed = _cached(service.embedder.encode)
    # Every claim embedded once, in batches, as verify() will ask for it.
    embed([tidy(MARKER.sub(" ", f"{it.claim} [1].")) for it in items])
    old, old_settings = baseline_verify(baseline)
    settings = service.settings.verify

    def today(min_verbatim: float, judge: str) -> Callable[[Item], str]:
        extra = () if old_settings is None else (old_settings.model_copy(update={"judge": judge}),)
        return lambda it: _verdict(
            old(f"{it.claim} [1].", [it.hit], index, embed, "", min_verbatim, *extra)
        )

    def new(min_verbatim: float, judge: str) -> Callable[[Item], str]:
        checks = settings.model_copy(update={"judge": judge})
        return lambda it: _verdict(
            verify(f"{it.claim} [1].", [it.hit], index, embed, "", min_verbatim, checks)
        )

    rule_sets: dict[str, Callable[[Item], str]] = {
        "today_links_near_quote": today(0.9, "links"),
        "today_claim": today(0.0, "claim"),
        "new_links_near_quote": new(0.9, "links"),
        "new_claim": new(0.0, "claim"),
    }
    if old_settings is None:  # before the judges: with and without near-quotes
        rule_sets = {"today_near_quote": today(0.9, ""), "today": today(0.0, "")} | {
            k: v for k, v in rule_sets.items() if k.startswith("new")
        }
    if only:
        rule_sets = {k: v for k, v in rule_sets.items() if k in only}
    rows = [
        {
            "kind": it.kind,
            "split": split_of(it.hit.article.id),
            "claim": it.claim,
            "source": it.source,
        }
        for it in items
    ]
    right: dict[tuple[str, str], dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for label, judge in rule_sets.items():
        for it, row_ in zip(items, rows, strict=True):
            row_[label] = judge(it)
            for split in (row_["split"], "all"):
                right[split, label][it.kind].append((row_[label] == "kept") == it.faithful)
        print(f"{label}: done", file=sys.stderr)
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (split, label), by_kind in right.items():
        row = {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())}
        row["faithful_accepted"] = _share(by_kind, FAITHFUL)
        row["unfaithful_rejected"] = _share(by_kind, UNFAITHFUL)
        row["weakest_unfaithful"] = min((row[k] for k in UNFAITHFUL if k in by_kind), default=0.0)
        out[split][label] = row
    if verdicts is not None:
        verdicts.extend(rows)
    return dict(out)


def _verdict(v: Any) -> str:
    """ "kept", or the reason the claim was dropped."""
    if v.kept:
        return "kept"
    return str(v.dropped[0].reason) if v.dropped else "dropped"


def _cached(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """``encode`` remembering every text's vector: the rule sets embed the same claims."""
    seen: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, encode(new), strict=True))
        return np.stack([seen[t] for t in texts]) if texts else encode(texts)

    return embed


def _share(right: dict[str, list[bool]], kinds: tuple[str, ...]) -> float:
    values = [x for k in kinds for x in right.get(k, [])]
    return round(sum(values) / len(values), 3) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=400, help="evidence sentences")
    parser.add_argument("--articles", type=int, default=80, help="articles per dataset")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--examples", type=Path, help="write every item and verdict here")
    parser.add_argument(
        "--baseline", default=BASELINE, help="git revision whose verify.py is 'today'"
    )
    parser.add_argument("--only", nargs="+", help="run only these rule sets (e.g. new_claim)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsbot-verify-bench-") as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        corpus.write_text(
            "".join(json.dumps(a) + "\n" for a in load_articles(args.articles)), encoding="utf-8"
        )
        settings = load_settings(ROOT / "config.yaml")
        paths = settings.paths.model_copy(update={"docs": [str(corpus)], "index_dir": f"{tmp}/ix"})
        settings = settings.model_copy(update={"paths": paths})
        service = NewsService(settings, make_embedder(settings.embedding))
        service.ensure_index(progress=False)
        items, n = build_items(service, args.sentences, args.seed)
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for it in items:
            counts[split_of(it.hit.article.id)][it.kind] += 1
        verdicts: list[dict[str, Any]] = []
        results = run(items, service, verdicts, args.baseline, args.only)
        report = {
            "baseline": args.baseline,
            "evidence_sentences": n,
            "items": {k: dict(sorted(v.items())) for k, v in sorted(counts.items())},
            "results": results,
        }
    if args.examples:
        lines = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in verdicts)
        args.examples.write_text(lines, encoding="utf-8")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
