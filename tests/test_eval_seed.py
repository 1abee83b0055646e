"""The issue's seed targets, as `newsbot eval` measures them on the shipped docs_store: all
seven questions right and every follow-up of the two conversations answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import REPO, SEED_SET

pytestmark = pytest.mark.slow


def test_seed_eval_on_the_shipped_articles(
    tmp_path: Path, embedder: object, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"paths:\n  docs: [{REPO / 'docs_store'}]\n  index_dir: index\n"
        "sessions:\n  path: sessions.sqlite\n",
        encoding="utf-8",
    )
    code = main(["--config", str(config), "eval", str(SEED_SET), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    result = json.loads(out)
    assert result["questions"] == 7
    assert result["containment"] == 1.0 and result["citation_precision"] == 1.0
    assert result["abstention"] == 1.0 and result["false_abstention"] == 0.0
    assert result["conversation_accuracy"] == 1.0 and result["followup_accuracy"] == 1.0
