"""config.yaml is validated; the environment overrides it; secrets come from the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, get_origin

import pytest

from bot.cli import main
from retrieval.config import (
    ABSTAIN_THRESHOLDS,
    DENSE_WEIGHTS,
    Settings,
    answer_for,
    load_settings,
    retrieval_for,
)
from retrieval.config_errors import sections
from retrieval.errors import ConfigError
from tests.conftest import REPO


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid() -> None:
    s = load_settings(REPO / "config.yaml")
    assert s.answer.backend == "extractive"
    assert s.index_dir == (REPO / "docs_store/.index").resolve()
    assert s.docs_paths == [(REPO / "docs_store").resolve()]
    # The shipped articles are ingested the fast way: int8 ONNX, chunk vectors made from the
    # sentences' (bench/README.md: 3-4x the tutorial pipeline, every quality target held).
    assert (s.embedding.backend, s.embedding.precision) == ("onnx", "int8")
    assert (s.embedding.chunks, s.embedding.sentences) == ("from_sentences", "own")
    assert retrieval_for(s).weight_dense == DENSE_WEIGHTS["from_sentences"]


def test_unknown_keys_and_bad_values_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "retrieval:\n  k: 0\n  colour: blue\nanswr: {}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    assert sorted(str(e.value).splitlines()) == [
        f"config: answr: unknown key; remove it from {path} or check its spelling",
        f"config: retrieval.colour: unknown key; remove it from {path} or check its spelling",
        f"config: retrieval.k: Input should be greater than or equal to 1 (got 0, in {path}); "
        "fix it there or set NEWSBOT_RETRIEVAL__K",
    ]


def test_bad_literal_names_the_env_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_ANSWER__BACKEND", "gpt-17")
    with pytest.raises(ConfigError, match="NEWSBOT_ANSWER__BACKEND"):
        load_settings(_write(tmp_path, "{}\n"))


def test_environment_overrides_file_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "retrieval:\n  k: 4\n  fetch_k: 20\n")
    monkeypatch.setenv("NEWSBOT_RETRIEVAL__FETCH_K", "70")
    s = load_settings(path)
    assert (s.retrieval.k, s.retrieval.fetch_k) == (4, 70)


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_CONFIG", str(_write(tmp_path, "answer:\n  max_sentences: 2\n")))
    assert load_settings().answer.max_sentences == 2


def test_env_references_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWS_DIR", "/srv/news")
    path = _write(
        tmp_path,
        "paths:\n  docs: ['${NEWS_DIR}']\n  index_dir: '${INDEX_DIR:-idx}'\n",
    )
    s = load_settings(path)
    assert s.paths.docs == ["/srv/news"]
    assert s.index_dir == (tmp_path / "idx").resolve()


def test_unset_env_reference_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"paths\.index_dir refers to \$\{SURELY_UNSET_VAR\}"):
        load_settings(_write(tmp_path, "paths:\n  index_dir: ${SURELY_UNSET_VAR}\n"))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(_write(tmp_path, "retrieval: [unclosed\n"))
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(_write(tmp_path, "- a list\n"))


def test_a_yaml_error_is_one_line_without_the_line_it_quotes(tmp_path: Path) -> None:
    path = _write(tmp_path, "llm:\n  api_key: sk-live-123: x\n")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    assert str(e.value) == (
        f"config: cannot read {path}: mapping values are not allowed here at line 2, column 23; "
        "fix the YAML there"
    )


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    sub = tmp_path / "deploy"
    sub.mkdir()
    s = load_settings(_write(sub, "paths:\n  index_dir: state/index\n"))
    assert s.index_dir == (sub / "state/index").resolve()


def test_chunks_from_sentences_needs_own_sentences(tmp_path: Path) -> None:
    text = "embedding:\n  chunks: from_sentences\n  sentences: pooled\n"
    with pytest.raises(ConfigError, match=r"embedding: .*set sentences: own"):
        load_settings(_write(tmp_path, text))


def test_an_unset_abstain_threshold_follows_how_chunk_vectors_are_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = load_settings(_write(tmp_path, "embedding:\n  chunks: own\n"))
    derived = load_settings(_write(tmp_path, "embedding:\n  chunks: from_sentences\n"))
    assert own.answer.abstain_threshold is derived.answer.abstain_threshold is None
    assert answer_for(own).threshold == ABSTAIN_THRESHOLDS["own"] == 5.2
    assert answer_for(derived).threshold == ABSTAIN_THRESHOLDS["from_sentences"]
    # Derived chunk vectors retrieve chunks whose best sentence scores higher on questions
    # the articles do not answer: their threshold is higher.
    assert ABSTAIN_THRESHOLDS["from_sentences"] > ABSTAIN_THRESHOLDS["own"]
    # One that is set wins, from the file or the environment.
    text = "embedding:\n  chunks: from_sentences\nanswer:\n  abstain_threshold: 4.0\n"
    assert answer_for(load_settings(_write(tmp_path, text))).threshold == 4.0
    monkeypatch.setenv("NEWSBOT_ANSWER__ABSTAIN_THRESHOLD", "6.5")
    assert answer_for(load_settings(_write(tmp_path, text))).threshold == 6.5


def test_an_unset_dense_weight_follows_how_chunk_vectors_are_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = load_settings(_write(tmp_path, "embedding:\n  chunks: own\n"))
    derived = load_settings(_write(tmp_path, "embedding:\n  chunks: from_sentences\n"))
    assert own.retrieval.weight_dense is derived.retrieval.weight_dense is None
    assert retrieval_for(own).weight_dense == DENSE_WEIGHTS["own"] == 1.0
    # A chunk vector that is a mean of its sentences' says less than the sentence ranker's
    # own scores: it counts less in the fusion.
    assert retrieval_for(derived).weight_dense == DENSE_WEIGHTS["from_sentences"] < 1.0
    text = "embedding:\n  chunks: from_sentences\nretrieval:\n  weight_dense: 0.5\n"
    assert retrieval_for(load_settings(_write(tmp_path, text))).weight_dense == 0.5
    monkeypatch.setenv("NEWSBOT_RETRIEVAL__WEIGHT_DENSE", "2")
    assert retrieval_for(load_settings(_write(tmp_path, text))).weight_dense == 2.0


# --- malformed environment variables: one line naming key, variable and fix; no secret shown

SECRET = "sk-live-123"


def test_a_key_list_that_is_not_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_HTTP__API_KEYS", "abc")
    with pytest.raises(ConfigError) as e:
        load_settings(_write(tmp_path, "{}\n"))
    assert str(e.value) == (
        "config: http.api_keys: NEWSBOT_HTTP__API_KEYS is not a JSON list; "
        'write it as NEWSBOT_HTTP__API_KEYS=\'["key1", "key2"]\''
    )


def _malformed(annotation: Any) -> str | None:
    """A value no setting of this type accepts, or None (any string is a valid str)."""
    if get_origin(annotation) is Literal:
        return "not-a-choice"
    if get_origin(annotation) is list:
        return "not, json"
    return {int: "abc", float: "abc", bool: "maybe"}.get(annotation)


MALFORMED = [
    (section, key, bad)
    for section, model in sections(Settings).items()
    for key, field in model.model_fields.items()
    if (bad := _malformed(field.annotation)) is not None
]


@pytest.mark.parametrize(
    ("section", "key", "bad"), MALFORMED, ids=[f"{s}.{k}" for s, k, _ in MALFORMED]
)
def test_every_malformed_variable_is_one_line_with_key_variable_and_fix(
    section: str, key: str, bad: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    var = f"NEWSBOT_{section.upper()}__{key.upper()}"
    monkeypatch.setenv(var, bad)
    with pytest.raises(ConfigError) as e:
        load_settings(_write(tmp_path, "{}\n"))
    msg = str(e.value)
    assert "\n" not in msg
    assert re.fullmatch(
        rf"config: {section}\.{key}: .*{var}.*; (fix or unset {var}|write it as {var}='\[.*\]')",
        msg,
    ), msg


def test_malformed_variables_cover_every_kind_of_setting() -> None:
    kinds = {
        _malformed(f.annotation)
        for m in sections(Settings).values()
        for f in m.model_fields.values()
    }
    assert {"abc", "maybe", "not-a-choice", "not, json"} <= kinds
    assert ("http", "api_keys", "not, json") in MALFORMED


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("NEWSBOT_ANSWR__BACKEND", "llamacpp", "config: NEWSBOT_ANSWR__BACKEND names no setting"),
        ("NEWSBOT_HTTP__API_KEYS__0", "k", "config: NEWSBOT_HTTP__API_KEYS__0 names no setting"),
        (
            "NEWSBOT_HTTP__COLOUR",
            "blue",
            "config: http.colour: unknown key (from NEWSBOT_HTTP__COLOUR)",
        ),
        ("NEWSBOT_HTTP", "port=1", "config: http: NEWSBOT_HTTP is not a JSON object"),
    ],
)
def test_misspelt_and_malformed_variable_names(
    var: str, value: str, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as e:
        load_settings(_write(tmp_path, "{}\n"))
    assert str(e.value).startswith(expected) and "\n" not in str(e.value)
    assert "unset" in str(e.value) or "one key at a time" in str(e.value)


@pytest.mark.parametrize(
    ("env", "yaml_text"),
    [
        ({"NEWSBOT_HTTP__API_KEYS": SECRET}, "{}\n"),
        ({"NEWSBOT_HTTP__API_KEYS": f'"{SECRET}"'}, "{}\n"),
        ({"NEWSBOT_HTTP__API_KEYS": f'[["{SECRET}"]]'}, "{}\n"),
        ({"NEWSBOT_HTTP__ADMIN_KEYS": f'{{"k": "{SECRET}"}}'}, "{}\n"),
        ({"NEWSBOT_HTTP": f'{{"api_keys": "{SECRET}"}}'}, "{}\n"),
        ({"NEWSBOT_LLM": f'{{"api_key": ["{SECRET}"]}}'}, "{}\n"),
        ({"NEWSBOT_TELEGRAM": f'{{"webhook_secret": ["{SECRET}"]}}'}, "{}\n"),
        ({}, f"llm:\n  api_key: [{SECRET}]\n"),
        ({}, f"http:\n  api_keys: {SECRET}\n  admin_keys: [[{SECRET}]]\n"),
        ({}, f"http:\n  api_kyes: [{SECRET}]\n"),  # a misspelt key shows no value either
        ({}, f"telegram:\n  webhook_secret: {{value: {SECRET}}}\n"),
        ({}, f"telegram:\n  bot_token: {SECRET}\n"),
    ],
)
def test_no_secret_in_any_error(
    env: dict[str, str], yaml_text: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as e:
        load_settings(_write(tmp_path, yaml_text))
    msg = str(e.value)
    assert SECRET not in msg and "sk-live" not in msg
    assert all(line.startswith("config: ") for line in msg.splitlines())


def test_a_rejected_non_secret_value_is_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEWSBOT_RETRIEVAL__K", "many")
    with pytest.raises(
        ConfigError, match=r"retrieval\.k: .*\(got 'many', from NEWSBOT_RETRIEVAL__K\)"
    ):
        load_settings(_write(tmp_path, "{}\n"))


def test_a_rule_across_keys_names_the_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "chunking:\n  max_tokens: 64\n  title_tokens: 60\n")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    assert str(e.value) == (
        "config: chunking: title_tokens (60) + 16 must be at most max_tokens (64), to leave room "
        f"for the text (in {path}); fix it there or with NEWSBOT_CHUNKING__<KEY>"
    )


@pytest.mark.slow  # a fresh interpreter: a few seconds
@pytest.mark.parametrize("command", [["ask", "x"], ["stats"]])
def test_the_cli_prints_one_line_and_no_traceback(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("NEWSBOT_")}
    env.update(NEWSBOT_HTTP__API_KEYS=SECRET, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "newsbot: config: http.api_keys: NEWSBOT_HTTP__API_KEYS is not a JSON list; "
        'write it as NEWSBOT_HTTP__API_KEYS=\'["key1", "key2"]\'\n'
    )


def test_the_cli_prints_each_bad_key_on_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "retrieval:\n  k: 0\n  fetch_k: 0\n")
    assert main(["--config", str(path), "stats"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[2].strip() for line in lines] == ["retrieval.k", "retrieval.fetch_k"]
    assert all(line.startswith("newsbot: config: ") for line in lines)
