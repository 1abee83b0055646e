"""The table of named checks and gates, as pure functions: each rejection records the name
of the first check (or gate) that made it; no embedding model needed."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from retrieval.answer import Answer, Citation
from retrieval.answering.checks import (
    CHECKS,
    GATES,
    CheckName,
    GateName,
    sentence_failure,
)
from retrieval.answering.evidence import Support
from retrieval.answering.facts import Facts
from retrieval.answering.gates import failed_gate
from retrieval.answering.links import denial_dropped
from retrieval.answering.roles import roles_swapped
from retrieval.answering.similar import WordMatcher, surface_words
from retrieval.answering.verify import KeptSentence, Verification, _reason
from retrieval.config import Settings, VerifySettings, verification_for
from retrieval.evaluation import Outcome, Question, summarize
from retrieval.lexical import terms

ANSWERING = Path(__file__).resolve().parents[1] / "retrieval" / "answering"
PUBLISHED = frozenset({("y", 2021), ("m", 10), ("d", 19)})
SENTENCE = "NATO expelled eight Russian diplomats on 6 October, Jens Stoltenberg said."


def facts(sentence: str = SENTENCE, title: str = "Russia suspends its NATO mission") -> Facts:
    return Facts(sentence, title, PUBLISHED)


def test_the_table_names_every_check_and_gate_once() -> None:
    assert [c.name for c in CHECKS] == list(get_args(CheckName))
    assert [g.name for g in GATES] == list(get_args(GateName))
    assert all(
        c.rejects and c.why and c.stage in ("sentence", "support", "context") for c in CHECKS
    )


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("NATO expelled eight Russian diplomats on 6 October", None),
        ("NATO expelled 8 Russian diplomats in October 2021", None),
        ("Sergei Lavrov said NATO expelled eight Russian diplomats", "name"),
        ("NATO expelled eight Russian diplomats on 7 October", "date"),
        ("NATO expelled nine Russian diplomats on 6 October", "number"),
        ("NATO expelled all eight Russian diplomats on 6 October", "quantifier"),
        ('NATO called the diplomats "secret agents of Russia"', "quote"),
    ],
)
def test_a_fact_the_sentence_lacks_is_named(claim: str, reason: str | None) -> None:
    assert facts().failure(claim) == reason


def test_a_name_inside_another_name_is_a_name_failure() -> None:
    source = facts("The Council of the European Union has powers of amendment.", "EU law")
    assert source.failure("The European Union has powers of amendment") == "name"
    assert source.failure("The Council of the European Union has powers of amendment") is None


@pytest.mark.parametrize(
    ("source", "claim", "swapped"),
    [
        ("Tesla worked for Edison in New York.", "Edison worked for Tesla in New York", True),
        ("Tesla worked for Edison in New York.", "In New York, Tesla worked for Edison", False),
        ("Edison hired Tesla in 1884.", "Tesla was hired by Edison in 1884", False),
        ("Edison hired Tesla in 1884.", "Tesla hired Edison in 1884", True),
        ("Tesla was hired by Edison in 1884.", "Edison hired Tesla in 1884", False),
        ("Tesla was hired by Edison in 1884.", "Edison was hired by Tesla in 1884", True),
    ],
)
def test_who_did_what_to_whom(source: str, claim: str, swapped: bool) -> None:
    assert facts(source, "").roles_swapped(claim) is swapped


def test_a_denial_left_out_is_found() -> None:
    text = "The plan was not approved by the parliament."
    assert denial_dropped("The plan was approved by the parliament", text, 2)
    assert not denial_dropped("The plan was not approved by the parliament", text, 2)
    assert not denial_dropped("The parliament met", text, 2)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("I couldn't find that in the articles.", "no_answer"),
        ("How many diplomats did NATO expel?", "question"),
        ("Diplomats NATO expel", "question"),
        ("The article is about NATO expelling diplomats.", "about_text"),
        ("NATO expelled eight Russian diplomats.", "repeated"),
        ("NATO expelled eight Russian diplomats from the mission saying", "unfinished"),
        ("NATO expelled diplomats on 6 October.", None),
    ],
)
def test_sentence_stage_checks_name_their_reason(body: str, reason: str | None) -> None:
    asked = frozenset(terms("How many diplomats did NATO expel?"))
    before = ["NATO expelled eight Russian diplomats"]
    assert sentence_failure(body, body, set(terms(body)), asked, before, True) == reason


def support(failed: CheckName | None, score: float = 0.8, verbatim: float = 1.0) -> Support:
    return Support(score, 0.9, 0.7, 3, failed, verbatim)


def test_the_reason_is_the_first_check_of_the_closest_cited_chunk() -> None:
    supports = [support("unsupported"), support("name", 0.75), support("premise", 0.6)]
    failures = [s.failed for s in supports]
    # It cites chunks 1 and 2: chunk 2 got furthest down the table, and failed "name".
    assert _reason([0, 1], supports, failures) == "name"
    # Citing nothing, the closest of all chunks decides.
    assert _reason([], supports, failures) == "premise"
    nothing = [support("unsupported"), support("unsupported")]
    assert _reason([], nothing, [s.failed for s in nothing]) == "uncited"
    assert _reason([1], nothing, [s.failed for s in nothing]) == "unsupported"


def test_near_quotes_fail_as_rephrased_only_when_asked() -> None:
    s = support(None, verbatim=0.6)
    assert s.with_verbatim(0.0) is None and s.with_verbatim(0.9) == "rephrased"
    assert support("number", verbatim=0.6).with_verbatim(0.9) == "number"


def verification(text: str, rows: tuple[int, ...] = (7,)) -> Verification:
    citation = Citation(n=1, article_id="a", title="t", quote="q", chunk_id="c", score=0.9)
    kept = [KeptSentence(text, (0,), (0.9,), False, rows)]
    return Verification(text=f"{text} [1]", citations=[citation], kept=kept)


@pytest.mark.parametrize(
    ("question", "v", "short", "gate"),
    [
        ("When did the FCC begin?", Verification(), None, "nothing_kept"),
        ("When did the FCC begin?", verification("The FCC began in 1938", (8,)), None,
         "off_evidence"),
        ("When did the FCC begin?", verification("The FCC began in 1950"), None, "stray_answer"),
        ("What did the FCC do?", verification("The FCC began work"), "1938",
         "short_answer_missing"),
        ("When did the FCC begin?", verification("The FCC began in 1938"), None,
         "unsettled_pick"),
        ("What did the FCC begin?", verification("The FCC began its work in 1938"), "1938",
         None),
    ],
)  # fmt: skip
def test_fallback_gates_name_themselves(
    question: str, v: Verification, short: str | None, gate: str | None
) -> None:
    quoted = [(7, "In 1938, the FCC began its work and published its report in 1940.")]
    assert failed_gate(question, v, short, quoted, VerifySettings()) == gate


def test_eval_counts_drops_per_reason_and_fallbacks_per_gate() -> None:
    def outcome(drop_reasons: list[str], fallback: str | None) -> Outcome:
        q = Question("1", "q?", ["x"], ["a"], True)
        answer = Answer(
            question="q?",
            standalone_question="q?",
            text="x",
            model_sentences=len(drop_reasons) + 1,
            dropped=len(drop_reasons),
            drop_reasons=drop_reasons,
            fallback=fallback,
        )
        return Outcome(q, ["a"], answer)

    outcomes = [
        outcome(["name", "unsupported"], "stray_answer"),
        outcome(["name"], None),
        outcome([], "low_evidence"),
    ]
    scores = summarize(outcomes, 0.0)
    assert scores["dropped_by_reason"] == {"name": 2, "unsupported": 1}
    assert scores["fallbacks"] == {"low_evidence": 1, "stray_answer": 1}


def test_answering_stays_small() -> None:
    long_functions = {}
    for path in sorted(ANSWERING.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        if path.name in ("verify.py", "generative.py"):
            assert len(source.splitlines()) <= 400, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long_functions[f"{path.name}:{node.name}"] = length
    assert long_functions == {}


@pytest.mark.parametrize(
    ("source", "claim", "swapped"),
    [
        ("Edison hired Tesla in 1884.", "Tesla hired Edison in 1884", True),
        ("Edison hired Tesla in 1884.", "Tesla was hired by Edison in 1884", False),
        ("Edison hired Tesla in 1884.", "Edison was hired by Tesla in 1884", True),
        ("Tesla was hired by Edison in 1884.", "Edison hired Tesla in 1884", False),
        ("Tesla worked for Edison.", "Edison worked for Tesla", True),
        ("In 1066, the Normans conquered England.", "The Normans conquered England in 1066", False),
        ("In 1066, the Normans conquered England.", "England conquered the Normans in 1066", True),
        ("Wired removed the article.", "The article was removed by Wired", False),
        # Two parts trade places, whatever they are: "American aid to Israel".
        (
            "In response to American aid to Israel, OPEC raised prices.",
            "In response to Israel aid to American, OPEC raised prices",
            True,
        ),
        (
            "Under its contract with the Miss America Organization, ABC will broadcast the "
            "pageant.",
            "ABC will broadcast the pageant under its contract with the Miss America Organization",
            False,
        ),
    ],
)
def test_roles_around_the_verb(source: str, claim: str, swapped: bool) -> None:
    # verify.judge: claim: agent before the verb, patient after it, "by" in the passive.
    assert roles_swapped(claim, source) is swapped


def test_a_clause_is_held_to_its_capitalised_first_word() -> None:
    # "..., and GM has units": a clause inside a sentence does not open it, so its
    # capitalised first word is a name to hold to the text.
    source = facts("Valve has units ready to ship that same day.", "Steam Deck OLED")
    assert source.failure("GM has units ready to ship") is None
    assert source.failure("GM has units ready to ship", opens=False) == "name"


def test_synonyms_are_matched_by_word_similarity() -> None:
    vectors = {"built": [1.0, 0.0], "constructed": [0.8, 0.6], "painted": [0.0, 1.0]}

    def embed(words: list[str]) -> np.ndarray:
        return np.array([vectors[w] for w in words])

    matcher = WordMatcher(embed, 0.6)
    assert surface_words("The bridge was constructed") == {
        "bridg": "bridge",
        "construct": "constructed",
    }
    assert matcher.matched({"construct": "constructed"}, {"built": "built"}) == {"construct"}
    assert matcher.matched({"paint": "painted"}, {"built": "built"}) == set()


@pytest.mark.parametrize(
    ("backend", "judge", "min_verbatim"),
    [("llamacpp", "links", 0.9), ("openai", "claim", 0.0), ("ollama", "claim", 0.0)],
)
def test_the_judge_is_chosen_per_backend(backend: str, judge: str, min_verbatim: float) -> None:
    settings = Settings(answer={"backend": backend})
    checks, verbatim = verification_for(settings)
    assert (checks.judge, verbatim) == (judge, min_verbatim)
    chosen = Settings(
        answer={"backend": backend}, verify={"judge": "links"}, llm={"min_verbatim": 0.5}
    )
    assert verification_for(chosen)[0].judge == "links" and verification_for(chosen)[1] == 0.5
