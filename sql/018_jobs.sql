-- Jobs: what a teacher asked for in words (issue 14), once confirmed.
-- A preview writes nothing; only a confirmed request becomes a row.
--
-- A job's items are the submissions its spec matched when it was
-- confirmed. An item is 'queued' while its submission is on its way back
-- through the scheduler and becomes 'done' or 'failed' when the
-- submission reaches that outcome: a trigger on submissions does it, in
-- the scheduler's own transaction, so progress is exact whichever node or
-- process did the work, and a crash loses nothing. Items whose action is
-- immediate (cancel, prioritize, export, or nothing to do) are written
-- already finished. A job is 'running' while any item is queued.

CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    course_id     bigint REFERENCES courses ON DELETE SET NULL,
    requested_by  bigint REFERENCES users ON DELETE SET NULL,
    request_text  text NOT NULL DEFAULT '',
    -- rules: the deterministic parser; llm: a language model's answer;
    -- form: a spec sent or edited by hand.
    parser        text NOT NULL CHECK (parser IN ('rules', 'llm', 'form')),
    action        text NOT NULL,
    spec          jsonb NOT NULL,
    summary       text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
    error         text,
    cancelled_by  bigint REFERENCES users ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX jobs_course ON jobs (course_id, created_at DESC);
CREATE INDEX jobs_requested_by ON jobs (requested_by, created_at DESC);

CREATE TABLE job_items (
    job_id         bigint NOT NULL REFERENCES jobs ON DELETE CASCADE,
    submission_id  bigint NOT NULL REFERENCES submissions ON DELETE CASCADE,
    state          text NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'done', 'failed', 'skipped',
                                    'cancelled')),
    detail         text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, submission_id)
);
CREATE INDEX job_items_queued ON job_items (submission_id)
    WHERE state = 'queued';

-- Every change of a job's progress is announced on channel 'jobs' with
-- the job's id and course; readers fetch the rest.
CREATE FUNCTION jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobs', json_build_object('id', NEW.id,
        'course_id', NEW.course_id, 'state', NEW.state)::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_notify();

-- A submission that reaches an outcome finishes the items waiting for
-- it, and a job with nothing left queued is done.
CREATE FUNCTION job_items_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j bigint;
BEGIN
    IF NEW.phase IN ('completed', 'failed')
       AND NEW.phase IS DISTINCT FROM OLD.phase THEN
        FOR j IN UPDATE job_items SET
                state = CASE WHEN NEW.phase = 'completed' THEN 'done'
                             ELSE 'failed' END,
                detail = coalesce(NEW.error_message, ''),
                updated_at = now()
            WHERE submission_id = NEW.id AND state = 'queued'
            RETURNING job_id
        LOOP
            UPDATE jobs SET
                state = CASE WHEN EXISTS (SELECT 1 FROM job_items i
                    WHERE i.job_id = j AND i.state = 'queued')
                    THEN state ELSE 'done' END,
                finished_at = CASE WHEN EXISTS (SELECT 1 FROM job_items i
                    WHERE i.job_id = j AND i.state = 'queued')
                    THEN finished_at ELSE now() END
            WHERE id = j AND state = 'running';
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER job_items_follow AFTER UPDATE OF phase ON submissions
    FOR EACH ROW EXECUTE FUNCTION job_items_follow();
