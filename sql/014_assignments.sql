-- Assignments: what a course asks its students to record. An upload
-- names one; the course's pages, results and CSV are per assignment.
--
-- Dates are timestamptz (instants); pages show and read them in the
-- course's time zone (an IANA name such as 'Europe/Berlin').
--
-- Rubric versions (rubrics rows) are what an assignment points at; the
-- version used by each evaluation is stored on the evaluation, so a new
-- version never changes past results.

ALTER TABLE courses
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
        CHECK (time_zone <> '');

CREATE TABLE assignments (
    id              bigserial PRIMARY KEY,
    course_id       bigint NOT NULL REFERENCES courses ON DELETE CASCADE,
    title           text NOT NULL CHECK (title <> ''),
    instructions    text NOT NULL DEFAULT '',
    opens_at        timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz,            -- NULL: no due date
    min_duration_s  double precision NOT NULL DEFAULT 0
                    CHECK (min_duration_s >= 0),
    max_duration_s  double precision        -- NULL: the server's limit
                    CHECK (max_duration_s IS NULL
                           OR max_duration_s > min_duration_s),
    rubric_id       bigint REFERENCES rubrics,  -- NULL: the newest rubric
    late_ok         boolean NOT NULL DEFAULT false,
    created_by      bigint REFERENCES users ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (due_at IS NULL OR due_at > opens_at)
);
CREATE INDEX assignments_course ON assignments (course_id, due_at);

-- Old rows name no assignment; every new upload names one.
ALTER TABLE submissions
    ADD COLUMN assignment_id bigint REFERENCES assignments ON DELETE SET NULL,
    ADD COLUMN late boolean NOT NULL DEFAULT false;
CREATE INDEX submissions_assignment
    ON submissions (assignment_id, student_id, created_at DESC);

-- The submission that counts for a student and an assignment: the
-- latest one not cancelled (earlier ones stay visible, marked
-- superseded). One definition for the pages, the results and the CSV.
CREATE FUNCTION submission_counts(sub bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM submissions s JOIN submissions o
          ON o.assignment_id = s.assignment_id
         AND o.student_id = s.student_id
         AND o.id > s.id
         AND coalesce(o.error_message, '') NOT LIKE 'cancelled by %'
        WHERE s.id = sub AND s.assignment_id IS NOT NULL)
$$;
