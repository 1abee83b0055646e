-- Follows (`/follow` alerts), their outbox, daily briefings and webhooks: what
-- retrieval/follows/store.py and webhooks.py keep in SQLite, so that a follow made through
-- any replica is matched by the worker's scan and its alerts are delivered by one replica.
CREATE TABLE follows (
    id bigserial PRIMARY KEY,
    chat text NOT NULL,
    topic text NOT NULL,
    created double precision NOT NULL,   -- epoch seconds, as in SQLite
    model text NOT NULL,
    vector bytea NOT NULL                -- float32, little-endian (numpy's tobytes)
);
CREATE INDEX follows_by_chat ON follows (chat, id);

-- The outbox and the record of what a chat was told (one row per chat and story).
CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    chat text NOT NULL,
    follow_id bigint NOT NULL,
    story_id text,
    kind text NOT NULL,
    created double precision NOT NULL,
    body text NOT NULL,
    delivered double precision,
    folded_into bigint
);
CREATE UNIQUE INDEX alerts_once ON alerts (chat, story_id) WHERE story_id IS NOT NULL;
CREATE INDEX alerts_pending ON alerts (delivered, id);
CREATE INDEX alerts_by_follow ON alerts (follow_id, created);

CREATE TABLE briefings (
    chat text PRIMARY KEY,
    at text NOT NULL,
    tz text NOT NULL,
    last_day text
);

-- The follows' counters: the scan's cursor over the worker's feed state, and the follows
-- revision (bumped by every follow and unfollow, so that the worker's matcher reloads).
CREATE TABLE counters (
    name text PRIMARY KEY,
    value bigint NOT NULL
);

CREATE TABLE webhooks (
    chat text PRIMARY KEY,
    url text NOT NULL,
    secret text NOT NULL,
    created double precision NOT NULL,
    last_success double precision,
    last_error text
);
CREATE TABLE webhook_tries (
    alert_id bigint PRIMARY KEY,
    attempts integer NOT NULL,
    next_try double precision NOT NULL,
    last_error text
);
