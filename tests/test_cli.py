"""The seed questions end to end through the `newsbot` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from bot.cli import main
from retrieval.config import AnswerBackend
from retrieval.prompts import NO_ANSWER
from tests.conftest import REPO, SEED, SEED_SET

SEED_QUESTIONS = [json.loads(line) for line in (SEED_SET / "questions.jsonl").open()]


@pytest.fixture(scope="module")
def config(seed_config: Path, embedder: object) -> Path:
    """A config whose articles are the seed; the index is built by the first `ask`."""
    return seed_config


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("q", SEED_QUESTIONS, ids=[q["id"] for q in SEED_QUESTIONS])
def test_ask_seed_question_text(q: dict, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", str(config), "ask", q["question"])
    assert code == 0
    if q["answerable"]:
        body = out.split("\nSources:\n")[0].lower()
        assert any(a.lower() in body for a in q["answers"]), out
        assert "[1]" in body
        sources = out.split("\nSources:\n")[1]
        assert sources.startswith("[1] Russia has suspended")
        assert "2021-10-19" in sources.splitlines()[0]
    else:
        assert out.strip() == NO_ANSWER


@pytest.mark.parametrize("q", SEED_QUESTIONS, ids=[q["id"] for q in SEED_QUESTIONS])
def test_ask_seed_question_json(q: dict, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--config", str(config), "ask", "--json", q["question"])
    assert code == 0
    answer = json.loads(out)
    assert answer["question"] == q["question"]
    assert answer["abstained"] is (not q["answerable"])
    if q["answerable"]:
        assert any(a.lower() in answer["text"].lower() for a in q["answers"])
        assert answer["citations"], answer
        article_text = SEED.read_text(encoding="utf-8")
        for c in answer["citations"]:
            assert c["article_id"] == "2021-10-19-russia-nato-mission"
            assert c["date"] == "2021-10-19"
            assert c["quote"] in article_text
            assert f"[{c['n']}]" in answer["text"]
    else:
        assert answer["citations"] == []
        assert answer["text"] == NO_ANSWER
    assert set(answer["timings"]) == {"embed", "retrieve", "answer", "total"}


def test_short_answer_for_when_question(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "--config", str(config), "ask", "--json", "When is the accreditation withdrawn?"
    )
    assert code == 0
    answer = json.loads(out)
    assert answer["short_answer"] in ("November 1, 2021", "1 November")
    assert answer["text"].startswith(f"On {answer['short_answer']} [1]")


def test_stats(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "--config", str(config), "ask", "When is the accreditation withdrawn?")
    code, out, _ = _run(capsys, "--config", str(config), "stats", "--json")
    stats = json.loads(out)
    assert code == 0
    assert stats["articles"] == 1
    assert stats["date_range"] == ["2021-10-19", "2021-10-19"]
    assert stats["chunks"] >= 3


def test_bad_config_is_refused_with_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("retrieval:\n  k: 0\n  colour: blue\n", encoding="utf-8")
    code, _, err = _run(capsys, "--config", str(bad), "stats")
    assert code == 1
    assert "retrieval.k" in err and "retrieval.colour: unknown key" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["ask", "--since", "yesterday", "q"])
    assert e.value.code == 2


def test_empty_question_is_an_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--config", str(config), "ask", "   ")
    assert code == 1
    assert "empty" in err


def test_console_script_in_a_real_process(config: Path) -> None:
    """The installed entry point works as a newcomer would run it."""
    exe = Path(sys.executable).parent / "newsbot"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [*cmd, "--config", str(config), "ask", "How many Russian diplomats did NATO expel?"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "eight" in proc.stdout.lower()
    assert "Sources:" in proc.stdout


def test_a_reader_that_stops_early_gets_no_traceback(config: Path) -> None:
    """`newsbot ask ... | head -1`: the pipe closes before the answer is written; the command
    stops quietly, as a shell tool does, instead of printing a BrokenPipeError traceback."""
    exe = Path(sys.executable).parent / "newsbot"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.cli"]
    proc = subprocess.Popen(
        [*cmd, "--config", str(config), "ask", "When is the accreditation withdrawn?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err  # 128 + SIGPIPE, as a shell reports it
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_eval_backend_choices_are_the_configs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["eval", "somewhere", "--backend", "gpt-17"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'gpt-17'" in err
    assert all(f"'{backend}'" in err for backend in get_args(AnswerBackend))
