"""The README's configuration reference is the settings models' own descriptions."""

from __future__ import annotations

import pytest

from retrieval.config import Settings
from retrieval.config_doc import END, START, reference, update
from retrieval.config_errors import sections
from tests.conftest import REPO

README = REPO / "README.md"


def _between_markers(text: str) -> str:
    return text[text.index(START) + len(START) : text.index(END)]


def test_readme_reference_is_generated_from_the_settings() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme.count(START) == 1 and readme.count(END) == 1
    assert _between_markers(readme) == "\n" + reference(), (
        "README.md's configuration reference is stale: run "
        "`python -m retrieval.config_doc README.md`"
    )


@pytest.mark.parametrize(
    ("section", "model"), list(sections(Settings).items()), ids=list(sections(Settings))
)
def test_every_setting_is_described_and_listed(section: str, model: type) -> None:
    assert (model.__doc__ or "").strip(), f"{model.__name__} has no docstring"
    table = reference()
    for name, field in model.model_fields.items():
        assert (field.description or "").strip(), f"{section}.{name} has no description"
        assert f"| `{section}.{name}` |" in table


def test_all_sections_are_in_the_one_table() -> None:
    table = reference()
    assert list(sections(Settings)) == [
        "paths",
        "embedding",
        "chunking",
        "ingest",
        "index",
        "retrieval",
        "answer",
        "sessions",
        "llm",
        "verify",
        "http",
        "telegram",
        "feeds",
        "follows",
        "store",
        "database",
    ]
    assert table.count("| key | default | allowed | meaning |") == 1
    assert "| `http.api_keys` | none | secret: from the environment |" in table
    assert "| `sessions.max_turns` | `10` | 1 – 1000 |" in table
    assert "| `answer.backend` | `extractive` | `extractive`, `llamacpp`, `openai`, `ollama` |" in (
        table
    )


def test_update_replaces_only_the_part_between_the_markers() -> None:
    stale = f"before\n{START}\n| old | table |\n{END}\nafter\n"
    assert update(stale) == f"before\n{START}\n{reference()}{END}\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        update("no markers here")
