"""The spaCy-backed sentence reader: the model is verified file by file before loading, loads
without unpickling anything, and its parses type short-answer candidates. The test install
(`.[all]`) includes the `nlp` extra, so a missing spaCy or model fails here, not skips."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from retrieval.answering import parse, spacy_reader, typed
from retrieval.answering.parse import Parsed
from retrieval.answering.spacy_reader import (
    ParserUnavailableError,
    SpacyReader,
    model_folder,
    verify,
)
from retrieval.service import NewsService
from tests.conftest import SEED, run_probe

CASES = Path(__file__).parent / "data" / "short_answers" / "cases.jsonl"

_seen: list[str] = []
_watching = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _watching and event == "pickle.find_class":
        _seen.append(f"{args[0]}.{args[1]}")


sys.addaudithook(_audit)


@pytest.fixture(scope="module")
def reader() -> SpacyReader:
    global _watching
    _watching = True
    try:
        return SpacyReader.load()
    finally:
        _watching = False


def test_model_loads_without_unpickling_or_importing_its_package(reader: SpacyReader) -> None:
    assert _seen == []
    assert spacy_reader.MODEL_PACKAGE not in sys.modules


def test_the_installed_model_matches_the_recorded_hashes() -> None:
    verify(model_folder())


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_folder(), copy)
    weights = copy / "ner" / "model"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ParserUnavailableError, match="sha256"):
        verify(copy)


def test_an_added_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_folder(), copy)
    (copy / "extra.cfg").write_text("[x]\n")
    with pytest.raises(ParserUnavailableError, match=r"extra\.cfg"):
        verify(copy)


def test_parse_gives_entities_chunks_and_arcs(reader: SpacyReader) -> None:
    (p,) = reader.parse(["Russian Foreign Minister Sergei Lavrov announced the suspension."])
    assert isinstance(p, Parsed)
    people = [p.span_text(e) for e in p.entities if e.label == "PERSON"]
    assert people == ["Sergei Lavrov"]
    verb = next(i for i, t in enumerate(p.tokens) if t.lemma == "announce")
    lavrov = next(i for i, t in enumerate(p.tokens) if t.text == "Lavrov")
    assert p.tokens[lavrov].head == verb and p.path_length(lavrov, verb) == 1
    assert reader.parse(["Russian Foreign Minister Sergei Lavrov announced the suspension."]) == [p]


def test_the_announcer_not_the_thing_announced(reader: SpacyReader) -> None:
    sentence = (
        "Russian Foreign Minister Sergei Lavrov announced on Monday that Russia would suspend "
        "its mission to the North Atlantic Treaty Organization."
    )
    question = "Who announced that Russia would suspend its NATO mission?"
    assert typed.supported(reader, [sentence], question, "who") == "Sergei Lavrov"


def test_what_question_answered_by_the_entity_its_noun_types(reader: SpacyReader) -> None:
    sentence = (
        "In 1985, the network was bought by Capital Cities Communications, a media company "
        "based in New York."
    )
    question = "What company bought the network in 1985?"
    assert typed.supported(reader, [sentence], question, "other") == (
        "Capital Cities Communications"
    )


def test_no_short_answer_when_no_candidate_clearly_leads(reader: SpacyReader) -> None:
    sentence = "The UK, Germany, Italy and Norway banned flying, driving and boating on Sundays."
    question = "Which country banned flying on Sundays?"
    assert typed.supported(reader, [sentence], question, "other") is None


def test_who_is_a_named_one_is_what_the_evidence_calls_them_not_another_name(
    reader: SpacyReader,
) -> None:
    sentence = (
        "What the Kremlin referred to as unfriendly actions is NATO Secretary-General Jens "
        "Stoltenberg's decision of 6 October."
    )
    question = "Who is Jens Stoltenberg?"
    assert typed.supported(reader, [sentence], question, "who") == "NATO Secretary-General"
    # Named with nothing said of them: no short answer (no other name stands in).
    bare = "Stoltenberg's decision of 6 October angered the Kremlin."
    assert typed.supported(reader, [bare], question, "who") is None


def test_warm_up_loads_the_parser_before_the_first_question(
    seed_service: NewsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[bool] = []
    monkeypatch.setattr(
        "retrieval.service.default_reader", lambda: loaded.append(True) or parse.default_reader()
    )
    seed_service.warm_up()
    assert loaded == [True]
    assert parse.default_reader() is not None


def test_the_tokenizer_read_from_the_model_file_is_spacys_own(reader: SpacyReader) -> None:
    """spaCy builds the English default tokenizer and then overwrites it from the model's
    file; built from the file alone, the tokenizer and every parse are the same."""
    spacy = spacy_reader._import_spacy()
    plain = SpacyReader(spacy.load(model_folder(), exclude=list(spacy_reader.EXCLUDE)))
    # Its rules; the vocabularies differ by the words parsed so far.
    rules = {"exclude": ["vocab"]}
    assert reader._nlp.tokenizer.to_bytes(**rules) == plain._nlp.tokenizer.to_bytes(**rules)
    assert reader._nlp.pipe_names == plain._nlp.pipe_names
    texts = [s for line in CASES.open() for s in json.loads(line)["evidence"]]
    texts.append(SEED.read_text(encoding="utf-8"))
    texts.append("U.S. officials said at 9:30 a.m. on Oct. 18th that e-mails (e.g. ones")
    assert reader.parse(texts) == plain.parse(texts)


def test_loading_the_parser_imports_neither_torch_nor_spacys_command_line(
    tmp_path: Path,
) -> None:
    probe = (
        "import sys\n"
        "from retrieval.answering.spacy_reader import SpacyReader\n"
        "SpacyReader.load()\n"
        "names = ('torch', 'spacy.cli', 'typer', 'requests')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
        "import spacy\n"
        "print(spacy.info()['spacy_version'] == spacy.__version__, 'spacy.cli' in sys.modules)\n"
    )
    done = run_probe(probe, tmp_path)
    assert done.returncode == 0, done.stderr
    # spacy.info() still works: it imports the command line when called.
    assert done.stdout.split("\n")[:2] == ["[]", "True True"], done.stdout
