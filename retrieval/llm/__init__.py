"""The chat model behind the LLM answer backends, built from ``settings.llm``.

Each backend's package is imported only when that backend is configured; a missing one is
a ConfigError that names the extra to install. Every model is built with ``max_tokens``
and a timeout, so no call can run unbounded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.config import Settings
from retrieval.errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

# A local OpenAI-compatible server usually wants no key, but the client insists on one.
NO_KEY = "not-needed"


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for ``answer.backend`` (llamacpp, openai or ollama).

    Raises:
        ConfigError: the backend's extra is not installed, or the llm section is incomplete.
    """
    llm = settings.llm
    match settings.answer.backend:
        case "llamacpp":
            try:
                import llama_cpp  # noqa: F401
            except ImportError:
                raise _missing("llamacpp", "llama-cpp-python") from None
            from retrieval.llm.llamacpp import ChatLlamaCpp

            return ChatLlamaCpp(
                model_path=str(model_file(settings)),
                n_ctx=llm.context_tokens,
                n_threads=llm.threads,
                max_tokens=llm.max_tokens,
                temperature=llm.temperature,
                timeout=llm.timeout_s,
            )
        case "openai":
            try:
                from langchain_openai import ChatOpenAI
            except ImportError:
                raise _missing("openai", "langchain-openai") from None
            if not llm.model:
                raise ConfigError("llm.model: name the model for the openai backend")
            key = llm.api_key.get_secret_value() if llm.api_key else None
            key = key or os.environ.get("OPENAI_API_KEY") or (NO_KEY if llm.base_url else None)
            if not key:
                raise ConfigError(
                    "llm.api_key: the openai backend needs a key: set OPENAI_API_KEY "
                    "(or llm.base_url for a local server that needs none)"
                )
            return ChatOpenAI(
                model=llm.model,
                base_url=llm.base_url,
                api_key=key,  # type: ignore[arg-type]
                max_tokens=llm.max_tokens,  # type: ignore[call-arg]
                temperature=llm.temperature,
                timeout=llm.timeout_s,
                max_retries=1,
            )
        case "ollama":
            try:
                from langchain_ollama import ChatOllama
            except ImportError:
                raise _missing("ollama", "langchain-ollama") from None
            if not llm.model:
                raise ConfigError("llm.model: name the model for the ollama backend")
            return ChatOllama(
                model=llm.model,
                base_url=llm.base_url,
                num_predict=llm.max_tokens,
                num_ctx=llm.context_tokens,
                temperature=llm.temperature,
                client_kwargs={"timeout": llm.timeout_s},
            )
        case other:
            raise ConfigError(f"answer.backend: {other!r} uses no language model")


def model_file(settings: Settings) -> Path:
    """The GGUF file the llamacpp backend loads (configured, else the packaged SmolLM2)."""
    from retrieval.llm.llamacpp import default_model_path

    return settings.resolve(settings.llm.model) if settings.llm.model else default_model_path()


def token_counter(model: BaseChatModel) -> Callable[[str], int] | None:
    """The model's exact token count when it is local (llamacpp); None: estimate."""
    from retrieval.llm.llamacpp import ChatLlamaCpp

    return model.get_num_tokens if isinstance(model, ChatLlamaCpp) else None


def _missing(extra: str, package: str) -> ConfigError:
    return ConfigError(
        f"answer.backend {extra!r} needs the {package} package: pip install 'newsbot[{extra}]'"
    )
