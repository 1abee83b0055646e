"""Start-up costs: an ingest that finds nothing new never loads (or imports) the embedding
model, and the text clean-up every ingest runs on every article stays what it was."""

from __future__ import annotations

import json
import random
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.answering.parse import default_reader
from retrieval.articles import normalize_text
from retrieval.config import Settings
from retrieval.embeddings import Embedder, _plain_modules, make_embedder, model_shape
from retrieval.ingest import index_signature, ingest
from retrieval.service import NewsService
from tests.conftest import SEED, run_probe

MODEL_LIBRARIES = ("torch", "sentence_transformers", "transformers", "onnxruntime")


def test_an_ingest_that_finds_nothing_new_never_loads_the_model(
    make_settings: Callable[..., Settings], seed_docs: Path, embedder: Embedder
) -> None:
    settings = make_settings([seed_docs])
    NewsService(settings, embedder).ingest(progress=False)
    fresh = type(embedder)(settings.embedding)  # not the shared, loaded one
    assert not fresh.loaded
    report = ingest(settings, fresh, progress=False)
    assert not report.published and report.embedded == 0 and report.chunks > 0
    assert not fresh.loaded and fresh.calls == 0
    # The shape read from the model's files is the loaded model's: same index signature.
    assert index_signature(settings, fresh) == index_signature(settings, embedder)
    # A change is embedded: the model loads then.
    (seed_docs / "new.md").write_text("# New\n\nThe mission reopens in May.\n", encoding="utf-8")
    report = ingest(settings, fresh, progress=False)
    assert report.published and report.embedded > 0 and fresh.loaded


def test_make_embedder_loads_nothing(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(embedding={"batch_size": 7})  # its own cache entry
    made = make_embedder(settings.embedding)
    assert not made.loaded and made.dim == 384 and made.max_seq_length == 256
    assert made.count_tokens("Russia suspended its NATO mission.") > 0  # the tokenizer only
    assert not made.loaded


def test_noop_ingest_command_imports_no_model_library(
    tmp_path: Path, embedder: Embedder, make_settings: Callable[..., Settings]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    NewsService(make_settings([docs]), embedder).ingest(progress=False)
    probe = (
        "import atexit, runpy, sys\n"
        f"names = {MODEL_LIBRARIES!r}\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules if m in names),"
        " file=sys.stderr))\n"
        "sys.argv = ['newsbot', '--config', sys.argv[1], 'ingest', '--json']\n"
        "runpy.run_module('bot.cli', run_name='__main__')\n"
    )
    done = run_probe(probe, cfg)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["published"] is False and report["embedded"] == 0
    assert "LOADED []" in done.stderr, done.stderr


def _model_folder(root: Path, modules: list[str], **files: dict[str, object]) -> Path:
    root.mkdir()
    listed = [{"type": f"sentence_transformers.models.{m}"} for m in modules]
    (root / "modules.json").write_text(json.dumps(listed), encoding="utf-8")
    for name, data in files.items():
        path = root / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")
    return root


def test_the_shape_comes_from_the_files_only_for_a_plain_model(tmp_path: Path) -> None:
    plain = _model_folder(
        tmp_path / "plain",
        ["Transformer", "Pooling", "Normalize"],
        **{"config.json": {"hidden_size": 768, "max_position_embeddings": 512}},
        **{"1_Pooling__config.json": {"word_embedding_dimension": 768}},
        **{"sentence_bert_config.json": {"max_seq_length": 128}},
    )
    assert _plain_modules(plain) and model_shape(plain) == (128, 768)
    # A Dense layer changes the width: such a model is loaded to learn its shape.
    dense = _model_folder(tmp_path / "dense", ["Transformer", "Pooling", "Dense"])
    assert not _plain_modules(dense)
    # Without sentence_bert_config.json, the shorter of the model's and tokenizer's limits.
    bare = _model_folder(
        tmp_path / "bare",
        ["Transformer", "Pooling"],
        **{"config.json": {"hidden_size": 32, "max_position_embeddings": 512}},
        **{"tokenizer_config.json": {"model_max_length": 256}},
    )
    assert model_shape(bare) == (256, 32)
    assert model_shape(_model_folder(tmp_path / "empty", ["Transformer"])) is None


def _normalize_reference(text: str) -> str:
    """normalize_text as it was written before its one-line fast path."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@pytest.mark.parametrize("seed", range(4))
def test_normalize_text_fast_path_changes_nothing(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab \t\r\n\u2028\u2029\x85\x0b\x0c\u00a0e\u0301\u3000"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert normalize_text(text) == _normalize_reference(text), repr(text)


def test_a_mismatched_index_names_the_setting_that_differs() -> None:
    from retrieval.errors import IndexMismatchError
    from retrieval.ingest import check_signature

    chunking = {"max_tokens": 256}
    built = {"embedding": {"model": "m", "dim": 384, "precision": "int8"}, "chunking": chunking}
    wanted = {"embedding": {"model": "m", "dim": 384}, "chunking": chunking}
    with pytest.raises(IndexMismatchError) as e:
        check_signature(built, wanted)
    assert str(e.value) == (
        "the index was built with embedding precision 'int8' (the configuration: 'fp32'); "
        "rebuild it with `newsbot ingest --rebuild`"
    )
    check_signature(wanted, wanted)


@pytest.mark.parametrize(
    ("question", "ahead"),
    [
        ("Who announced that Russia would suspend its NATO mission?", True),
        ("What happened in 2014 between NATO and Russia?", True),
        # Dates and counts are read by rules first: no parser to wait for at exit.
        ("When is the accreditation withdrawn?", False),
        ("How many staff can Russia's mission have now?", False),
    ],
)
def test_ask_loads_the_parser_ahead_only_for_questions_it_answers(
    make_settings: Callable[..., Settings],
    seed_docs: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    question: str,
    ahead: bool,
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(
        "retrieval.service.default_reader", lambda: loads.append(threading.current_thread().name)
    )
    NewsService(make_settings([seed_docs]), embedder).read_ahead(question)
    for t in threading.enumerate():
        if t.name == "parser-load":
            t.join()
    assert loads == (["parser-load"] if ahead else [])


class _CountingLoad:
    """Stands in for SpacyReader.load: counts loads, and fails the first ``failures``."""

    def __init__(self, failures: int = 0) -> None:
        self.calls: list[str] = []
        self.failures = failures
        self.made: list[object] = []

    def __call__(self) -> object:
        self.calls.append(threading.current_thread().name)
        if len(self.calls) <= self.failures:
            raise RuntimeError("the model could not be read")
        self.made.append(object())
        return self.made[-1]


WHO = "Who announced that Russia would suspend its NATO mission?"


@pytest.fixture
def ask_ahead(
    monkeypatch: pytest.MonkeyPatch,
    make_settings: Callable[..., Settings],
    seed_docs: Path,
    embedder: Embedder,
) -> Callable[[int], _CountingLoad]:
    """With a fresh process-wide parser slot whose load is counted (and fails the first
    ``failures`` times), read a who-question ahead, as `newsbot ask` does."""
    from retrieval.answering import parse
    from retrieval.answering.spacy_reader import SpacyReader

    monkeypatch.setattr(parse, "_reader", None)
    monkeypatch.setattr(parse, "_tried", False)

    def ask(failures: int) -> _CountingLoad:
        load = _CountingLoad(failures)
        monkeypatch.setattr(SpacyReader, "load", load)
        NewsService(make_settings([seed_docs]), embedder).read_ahead(WHO)
        return load

    return ask


def _join_parser_load() -> None:
    for t in threading.enumerate():
        if t.name == "parser-load":
            t.join()


def test_the_parser_loaded_ahead_is_the_one_the_question_uses(
    ask_ahead: Callable[[int], _CountingLoad],
) -> None:
    load = ask_ahead(0)
    _join_parser_load()
    assert load.calls == ["parser-load"]
    assert default_reader() is load.made[0] and load.calls == ["parser-load"]


def test_a_question_asked_while_the_parser_loads_waits_for_that_load(
    ask_ahead: Callable[[int], _CountingLoad],
) -> None:
    load = ask_ahead(0)
    first = default_reader()  # whichever thread gets there first loads; the other waits
    _join_parser_load()
    assert len(load.calls) == 1 and first is load.made[0] and default_reader() is first


def test_a_failure_on_the_loading_thread_is_raised_to_the_question(
    ask_ahead: Callable[[int], _CountingLoad],
) -> None:
    load = ask_ahead(2)
    _join_parser_load()
    assert load.calls == ["parser-load"]
    # Not a silent answer without the parser: the question's own load raises it...
    with pytest.raises(RuntimeError, match="could not be read"):
        default_reader()
    # ... and a later question loads it once it can be read.
    assert default_reader() is load.made[0] and default_reader() is load.made[0]
    assert load.calls == ["parser-load", "MainThread", "MainThread"]
