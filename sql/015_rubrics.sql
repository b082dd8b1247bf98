-- Rubrics teachers own (issue 13). A rubric is a family (rubric_sets:
-- a stable identity with a title and an owner) of numbered versions
-- (rubrics rows). A version is immutable once used: once a submission,
-- an evaluation, or an assignment that has submissions refers to it, its
-- definition never changes (the trigger below; the editor saves an edit
-- of a used version as the next version), so past results keep the
-- rubric they were scored with. server/pipeline/rubrics.c is the writer.
--
-- A definition may give each criterion a "weight" (> 0, 1 when absent)
-- and "descriptors" (what each level of the scale means, lowest first);
-- the overall score is the weighted mean (rubric_validate in
-- server/llm/rubric.c, and final_scores() below).

CREATE TABLE rubric_sets (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL CHECK (btrim(title) <> ''),
    owner_id    bigint REFERENCES users ON DELETE SET NULL, -- NULL: the lab's
    course_id   bigint REFERENCES courses ON DELETE SET NULL,
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- The lab's default rubric: what uploads outside an assignment (or to
-- an assignment without a rubric) are scored with, newest version first.
CREATE UNIQUE INDEX rubric_sets_one_default ON rubric_sets (is_default)
    WHERE is_default;

ALTER TABLE rubrics
    ADD COLUMN set_id bigint REFERENCES rubric_sets,
    ADD COLUMN created_by bigint REFERENCES users ON DELETE SET NULL,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Rubrics stored before families existed: one family per name; the
-- default is the family of the rubric that was current (the newest), so
-- new work is scored as before.
INSERT INTO rubric_sets (title, created_at)
    SELECT name, min(created_at) FROM rubrics GROUP BY name;
UPDATE rubrics r SET set_id = s.id FROM rubric_sets s WHERE s.title = r.name;
UPDATE rubric_sets SET is_default = true WHERE id = (SELECT set_id FROM
    rubrics ORDER BY created_at DESC, id DESC LIMIT 1);

-- The shipped default, version 1, when no rubric exists yet.
WITH s AS (
    INSERT INTO rubric_sets (title, is_default)
    SELECT 'Self-introduction', true
    WHERE NOT EXISTS (SELECT 1 FROM rubrics)
    RETURNING id
)
INSERT INTO rubrics (name, version, definition, set_id)
SELECT 'Self-introduction', 1, $json$
{
  "name": "Self-introduction",
  "version": 1,
  "scale": {
    "min": 1,
    "max": 5
  },
  "criteria": [
    {
      "key": "content",
      "title": "Content",
      "description": "Says who they are and gives relevant, specific details (studies, background, interests, goals) rather than a bare list; the listener learns something memorable about the speaker. 1: almost no information; 3: the basics with few details; 5: rich, specific and well chosen.",
      "weight": 1,
      "descriptors": [
        "Almost no information about the speaker.",
        "A few facts, with no details.",
        "The basics (name, studies, interests) with few details.",
        "Relevant facts with some specific, well-chosen details.",
        "Rich, specific, well-chosen details; the listener remembers the speaker."
      ]
    },
    {
      "key": "organization",
      "title": "Organization",
      "description": "Has a clear opening, a logical order of ideas with smooth transitions, and a real closing rather than just stopping; fits the one-to-two-minute length. 1: disordered or unfinished; 3: some order but abrupt turns or ending; 5: easy to follow from greeting to conclusion.",
      "weight": 1,
      "descriptors": [
        "Disordered or unfinished.",
        "Some order, but no clear opening or closing.",
        "Some order, with abrupt turns or an abrupt ending.",
        "Clear opening and closing; mostly smooth transitions.",
        "Easy to follow from greeting to conclusion."
      ]
    },
    {
      "key": "delivery",
      "title": "Delivery",
      "description": "Speaks at a comfortable pace (roughly 120 to 160 words per minute), with few fillers (um, uh, like) and few long hesitations, in a fluent and confident way. Judge from the transcript and the speech metrics; do not penalise speech-recognition mistakes. 1: very halting or rushed; 3: understandable with noticeable hesitations; 5: fluent and natural.",
      "weight": 1,
      "descriptors": [
        "Very halting or rushed.",
        "Hard to follow: many fillers and long pauses.",
        "Understandable, with noticeable hesitations.",
        "Mostly fluent, at a comfortable pace.",
        "Fluent and natural, at a comfortable pace."
      ]
    },
    {
      "key": "language",
      "title": "Language",
      "description": "Uses correct grammar, appropriate and varied vocabulary, and a register suited to a class or a professional setting. 1: frequent errors that block meaning; 3: some errors or repetitive wording; 5: accurate, varied and well suited to the audience.",
      "weight": 1,
      "descriptors": [
        "Frequent errors that block meaning.",
        "Frequent errors; the meaning mostly comes through.",
        "Some errors or repetitive wording.",
        "Few errors; appropriate, fairly varied wording.",
        "Accurate, varied and well suited to the audience."
      ]
    }
  ]
}
$json$::jsonb, s.id FROM s
ON CONFLICT DO NOTHING;

-- Versions are numbered within a family; two teachers may both call a
-- rubric "Presentation".
ALTER TABLE rubrics
    ALTER COLUMN set_id SET NOT NULL,
    DROP CONSTRAINT rubrics_name_version_key,
    ADD CONSTRAINT rubrics_set_version_key UNIQUE (set_id, version);

-- The rubric new work is scored with when nothing else names one: the
-- newest version of the default family.
CREATE FUNCTION rubric_current() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT r.id FROM rubrics r JOIN rubric_sets s ON s.id = r.set_id
    WHERE s.is_default ORDER BY r.version DESC LIMIT 1
$$;

-- Whether a version has been used, so its definition is frozen: the one
-- definition the trigger and the editor share (the indexes keep it cheap
-- for the rubric list, which asks it of every version).
CREATE INDEX submissions_rubric ON submissions (rubric_id);
CREATE INDEX evaluations_rubric ON evaluations (rubric_id);
CREATE INDEX assignments_rubric ON assignments (rubric_id);
CREATE FUNCTION rubric_used(rid bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM submissions WHERE rubric_id = rid)
        OR EXISTS (SELECT 1 FROM evaluations WHERE rubric_id = rid)
        OR EXISTS (SELECT 1 FROM assignments a JOIN submissions s
                   ON s.assignment_id = a.id WHERE a.rubric_id = rid)
$$;

CREATE FUNCTION rubrics_frozen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.definition IS DISTINCT FROM OLD.definition
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.set_id IS DISTINCT FROM OLD.set_id
        OR NEW.name IS DISTINCT FROM OLD.name)
       AND rubric_used(OLD.id) THEN
        RAISE EXCEPTION 'rubric % version % is in use and cannot change; '
            'save the edit as a new version', OLD.name, OLD.version
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER rubrics_frozen
    BEFORE UPDATE ON rubrics
    FOR EACH ROW EXECUTE FUNCTION rubrics_frozen();

-- A criterion's weight in a definition (1 when it gives none).
CREATE FUNCTION rubric_weights(def jsonb) RETURNS TABLE (key text,
    weight numeric)
LANGUAGE sql IMMUTABLE AS $$
    SELECT c ->> 'key', coalesce((c ->> 'weight')::numeric, 1)
    FROM jsonb_array_elements(coalesce(def -> 'criteria', '[]')) c
$$;

-- final_scores() of sql/011, with the weighted mean: after a teacher's
-- adjustment the overall is the mean of the final scores weighted as the
-- evaluation's rubric version weighs them (1 for a criterion it does not
-- name), rounded to two decimals as rubric_validate computes a model's.
-- An adjustment of a criterion the evaluation's version does not have
-- (a re-evaluation with a newer version dropped it) takes no part.
CREATE OR REPLACE FUNCTION final_scores(sid bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH e AS (
        SELECT id, scores, overall, rubric_id FROM evaluations
        WHERE submission_id = sid ORDER BY created_at DESC, id DESC LIMIT 1
    ), f AS (
        SELECT k.key, CASE WHEN jsonb_typeof(k.value) = 'number'
            THEN k.value::numeric END AS model, a.score AS adjusted,
            coalesce(w.weight, 1) AS weight
        FROM e CROSS JOIN jsonb_each(e.scores) k
        LEFT JOIN score_adjustments a
            ON a.submission_id = sid AND a.criterion = k.key
        LEFT JOIN rubrics r ON r.id = e.rubric_id
        LEFT JOIN LATERAL rubric_weights(r.definition) w ON w.key = k.key
    )
    SELECT jsonb_build_object(
        'evaluation_id', e.id,
        'scores', coalesce((SELECT jsonb_object_agg(f.key,
            coalesce(f.adjusted, f.model)) FROM f), '{}'),
        'overall', CASE WHEN EXISTS (SELECT 1 FROM f
                WHERE f.adjusted IS NOT NULL)
            THEN (SELECT round(sum(f.weight * coalesce(f.adjusted, f.model))
                / nullif(sum(f.weight) FILTER (WHERE coalesce(f.adjusted,
                f.model) IS NOT NULL), 0), 2) FROM f)::float8
            ELSE e.overall END,
        'model_overall', e.overall,
        'adjusted', coalesce((SELECT jsonb_agg(f.key ORDER BY f.key)
            FROM f WHERE f.adjusted IS NOT NULL), '[]'))
    FROM e
$$;
