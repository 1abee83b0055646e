"""kill -9 during ingest, at random moments from import to publish: the index always loads, is
exactly the old or the new state, every search returns chunks that exist, and the next ingest
completes. Twice: over an index of one segment (the ingest appends a segment and marks
deletions), and over one of MAX_SEGMENTS segments (the ingest's publish also merges).

Each run restores the index to state A, starts ``tests/crash_worker.py`` on the changed folder
(which would produce state B) and kills it. Kill times are drawn uniformly inside one phase
of a measured uninterrupted run (the whole run, model loading, embedding, publishing), timed
from the moment the worker announces that phase, so that even the short publish phase is hit.
``CRASH_RUNS`` sets the number of runs (default 10), ``CRASH_SEED`` the random seed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from retrieval import readings
from retrieval.config import Settings, load_settings
from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from retrieval.store import MAX_SEGMENTS, IndexStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
WORKER = REPO / "tests" / "crash_worker.py"
PHASES = ("import", "model", "ingest", "publish", "done")
# Every fsync of the store takes this much longer in the worker (a slow disk): the publish
# phase then lasts long enough for kills aimed at it to land at different steps.
FSYNC_DELAY = 0.04
# (moment the delay is timed from: the worker's start or a phase marker, phase whose measured
# length bounds the delay); "whole" spans the run from start to exit, "none" is no delay.
PLAN = [
    ("start", "whole"),
    ("start", "import"),
    ("model", "model"),
    ("ingest", "ingest"),
    ("publish", "publish"),
    ("start", "whole"),
    ("ingest", "ingest"),
    ("publish", "publish"),
    ("publish", "publish"),
    ("done", "none"),
]
QUESTIONS = [
    "Which town held a pumpkin fair?",
    "What did the mayor talk about?",
    "Who won the rowing race?",
    "How many lanterns were lit?",
]

TOWNS = [
    "Ashford", "Brindle", "Calder", "Dunmore", "Elmsworth", "Fernhill", "Glenrock", "Harwick",
    "Ivybridge", "Jarrow", "Kestrel", "Lindow", "Marlow", "Northby", "Oakham",
]  # fmt: skip


def article(i: int, town: str, twist: str = "") -> str:
    """A small article about one town, with sentences no other article has."""
    return (
        f"date 2023-05-{i + 1:02d}\n"
        f"The river town of {town} held its pumpkin fair on Saturday. "
        f"Farmers brought {i + 3} prize pumpkins and {town} bakers sold {i + 20} pies. "
        f"The mayor of {town} gave a speech about the old stone bridge. {twist}\n"
    )


def write_folder(docs: Path) -> None:
    """State A's articles, and an export whose reading the index keeps."""
    docs.mkdir(parents=True)
    for i, town in enumerate(TOWNS):
        (docs / f"{town.lower()}.txt").write_text(article(i, town), encoding="utf-8")
    write_wire(docs, "")


def write_wire(docs: Path, twist: str) -> None:
    """An export of two records (and a broken line) from the wire."""
    records = [
        {"id": "wire-1", "text": f"The Ashford rowing club bought two new boats. {twist}"},
        {"id": "wire-2", "text": "Glenrock opened a cider press in the old mill."},
    ]
    lines = [json.dumps(r) for r in records] + ["{broken"]
    (docs / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def change_folder(docs: Path) -> None:
    """Edit three articles, delete one and add two: what turns state A into state B."""
    for i in (1, 6, 11):
        twist = f"A rowing race on the river was won by the {TOWNS[i]} crew."
        (docs / f"{TOWNS[i].lower()}.txt").write_text(article(i, TOWNS[i], twist), "utf-8")
    (docs / f"{TOWNS[3].lower()}.txt").unlink()
    write_wire(docs, "The club's crew won the river race.")
    for i, town in enumerate(("Pebworth", "Quarley"), start=len(TOWNS)):
        twist = f"At dusk {i * 10} paper lanterns were lit along the {town} quay."
        (docs / f"{town.lower()}.txt").write_text(article(i, town, twist), "utf-8")


def chunk_map(index_dir: Path) -> dict[str, str]:
    """``{chunk id: text}`` of the index's current snapshot."""
    return {c.id: c.text for c in IndexStore(index_dir).load().chunks}


@dataclass
class Run:
    """One worker process and the phase markers it printed, with their times."""

    proc: subprocess.Popen[str]
    started: float
    seen: dict[str, float] = field(default_factory=dict)
    events: dict[str, threading.Event] = field(
        default_factory=lambda: {p: threading.Event() for p in PHASES}
    )

    def last_phase(self) -> str:
        return max(self.seen, key=self.seen.__getitem__, default="start")


def start_worker(config: Path, log: Path) -> Run:
    """Start the worker; a thread records each phase marker as it arrives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(config), str(FSYNC_DELAY)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    run = Run(proc, time.monotonic())

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            phase = line.strip()
            if phase in run.events:
                run.seen[phase] = time.monotonic()
                run.events[phase].set()

    threading.Thread(target=read, daemon=True).start()
    return run


def phase_lengths(run: Run) -> dict[str, float]:
    """How long each phase of an uninterrupted run took (``whole``: start to exit)."""
    t = {"start": run.started, **run.seen}
    return {
        "whole": t["exit"] - t["start"],
        "import": t["model"] - t["start"],
        "model": t["ingest"] - t["model"],
        "ingest": t["publish"] - t["ingest"],
        "publish": t["done"] - t["publish"],
        "none": 0.0,
    }


def check_index(settings: Settings, embedder: Embedder, states: dict[str, dict[str, str]]) -> str:
    """The index loads, equals one of the states exactly, search returns stored chunks, and
    the snapshot's readings of exports are whole and of the files it lists."""
    chunks = chunk_map(settings.index_dir)
    check_readings(settings)
    outcome = next((name for name, state in states.items() if chunks == state), None)
    assert outcome is not None, sorted(chunks)
    service = NewsService(settings, embedder)
    for question in QUESTIONS:
        hits = service.retriever.search(question, k=5)
        assert hits
        for hit in hits:
            assert chunks.get(hit.chunk.id) == hit.chunk.text
            assert hit.article.id == hit.chunk.article_id
    return outcome


def check_readings(settings: Settings) -> None:
    """Each reading the current manifest lists loads, and is of the file version it lists."""
    store = IndexStore(settings.index_dir)
    catalog = store.catalog()
    max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
    assert catalog.readings, "the export's reading is listed"
    for path, entry in catalog.readings.items():
        assert readings.load(store.readings_dir, entry) is not None
        root = Path(path).parent  # the docs folder
        assert entry["name"] == readings.key(catalog.files[path], Path(path), root, max_bytes)


def build_state_a(docs: Path, settings: Settings, embedder: Embedder, segments: int) -> None:
    """State A's index, published in ``segments`` ingests (one segment each)."""
    write_folder(docs)
    if segments == 1:
        NewsService(settings, embedder).ingest(progress=False)
        return
    held = {p.name: p.read_text(encoding="utf-8") for p in sorted(docs.iterdir())}
    for p in docs.iterdir():
        p.unlink()
    names = list(held)
    for batch in range(segments):
        for name in names[batch::segments]:
            (docs / name).write_text(held[name], encoding="utf-8")
        NewsService(settings, embedder).ingest(progress=False)
    assert len(IndexStore(settings.index_dir).read_manifest()["segments"]) == segments


def test_kill_during_ingest_leaves_old_or_new_state(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    crash_runs(tmp_path, make_settings, embedder, segments=1)


def test_kill_during_an_ingest_that_merges_leaves_old_or_new_state(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    crash_runs(tmp_path, make_settings, embedder, segments=MAX_SEGMENTS)


def crash_runs(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder, segments: int
) -> None:
    """Kill the worker's ingest of state B over state A at planned moments; check each time."""
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    runs = int(os.environ.get("CRASH_RUNS", len(PLAN)))
    rng = random.Random(seed)
    print(f"\ncrash test ({segments} segments): seed {seed}, {runs} runs")

    docs = tmp_path / "docs"
    settings = make_settings(docs=[docs])
    index = settings.index_dir
    build_state_a(docs, settings, embedder, segments)
    state_a = chunk_map(index)
    pristine = tmp_path / "index-a"
    shutil.copytree(index, pristine)

    change_folder(docs)
    copy = tmp_path / "docs-b"
    shutil.copytree(docs, copy)
    settings_b = make_settings(docs=[copy], paths={"index_dir": str(tmp_path / "index-b")})
    NewsService(settings_b, embedder).ingest(progress=False)
    state_b = chunk_map(settings_b.index_dir)
    assert state_a != state_b
    assert set(state_a) - set(state_b) and set(state_b) - set(state_a)
    states = {"A": state_a, "B": state_b}

    config = tmp_path / "worker.yaml"
    config.write_text(f"paths:\n  docs: ['{docs}']\n  index_dir: '{index}'\n", encoding="utf-8")
    assert load_settings(config).index_dir == index
    log = tmp_path / "worker.log"

    # One uninterrupted run: it must reach state B, and it times the phases.
    shutil.rmtree(index)
    shutil.copytree(pristine, index)
    run = start_worker(config, log)
    assert run.proc.wait(timeout=300) == 0, log.read_text()
    run.seen["exit"] = time.monotonic()
    lengths = phase_lengths(run)
    print("phase lengths:", {k: round(v, 2) for k, v in lengths.items()})
    assert check_index(settings, embedder, states) == "B"
    after = IndexStore(index).read_manifest()["segments"]
    before = IndexStore(pristine).read_manifest()["segments"]
    if segments == 1:
        assert len(after) == 2 and after[0]["deleted"]  # appended, old rows marked deleted
    else:
        assert len(after) < len(before) + 1  # the publish merged segments

    outcomes: Counter[str] = Counter()
    killed_in: Counter[str] = Counter()
    for i in range(runs):
        anchor, bound = PLAN[i % len(PLAN)]
        delay = rng.uniform(0, lengths[bound])
        shutil.rmtree(index)
        shutil.copytree(pristine, index)
        run = start_worker(config, log)
        if anchor != "start":
            assert run.events[anchor].wait(timeout=300), log.read_text()
        time.sleep(delay)
        os.kill(run.proc.pid, signal.SIGKILL)
        code = run.proc.wait(timeout=60)
        assert code in (0, -signal.SIGKILL), log.read_text()
        phase = run.last_phase() if code else "exited"
        killed_in[phase] += 1

        outcome = check_index(settings, embedder, states)
        outcomes[outcome] += 1
        print(f"run {i + 1}: +{delay:.2f}s after {anchor}, killed in {phase}: state {outcome}")

        # The next ingest completes (the dead writer's lock is free) and cleans up after it.
        NewsService(settings, embedder).ingest(progress=False)
        assert chunk_map(index) == state_b
        for folder in ("snapshots", "segments", readings.FOLDER):
            assert not [p for p in (index / folder).iterdir() if p.name.startswith(".tmp-")]

    print("outcomes:", dict(outcomes), "killed in:", dict(killed_in))
    assert outcomes["A"] >= 1 and outcomes["B"] >= 1
    if runs >= len(PLAN):
        assert killed_in["publish"] >= 1
