-- The request id of the upload that created a submission (nginx's
-- X-Request-Id, or one the server made), so the scheduler's log lines
-- for the submission carry the same id as the upload's (issue 17).
ALTER TABLE submissions ADD COLUMN request_id text;
