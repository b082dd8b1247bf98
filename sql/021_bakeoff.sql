-- Model bake-offs (issue 18): several backends re-score the same completed
-- submissions, `trials` times each, at low priority and under the phase
-- rule; what they answer is kept here only, so a bake-off never changes
-- a student's result. Agreement is measured against final_scores() (the
-- teachers' adjusted scores where there are any).
CREATE TABLE bakeoffs (
    id           bigserial PRIMARY KEY,
    created_by   bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    trials       integer NOT NULL CHECK (trials BETWEEN 1 AND 10),
    backends     text[] NOT NULL CHECK (cardinality(backends) >= 1),
    selection    text NOT NULL,        -- in words, for the page
    state        text NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running', 'done', 'cancelled'))
);

CREATE TABLE bakeoff_runs (
    id            bigserial PRIMARY KEY,
    bakeoff_id    bigint NOT NULL REFERENCES bakeoffs(id) ON DELETE CASCADE,
    submission_id bigint NOT NULL REFERENCES submissions(id)
                  ON DELETE CASCADE,
    backend       text NOT NULL,
    trial         integer NOT NULL,
    rubric_id     bigint,
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'done', 'failed')),
    node          text,
    claimed_at    timestamptz,
    finished_at   timestamptz,
    scores        jsonb,
    overall       float8,
    model         text,
    invalid       boolean NOT NULL DEFAULT false,
    latency_s     float8,
    eval_tokens   bigint,
    error         text NOT NULL DEFAULT '',
    UNIQUE (bakeoff_id, submission_id, backend, trial)
);
CREATE INDEX bakeoff_runs_pending ON bakeoff_runs (id)
    WHERE state = 'pending';

-- New runs are LLM work: wake the nodes' schedulers as 007 does.
CREATE FUNCTION bakeoff_runs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('work', 'llm');
    RETURN NULL;
END
$$;

CREATE TRIGGER bakeoff_runs_notify
    AFTER INSERT ON bakeoff_runs
    FOR EACH STATEMENT EXECUTE FUNCTION bakeoff_runs_notify();
