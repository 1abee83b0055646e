"""Run one ingest in a fresh process, for test_crash.py to kill at a random moment.

Usage: ``python tests/crash_worker.py CONFIG_PATH [FSYNC_DELAY_SECONDS]``

It prints a phase marker on stdout as each phase begins, so the test can aim kills at the
short publish phase and say which phase each kill landed in. A positive delay makes every
fsync of the store that much slower (a slow disk), widening the publish window without
changing what the store does or in which order.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def mark(phase: str) -> None:
    """Tell the parent which phase starts now."""
    print(phase, flush=True)


def main(argv: list[str]) -> int:
    """Load the settings and the model, then ingest the configured folder."""
    mark("import")
    from retrieval import store
    from retrieval.config import load_settings
    from retrieval.service import NewsService

    delay = float(argv[2]) if len(argv) > 2 else 0.0
    if delay > 0:
        fsync_file, fsync_dir = store.fsync_file, store.fsync_dir

        def slow_file(path: Path) -> None:
            time.sleep(delay)
            fsync_file(path)

        def slow_dir(path: Path) -> None:
            time.sleep(delay)
            fsync_dir(path)

        store.fsync_file = slow_file  # type: ignore[assignment]
        store.fsync_dir = slow_dir  # type: ignore[assignment]

    commit = store.IndexStore.commit

    def marked_commit(self: store.IndexStore, change: Any, **kwargs: Any) -> str:
        mark("publish")  # writing the new segment, merging, switching the manifest
        return commit(self, change, **kwargs)

    store.IndexStore.commit = marked_commit  # type: ignore[method-assign]

    service = NewsService(load_settings(argv[1]))
    mark("model")
    service.embedder  # noqa: B018 - load the model now, so "ingest" marks the real ingest
    mark("ingest")
    service.ingest(progress=False)
    mark("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
