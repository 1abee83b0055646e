-- The index: articles, chunks, sentences and their vectors (pgvector, HNSW on cosine
-- distance), BM25 postings maintained by the one writer, and the index's state.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE index_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint NOT NULL DEFAULT 0,    -- bumped by every commit: readers reload on it
    signature jsonb,                         -- embedding model and chunking it is bound to
    created timestamptz,
    n_chunks bigint NOT NULL DEFAULT 0,      -- BM25's document count and total length
    total_len bigint NOT NULL DEFAULT 0,
    next_chunk bigint NOT NULL DEFAULT 0,    -- row numbers are never reused
    next_sentence bigint NOT NULL DEFAULT 0,
    counts jsonb NOT NULL DEFAULT '{"articles": 0, "chunks": 0, "sentences": 0}'
);
INSERT INTO index_state DEFAULT VALUES;

CREATE TABLE index_files (
    path text PRIMARY KEY,
    sha256 text NOT NULL
);

CREATE TABLE articles (
    id text PRIMARY KEY,
    title text NOT NULL,
    date text,
    source text,
    source_key text,                         -- casefold(source): what a source filter matches
    url text,
    path text NOT NULL,
    content_hash text NOT NULL,
    text text NOT NULL
);
CREATE INDEX articles_date ON articles (date);
CREATE INDEX articles_source ON articles (source_key);

CREATE TABLE chunks (
    row bigint PRIMARY KEY,
    id text NOT NULL,
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    idx integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    text text NOT NULL,
    n_terms integer NOT NULL,
    embedding vector(384) NOT NULL
);
CREATE INDEX chunks_article ON chunks (article_id);
CREATE INDEX chunks_hnsw ON chunks USING hnsw (embedding vector_cosine_ops);

CREATE TABLE sentences (
    row bigint PRIMARY KEY,
    chunk_row bigint NOT NULL REFERENCES chunks (row) ON DELETE CASCADE,
    start integer NOT NULL,
    "end" integer NOT NULL,
    embedding vector(384) NOT NULL
);
CREATE INDEX sentences_chunk ON sentences (chunk_row);
CREATE INDEX sentences_hnsw ON sentences USING hnsw (embedding vector_cosine_ops);

-- BM25 (Lucene variant, as retrieval/lexical.py): term frequencies per chunk, and each
-- term's document frequency over the live chunks.
CREATE TABLE postings (
    term text NOT NULL,
    chunk_row bigint NOT NULL REFERENCES chunks (row) ON DELETE CASCADE,
    tf real NOT NULL,
    PRIMARY KEY (term, chunk_row)
);
CREATE INDEX postings_chunk ON postings (chunk_row);

CREATE TABLE terms (
    term text PRIMARY KEY,
    df integer NOT NULL
);
