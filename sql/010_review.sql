-- Reviewing a scored introduction: what a teacher adds after scoring
-- (score adjustments, time-coded comments, a student's reply) changes
-- what the submission's page shows, so it must reach live pages like a
-- status change does. Each such change bumps review_seq in the same
-- transaction, and review_seq is one of the fields that take a new
-- version (005): the NOTIFY and the WebSocket backlog then carry it.
--
-- Evidence: for every criterion, the quote the model gave to support its
-- score and where it was found in the timed transcript:
--   {criterion: {"quote": text, "start": s, "end": s, "verified": bool}}
-- start and end are null when the quote was not found (unverified).

ALTER TABLE submissions ADD COLUMN review_seq bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION submissions_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.priority IS DISTINCT FROM OLD.priority
       OR NEW.stt_progress IS DISTINCT FROM OLD.stt_progress
       OR NEW.error_message IS DISTINCT FROM OLD.error_message
       OR NEW.course_id IS DISTINCT FROM OLD.course_id
       OR NEW.batch_id IS DISTINCT FROM OLD.batch_id
       OR NEW.review_seq IS DISTINCT FROM OLD.review_seq THEN
        NEW.version := nextval('submission_version_seq');
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE evaluations ADD COLUMN evidence jsonb;
