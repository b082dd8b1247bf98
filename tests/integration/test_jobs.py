#!/usr/bin/env python3
"""Natural-language job requests (issue 14): preview, confirm, run.

A throw-away PostgreSQL, one stand-in model and the real server. One
short clip of s1's is transcribed and scored; copies (transcript and
evaluation, made with SQL) stand for s2, s3 and s4. Course J1 (teacher
t1) holds s1 (section A), s2 and s3 (section B); course J2 (teacher t2)
holds s4. s2's upload failed today, s3's failed three days ago. Then:

  - previewing "re-evaluate section B's failed uploads from today" is
    read by the rules and matches s2's upload only; nothing changes;
  - confirming it runs s2's upload through the scheduler again: the job
    ends done with one done item and s2's upload is completed;
  - a request the rules cannot read is answered by the stand-in model
    (its "answer" knob) with a valid spec: parser llm; an export made
    from it is done at once and its CSV lists the matched uploads;
  - an invalid spec from the model is refused with an invalid_spec
    question, and the same spec cannot be confirmed (422);
  - with the model failing, the rules still work (parser rules) and an
    unreadable request gets a question that says the model is
    unavailable;
  - another teacher's course, or a student of another course, matches
    nothing and says why;
  - cancelling a job withdraws what has not started.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"
JSON = {"Content-Type": "application/json"}
UNREADABLE = "please frobnicate the wibbles for my lovely class"


def spec(course, **kw):
    s = {"action": "re_evaluate", "course_id": course, "section": None,
         "assignment_id": None, "student_ids": [], "status": [],
         "since": None, "until": None, "backend": None,
         "rubric_version": None, "priority": None}
    s.update(kw)
    return s


class Jobs(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",)).start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.fake = cls.stack.fakes[0]
        cls.log_sources = [cls.server] + cls.stack.fakes
        people = [("%s@example.com" % n, name, role, PW) for n, name, role in (
            ("admin", "Ada Admin", "admin"), ("t1", "Tess One", "teacher"),
            ("t2", "Tom Two", "teacher"), ("s1", "Sam Able", "student"),
            ("s2", "Priya Bell", "student"), ("s3", "Quinn Carr", "student"),
            ("s4", "Zed Dunn", "student"))]
        harness.create_users(cls.server, people[:4])
        harness.create_users(cls.server, people[4:], course=None)
        cls.ids = {n: int(cls.sql("SELECT id FROM users WHERE email = "
                                  "'%s@example.com'" % n))
                   for n in ("s1", "s2", "s3", "s4")}
        cls.c = {}
        for n in ("admin", "t1", "t2", "s1"):
            cl = harness.Client(cls.server.url, timeout=60)
            cl.login(n + "@example.com", PW)
            cls.c[n] = cl
        cls.sub = {"s1": cls.c["s1"].upload(
            harness.short_intro("intro02"))["id"]}
        done = cls.c["s1"].wait_for(cls.sub["s1"], timeout=240)
        assert done["status"] == "completed", done
        for n in ("s2", "s3", "s4"):
            cls.sub[n] = cls.clone(cls.sub["s1"], cls.ids[n])
        cls.sql("DELETE FROM course_members")
        cls.j1 = cls.course("J1", "t1", [("s1", "A"), ("s2", "B"),
                                         ("s3", "B")])
        cls.j2 = cls.course("J2", "t2", [("s4", "B")])
        cls.a1 = cls.assignment(cls.j1, ("s1", "s2", "s3"))
        cls.a2 = cls.assignment(cls.j2, ("s4",))
        cls.sql("UPDATE submissions SET phase = 'failed', status = "
                "'failed', error_message = 'the model did not answer' "
                "WHERE id IN (%d, %d)" % (cls.sub["s2"], cls.sub["s3"]))
        cls.sql("UPDATE submissions SET created_at = now() - interval "
                "'3 days' WHERE id = %d" % cls.sub["s3"])

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def sql(cls, q):
        return cls.pg.psql(q)

    @classmethod
    def clone(cls, sid, student):
        new = int(cls.sql(
            "INSERT INTO submissions (student_id, stored_name, "
            "original_name, content_type, size_bytes, duration_s, phase, "
            "status, rubric_id, completed_at) SELECT %d, 'copy-%d-' || "
            "s.stored_name, s.original_name, s.content_type, s.size_bytes, "
            "s.duration_s, 'completed', 'completed', s.rubric_id, now() "
            "FROM submissions s WHERE s.id = %d RETURNING id"
            % (student, student, sid)).splitlines()[0])
        cls.sql("INSERT INTO transcripts (submission_id, engine, text, "
                "words, metrics, audio_s, decode_s) SELECT %d, engine, "
                "text, words, metrics, audio_s, decode_s FROM transcripts "
                "WHERE submission_id = %d" % (new, sid))
        cls.sql("INSERT INTO evaluations (submission_id, rubric_id, "
                "rubric_version, backend, model, scores, overall, "
                "feedback, llm_s) SELECT %d, rubric_id, rubric_version, "
                "backend, model, scores, overall, feedback, llm_s "
                "FROM evaluations WHERE submission_id = %d" % (new, sid))
        return new

    @classmethod
    def course(cls, code, teacher, students):
        cid = int(cls.sql("INSERT INTO courses (code, title) VALUES "
                          "('%s', 'Course %s') RETURNING id"
                          % (code, code)).split()[0])
        cls.sql("INSERT INTO course_members (course_id, user_id, role) "
                "SELECT %d, id, 'teacher' FROM users WHERE email = "
                "'%s@example.com'" % (cid, teacher))
        for n, section in students:
            cls.sql("INSERT INTO course_members (course_id, user_id, role, "
                    "section) VALUES (%d, %d, 'student', '%s')"
                    % (cid, cls.ids[n], section))
        return cid

    @classmethod
    def assignment(cls, course, students):
        aid = int(cls.sql("INSERT INTO assignments (course_id, title) "
                          "VALUES (%d, 'Introduce yourself') RETURNING id"
                          % course).split()[0])
        cls.sql("UPDATE submissions SET course_id = %d, assignment_id = %d "
                "WHERE id IN (%s)" % (course, aid, ",".join(
                    str(cls.sub[n]) for n in students)))
        return aid

    def preview(self, body, who="t1"):
        return self.c[who].post_json("/api/v1/jobs/preview", body,
                                     expect=200)

    def state(self):
        return self.sql("SELECT (SELECT count(*) FROM jobs) || ':' || "
                        "string_agg(id || phase || status || priority, ',' "
                        "ORDER BY id) FROM submissions")

    def wait_job(self, jid, who="t1"):
        harness.wait_until(lambda: self.c[who].get_json(
            "/api/v1/jobs/%d" % jid)["state"] != "running",
            "job %d to end" % jid, timeout=180)
        return self.c[who].get_json("/api/v1/jobs/%d" % jid)

    def test_1_preview_then_confirm(self):
        before = self.state()
        out = self.preview({"request": "re-evaluate section B's failed "
                            "uploads from today", "course_id": self.j1})
        self.assertEqual(out["parser"], "rules", out)
        self.assertEqual(out["questions"], [], out)
        self.assertEqual(out["matches"]["submission_ids"],
                         [self.sub["s2"]], out)
        self.assertTrue(out["summary"], out)
        self.assertEqual(self.state(), before, "a preview changed something")
        job = self.c["t1"].post_json("/api/v1/jobs", {
            "spec": out["spec"], "request": "re-evaluate section B's "
            "failed uploads from today", "parser": "rules"}, expect=201)
        self.assertEqual(job["matched"], 1, job)
        job = self.wait_job(job["id"])
        self.assertEqual((job["state"], job["done"], job["failed"]),
                         ("done", 1, 0), job)
        sub = self.c["t1"].get_json("/api/v1/submissions/%d"
                                    % self.sub["s2"])
        self.assertEqual(sub["status"], "completed", sub)
        listed = self.c["t1"].get_json("/api/v1/jobs")["jobs"]
        self.assertEqual(listed[0]["request_text"], "re-evaluate section "
                         "B's failed uploads from today")
        self.c["t2"].expect("GET", "/api/v1/jobs/%d" % job["id"], 404)

    def test_2_llm_path_and_export(self):
        want = spec(self.j1, action="export")
        self.fake.control(answer=want)
        try:
            out = self.preview({"request": UNREADABLE,
                                "course_id": self.j1})
        finally:
            self.fake.control(answer=None)
        self.assertEqual(out["parser"], "llm", out)
        self.assertEqual(out["questions"], [], out)
        self.assertEqual(out["spec"], want)
        self.assertEqual(sorted(out["matches"]["submission_ids"]),
                         sorted(self.sub[n] for n in ("s1", "s2", "s3")))
        job = self.c["t1"].post_json("/api/v1/jobs", {
            "spec": out["spec"], "request": UNREADABLE, "parser": "llm"},
            expect=201)
        self.assertEqual(job["state"], "done", job)
        csv = self.c["t1"].expect("GET", "/jobs/%d/export.csv" % job["id"],
                                  200).text
        self.assertTrue(csv.startswith("assignment,student,"), csv)
        self.assertIn("Sam Able", csv)
        self.assertNotIn("Zed Dunn", csv)

    def test_3_invalid_llm_spec_is_refused(self):
        bad = spec(self.j1, action="explode")
        self.fake.control(answer=bad)
        try:
            out = self.preview({"request": UNREADABLE,
                                "course_id": self.j1})
        finally:
            self.fake.control(answer=None)
        self.assertEqual(out["parser"], "llm", out)
        self.assertEqual(out["questions"][0]["code"], "invalid_spec", out)
        self.assertEqual(out["matches"]["count"], 0)
        r = self.c["t1"].expect("POST", "/api/v1/jobs", 422,
                                body=json.dumps({"spec": bad}),
                                headers=JSON)
        self.assertTrue(r.json()["questions"], r.json())

    def test_4_backends_down_rules_still_work(self):
        self.fake.control(fault="http500")
        try:
            out = self.preview({"request": "retry everything that failed",
                                "course_id": self.j1})
            self.assertEqual(out["parser"], "rules", out)
            self.assertEqual(out["questions"], [], out)
            out = self.preview({"request": UNREADABLE,
                                "course_id": self.j1})
            self.assertEqual(out["questions"][-1]["code"], "not_understood")
            self.assertIn("language model is unavailable",
                          out["questions"][-1]["message"])
        finally:
            self.fake.control(fault="none")

    def test_5_other_teachers_course_and_student(self):
        out = self.preview({"spec": spec(self.j1, status=["failed"])},
                           who="t2")
        self.assertEqual(out["matches"]["count"], 0, out)
        self.assertIn("course_not_yours",
                      [q["code"] for q in out["questions"]], out)
        out = self.preview({"spec": spec(self.j1, student_ids=[
            self.ids["s4"]])})
        self.assertEqual(out["matches"]["count"], 0, out)
        self.assertIn("unknown_student",
                      [q["code"] for q in out["questions"]], out)
        self.c["t2"].expect("POST", "/api/v1/jobs", 422, body=json.dumps({
            "spec": spec(self.j1)}), headers=JSON)

    def test_6_cancel_withdraws_what_has_not_started(self):
        # s3's upload waits, not before an hour from now: nothing starts it.
        self.sql("UPDATE submissions SET phase = 'llm', status = 'pending', "
                 "error_message = NULL, next_attempt_at = now() + interval "
                 "'1 hour' WHERE id = %d" % self.sub["s3"])
        job = self.c["t1"].post_json("/api/v1/jobs", {"spec": spec(
            self.j1, action="evaluate", student_ids=[self.ids["s3"]])},
            expect=201)
        self.assertEqual((job["state"], job["queued"]), ("running", 1), job)
        out = self.c["t1"].post_json("/api/v1/jobs/%d/cancel" % job["id"],
                                     {}, expect=200)
        self.assertEqual((out["state"], out["cancelled"]),
                         ("cancelled", 1), out)
        # It had been scored before: it is back to completed, untouched.
        self.assertEqual(self.sql("SELECT phase || '/' || status FROM "
                                  "submissions WHERE id = %d"
                                  % self.sub["s3"]), "completed/completed")
        self.c["t1"].expect("POST", "/api/v1/jobs/%d/cancel" % job["id"],
                            409, body="{}", headers=JSON)


if __name__ == "__main__":
    harness.main()
