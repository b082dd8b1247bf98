-- The one authorization rule for a submission (issue 15), used by every
-- submission route, the WebSocket topic and the lists:
--   an admin sees every submission;
--   a student sees their own;
--   a teacher sees those of the courses they teach: the submission's
--   assignment is in one of them, or its student is a student of one.
-- Anything else is answered as if the submission did not exist.
CREATE FUNCTION submission_visible(sid bigint, uid bigint, urole text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE urole
        WHEN 'admin' THEN true
        WHEN 'student' THEN s.student_id = uid
        WHEN 'teacher' THEN EXISTS (
            SELECT 1 FROM course_members t
            WHERE t.user_id = uid AND t.role = 'teacher' AND (
                t.course_id = (SELECT a.course_id FROM assignments a
                               WHERE a.id = s.assignment_id)
                OR EXISTS (SELECT 1 FROM course_members m
                           WHERE m.course_id = t.course_id
                           AND m.user_id = s.student_id
                           AND m.role = 'student')))
        ELSE false END
    FROM submissions s WHERE s.id = sid
$$;
