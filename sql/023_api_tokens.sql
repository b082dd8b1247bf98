-- API tokens (issue 16): named bearer tokens a teacher or an admin makes
-- for scripts. The secret ("ie_" and 48 hex digits, 192 random bits) is
-- shown once; only its BLAKE2b hash is kept (server/web/apitoken.c), so
-- a copy of this table signs nobody in. scope 'read' allows GET and HEAD
-- only; 'act' acts with the owner's role. A revoked token stays listed
-- (revoked_at) so the audit log's entries keep a name to point at.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name         text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    scope        text NOT NULL CHECK (scope IN ('read', 'act')),
    secret_hash  text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);
