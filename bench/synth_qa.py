"""Synthetic question/answer pairs for pre-training the short-answer reader, made from
unlabelled text by cloze translation (Lewis et al. 2019, "Unsupervised Question Answering by
Cloze Translation"; Dhingra et al. 2018): in a sentence parsed by the project's spaCy
pipeline, an answer (a named entity, date, number or noun chunk) is replaced by a wh-word
chosen from its type and moved to the front with do-support where the parse allows, else
left in place. Deterministic (seeded); no labelled question is read.

    .venv/bin/python bench/synth_qa.py --out /tmp/s/synth.jsonl

Default sources: the shipped news (docs_store/*.jsonl), the multihop_sample and
coqa_news_dev corpora (text only) and squad_dev_a paragraphs of articles 24-46 only
(articles 00-22 are the reader's held-out slice and are never read).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The wh-word for an answer of each entity type (others: "what").
WH_BY_LABEL = {
    "PERSON": "who",
    "ORG": "what",
    "NORP": "who",
    "GPE": "where",
    "LOC": "where",
    "FAC": "where",
    "DATE": "when",
    "TIME": "when",
    "CARDINAL": "how many",
    "QUANTITY": "how much",
    "MONEY": "how much",
    "PERCENT": "what percentage",
}
# A where/when answer takes its preposition with it ("in Paris" -> "where").
PLACE_TIME_PREPS = frozenset({"in", "at", "on", "during", "from", "near", "inside", "since"})
SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
DO = {"VBD": "did", "VBZ": "does", "VBP": "do"}
SQUAD_HELD_OUT = range(0, 24)  # squad_dev_a articles 00-22: never read


def wh_word(label: str, span: Any) -> str:
    """The wh-phrase for an answer span: by entity label; a number that counts a noun asks
    "how many <noun>"; a noun chunk asks "what"."""
    wh = WH_BY_LABEL.get(label, "what")
    if wh in ("where", "when"):
        # A place or date the sentence is about ("Paris is large") is asked with "what".
        first = span.doc[span.start - 1] if span.start > span.sent.start else None
        prep = first is not None and first.lower_ in PLACE_TIME_PREPS
        if not prep and span.root.dep_ not in ("npadvmod", "advmod", "tmod"):
            return "what"
    if label == "CARDINAL":
        head = span.root.head
        if span.root.dep_ == "nummod" and head.pos_ == "NOUN" and head.i >= span.end:
            return f"how many {head.text}"
        return "what"
    return wh


def answer_cut(span: Any, wh: str) -> tuple[int, int]:
    """The token range the wh-phrase replaces: the answer, with its preposition for a
    where/when answer, and with the counted noun for "how many <noun>"."""
    start, end = span.start, span.end
    if wh.startswith("how many "):
        end = span.root.head.i + 1
    first = span.doc[start - 1] if start > span.sent.start else None
    if first is not None and first.pos_ == "DET" and first.head.i == span.root.i:
        start -= 1  # "the what" reads worse than "what"
        first = span.doc[start - 1] if start > span.sent.start else None
    if wh in ("where", "when") and first is not None and first.lower_ in PLACE_TIME_PREPS:
        start -= 1
    return start, end


def _in_main_clause(span: Any, root: Any) -> bool:
    """Whether the answer hangs off the sentence's root without crossing another clause."""
    t = span.root
    while t.i != root.i:
        if t.dep_ in ("relcl", "ccomp", "xcomp", "advcl", "acl", "conj", "csubj", "pcomp"):
            return False
        if t.head.i == t.i:
            return False
        t = t.head
    return True


def _words(tokens: list[Any]) -> str:
    """Tokens joined with their own spacing, trailing punctuation dropped."""
    text = "".join(t.text_with_ws for t in tokens).strip()
    return text.rstrip(" .,;:!").strip()


def _tidy(question: str) -> str:
    """One space between words, none before punctuation or a contraction."""
    question = " ".join(question.split())
    return re.sub(r" (?=[,;:!?]|n't\b|'s\b)", "", question)


def cloze_question(span: Any, label: str) -> str | None:
    """The question whose answer is ``span`` (a spaCy Span inside a parsed sentence), or
    None when the sentence is unfit (no verb root, the answer is the whole sentence)."""
    sent = span.sent
    root = sent.root
    if root.pos_ not in ("VERB", "AUX") or span.start <= root.i < span.end:
        return None
    if span.root.dep_ in ("compound", "amod", "poss"):
        return None  # a modifier is not what a question asks for
    wh = wh_word(label, span)
    a, b = answer_cut(span, wh)
    toks = [t for t in sent if not t.is_space]
    rest = [t for t in toks if not a <= t.i < b]
    if len(rest) < 3:
        return None
    subj = next((c for c in root.children if c.dep_ in SUBJECTS), None)
    moved = None
    if subj is not None and _in_main_clause(span, root) and a > root.i:
        s0, s1 = subj.left_edge.i, subj.right_edge.i + 1
        if s0 == sent.start and s1 <= root.i:
            moved = _front(wh, root, rest, s0, s1)
    if moved is None:
        # Left in place ("The crisis began when?"), or a subject answer ("Who said it?").
        before = [t for t in toks if t.i < a]
        after = [t for t in toks if t.i >= b]
        head = _words(before)
        if not head:
            moved = f"{wh} {_words(after)}"
        else:
            moved = f"{_lower_first(before, head)} {wh} {_words(after)}"
    moved = _tidy(moved)
    return moved[:1].upper() + moved[1:] + "?" if moved else None


def _lower_first(tokens: list[Any], text: str) -> str:
    """The text with its first letter lowered unless it starts a name (or "I")."""
    first = tokens[0]
    if first.tag_ in ("NNP", "NNPS") or first.text == "I" or first.ent_type_:
        return text
    return text[:1].lower() + text[1:]


def _front(wh: str, root: Any, rest: list[Any], s0: int, s1: int) -> str | None:
    """wh + auxiliary (or do-support) + subject + the rest, for an answer after the verb."""
    aux = next((c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i), None)
    if aux is None and root.lemma_ == "be":
        aux = root
    subject = [t for t in rest if s0 <= t.i < s1]
    after = [t for t in rest if t.i >= s1 and (aux is None or t.i != aux.i)]
    if not subject:
        return None
    subj_text = _lower_first(subject, _words(subject))
    if aux is not None:
        return f"{wh} {aux.text.lower()} {subj_text} {_words(after)}"
    do = DO.get(root.tag_)
    if do is None:
        return None
    text = "".join(
        (t.lemma_ + (t.whitespace_ or "")) if t.i == root.i else t.text_with_ws for t in after
    )
    text = " ".join(text.split()).rstrip(" .,;:!")
    return f"{wh} {do} {subj_text} {text}"


def candidates(sent: Any) -> list[tuple[Any, str]]:
    """Answer spans of a sentence with their type: named entities, then noun chunks that
    overlap no entity (not pronouns)."""
    ents = [(e, e.label_) for e in sent.ents if e.label_ not in ("ORDINAL",)]
    taken = {i for e, _ in ents for i in range(e.start, e.end)}
    chunks = []
    for c in sent.noun_chunks:
        if c.root.pos_ == "PRON" or any(i in taken for i in range(c.start, c.end)):
            continue
        while c.start < c.end and c[0].pos_ == "DET":
            c = c.doc[c.start + 1 : c.end]
        if len(c):
            chunks.append((c, "NOUN_CHUNK"))
    return [(c, label) for c, label in ents + chunks if any(ch.isalnum() for ch in c.text)]


def pairs(doc: Any, rng: random.Random, per_sentence: int, negatives: float) -> Iterator[dict]:
    """Examples from one parsed text: a question, a context of the answer's sentence with
    0-2 neighbours and the answer's character span in it; with probability ``negatives``
    also the question against nearby sentences without the answer (span None)."""
    sents = [s for s in doc.sents if 6 <= len(s) <= 45]
    for k, sent in enumerate(sents):
        cands = candidates(sent)
        rng.shuffle(cands)
        made = 0
        for span, label in cands:
            if made >= per_sentence:
                break
            question = cloze_question(span, label)
            if question is None or len(question) > 200 or len(span) > 8:
                continue
            made += 1
            lo = max(0, k - rng.randint(0, 2))
            hi = min(len(sents), k + 1 + rng.randint(0, 2))
            context, at = "", 0
            for j in range(lo, hi):
                if j == k:
                    at = len(context) + span.start_char - sent.start_char
                context += sents[j].text + " "
            yield {
                "question": question,
                "context": context.strip(),
                "answer": [at, at + len(span.text)],
                "type": label,
            }
            others = [s.text for j, s in enumerate(sents) if abs(j - k) in (1, 2, 3)]
            other = " ".join(others[:2])
            if others and rng.random() < negatives and span.text not in other:
                yield {"question": question, "context": other, "answer": None, "type": label}


def texts(sources: list[Path]) -> Iterator[str]:
    """The text of each article of the JSON-lines sources (squad_dev_a: articles 24-46 only)."""
    for src in sources:
        for line in src.open(encoding="utf-8"):
            a = json.loads(line)
            squad = a.get("id", "").startswith("squad-dev-")
            if squad and int(a["id"].split("-")[2]) in SQUAD_HELD_OUT:
                continue
            yield a["text"]


def load_nlp() -> Any:
    """The project's verified spaCy pipeline (with its parser and entity recognizer)."""
    from retrieval.answering.spacy_reader import EXCLUDE, _import_spacy, model_folder, verify

    folder = model_folder()
    verify(folder)
    return _import_spacy().load(folder, exclude=list(EXCLUDE))


def main() -> None:
    """Write the synthetic examples, one JSON line each."""
    shared = REPO.parent / "shared/eval"
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "sources",
        nargs="*",
        type=Path,
        default=[
            *sorted((REPO / "docs_store").glob("*.jsonl")),
            shared / "coqa_news_dev/corpus.jsonl",
            shared / "squad_dev_a/corpus.jsonl",
        ],
    )
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-sentence", type=int, default=2)
    p.add_argument("--negatives", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    nlp = load_nlp()
    n = 0
    seen: set[str] = set()
    with args.out.open("w", encoding="utf-8") as out:
        for doc in nlp.pipe(t for t in texts(args.sources) if not (t in seen or seen.add(t))):
            for ex in pairs(doc, rng, args.per_sentence, args.negatives):
                out.write(json.dumps(ex) + "\n")
                n += 1
    print(f"{n} examples -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
