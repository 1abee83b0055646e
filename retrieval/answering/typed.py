"""Short answers read from parsed sentences: candidates of the type the question asks for
(named entities for who / where / when / how many, noun chunks whose type fits a what / which
question's head noun), scored by general features — how much of the question the sentence
holds, how few dependency arcs separate the candidate from the question's words there, and
whether it stands where the question's own wh-word stands relative to the question's verb —
and given only when one clearly leads (see GATES)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.answering.parse import Parsed, SentenceReader, Span, Token
from retrieval.answering.picking import Pick, pick_from
from retrieval.condense import WHO_IS_NAME

# Entity types that answer each kind of question, with how well they fit.
KIND_TYPES: dict[str, dict[str, float]] = {
    "who": {"PERSON": 1.0, "ORG": 0.8, "NORP": 0.5, "GPE": 0.3},
    "where": {"GPE": 1.0, "LOC": 1.0, "FAC": 1.0, "ORG": 0.4},
    "when": {"DATE": 1.0, "TIME": 1.0},
    "how_many": {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 1.0, "PERCENT": 1.0},
}

# What / which + a head noun: entity types the noun names (its lemma, lower case).
_NOUN_TYPES: dict[str, str] = {
    **dict.fromkeys(
        "person man woman men women king queen president leader author writer artist player "
        "scientist composer director actor actress singer emperor general minister architect "
        "founder inventor pope saint philosopher poet musician engineer explorer ruler prince "
        "mathematician physicist chemist economist politician".split(),
        "PERSON",
    ),
    **dict.fromkeys(
        "company organization organisation team university college school party band group "
        "agency institution club network firm church newspaper corporation".split(),
        "ORG",
    ),
    **dict.fromkeys(
        "city country state nation region place town area island province continent capital "
        "county village location territory kingdom empire".split(),
        "GPE",
    ),
    **dict.fromkeys("river mountain ocean sea lake desert".split(), "LOC"),
    **dict.fromkeys("year century decade date day month era period season".split(), "DATE"),
    **dict.fromkeys("language".split(), "LANGUAGE"),
    **dict.fromkeys("nationality religion ethnicity".split(), "NORP"),
    **dict.fromkeys("percentage percent".split(), "PERCENT"),
    **dict.fromkeys("price cost amount sum".split(), "MONEY"),
    **dict.fromkeys("number".split(), "CARDINAL"),
    **dict.fromkeys("building stadium bridge airport".split(), "FAC"),
    **dict.fromkeys("book film song album work novel play opera".split(), "WORK_OF_ART"),
    **dict.fromkeys("law treaty act".split(), "LAW"),
    **dict.fromkeys("event war battle".split(), "EVENT"),
}

_WH = frozenset("what which who whom whose where when how".split())
# Words a question shares with any sentence: no evidence of where its answer is.
_LIGHT = frozenset(
    "be do have what which who whom whose where when how why the a an of in on at to for by "
    "with from as and or not that this these those it its there their they name call "
    "kind type sort many much".split()
)
_SUBJECT = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
_OBJECT = frozenset({"dobj", "attr", "oprd", "pobj", "dative", "obj", "acomp", "appos"})


@dataclass(frozen=True)
class Asked:
    """What a parsed question asks: the lemmas that should surround the answer, its verb,
    the role its wh-word plays for that verb, and a head noun naming the answer's type."""

    lemmas: frozenset[str]
    verb: str | None
    role: str | None  # "subject" / "object" / None
    noun: str | None


def asked(question: Parsed) -> Asked:
    """Read the question: content lemmas, the verb the wh-word depends on, its role, and the
    noun a what / which asks for ("What sport ..." -> "sport", "What kind of bird" -> "bird")."""
    toks = question.tokens
    lemmas = frozenset(
        t.lemma
        for t in toks
        if t.pos not in ("PUNCT", "DET", "ADP", "PRON", "AUX", "CCONJ")
        and t.lemma not in _LIGHT
        and t.text.lower() not in _WH
    )
    wh = next((i for i, t in enumerate(toks) if t.text.lower() in _WH), None)
    if wh is None:
        return Asked(lemmas, None, None, None)
    noun = None
    at = wh
    if toks[wh].dep == "det" and toks[toks[wh].head].pos in ("NOUN", "PROPN"):
        at = toks[wh].head
        noun = toks[at].lemma
        if noun in ("kind", "type", "sort", "form", "name"):
            of = [j for j, t in enumerate(toks) if t.head == at and t.dep == "prep"]
            objs = [j for j, t in enumerate(toks) if of and t.head == of[0] and t.dep == "pobj"]
            noun = toks[objs[0]].lemma if objs else None
    elif toks[wh].dep in ("attr", "nsubj"):
        # "What is the name of the city ...": the noun the copula introduces.
        head = toks[wh].head
        attrs = [
            j
            for j, t in enumerate(toks)
            if t.head == head
            and j != wh
            and t.dep in ("attr", "nsubj", "nsubjpass")
            and t.pos == "NOUN"
        ]
        if attrs and toks[head].lemma == "be":
            noun = toks[attrs[0]].lemma
    dep = toks[at].dep
    verb_at = toks[at].head
    if dep == "pobj":
        verb_at = toks[verb_at].head
    if toks[verb_at].lemma in ("do", "have"):
        # "What kind of programs did NBC Red test?": the verb "did" stands in for.
        root = next((j for j, t in enumerate(toks) if t.dep == "ROOT"), verb_at)
        verb_at = root if toks[root].pos == "VERB" else verb_at
    verb = toks[verb_at].lemma if toks[verb_at].pos in ("VERB", "AUX") else None
    role = "subject" if dep in _SUBJECT else "object" if dep in _OBJECT else None
    if verb == "be":
        verb, role = None, None
    return Asked(lemmas, verb, role, noun)


def types_for(kind: str, need: Asked) -> dict[str, float]:
    """The entity types that fit the question, with how well."""
    if kind in KIND_TYPES:
        return KIND_TYPES[kind]
    wanted = _NOUN_TYPES.get(need.noun or "")
    return {wanted: 1.0} if wanted else {}


def candidates(sentence: Parsed, kind: str, need: Asked) -> list[tuple[Span, float]]:
    """Spans of the sentence that could answer, with their type fit: entities of a fitting
    type; for a what / which question also noun chunks (typed by their head's entity)."""
    fits = types_for(kind, need)
    out = [
        (e, fits[e.label])
        for e in sentence.entities
        if e.label in fits and not _in_a_name(sentence, e)
    ]
    if kind == "other":
        taken = {(e.start, e.end) for e, _ in out}
        ents = {e.head: e for e in sentence.entities}
        for c in sentence.chunks:
            head = sentence.tokens[c.head]
            if (c.start, c.end) in taken or head.pos == "PRON":
                continue
            ent = ents.get(c.head)
            if need.noun and head.lemma == need.noun:
                fit = 1.0  # "What type of defense ...?": "the necessity defense"
            elif fits:
                fit = fits.get(ent.label, 0.0) if ent else 0.0
            else:
                fit = CHUNK_FIT if need.noun is None else OTHER_NOUN_FIT
            out.append((c, fit))
    return out


def _in_a_name(sentence: Parsed, span: Span) -> bool:
    """A day word written as part of a name ("Entertainment Tonight", "USA Today"): capitalised
    after a proper noun, as no date is written mid-sentence."""
    toks = sentence.tokens
    first = toks[span.start]
    return (
        span.label in ("DATE", "TIME")
        and span.end - span.start == 1
        and first.text.lower() in _DAY_WORDS
        and first.text[:1].isupper()
        and span.start > 0
        and toks[span.start - 1].pos == "PROPN"
    )


_DAY_WORDS = frozenset({"today", "tonight", "tomorrow", "yesterday", "now"})


# Type fit of a noun chunk when the question names no type, and when it names a noun that
# is not the chunk's head.
CHUNK_FIT = 0.5
OTHER_NOUN_FIT = 0.2


@dataclass(frozen=True)
class Weights:
    """How the features add up to a candidate's score."""

    align: float = 1.0
    near: float = 2.0
    role: float = 2.0
    fit: float = 1.0
    rank: float = 0.3


def picks(
    sentences: Sequence[Parsed], question: Parsed, kind: str, w: Weights = Weights()
) -> list[Pick]:
    """Every candidate of the asked type in the parsed sentences, best first."""
    need = asked(question)
    if not need.lemmas:
        return []
    qwords = {t.text.lower() for t in question.tokens} | set(need.lemmas)
    out: dict[str, Pick] = {}
    for i, sent in enumerate(sentences):
        toks = sent.tokens
        matched = [
            (j, t.lemma if t.lemma in need.lemmas else str(need.verb))
            for j, t in enumerate(toks)
            if t.lemma in need.lemmas or (need.verb and _same_act(t.lemma, need.verb, False))
        ]
        align = len({m for _, m in matched}) / len(need.lemmas)
        # A verb of the same act gives its subject the asker's role ("Spain defeated England"
        # for "Who won the final?"), though it says none of the question's words.
        verbs = {j for j, t in enumerate(toks) if need.verb and _same_act(t.lemma, need.verb)}
        for span, fit in candidates(sent, kind, need):
            text = _clean(sent, span)
            own = [t for t in toks[span.start : span.end] if t.pos not in ("DET", "PUNCT")]
            if (
                not text
                or not own
                or sum(t.text.lower() in qwords or t.lemma in qwords for t in own) * 2 > len(own)
            ):
                continue
            near: dict[str, float] = {}
            for j, lemma in matched:
                if span.start <= j < span.end:
                    continue
                d = sent.path_length(span.head, j)
                near[lemma] = max(near.get(lemma, 0.0), 1.0 / (1.0 + (d - 1) / 2.0))
            role = _role_fit(sent, span, verbs, need.role)
            score = (
                w.align * align
                + w.near * sum(near.values()) / len(need.lemmas)
                + w.role * role
                + w.fit * fit
                - w.rank * i
            )
            if text not in out or out[text].score < score:
                out[text] = Pick(text, i, score, align)
    return sorted(out.values(), key=lambda p: -p.score)


# Verbs that report what someone said: the speaker of any of them answers "Who announced
# ...?" ("Lavrov said on 18 October that ...").
_SAYING = frozenset(
    "say announce state declare claim tell report reveal confirm warn write add".split()
)


# Verbs of winning a contest: the subject of any of them answers "Who won ...?" ("Arsenal
# beat Chelsea 2-1", "Sixers upset Breakers").
_WINNING = frozenset(
    "win beat defeat topple upset edge rout overcome outlast outscore thrash crush".split()
)


def _same_act(lemma: str, verb: str, winning: bool = True) -> bool:
    acts = (_SAYING, _WINNING) if winning else (_SAYING,)
    return lemma == verb or any(verb in act and lemma in act for act in acts)


def _role_fit(sent: Parsed, span: Span, verbs: set[int], role: str | None) -> float:
    """1 when the span stands to the question's verb as the wh-word does (its subject, or
    the agent after "by"; its object), 0.5 when it depends on that verb another way."""
    if not verbs:
        return 0.0
    toks = sent.tokens
    head = toks[span.head]
    dep, up = head.dep, head.head
    if dep == "pobj":
        prep = toks[up]
        dep = "agent" if prep.dep == "agent" else "pobj"
        up = prep.head
    if up not in verbs:
        return 0.0
    if role == "subject":
        return 1.0 if dep in ("nsubj", "agent") else 0.0
    if role == "object":
        return 1.0 if dep in _OBJECT | {"nsubjpass"} else 0.0
    return 0.5


def _clean(sent: Parsed, span: Span) -> str:
    """The span's text without a leading determiner or possessive and a trailing "'s"; a
    date keeps its determiner ("this year" is a date, "year" none)."""
    toks = sent.tokens[span.start : span.end]
    dated = span.label in ("DATE", "TIME")
    while toks and (
        (toks[0].pos in ("DET", "PUNCT", "CCONJ") and not (dated and toks[0].pos == "DET"))
        or toks[0].dep == "poss"
    ):
        toks = toks[1:]
    while toks and (toks[-1].pos == "PUNCT" or toks[-1].dep == "case"):
        toks = toks[:-1]
    if not toks:
        return ""
    return re.sub(r"\s+", " ", sent.text[toks[0].start : toks[-1].end]).strip()


# Per kind: the share of the question's content lemmas the answer's sentence must hold and
# the answer's lead over the next different candidate. Calibrated on squad_dev_a's first 12
# articles (of 24): for each kind the gate that gives the most short answers while they are
# exact at least 7 times in 10 there, with a lead of at least 0.25 (two dates the question's
# words hold equally, "in 2015 and 2018", are no answer) and, for dates, a sentence that holds
# half the question (the year an album was recorded does not say when the band toured). Only
# the kinds where parsed candidates beat the rules over the text on those articles
# (kinds.answer_in_kind) are read.
GATES: dict[str, tuple[float, float]] = {
    "other": (0.0, 2.5),
    "who": (0.5, 0.25),
    "when": (0.5, 0.25),
}


def asks_identity(question: Parsed) -> bool:
    """ "Who is Jens Stoltenberg?": a copula with a proper name asks what the named one is,
    which no other name in the evidence answers."""
    toks = question.tokens
    return any(
        t.dep == "ROOT"
        and t.lemma == "be"
        and any(c.head == i and c.dep in ("nsubj", "attr") and c.pos == "PROPN" for c in toks)
        for i, t in enumerate(toks)
    )


def supported(
    reader: SentenceReader, sentences: Sequence[str], question: str, kind: str
) -> str | None:
    """The parsed candidate the evidence clearly supports (see GATES), else None."""
    if kind not in GATES or not sentences:
        return None
    min_align, min_lead = GATES[kind]
    parsed = reader.parse([question, *sentences])
    if kind == "who" and asks_identity(parsed[0]):
        return described(parsed[0], parsed[1:])
    ranked = picks(parsed[1:], parsed[0], kind)
    if not ranked or ranked[0].align < min_align:
        return None
    if kind == "who" and not _does_the_act(parsed[1 + ranked[0].sentence], asked(parsed[0])):
        return None
    text, _ = pick_from(ranked, min_lead)
    if kind == "who" and text and _only_the_speaker(parsed, ranked[0]):
        return None
    return text


def _does_the_act(sentence: Parsed, need: Asked) -> bool:
    """Whether a sentence can say who won what a "Who won ...?" question asks: it holds a
    verb of winning ("beat", "defeated"; "to earn the win" says "win" of no one), or a
    noun of it with "by" ("their defeat by the Swabian League"). A name that only stands
    near the question's other words ("Premier League" in "Man United vs Chelsea head to head
    record, all-time results between Premier League giants", a starter named in a preview)
    won nothing the sentence says. Other acts are often said in other words ("handed his
    position to" for "succeeded"), so only winning is held to its verb."""
    if need.verb not in _WINNING or need.role != "subject":
        return True
    toks = sentence.tokens
    by = {t.head for t in toks if t.lemma == "by"}
    # A noun of winning says who with "by" ("their defeat by the Swabian League").
    return any(
        t.lemma in _WINNING and (t.pos == "VERB" or (t.pos == "NOUN" and i in by))
        for i, t in enumerate(toks)
    )


def described(question: Parsed, sentences: Sequence[Parsed]) -> str | None:
    """What the first sentence (best first) that names the question's person calls them, in
    the words set before the name ("NATO Secretary-General Jens Stoltenberg", "TV talent show
    star Susan Boyle") or beside it ("Edith Piaf, an extremely popular singer in France"),
    else None: "Who is Jens Stoltenberg?"."""
    name = _asked_name(question)
    if not name:
        return None
    for sent in sentences:
        toks = sent.tokens
        for h, t in enumerate(toks):
            # The name ends there ("Minister" in "Foreign Minister Sergei Lavrov" is a title).
            if t.text != name[-1] or t.dep == "compound":
                continue
            first = h
            while first > 0 and toks[first - 1].text in name:
                first -= 1
            before = _modifiers_before(toks, first, h)
            if before is not None:
                return sent.text[toks[before].start : toks[first - 1].end]
            apposed = [j for j, c in enumerate(toks) if c.head == h and c.dep == "appos"]
            if apposed:
                return _clean(sent, sent.subtree(apposed[0]))
    return None


def _asked_name(question: Parsed) -> list[str]:
    """The words of the name a "Who is <name>?" question asks about, or none for another
    question ("Who was the Most Valuable Player?" asks who held a role)."""
    m = WHO_IS_NAME.match(question.text)
    return m.group(1).split() if m else []


def _modifiers_before(toks: Sequence[Token], first: int, head: int) -> int | None:
    """Where the run of words right before the name that modify it (its compounds and
    their adjectives, "Russian Foreign Minister") starts, or None."""
    start = first
    while start > 0:
        j = start - 1
        if toks[j].dep not in ("compound", "amod", "nmod", "punct") or not _leads_to(toks, j, head):
            break
        start = j
    while start < first and toks[start].dep == "punct":
        start += 1
    return start if start < first else None


def _leads_to(toks: Sequence[Token], j: int, head: int) -> bool:
    """Whether token ``j``'s heads reach ``head`` through tokens between the two."""
    lo = j
    while j != head:
        if not lo <= j < head:
            return False
        j = toks[j].head
    return True


def _only_the_speaker(parsed: Sequence[Parsed], pick: Pick) -> bool:
    """Whether the pick is the one quoted ("..., said a spokesperson, Sally Aldous") in a
    sentence that does not do what the question asks (it says "replace", the sentence only
    "remove"): the speaker answers "Who said ...?", not "Who replaced him?"."""
    need = asked(parsed[0])
    if need.verb is None or need.verb in _SAYING:
        return False
    sent = parsed[1 + pick.sentence]
    if any(_same_act(t.lemma, need.verb) for t in sent.tokens):
        return False
    toks = sent.tokens

    def speaks(t: Token) -> bool:
        # The subject of "said", or a name set beside it ("a spokesperson, Sally Aldous").
        verb = t.head if t.dep == "nsubj" else toks[t.head].head
        return t.dep in ("nsubj", "appos") and toks[verb].lemma in _SAYING

    return any(speaks(t) and sent.text[t.start : t.end] in pick.text for t in toks)
