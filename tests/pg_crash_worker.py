"""Run one ingest on the postgres backend in a fresh process that pauses inside the commit,
after every row of the new articles is written and before the transaction commits, so that
test_pg_store.py can look at the database from outside and then kill it (-9) there.

Usage: ``python tests/pg_crash_worker.py CONFIG_PATH DATABASE_URL``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str]) -> int:
    """Ingest the configured folder, pausing for good once the rows are written."""
    from retrieval.config import load_settings
    from retrieval.embeddings import make_embedder
    from retrieval.ingest import ingest
    from retrieval.pg import store

    insert = store._insert

    def paused(conn: Any, seg: Any) -> None:
        insert(conn, seg)
        print("inserted", flush=True)
        time.sleep(600)

    store._insert = paused
    settings = load_settings(argv[1], store={"backend": "postgres"}, database={"url": argv[2]})
    ingest(settings, make_embedder(settings.embedding), progress=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
