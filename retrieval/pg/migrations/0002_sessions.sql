-- Conversation turns (what retrieval/sessions.py keeps in SQLite), so that any replica
-- can answer any turn of a conversation.
CREATE TABLE turns (
    id bigserial PRIMARY KEY,
    session_id text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    question text NOT NULL,
    standalone text NOT NULL,
    answer text NOT NULL,
    short_answer text,
    citations text NOT NULL,
    time text,
    focus text
);
CREATE INDEX turns_by_session ON turns (session_id, id);

-- Telegram update ids already handled (by any replica), and token buckets per key.
CREATE TABLE seen_updates (
    update_id bigint PRIMARY KEY,
    seen timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seen_updates_by_time ON seen_updates (seen);

CREATE TABLE rate_buckets (
    scope text NOT NULL,
    key text NOT NULL,
    tokens double precision NOT NULL,
    updated double precision NOT NULL,   -- the database's clock, epoch seconds
    spent boolean NOT NULL,              -- whether the last hit spent a token
    PRIMARY KEY (scope, key)
);
