-- Teacher score adjustments (issue 12). A teacher may change any
-- criterion's score, within the rubric's scale, with a comment the
-- student reads. The adjustment belongs to the submission, not to one
-- evaluations row, so a later re-evaluation (a new evaluations row)
-- keeps it; the model's score at the time is kept beside it, so a page
-- can flag a re-evaluation that now scores the criterion differently.
-- server/pipeline/review.c is the only writer.

CREATE TABLE score_adjustments (
    submission_id  bigint NOT NULL REFERENCES submissions ON DELETE CASCADE,
    criterion      text NOT NULL,
    score          integer NOT NULL,
    model_score    integer,         -- the model's, when adjusted
    evaluation_id  bigint REFERENCES evaluations ON DELETE SET NULL,
    comment        text NOT NULL
                   CHECK (btrim(comment) <> '' AND length(comment) <= 2000),
    adjusted_by    bigint REFERENCES users ON DELETE SET NULL,
    adjusted_by_name text NOT NULL, -- kept if the account goes
    adjusted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (submission_id, criterion)
);

-- Every change, append-only: before is the score the page showed, after
-- the one it shows now (NULL: the adjustment was taken back, so the
-- model's score, model_score, shows again).
CREATE TABLE score_audit (
    id             bigserial PRIMARY KEY,
    submission_id  bigint NOT NULL REFERENCES submissions ON DELETE CASCADE,
    criterion      text NOT NULL,
    before_score   integer NOT NULL,
    after_score    integer,
    model_score    integer,
    evaluation_id  bigint REFERENCES evaluations ON DELETE SET NULL,
    user_id        bigint REFERENCES users ON DELETE SET NULL,
    user_name      text NOT NULL,
    comment        text NOT NULL
                   CHECK (btrim(comment) <> '' AND length(comment) <= 2000),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX score_audit_submission ON score_audit (submission_id, id);

-- A row of the trail is never rewritten (it goes only with its
-- submission, or when a referenced row's deletion sets a link NULL).
CREATE FUNCTION score_audit_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.submission_id IS DISTINCT FROM OLD.submission_id
       OR NEW.criterion IS DISTINCT FROM OLD.criterion
       OR NEW.before_score IS DISTINCT FROM OLD.before_score
       OR NEW.after_score IS DISTINCT FROM OLD.after_score
       OR NEW.model_score IS DISTINCT FROM OLD.model_score
       OR NEW.user_name IS DISTINCT FROM OLD.user_name
       OR NEW.comment IS DISTINCT FROM OLD.comment
       OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'score_audit rows are never changed';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER score_audit_frozen
    BEFORE UPDATE ON score_audit
    FOR EACH ROW EXECUTE FUNCTION score_audit_frozen();

-- The final scores of a submission, the one place the rule lives (the
-- submission JSON, the course results, the CSV and live events use it):
--   {"evaluation_id": id of the newest evaluation,
--    "scores": {criterion: the adjusted score, else the model's},
--    "overall": ..., "model_overall": the evaluation's own overall,
--    "adjusted": [criteria with an adjustment, sorted]}
-- NULL before the first evaluation. Without adjustments the overall is
-- the evaluation's own (an ensemble's is the mean of its models'
-- overalls); with any, it is the mean of the final scores rounded to two
-- decimals, as rubric_validate (server/llm/rubric.c) computes a model's.
CREATE FUNCTION final_scores(sid bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH e AS (
        SELECT id, scores, overall FROM evaluations
        WHERE submission_id = sid ORDER BY created_at DESC, id DESC LIMIT 1
    ), f AS (
        SELECT k.key, CASE WHEN jsonb_typeof(k.value) = 'number'
            THEN k.value::numeric END AS model, a.score AS adjusted
        FROM e CROSS JOIN jsonb_each(e.scores) k
        LEFT JOIN score_adjustments a
            ON a.submission_id = sid AND a.criterion = k.key
    )
    SELECT jsonb_build_object(
        'evaluation_id', e.id,
        'scores', coalesce((SELECT jsonb_object_agg(f.key,
            coalesce(f.adjusted, f.model)) FROM f), '{}'),
        'overall', CASE WHEN EXISTS (SELECT 1 FROM f
                WHERE f.adjusted IS NOT NULL)
            THEN (SELECT round(avg(coalesce(f.adjusted, f.model)), 2)
                FROM f)::float8
            ELSE e.overall END,
        'model_overall', e.overall,
        'adjusted', coalesce((SELECT jsonb_agg(f.key ORDER BY f.key)
            FROM f WHERE f.adjusted IS NOT NULL), '[]'))
    FROM e
$$;
