"""The index in PostgreSQL, the writer's side: the advisory lock, the catalog, commits.

A commit is one transaction: the articles it deletes go (their chunks, sentences and
postings with them, by cascade), the new ones arrive with all their rows, the BM25
statistics and the generation move on. A reader sees the commit whole or not at all.
Row numbers come from counters in ``index_state`` and are never reused, so that a reader
may keep the rows it fetched by number for as long as it serves one generation.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, astuple, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval import segments
from retrieval.config import DatabaseSettings
from retrieval.errors import IndexMismatchError, IndexMissingError, IngestLockedError
from retrieval.manifest import Catalog, Change
from retrieval.pg import WRITER_LOCK, make_pool, migrate, unavailable, url_of
from retrieval.segments import ArticleRow, Segment

if TYPE_CHECKING:
    from retrieval.pg.search import PgIndex

DIM = 384  # the schema's vector(384); another dimension needs another migration
_EMPTY_TERM = "\x00"  # lexical.py's placeholder of an empty chunk: counted, never stored


class PgStore:
    """The index tables of one database: what IndexStore is for a folder."""

    # Replicas share it: only the worker updates it from the article files (see
    # NewsService.is_stale).
    shared = True

    def __init__(self, settings: DatabaseSettings, root: Path) -> None:
        self.settings = settings
        self.root = Path(root)  # never written; scans leave it out, as for the local store
        self.readings_dir: Path | None = None  # every export is parsed on every ingest
        self._pool: Any = None
        self._opening = threading.Lock()

    @property
    def pool(self) -> Any:
        """The connection pool, opened (and the schema checked) on first use."""
        with self._opening:  # threads of one server share one pool
            if self._pool is None:
                import psycopg

                try:
                    with psycopg.connect(url_of(self.settings), connect_timeout=10) as conn:
                        migrate.check(conn)
                except psycopg.OperationalError as e:
                    raise unavailable(e) from None
                self._pool = make_pool(self.settings)
                atexit.register(self.close)  # the pool's threads, before the interpreter goes
        return self._pool

    def close(self) -> None:
        """Close the pool's connections."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; a lost database becomes DatabaseUnavailableError."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise unavailable(e) from None

    # --- writer side ---------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the one-writer advisory lock; a second writer gets IngestLockedError at once.

        The lock lives with its own connection: the process dying releases it."""
        import psycopg

        self.pool  # noqa: B018 (checks the schema first)
        try:
            conn = psycopg.connect(url_of(self.settings), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as e:
            raise unavailable(e) from None
        with conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,)).fetchone()
            if row is None or not row[0]:
                raise IngestLockedError(
                    "another ingest is writing this database's index; wait for it to finish "
                    "and run again"
                )
            yield

    def upgrade(self) -> None:
        """Nothing to convert: the tables have one format (see migrations/)."""
        return None

    def _state(self, conn: Any) -> dict[str, Any]:
        cols = ("generation", "signature", "created", "counts", "n_chunks", "total_len")
        row = conn.execute(f"SELECT {', '.join(cols)} FROM index_state").fetchone()
        return dict(zip(cols, row, strict=True))

    def current_name(self) -> str | None:
        """The generation as a snapshot name, or None when nothing was committed yet."""
        with self.connection() as conn:
            gen = conn.execute("SELECT generation FROM index_state").fetchone()[0]
        return None if gen == 0 else str(gen)

    def read_manifest(self, name: str | None = None) -> dict[str, Any]:
        """What the index is bound to, its counts and files, as a local manifest says them.

        Raises:
            IndexMissingError: nothing was committed yet.
        """
        with self.connection() as conn:
            state = self._state(conn)
            files = dict(conn.execute("SELECT path, sha256 FROM index_files").fetchall())
        return _manifest(state, files)

    def catalog(self, *, deep: bool = False) -> Catalog:
        """The writer's view: live articles (without text) and the files read.

        Raises:
            IndexMissingError: nothing was committed yet.
        """
        with self.connection() as conn:
            state = self._state(conn)
            files = dict(conn.execute("SELECT path, sha256 FROM index_files").fetchall())
            rows = conn.execute(
                "SELECT id, title, date, source, url, path, content_hash FROM articles"
            ).fetchall()
        manifest = _manifest(state, files)
        articles = {r[0]: ArticleRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], "") for r in rows}
        return Catalog(str(state["generation"]), manifest, articles, {}, {}, files)

    def commit(self, change: Change, *, compact: bool = False) -> str:
        """Apply the change in one transaction and move to the next generation.

        The caller holds the writer lock and built ``change.base`` from the current state.
        ``compact`` has nothing to merge here.
        """
        dim = int(change.signature["embedding"]["dim"])
        if dim != DIM:
            raise IndexMismatchError(
                f"the PostgreSQL schema holds {DIM}-dimensional vectors; the embedding model "
                f"gives {dim}: use a {DIM}-dimensional model or the local backend"
            )
        signature = {k: change.signature[k] for k in ("embedding", "chunking")}
        with self.connection() as conn, conn.transaction():
            row = conn.execute("SELECT generation FROM index_state FOR UPDATE").fetchone()
            if change.base is not None and str(row[0]) != change.base.name:
                raise IngestLockedError(  # only without the writer lock: never in ingest
                    "the index changed since this ingest read it; run it again"
                )
            if change.base is None:
                delta = _delete_all(conn)
            elif change.delete:
                delta = _delete(conn, sorted(change.delete))
            else:
                delta = _Counts()
            if change.base is not None and change.paths:
                with conn.cursor() as cur:
                    cur.executemany(
                        "UPDATE articles SET path = %s WHERE id = %s",
                        [(p, aid) for aid, p in sorted(change.paths.items())],
                    )
            if change.add is not None and change.add.articles:
                delta = delta.plus(_insert(conn, change.add))
            if change.base is None or change.files != change.base.files:
                conn.execute("DELETE FROM index_files")
                with conn.cursor().copy("COPY index_files (path, sha256) FROM STDIN") as copy:
                    for item in sorted(change.files.items()):
                        copy.write_row(item)
            # The counts move by what this commit removed and added: no recount of the index.
            conn.execute(
                """UPDATE index_state SET generation = generation + 1, signature = %(sig)s,
                   created = now(), counts = jsonb_build_object(
                     'articles', (counts->>'articles')::bigint + %(articles)s,
                     'chunks', (counts->>'chunks')::bigint + %(chunks)s,
                     'sentences', (counts->>'sentences')::bigint + %(sentences)s),
                   n_chunks = n_chunks + %(chunks)s, total_len = total_len + %(total_len)s""",
                {"sig": json.dumps(signature), **asdict(delta)},
            )
            gen = conn.execute("SELECT generation FROM index_state").fetchone()[0]
        return str(gen)

    def compact(self, signature: dict[str, Any]) -> str | None:
        """Nothing to merge: PostgreSQL reclaims deleted rows itself (autovacuum)."""
        return None

    # --- reader side ---------------------------------------------------------------

    def open_index(self, name: str | None = None) -> PgIndex:
        """The current generation, ready to search (rows are fetched as asked for).

        Raises:
            IndexMissingError: nothing was committed yet.
        """
        from retrieval.pg.search import PgIndex

        manifest = self.read_manifest(name)
        return PgIndex(self, manifest)


def _manifest(state: dict[str, Any], files: dict[str, str]) -> dict[str, Any]:
    if state["generation"] == 0 or state["signature"] is None:
        raise IndexMissingError("no index in the database yet; run `newsbot ingest`")
    sig = state["signature"]
    return {
        "embedding": sig["embedding"],
        "chunking": sig["chunking"],
        "name": str(state["generation"]),
        "created": state["created"].isoformat(timespec="seconds"),
        "counts": dict(state["counts"]),
        "n_chunks": int(state["n_chunks"]),
        "total_len": int(state["total_len"]),
        "files": files,
        "segments": [],
    }


@dataclass
class _Counts:
    """How a commit moves the index's counts (negative for what it removes)."""

    articles: int = 0
    chunks: int = 0
    sentences: int = 0
    total_len: int = 0

    def plus(self, other: _Counts) -> _Counts:
        return _Counts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _counted(conn: Any, where: str, params: tuple[Any, ...]) -> _Counts:
    """The counts of the articles ``where`` selects (on ``articles a``), negated: they are
    about to go."""
    row = conn.execute(
        f"""SELECT (SELECT count(*) FROM articles a WHERE {where}),
                   (SELECT count(*) FROM chunks c JOIN articles a ON a.id = c.article_id
                    WHERE {where}),
                   (SELECT count(*) FROM sentences s JOIN chunks c ON c.row = s.chunk_row
                    JOIN articles a ON a.id = c.article_id WHERE {where}),
                   (SELECT coalesce(sum(c.n_terms), 0) FROM chunks c
                    JOIN articles a ON a.id = c.article_id WHERE {where})""",
        params * 4,
    ).fetchone()
    return _Counts(*(-int(n) for n in row))


def _delete_all(conn: Any) -> _Counts:
    """Start afresh (a rebuild): readers keep seeing the old rows until the commit."""
    gone = _counted(conn, "true", ())
    conn.execute("DELETE FROM articles")  # chunks, sentences, postings by cascade
    conn.execute("DELETE FROM terms")
    return gone


def _delete(conn: Any, article_ids: list[str]) -> _Counts:
    """Remove articles, first taking their chunks out of each term's document frequency."""
    gone = _counted(conn, "a.id = ANY(%s)", (article_ids,))
    conn.execute(
        """UPDATE terms t SET df = t.df - d.n FROM (
             SELECT p.term, count(*) AS n FROM postings p JOIN chunks c ON c.row = p.chunk_row
             WHERE c.article_id = ANY(%s) GROUP BY p.term) d
           WHERE t.term = d.term""",
        (article_ids,),
    )
    conn.execute("DELETE FROM terms WHERE df <= 0")
    conn.execute("DELETE FROM articles WHERE id = ANY(%s)", (article_ids,))
    return gone


def _insert(conn: Any, seg: Segment) -> _Counts:
    """Write a segment's rows, numbered from the state's counters, and their postings."""
    n_chunks, n_sents = len(seg.chunks), len(seg.sentences)
    chunk0, sent0 = conn.execute(
        """UPDATE index_state SET next_chunk = next_chunk + %s,
           next_sentence = next_sentence + %s
           RETURNING next_chunk - %s, next_sentence - %s""",
        (n_chunks, n_sents, n_chunks, n_sents),
    ).fetchone()
    postings = segments.build_postings(seg.articles, seg.chunks)
    cur = conn.cursor()
    cols = "id, title, date, source, source_key, url, path, content_hash, text"
    with cur.copy(f"COPY articles ({cols}) FROM STDIN") as copy:
        for a in seg.articles.values():
            key = (a.source or "").casefold()
            copy.write_row((a.id, a.title, a.date, a.source, key, a.url, a.path,
                            a.content_hash, a.text))  # fmt: skip
    cols = 'row, id, article_id, idx, start, "end", text, n_terms, embedding'
    with cur.copy(f"COPY chunks ({cols}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "text", "int4", "int4", "int4", "text", "int4", "vector"])
        for c, n, v in zip(seg.chunks, postings.doc_len, seg.chunk_vectors, strict=True):
            copy.write_row((chunk0 + c.row, c.id, c.article_id, c.idx, c.start, c.end, c.text,
                            int(n), np.asarray(v, dtype=np.float32)))  # fmt: skip
    cols = 'row, chunk_row, start, "end", embedding'
    with cur.copy(f"COPY sentences ({cols}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "int8", "int4", "int4", "vector"])
        for s, v in zip(seg.sentences, seg.sentence_vectors, strict=True):
            copy.write_row((sent0 + s.row, chunk0 + s.chunk_row, s.start, s.end,
                            np.asarray(v, dtype=np.float32)))  # fmt: skip
    with cur.copy("COPY postings (term, chunk_row, tf) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["text", "int8", "float4"])
        for i, term in enumerate(postings.terms):
            if term == _EMPTY_TERM:
                continue  # no query ever holds it (and PostgreSQL text cannot)
            lo, hi = postings.indptr[i], postings.indptr[i + 1]
            for d, tf in zip(postings.docs[lo:hi].tolist(), postings.tf[lo:hi].tolist(),
                             strict=True):  # fmt: skip
                copy.write_row((term, chunk0 + d, tf))
    conn.execute(
        """INSERT INTO terms (term, df)
           SELECT term, count(*) FROM postings WHERE chunk_row >= %s GROUP BY term
           ON CONFLICT (term) DO UPDATE SET df = terms.df + excluded.df""",
        (chunk0,),
    )
    total_len = int(sum(int(n) for n in postings.doc_len))
    return _Counts(len(seg.articles), n_chunks, n_sents, total_len)
