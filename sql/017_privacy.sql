-- Privacy (issue 13): the recording consent students confirm before
-- their first upload, the retention of recordings, students' deletion
-- requests, and the audit log of all of these.

-- Each save of the consent text is a new version; versions are never
-- changed or removed (a trigger refuses it), so an acceptance always
-- names the exact words a student agreed to.
CREATE TABLE consent_texts (
    version     bigserial PRIMARY KEY,
    body        text NOT NULL CHECK (body <> ''),
    created_by  bigint REFERENCES users ON DELETE SET NULL,
    author_name text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION consent_texts_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.created_by IS NOT NULL
       AND NEW.created_by IS NULL AND NEW.body = OLD.body
       AND NEW.version = OLD.version THEN
        RETURN NEW;     -- the author's account was deleted
    END IF;
    RAISE EXCEPTION 'consent texts are immutable: save a new version';
END
$$;
CREATE TRIGGER consent_texts_immutable BEFORE UPDATE OR DELETE
    ON consent_texts FOR EACH ROW EXECUTE FUNCTION consent_texts_immutable();

CREATE TABLE consent_acceptances (
    user_id     bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    version     bigint NOT NULL REFERENCES consent_texts,
    accepted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, version)
);

-- Retention: when a recording (and the sound extracted from it) was
-- removed, and under which setting. Transcripts, scores and comments
-- stay.
ALTER TABLE submissions
    ADD COLUMN media_removed_at timestamptz,
    ADD COLUMN media_retention_days integer;
CREATE INDEX submissions_media_kept ON submissions (id)
    WHERE media_removed_at IS NULL AND phase IN ('completed', 'failed');

-- A student's request that their account and data be deleted. The row
-- outlives the account as the record that it was done: the former
-- user id and a hash of the email (to answer "was my data deleted?"),
-- never the name or the address.
CREATE TABLE deletion_requests (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL,          -- no foreign key: kept after
    email_sha256  text NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz,
    done_by       bigint REFERENCES users ON DELETE SET NULL,
    done_by_name  text,
    removed       jsonb                     -- what was removed, counted
);
CREATE UNIQUE INDEX deletion_requests_open
    ON deletion_requests (user_id) WHERE done_at IS NULL;

-- Who did what to personal data, newest first on /admin/audit. actor
-- is a plain number (NULL: the server itself) so entries outlive the
-- accounts they name.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    bigint,
    action   text NOT NULL CHECK (action <> ''),
    subject  text NOT NULL DEFAULT '',
    details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
