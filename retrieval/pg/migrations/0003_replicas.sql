-- What N replicas behind a load balancer must agree on beyond the turns themselves.

-- A request retried on another replica (HTTP Idempotency-Key) is one turn, not two.
ALTER TABLE turns ADD COLUMN request_id text;
CREATE UNIQUE INDEX turns_by_request ON turns (session_id, request_id)
    WHERE request_id IS NOT NULL;

-- Server secrets every replica must share, e.g. the one HTTP key identities are derived
-- with (else a key's conversations and rate limit would differ from replica to replica).
CREATE TABLE server_secrets (
    name text PRIMARY KEY,
    secret bytea NOT NULL
);

-- The story map (copies of one story, collapsed in answers): the feed poller of the one
-- worker publishes it from its feed state; replicas reload it when the revision moves.
CREATE TABLE stories (
    story_id text NOT NULL,
    position integer NOT NULL,           -- earliest first
    article_id text NOT NULL,
    PRIMARY KEY (story_id, position)
);
CREATE TABLE stories_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    revision bigint NOT NULL DEFAULT 0
);
INSERT INTO stories_state DEFAULT VALUES;
