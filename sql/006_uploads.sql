-- Resumable uploads (the tus 1.0 protocol; server/tus.c owns this table).
--
-- One row per upload a student has started. Its bytes are received into
-- data_dir/uploads/<stored_name>.tus, and the file's size is the upload's
-- offset: a byte is received when it is in the file. When the last byte
-- arrives the file becomes a submission (or is refused) and finished_at is
-- set; the row stays, with the submission or the reason, until it expires,
-- so a client that lost the last answer can still learn the outcome.
-- Rows whose expires_at has passed are removed with their files by the
-- sweep; every byte received moves expires_at forward.

CREATE TABLE uploads (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    stored_name    text NOT NULL UNIQUE,
    length         bigint NOT NULL CHECK (length > 0),
    metadata       text NOT NULL DEFAULT '',   -- Upload-Metadata, as sent
    filename       text NOT NULL DEFAULT '',   -- decoded from it: a label
    submission_id  bigint REFERENCES submissions ON DELETE SET NULL,
    error          text,                       -- why it was refused
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX uploads_expires ON uploads (expires_at);
CREATE INDEX uploads_user_open ON uploads (user_id, created_at)
    WHERE finished_at IS NULL;
