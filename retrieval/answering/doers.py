"""Who does what to whom, read from the parse: "Did Russia expel NATO staff?" is not what
"NATO expelling eight Russian diplomats" says, though every word is there. A yes/no
question whose doer the evidence has done to by the same verb, by one the question has
done to, asks the roles the other way round.

The parser-free heuristics of retrieval/answering/roles.py check an LLM's claims against
their chunk; this reads a question, whose verb stands in its base form after "did"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from retrieval.answering.parse import Parsed, SentenceReader

# The parts of speech a role is named by: "NATO staff", "Russian diplomats" (not "eight").
_NAMING = {"PROPN", "NOUN"}
# Stems of this many letters: "Russia" and "Russian" are one side.
_STEM = 5


def swapped(reader: SentenceReader, question: str, evidence: Sequence[str]) -> bool:
    """Whether a sentence of the evidence has the question's doer done to, by the one the
    question has it do to, with the question's verb ("England beat Spain" against "Did
    Spain beat England?"; the passive reads the same: "Spain was beaten by England")."""
    asked, *said = reader.parse([question, *evidence])
    wanted = [(verb, doer, done) for verb, doer, done in _acts(asked) if doer and done]
    if not wanted:
        return False
    for parsed in said:
        for verb, doer, done in _acts(parsed):
            for v, q_doer, q_done in wanted:
                if v == verb and q_doer & done and q_done & doer and not q_doer & doer:
                    return True
    return False


def _acts(parsed: Parsed) -> Iterator[tuple[str, frozenset[str], frozenset[str]]]:
    """Each verb's lemma with the stems naming who does it and who it is done to."""
    tokens = parsed.tokens
    for i, t in enumerate(tokens):
        if t.pos != "VERB":
            continue
        doer: set[str] = set()
        done: set[str] = set()
        for j, child in enumerate(tokens):
            if child.head != i or j == i:
                continue
            if child.dep == "nsubj":
                doer |= _names(parsed, j)
            elif child.dep in ("nsubjpass", "dobj"):
                done |= _names(parsed, j)
            elif child.dep == "agent":
                doer |= {w for k, c in enumerate(tokens) if c.head == j for w in _names(parsed, k)}
        # "diplomats expelled by Russia": a participle's noun is what is done to.
        if t.dep == "acl" and doer:
            done |= _names(parsed, t.head, skip=i)
        yield t.lemma, frozenset(doer), frozenset(done)


def _names(parsed: Parsed, root: int, skip: int | None = None) -> set[str]:
    """The stems of the nouns and names of the phrase ``root`` heads (without the clause
    headed by ``skip``)."""
    span = parsed.subtree(root)
    out = set()
    for k in range(span.start, span.end):
        tok = parsed.tokens[k]
        if skip is not None and _under(parsed, k, skip):
            continue
        if tok.pos in _NAMING or (tok.pos == "ADJ" and tok.text[:1].isupper()):
            out.add(tok.text.lower()[:_STEM])
    return out


def _under(parsed: Parsed, k: int, top: int) -> bool:
    """Whether token ``k`` is ``top`` or in the phrase it heads."""
    seen = set()
    while k not in seen:
        if k == top:
            return True
        seen.add(k)
        k = parsed.tokens[k].head
    return False
