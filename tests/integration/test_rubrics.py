#!/usr/bin/env python3
"""Rubrics teachers own (issue 13): families, versions, weights,
descriptors, the editor, and re-evaluation through the scheduler.

A throw-away PostgreSQL, one stand-in model (every score 4 at first) and
the real server. A student's short clip is scored with the default
rubric that migration 015 ships, and copied with SQL (transcript and
evaluation) as a second student's; assignments are made with SQL (the
assignments API is another engineer's). Then, in order:

  - the shipped default is version 1 with a descriptor per level and
    weight 1 for every criterion;
  - the API refuses bad definitions in words, saying where (400), and a
    valid one makes a rubric (201); the form refuses with the words next
    to the fields and what was typed kept, "More rows" adds rows, a valid
    form creates a rubric, and editing an unused draft changes it in
    place;
  - another teacher may not change a teacher's rubric (403); students
    may not list rubrics (403), nobody signed in gets 401;
  - a used version refuses an UPDATE in the database, and an edit of it
    in the form makes version N+1;
  - re-evaluating an assignment with a weighted 0..10 rubric goes
    through the scheduler: the old evaluation keeps version 1, the new
    one records the new version, and its overall is the weighted mean of
    its scores;
  - re-evaluating with a version without one criterion keeps both of a
    teacher's adjustments: the remaining one is flagged "re-evaluated
    since" and counts with its weight in the overall, the dropped one is
    shown as belonging to the old version and does not count; the result
    page names the rubric version;
  - a student reads a rubric version an assignment of their course uses,
    and gets 404 for any other; another teacher cannot re-evaluate the
    course's assignment (404).
"""

import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PW = "pw-12345678"
API = "/api/v1/rubrics"


def form(client, path, fields, expect=303):
    """POST an HTML form with the session's CSRF token, as a browser."""
    fields = dict(fields, csrf=client.csrf_token)
    return client.expect("POST", path, expect,
                         body=urllib.parse.urlencode(fields),
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded"},
                         csrf=False)


def weighted(scores, weights):
    total = sum(weights[k] * v for k, v in scores.items())
    return round(total / sum(weights[k] for k in scores) + 1e-9, 2)


class Rubrics(harness.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack(models=("mistral",),
                                  fake_kw={"extra_args": ["--score", "4"]})
        cls.stack.start()
        cls.server = cls.stack.server
        cls.pg = cls.stack.pg
        cls.fake = cls.stack.fakes[0]
        cls.log_sources = [cls.server] + cls.stack.fakes
        harness.create_users(cls.server, [
            (email, name, role, PW) for email, name, role in (
                ("admin@example.com", "Ada Admin", "admin"),
                ("t1@example.com", "Tess Teacher", "teacher"),
                ("t2@example.com", "Tom Other", "teacher"),
                ("s1@example.com", "Sam Student", "student"),
                ("s2@example.com", "Sue Student", "student"))])
        cls.c = {}
        for who in ("admin", "t1", "t2", "s1", "s2"):
            cl = harness.Client(cls.server.url)
            cl.login(who + "@example.com", PW)
            cls.c[who] = cl
        cls.course = cls.make_course("RB1", ["t1"], ["s1"])
        cls.other_course = cls.make_course("RB2", ["t1"], ["s2"])
        cls.s1 = cls.c["s1"].upload(harness.short_intro("intro02"))["id"]
        sub = cls.c["t1"].wait_for(cls.s1)
        assert sub["status"] == "completed", sub
        cls.s2 = cls.clone_submission(cls.s1, "s2@example.com")
        # s1 uploaded through the harness's default course; from here on
        # the students are in RB1 and RB2 only.
        cls.sql("DELETE FROM course_members WHERE course_id = (SELECT id "
                "FROM courses WHERE code = 'HARNESS')")
        cls.default_id = int(cls.sql("SELECT rubric_current()"))
        # Assignment A (course RB1) holds s1's submission, B (RB2) s2's.
        cls.asg_a = cls.make_assignment(cls.course, "Introduce yourself",
                                        cls.default_id, cls.s1)
        cls.asg_b = cls.make_assignment(cls.other_course, "Second try",
                                        cls.default_id, cls.s2)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def sql(cls, q):
        return cls.pg.psql(q)

    @classmethod
    def make_course(cls, code, teachers, students):
        r = form(cls.c["admin"], "/courses", {"code": code, "title": code})
        cid = int(r.header("Location").rsplit("/", 1)[1])
        for who, role in [(t, "teacher") for t in teachers] + \
                [(s, "student") for s in students]:
            form(cls.c["admin"], "/courses/%d/members" % cid,
                 {"email": who + "@example.com", "role": role,
                  "section": "A"})
        return cid

    @classmethod
    def clone_submission(cls, sid, email):
        """A scored copy of sid for another student, made with SQL: the
        LLM phase needs only the transcript, so one clip is transcribed
        for the whole file."""
        new = int(cls.sql(
            "INSERT INTO submissions (student_id, stored_name, "
            "original_name, content_type, size_bytes, duration_s, phase, "
            "status, rubric_id, completed_at) SELECT u.id, 'copy-' || "
            "s.stored_name, s.original_name, s.content_type, s.size_bytes, "
            "s.duration_s, 'completed', 'completed', s.rubric_id, now() "
            "FROM submissions s, users u WHERE s.id = %d AND u.email = "
            "'%s' RETURNING id" % (sid, email)).splitlines()[0])
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
    def make_assignment(cls, course, title, rubric_id, submission):
        aid = int(cls.sql(
            "INSERT INTO assignments (course_id, title, rubric_id) "
            "VALUES (%d, '%s', %d) RETURNING id" % (
                course, title, rubric_id)).splitlines()[0])
        cls.sql("UPDATE submissions SET assignment_id = %d WHERE id = %d"
                % (aid, submission))
        return aid

    def sub(self, sid, who="t1"):
        return self.c[who].get_json("/api/v1/submissions/%d" % sid)

    def evaluations(self, sid):
        rows = self.sql("SELECT id, rubric_id, rubric_version, overall "
                        "FROM evaluations WHERE submission_id = %d "
                        "ORDER BY id" % sid)
        return [tuple(float(x) if "." in x else int(x)
                      for x in line.split("|"))
                for line in rows.splitlines()]

    def reevaluate(self, asg, rubric_id, sid, who="t1"):
        """Re-evaluates through the API; waits for sid's new evaluation."""
        before = len(self.evaluations(sid))
        out = self.c[who].post_json(
            "/api/v1/assignments/%d/reevaluate" % asg,
            {"rubric_id": rubric_id}, expect=200)
        self.assertEqual(out["queued"], 1, out)
        state = self.sql("SELECT phase || '/' || status || '/' || priority "
                         "FROM submissions WHERE id = %d" % sid)
        self.assertIn(state, ("llm/pending/0", "llm/processing/0",
                              "completed/completed/0"))
        harness.wait_until(lambda: len(self.evaluations(sid)) > before and
                           self.sub(sid)["status"] == "completed",
                           "the re-evaluation of %d" % sid, timeout=120)
        return out

    # ------------------------------------------------------------ tests

    def test_1_default_is_shipped(self):
        v = self.c["t1"].get_json("%s/%d" % (API, self.default_id))
        self.assertEqual((v["name"], v["version"]), ("Self-introduction", 1))
        self.assertTrue(v["is_default"])
        crits = v["definition"]["criteria"]
        self.assertEqual([c["key"] for c in crits],
                         ["content", "organization", "delivery", "language"])
        for c in crits:
            self.assertEqual(c["weight"], 1)
            self.assertEqual(len(c["descriptors"]), 5)
        self.assertTrue(v["used"])
        listing = self.c["t1"].get_json(API)["rubrics"]
        self.assertEqual(listing[0]["title"], "Self-introduction")
        self.assertEqual(self.sub(self.s1)["rubric"]["version"], 1)

    def test_2_api_validation(self):
        t1 = self.c["t1"]
        bad = {"name": "Talk", "scale": {"min": 1, "max": 3}, "criteria": [
            {"key": "a", "title": "A", "weight": 0}]}
        r = t1.expect("POST", API, 400, body=json.dumps(bad),
                      headers={"Content-Type": "application/json"})
        self.assertEqual(harness.error_code(r), "invalid")
        self.assertEqual(harness.error_field(r), "weight")
        self.assertEqual(r.json()["error"]["criterion"], 0)
        self.assertIn("greater than 0", harness.error_message(r))
        bad["criteria"][0] = {"key": "a", "title": "A",
                              "descriptors": ["x", "y"]}
        r = t1.expect("POST", API, 400, body=json.dumps(bad),
                      headers={"Content-Type": "application/json"})
        self.assertIn("exactly 3 texts", harness.error_message(r))
        t1.expect("POST", API, 400, body="{not json",
                  headers={"Content-Type": "application/json"})
        good = {"name": "Talk", "scale": {"min": 1, "max": 3}, "criteria": [
            {"key": "a", "title": "A", "weight": 2,
             "descriptors": ["low", "mid", "high"]}]}
        v = t1.post_json(API, good, expect=201)
        self.assertEqual((v["version"], v["used"]), (1, False))
        self.assertEqual(v["definition"]["criteria"][0]["weight"], 2)
        # Roles: students may not list or create; anonymous 401.
        self.c["s1"].expect("GET", API, 403)
        self.c["s1"].expect("POST", API, 403, body=json.dumps(good))
        harness.Client(self.server.url).expect("GET", API, 401)
        # Another teacher may not version t1's rubric.
        r = self.c["t2"].expect("POST", "%s/%d/versions" % (API, v["id"]),
                                403, body=json.dumps(good))
        self.assertIn("another teacher", harness.error_message(r))
        # t1 may; a new version is always a new number.
        v2 = t1.post_json("%s/%d/versions" % (API, v["id"]), good,
                          expect=201)
        self.assertEqual((v2["set_id"], v2["version"]),
                         (v["set_id"], 2))
        self.c["t1"].expect("GET", "%s/999999" % API, 404)

    def test_3_form_validation_and_drafts(self):
        t1 = self.c["t1"]
        page = t1.expect("GET", "/rubrics/new", 200).text
        self.assertIn('name="k_0"', page)
        fields = {"title": "", "min": "1", "max": "3", "rows": "2",
                  "k_0": "Bad Key", "t_0": "Eye contact", "x_0": "Looks up",
                  "w_0": "abc", "d_0_1": "never", "d_0_2": "", "d_0_3": "",
                  "k_1": "", "t_1": "", "x_1": "", "w_1": ""}
        page = form(t1, "/rubrics/new", fields, expect=400).text
        self.assertIn("Weight must be a number", page)
        self.assertIn("The title must not be empty", page)
        self.assertIn('value="Bad Key"', page)
        self.assertIn('value="abc"', page)
        self.assertIn("Looks up</textarea>", page)
        self.assertIn('>never</textarea>', page)
        fields.update(title="Posture", w_0="2")
        page = form(t1, "/rubrics/new", fields, expect=400).text
        self.assertRegex(page, r"The key .*must match")
        fields.update(k_0="eye_contact")
        page = form(t1, "/rubrics/new", fields, expect=400).text
        self.assertIn("level 2: a descriptor must be", page)
        # More rows: the form again, as typed, with three more rows and
        # descriptor boxes for the new scale.
        page = form(t1, "/rubrics/new", dict(fields, more="1", max="4"),
                    expect=200).text
        self.assertIn('name="k_3"', page)
        self.assertIn('name="d_0_4"', page)
        self.assertIn('value="eye_contact"', page)
        fields.update(d_0_2="sometimes", d_0_3="always")
        # A scale typed wrong keeps the descriptors; a changed scale is
        # pointed out before anything is saved.
        fields.update(shown_min="1", shown_max="3")
        page = form(t1, "/rubrics/new", dict(fields, max="x"),
                    expect=400).text
        self.assertIn("The scale needs two whole numbers", page)
        self.assertIn(">sometimes</textarea>", page)
        page = form(t1, "/rubrics/new", dict(fields, max="2"),
                    expect=400).text
        self.assertIn("The scale changed from 1–3 to 1–2", page)
        self.assertNotIn('name="d_0_3"', page)
        r = form(t1, "/rubrics/new", fields)
        loc = r.header("Location")
        self.assertRegex(loc, r"^/rubrics/\d+\?saved=created$")
        rid = int(re.search(r"/rubrics/(\d+)", loc).group(1))
        page = t1.expect("GET", loc, 200).text
        self.assertIn("Rubric created.", page)
        self.assertIn("sometimes", page)
        # An unused draft is edited in place (same id, same version).
        fields.update(t_0="Eye contact, posture", rm_1="1")
        r = form(t1, "/rubrics/%d" % rid, fields)
        self.assertEqual(r.header("Location"),
                         "/rubrics/%d?saved=inplace" % rid)
        v = t1.get_json("%s/%d" % (API, rid))
        self.assertEqual(v["version"], 1)
        self.assertEqual(v["definition"]["criteria"][0]["title"],
                         "Eye contact, posture")
        self.assertEqual(v["definition"]["criteria"][0]["weight"], 2)
        self.assertEqual(v["definition"]["criteria"][0]["descriptors"],
                         ["never", "sometimes", "always"])
        # t2 may not edit it; the list page shows it.
        form(self.c["t2"], "/rubrics/%d" % rid, fields, expect=403)
        self.assertIn("Posture", t1.expect("GET", "/rubrics", 200).text)
        self.c["s1"].expect("GET", "/rubrics", 403)

    def test_4_used_version_is_frozen(self):
        t1 = self.c["t1"]
        # The default version 1 is used by both submissions.
        out = self.pg._run([os.path.join(harness.PGBIN, "psql"), "-X", "-h",
                            self.pg.dir, "-p", str(self.pg.port), "-U",
                            harness.DB_USER, "-d", self.pg.dbname, "-tAc",
                            "UPDATE rubrics SET definition = definition || "
                            "'{\"x\": 1}' WHERE id = %d" % self.default_id],
                           check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("is in use and cannot change", out.stderr)
        v = t1.get_json("%s/%d" % (API, self.default_id))
        fields = {"title": v["title"], "min": "1", "max": "5",
                  "rows": str(len(v["definition"]["criteria"]))}
        for i, c in enumerate(v["definition"]["criteria"]):
            fields.update({"k_%d" % i: c["key"], "t_%d" % i: c["title"],
                           "x_%d" % i: c["description"], "w_%d" % i: "1"})
            for lv, text in enumerate(c["descriptors"], start=1):
                fields["d_%d_%d" % (i, lv)] = text
        fields["w_0"] = "3"          # content counts three times
        fields["rm_3"] = "1"         # language goes
        r = form(t1, "/rubrics/%d" % self.default_id, fields)
        m = re.match(r"^/rubrics/(\d+)\?saved=new$", r.header("Location"))
        self.assertTrue(m, r.header("Location"))
        v2 = t1.get_json("%s/%d" % (API, int(m.group(1))))
        self.assertEqual((v2["set_id"], v2["version"]), (v["set_id"], 2))
        self.assertEqual([c["key"] for c in v2["definition"]["criteria"]],
                         ["content", "organization", "delivery"])
        self.assertEqual(v2["definition"]["version"], 2)
        # Version 1 is as it was.
        self.assertEqual(t1.get_json("%s/%d" % (API, self.default_id))[
            "definition"], v["definition"])
        type(self).v2 = v2["id"]
        page = t1.expect("GET", r.header("Location"), 200).text
        self.assertIn("Saved as version 2.", page)
        self.assertIn("Re-evaluate Introduce yourself’s submissions with "
                      "version 2", page)

    def test_5_weighted_reevaluation(self):
        """B with a 0..10 rubric of unequal weights and varied scores."""
        weights = {"clarity": 3, "pace": 1, "eye": 0.5}
        rub = self.c["t1"].post_json(API, {
            "name": "Weighted", "scale": {"min": 0, "max": 10},
            "criteria": [{"key": k, "title": k.title(), "weight": w}
                         for k, w in weights.items()]}, expect=201)
        self.fake.control(score=None)
        try:
            old = self.evaluations(self.s2)
            self.reevaluate(self.asg_b, rub["id"], self.s2)
        finally:
            self.fake.control(score=4)
        evs = self.evaluations(self.s2)
        self.assertEqual(evs[:len(old)], old)        # the past is kept
        self.assertEqual(evs[0][1:3], (self.default_id, 1))
        self.assertEqual(evs[-1][1:3], (rub["id"], 1))
        sub = self.sub(self.s2)
        scores = sub["evaluation"]["scores"]
        self.assertEqual(set(scores), set(weights))
        self.assertAlmostEqual(sub["evaluation"]["overall"],
                               weighted(scores, weights), places=2)
        self.assertEqual(sub["evaluation"]["rubric_version"], 1)
        self.assertEqual(sub["rubric"]["name"], "Weighted")
        self.assertEqual(int(self.sql(
            "SELECT rubric_id FROM assignments WHERE id = %d" %
            self.asg_b)), rub["id"])
        # The version is used now: in-place edits are refused.
        self.assertTrue(self.c["t1"].get_json(
            "%s/%d" % (API, rub["id"]))["used"])

    def test_6_adjustments_across_versions(self):
        t1 = self.c["t1"]
        for crit, score in (("content", 2), ("language", 5)):
            t1.post_json("/api/v1/submissions/%d/scores" % self.s1,
                         {"criterion": crit, "score": score,
                          "comment": "Checked by hand"}, expect=200)
        self.assertEqual(self.sub(self.s1)["final"]["overall"], 3.75)
        self.fake.control(score=3)
        try:
            self.reevaluate(self.asg_a, self.v2, self.s1)
        finally:
            self.fake.control(score=4)
        evs = self.evaluations(self.s1)
        self.assertEqual(evs[0][1:4], (self.default_id, 1, 4.0))
        self.assertEqual(evs[-1][1:4], (self.v2, 2, 3.0))
        sub = self.sub(self.s1)
        # content 2 (adjusted, weight 3), organization 3, delivery 3.
        self.assertEqual(sub["final"]["scores"],
                         {"content": 2, "organization": 3, "delivery": 3})
        self.assertEqual(sub["final"]["overall"], 2.4)
        adj = {a["criterion"]: a for a in sub["adjustments"]}
        self.assertTrue(adj["content"]["model_changed"])
        self.assertTrue(adj["content"]["in_current"])
        self.assertFalse(adj["language"]["in_current"])
        self.assertEqual(adj["language"]["rubric_version"], 1)
        page = t1.expect("GET", "/submissions/%d" % self.s1, 200).text
        self.assertIn("Re-evaluated since: the model now gives 3, it gave "
                      "4 when this was adjusted.", page)
        self.assertIn("Language: 5, adjusted under rubric version 1. "
                      "Version 2", page)
        self.assertIn("Rubric: Self-introduction version 2", page)
        # The student sees the version too.
        page = self.c["s1"].expect("GET", "/submissions/%d" % self.s1,
                                   200).text
        self.assertIn("Rubric: Self-introduction version 2", page)

    def test_7_student_access(self):
        s1, s2 = self.c["s1"], self.c["s2"]
        v = s1.get_json("%s/%d" % (API, self.v2))     # A uses it
        self.assertEqual(v["version"], 2)
        self.assertIn("criteria", v["definition"])
        self.assertNotIn("assignments", v)
        weighted_id = int(self.sql(
            "SELECT rubric_id FROM assignments WHERE id = %d" % self.asg_b))
        s1.expect("GET", "%s/%d" % (API, weighted_id), 404)   # B: not hers
        s2.get_json("%s/%d" % (API, weighted_id))
        s2.expect("GET", "%s/%d" % (API, self.v2), 404)
        s1.expect("GET", "%s/%d" % (API, self.default_id), 404)
        s1.expect("GET", "/rubrics/%d" % self.v2, 403)
        s1.expect("POST", "/api/v1/assignments/%d/reevaluate" % self.asg_a,
                  403, body=json.dumps({"rubric_id": self.v2}))
        # Another teacher: not their course; an unknown version: 400.
        self.c["t2"].expect("POST", "/api/v1/assignments/%d/reevaluate"
                            % self.asg_a, 404,
                            body=json.dumps({"rubric_id": self.v2}))
        r = self.c["t1"].expect("POST", "/api/v1/assignments/%d/reevaluate"
                                % self.asg_a, 400,
                                body=json.dumps({"rubric_id": 999999}))
        self.assertIn("no rubric version 999999", harness.error_message(r))


if __name__ == "__main__":
    harness.main()
