"""config.yaml is validated; the environment overrides it; secrets come from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.config import load_settings
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


def test_unknown_keys_and_bad_values_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "retrieval:\n  k: 0\n  colour: blue\nanswr: {}\n")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    msg = str(e.value)
    assert "retrieval.k: Input should be greater than or equal to 1" in msg
    assert "retrieval.colour: unknown key" in msg
    assert "answr: unknown key" in msg


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


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    sub = tmp_path / "deploy"
    sub.mkdir()
    s = load_settings(_write(sub, "paths:\n  index_dir: state/index\n"))
    assert s.index_dir == (sub / "state/index").resolve()
