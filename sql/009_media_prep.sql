-- Media preparation at intake (issue 11). An upload starts in phase
-- 'prep': a media worker (any node, outside the exclusive STT phase)
-- extracts its sound to 16 kHz mono WAV beside the upload and checks its
-- levels, then moves it to 'stt', where only engine calls are left.
-- Claims, leases, fencing and crash counting are the queue's, as for the
-- other phases; phase_log records preparations as phase 'prep'.

ALTER TABLE submissions DROP CONSTRAINT submissions_phase_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_phase_check
    CHECK (phase IN ('prep', 'stt', 'llm', 'completed', 'failed'));
ALTER TABLE submissions ALTER COLUMN phase SET DEFAULT 'prep';
ALTER TABLE submissions ADD COLUMN audio_ready_at timestamptz;

ALTER TABLE phase_log DROP CONSTRAINT phase_log_phase_check;
ALTER TABLE phase_log ADD CONSTRAINT phase_log_phase_check
    CHECK (phase IN ('prep', 'stt', 'llm', 'unload'));

CREATE OR REPLACE FUNCTION submissions_work_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' AND NEW.phase IN ('prep', 'stt', 'llm') AND
       (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR
        OLD.phase IS DISTINCT FROM NEW.phase) THEN
        PERFORM pg_notify('work', NEW.phase);
    END IF;
    RETURN NEW;
END
$$;
