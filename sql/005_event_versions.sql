-- Event versions for live pages: every visible change of a submission
-- takes the next number of one global sequence, and the number travels in
-- the NOTIFY payload. A WebSocket client remembers the highest version it
-- has seen; when it reconnects (or the server restarts) it asks for every
-- submission of its topic with a higher version, so nothing is lost.

CREATE SEQUENCE submission_version_seq;

ALTER TABLE submissions ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- Only what a page shows bumps the version: a lease heartbeat does not.
CREATE FUNCTION submissions_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.priority IS DISTINCT FROM OLD.priority
       OR NEW.stt_progress IS DISTINCT FROM OLD.stt_progress
       OR NEW.error_message IS DISTINCT FROM OLD.error_message
       OR NEW.course_id IS DISTINCT FROM OLD.course_id
       OR NEW.batch_id IS DISTINCT FROM OLD.batch_id THEN
        NEW.version := nextval('submission_version_seq');
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER submissions_version
    BEFORE INSERT OR UPDATE ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_version();

-- The announcement now fires whenever the version moved (transcription
-- progress included) and carries it; readers fetch the rest by id.
CREATE OR REPLACE FUNCTION submissions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN
        PERFORM pg_notify('submissions', json_build_object(
            'id', NEW.id, 'student_id', NEW.student_id,
            'course_id', NEW.course_id, 'phase', NEW.phase,
            'status', NEW.status, 'version', NEW.version)::text);
    END IF;
    RETURN NEW;
END
$$;

-- Existing rows get versions too (a listener merely sees them as changes).
UPDATE submissions SET version = nextval('submission_version_seq');

CREATE INDEX submissions_version_idx ON submissions (version);
