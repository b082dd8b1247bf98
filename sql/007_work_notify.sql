-- The scheduler hears of work from the database, whoever made it: an
-- upload on any web instance, a staff retry, a transcription finished on
-- this or another node. A row that becomes claimable ('pending', in a
-- phase a node works on) raises NOTIFY work with its phase, so a node
-- wakes at once instead of at its next poll. Handlers never call into
-- the scheduler.
CREATE FUNCTION submissions_work_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' AND NEW.phase IN ('stt', 'llm') AND
       (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR
        OLD.phase IS DISTINCT FROM NEW.phase) THEN
        PERFORM pg_notify('work', NEW.phase);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER submissions_work_notify
    AFTER INSERT OR UPDATE OF status, phase ON submissions
    FOR EACH ROW EXECUTE FUNCTION submissions_work_notify();
