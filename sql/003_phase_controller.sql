-- The phase controller: which node holds a submission, each node's state,
-- and a log of every STT and LLM call (the evidence that they never
-- overlap on a node, and the source of measured rates).

ALTER TABLE submissions
    ADD COLUMN node text,                   -- the node holding or last holding it
    ADD COLUMN batch_id bigint,             -- its STT batch
    ADD COLUMN stt_progress real;           -- 0..1 while transcribing

-- A node's worker ids are "<node>:<pid>"; recovery after a restart looks
-- up what the node's earlier process held.
CREATE INDEX submissions_processing ON submissions (node)
    WHERE status = 'processing';

CREATE TABLE system_state (
    node            text PRIMARY KEY,
    worker_id       text NOT NULL,
    phase           text NOT NULL
                    CHECK (phase IN ('stt', 'llm', 'switching', 'idle',
                                     'concurrent')),
    phase_since     timestamptz NOT NULL DEFAULT now(),
    batch_id        bigint,
    batch_size      integer NOT NULL DEFAULT 0,
    batch_done      integer NOT NULL DEFAULT 0,
    queue_stt       integer NOT NULL DEFAULT 0,
    queue_llm       integer NOT NULL DEFAULT 0,
    active_workers  integer NOT NULL DEFAULT 0,
    stt_available   boolean NOT NULL DEFAULT true,
    llm_healthy     integer NOT NULL DEFAULT 0,
    detail          jsonb NOT NULL DEFAULT '{}',
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per phase a node ran (the timeline of the admin page).
CREATE TABLE phase_runs (
    id           bigserial PRIMARY KEY,
    node         text NOT NULL,
    phase        text NOT NULL CHECK (phase IN ('stt', 'llm', 'switching')),
    batch_id     bigint,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    items        integer NOT NULL DEFAULT 0,
    reason       text NOT NULL DEFAULT ''
);
CREATE INDEX phase_runs_node_time ON phase_runs (node, started_at);

-- One row per call: an STT transcription, an LLM generation, or a model
-- unload/load around a phase switch.
CREATE TABLE phase_log (
    id             bigserial PRIMARY KEY,
    node           text NOT NULL,
    phase          text NOT NULL CHECK (phase IN ('stt', 'llm', 'unload')),
    submission_id  bigint REFERENCES submissions ON DELETE SET NULL,
    backend        text,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    outcome        text NOT NULL DEFAULT 'running',
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX phase_log_node_time ON phase_log (node, started_at);
CREATE INDEX phase_log_submission ON phase_log (submission_id);

CREATE SEQUENCE stt_batch_seq;

-- Dashboards follow the nodes through LISTEN system.
CREATE FUNCTION system_state_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('system', json_build_object(
        'node', NEW.node, 'phase', NEW.phase,
        'queue_stt', NEW.queue_stt, 'queue_llm', NEW.queue_llm,
        'batch_size', NEW.batch_size, 'batch_done', NEW.batch_done)::text);
    RETURN NEW;
END
$$;

CREATE TRIGGER system_state_notify
    AFTER INSERT OR UPDATE ON system_state
    FOR EACH ROW EXECUTE FUNCTION system_state_notify();
