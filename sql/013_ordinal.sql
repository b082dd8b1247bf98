-- A student reads their introductions as "Introduction 1, 2, 3", counted
-- per student in upload order; the global id stays in addresses and on
-- the staff's pages. One definition serves the result page and the lists.
-- (submissions_student indexes (student_id, created_at); ids grow with
-- created_at, so the count reads few rows.)

CREATE FUNCTION submission_ordinal(student bigint, sub bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM submissions o
    WHERE o.student_id = student AND o.id <= sub
$$;
