-- Provenance of every evaluation, so a grade can be explained and
-- reproduced: which backend instance and model build (digest) graded it,
-- with which generation options, rubric version and prompt template; and
-- in ensemble mode every model's scores and whether they disagree.

ALTER TABLE evaluations
    ADD COLUMN backend_url    text,             -- the instance that graded
    ADD COLUMN model_digest   text,             -- Ollama's digest (/api/tags)
    ADD COLUMN options        jsonb,            -- temperature, seed, num_ctx
    ADD COLUMN rubric_version integer,
    ADD COLUMN prompt_sha256  text,             -- hash of the prompt template
    ADD COLUMN mode           text NOT NULL DEFAULT 'single'
                              CHECK (mode IN ('single', 'ensemble')),
    ADD COLUMN needs_review   boolean NOT NULL DEFAULT false,
    ADD COLUMN ensemble       jsonb,            -- [{backend, model, digest,
                                                --   scores, overall}, ...]
    ADD COLUMN provenance     jsonb;            -- everything above and the
                                                -- calls made (failover)

-- Teachers' review list: ensemble grades the models disagreed on.
CREATE INDEX evaluations_needs_review ON evaluations (created_at DESC)
    WHERE needs_review;
