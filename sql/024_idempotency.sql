-- Idempotency-Key (issue 16): the first POST under /api/v1 with a key
-- runs and its answer is stored here; a repeat by the same user with the
-- same key, method, path and body fingerprint gets the stored answer
-- for 24 hours (server/web/idem.c). state 'running' while the first is
-- in progress (a repeat is answered 409); started_at lets a key whose
-- server died mid-request be taken over after an hour.
CREATE TABLE idempotency_keys (
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    key          text NOT NULL CHECK (key <> '' AND length(key) <= 255),
    method       text NOT NULL,
    path         text NOT NULL,
    fingerprint  text NOT NULL,
    state        text NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running', 'done')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    status       integer,
    content_type text,
    headers      text,
    body         bytea,
    expires_at   timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
