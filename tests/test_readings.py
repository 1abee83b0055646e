"""An unchanged JSONL export is not parsed again: its articles and its report come from the
reading kept with the index (retrieval/readings.py), and every outcome is the one parsing
gives: the report, ownership of shared ids and texts, removals, crashes mid-publish."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retrieval import loaders, readings
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.ingest import IngestReport, ingest
from retrieval.store import IndexStore

MakeSettings = Callable[..., Settings]

RECORDS: list[Any] = [
    {"id": "tram", "title": "Tram line opens", "date": "2023-03-01", "text": "The new tram "
     "line to the airport opened on Monday. Trips take nineteen minutes."},
    {"id": "zoo", "title": "Zoo welcomes twins", "date": "2023-03-02", "text": "The zoo "
     "announced the birth of twin red pandas. Keepers named them Maple and Birch."},
    "{not json",
    {"id": "empty", "title": "No text here", "text": "   "},
    {"id": "odd", "date": "sometime", "url": "ftp://example.org/x", "text": "The marathon "
     "will avoid the old bridge this year. Runners cross the river twice.\u200b"},
    {"id": "copy", "date": "2023-04-02", "text": "A ferry captain counted forty-two "
     "dolphins near the breakwater."},
]  # fmt: skip
HARBOUR = "date 2023-04-02\nA ferry captain counted forty-two dolphins near the breakwater.\n"


def write_export(path: Path, records: list[Any]) -> None:
    """Records as JSON Lines; a string is written as the raw line."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the JSONL files parsed, one entry per parse."""
    seen: list[str] = []
    real = loaders._read_jsonl

    def counted(f: Any, path: Path, root: Path, max_bytes: int) -> loaders.FileResult:
        seen.append(path.name)
        return real(f, path, root, max_bytes)

    monkeypatch.setattr(loaders, "_read_jsonl", counted)
    yield seen


def folder(docs: Path) -> Path:
    """An export with broken and odd records, a text file whose text a record repeats, and
    a file that holds no article."""
    docs.mkdir(parents=True, exist_ok=True)
    write_export(docs / "export.jsonl", RECORDS)
    (docs / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    (docs / "blank.txt").write_text("  \n\n", encoding="utf-8")
    return docs


def shown(report: IngestReport) -> list[dict[str, Any]]:
    """What a user is told about each file."""
    return [dataclasses.asdict(f) for f in report.files]


def indexed(settings: Settings) -> dict[str, tuple[str, str, str]]:
    """``{article id: (path, content hash, text)}`` of the current snapshot."""
    data = IndexStore(settings.index_dir).load()
    return {a.id: (a.path, a.content_hash, a.text) for a in data.articles.values()}


def run(settings: Settings, embedder: Embedder) -> IngestReport:
    return ingest(settings, embedder, progress=False)


def test_an_unchanged_export_is_not_parsed_again(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder, parses: list[str]
) -> None:
    settings = make_settings(docs=[folder(tmp_path / "docs")])
    first = run(settings, embedder)
    assert parses == ["export.jsonl"]
    before = indexed(settings)
    again = run(settings, embedder)
    assert parses == ["export.jsonl"]  # not parsed the second time
    assert not again.published and again.embedded == 0
    assert indexed(settings) == before
    statuses = {Path(f.path).name: f.status for f in again.files}
    assert statuses == {
        "blank.txt": "skipped",
        "export.jsonl": "unchanged",
        "harbour.txt": "duplicate",
    }
    assert first.files[1].detail == "4 articles, 2 records skipped (4 new or changed)"
    assert again.files[1].detail == "4 articles, 2 records skipped"


def test_the_report_from_a_reading_is_the_one_parsing_gives(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder, parses: list[str]
) -> None:
    """Broken records are reported on every run, as parsing reports them: a user who runs
    ingest again is told again what is wrong, whatever the last run said."""
    settings = make_settings(docs=[folder(tmp_path / "docs")])
    run(settings, embedder)
    recalled = run(settings, embedder)
    assert parses == ["export.jsonl"]
    shutil.rmtree(settings.index_dir / readings.FOLDER)  # no reading left: the file is parsed
    parsed = run(settings, embedder)
    assert parses == ["export.jsonl", "export.jsonl"]
    assert shown(recalled) == shown(parsed)
    assert (recalled.invisible_stripped, recalled.articles) == (parsed.invisible_stripped, 4)
    [export] = [f for f in recalled.files if f.path.endswith("export.jsonl")]
    assert export.detail == "4 articles, 2 records skipped"
    assert export.warnings[:2] == [
        "line 3: invalid JSON, record skipped",
        "line 4: no non-empty string 'text', record skipped",
    ]
    assert any("not an http(s) URL" in w for w in export.warnings)
    assert any("malformed date" in w for w in export.warnings)
    # The missing reading was written again: the next run does not parse.
    run(settings, embedder)
    assert parses == ["export.jsonl", "export.jsonl"]


def test_touching_an_export_keeps_its_reading_and_editing_it_does_not(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder, parses: list[str]
) -> None:
    """The content is the truth, not the mtime: a touched file (a copy, a checkout) is not
    parsed; an edited one is, whatever its mtime and size say."""
    docs = folder(tmp_path / "docs")
    export = docs / "export.jsonl"
    settings = make_settings(docs=[docs])
    run(settings, embedder)
    stat = export.stat()
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert run(settings, embedder).embedded == 0
    assert parses == ["export.jsonl"]
    edited = export.read_text(encoding="utf-8").replace("nineteen", "eighteen")
    export.write_text(edited, encoding="utf-8")
    os.utime(export, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    report = run(settings, embedder)
    assert parses == ["export.jsonl", "export.jsonl"]
    assert report.embedded > 0
    assert "eighteen minutes" in indexed(settings)["tram"][2]


def test_a_removed_export_removes_its_articles(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder, parses: list[str]
) -> None:
    docs = folder(tmp_path / "docs")
    settings = make_settings(docs=[docs])
    run(settings, embedder)
    run(settings, embedder)
    (docs / "export.jsonl").unlink()
    report = run(settings, embedder)
    assert sorted(f.detail for f in report.files if f.status == "removed") == [
        "article copy removed", "article odd removed", "article tram removed",
        "article zoo removed",
    ]  # fmt: skip
    assert set(indexed(settings)) == {"harbour"}  # no longer a duplicate of copy
    assert IndexStore(settings.index_dir).catalog().readings == {}
    (docs / "more.txt").write_text("The library opened a reading room for chess.\n", "utf-8")
    run(settings, embedder)  # the snapshot before the removal, which lists it, is dropped
    assert not list((settings.index_dir / readings.FOLDER).iterdir())  # so is the reading


def twins(tmp_path: Path, make_settings: MakeSettings, docs: Path) -> tuple[Settings, Settings]:
    """Two indexes of one folder: one keeps readings, the other has them removed before
    every ingest (so it parses every file, as before readings existed)."""
    keeping = make_settings(docs=[docs], paths={"index_dir": str(tmp_path / "keeping")})
    parsing = make_settings(docs=[docs], paths={"index_dir": str(tmp_path / "parsing")})
    return keeping, parsing


def both(settings: tuple[Settings, Settings], embedder: Embedder) -> IngestReport:
    """Ingest into both twins; they must report and index the same."""
    keeping, parsing = settings
    shutil.rmtree(parsing.index_dir / readings.FOLDER, ignore_errors=True)
    a, b = run(keeping, embedder), run(parsing, embedder)
    assert shown(a) == shown(b)
    assert indexed(keeping) == indexed(parsing)
    return a


def test_ownership_is_the_same_with_readings_as_with_parsing(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder, parses: list[str]
) -> None:
    """An unchanged export whose article loses or gains a shared id or text because another
    file changed: what it owns is decided as parsing decides it, and an article it gains is
    embedded from its text (its file is then parsed)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "A pelican named Bartholomew snatched the mayor's sandwich at the ribbon cutting."
    write_export(docs / "a.jsonl", [{"id": "x", "text": text}, RECORDS[0]])
    write_export(docs / "b.jsonl", [{"id": "y", "text": text}, RECORDS[1]])
    write_export(docs / "c.jsonl", [{"id": "tram", "text": "Another tram story entirely."}])
    settings = twins(tmp_path, make_settings, docs)
    first = both(settings, embedder)
    statuses = {Path(f.path).name: f.detail for f in first.files}
    assert statuses["b.jsonl"] == "1 article, 1 duplicate(s) of x"
    assert any("already used" in w for f in first.files for w in f.warnings)
    both(settings, embedder)  # nothing changed: nothing parsed in the keeping twin
    parses.clear()
    (docs / "a.jsonl").unlink()  # b's y now owns the text, c's tram the id
    report = both(settings, embedder)
    assert parses.count("b.jsonl") == 2 and parses.count("c.jsonl") == 2  # both twins
    assert report.embedded > 0
    assert indexed(settings[0])["y"][2] == text
    assert indexed(settings[0])["tram"][2] == "Another tram story entirely."
    # The indexed copy of a text keeps it: a's x is now the duplicate.
    write_export(docs / "a.jsonl", [{"id": "x", "text": text}])
    report = both(settings, embedder)
    assert [f.detail for f in report.files if f.path.endswith("a.jsonl")] == ["duplicate of y"]
    assert "x" not in indexed(settings[0])
    both(settings, embedder)


def test_a_crash_before_the_switch_leaves_the_old_readings_usable(
    tmp_path: Path,
    make_settings: MakeSettings,
    embedder: Embedder,
    parses: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New readings are written before the manifest that lists them; a writer that dies
    after writing them and before the switch leaves the old manifest's readings whole."""
    docs = folder(tmp_path / "docs")
    settings = make_settings(docs=[docs])
    run(settings, embedder)
    store = IndexStore(settings.index_dir)
    old = store.catalog().readings
    write_export(docs / "export.jsonl", [*RECORDS, {"id": "new", "text": "A new record."}])

    def die(self: IndexStore, manifest: dict[str, Any]) -> str:
        raise KeyboardInterrupt  # what kill -9 leaves: blobs written, manifest not switched

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(IndexStore, "_switch", die)
        run(settings, embedder)
    assert len(list((settings.index_dir / readings.FOLDER).iterdir())) == 2
    assert store.catalog().readings == old
    for entry in old.values():
        assert readings.load(settings.index_dir / readings.FOLDER, entry) is not None
    write_export(docs / "export.jsonl", RECORDS)  # back to what the old manifest read
    parses.clear()
    report = run(settings, embedder)
    assert parses == [] and not report.published
    (settings.index_dir / readings.FOLDER / old[str(docs / "export.jsonl")]["name"]).write_text(
        "{}", encoding="utf-8"
    )  # a damaged reading is never used: the file is parsed, and the reading written again
    report = run(settings, embedder)
    assert parses == ["export.jsonl"] and report.published
    assert run(settings, embedder).embedded == 0 and parses == ["export.jsonl"]


def test_a_reading_is_used_only_when_it_matches_its_entry(tmp_path: Path) -> None:
    """A blob is read only under its own name in the readings folder, and only when its size
    and checksum are the ones the manifest lists."""
    folder = tmp_path / readings.FOLDER
    data = b'{"skipped":null,"warnings":[],"invisible":0,"articles":[]}'
    name = "0" * 32
    readings.write(folder, {name: data})
    entry = readings.entry_of(data, name)
    assert readings.load(folder, entry) == data
    (tmp_path / "outside").write_bytes(data)
    assert readings.load(folder, {**entry, "name": "../outside"}) is None
    assert readings.load(folder, {**entry, "bytes": len(data) + 1}) is None
    (folder / name).write_bytes(data.replace(b"[]}", b"[] }"))
    assert readings.load(folder, entry) is None
