-- Fenced claims (issue 10). Every claim takes a fresh token from
-- claim_token_seq; every write of a result, progress or failure names the
-- token it was claimed with and changes nothing when the row has since
-- been taken over, cancelled or claimed again. A claim whose work began
-- (work_started_at) and was cut short -- the process died, or its lease
-- ran out -- counts a crash; max_attempts of them stop the submission
-- for staff to look at, so a file that kills the server cannot do it
-- forever.

CREATE SEQUENCE claim_token_seq;

ALTER TABLE submissions
    ADD COLUMN claim_token bigint,          -- the holder's claim; NULL when not held
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,  -- claims in this phase
    ADD COLUMN crashes integer NOT NULL DEFAULT 0,   -- of them, cut short
    ADD COLUMN work_started_at timestamptz; -- the holder began the work

-- Rows a restart or the rescuer looks at.
CREATE INDEX submissions_lease ON submissions (lease_expires_at)
    WHERE status = 'processing';

-- Results refused because their claim was no longer the row's, per node.
ALTER TABLE system_state
    ADD COLUMN stale_writes bigint NOT NULL DEFAULT 0;
