-- Shared database functions: the change notification trigger and the
-- timestamp format of the API.

-- Every change of a submission's phase, status or priority is announced on
-- the 'submissions' channel, whoever made it (any server process, a psql
-- session), so live pages can follow the pipeline from LISTEN alone. The
-- payload is small JSON; readers fetch the rest by id.

CREATE FUNCTION submissions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.priority IS DISTINCT FROM OLD.priority THEN
        PERFORM pg_notify('submissions', json_build_object(
            'id', NEW.id, 'student_id', NEW.student_id,
            'course_id', NEW.course_id, 'phase', NEW.phase,
            'status', NEW.status)::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER submissions_notify
    AFTER INSERT OR UPDATE ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_notify();

-- Timestamps in the API: ISO 8601 in UTC to the second, whatever the
-- session's time zone.
CREATE FUNCTION iso_utc(timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
